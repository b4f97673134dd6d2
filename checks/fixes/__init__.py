"""Fixes a steward can apply: proposals judged against the CRM as it is now."""
