"""Errors a user can act on: each message is one line per problem, naming the place and the fix."""


class CleanCRMError(Exception):
    """Base of errors shown to users as they are, with exit code 2."""

    exit_code = 2


class ConfigError(CleanCRMError):
    """The configuration is wrong (key, value, or its mapping onto the schema)."""


class SourceError(CleanCRMError):
    """The CRM source cannot be reached or read."""


class HistoryError(CleanCRMError):
    """The history store cannot be reached or is in an unexpected state."""


class RunLockedError(CleanCRMError):
    """Another run on the same source holds the lock."""
