"""Profiles of the CRM's tables, the mapping of a schema no preset knows, and the rules a profile suggests."""
