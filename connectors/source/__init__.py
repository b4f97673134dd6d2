"""CRM sources, read-only: databases through SQLAlchemy, CSV and Excel exports through in-memory SQLite."""

from connectors.source.database import (
    FILE_SCHEMES,
    Source,
    create_readonly_engine,
    fingerprint,
    frame_from_rows,
    open_source,
    redact,
    suggest,
)
from connectors.source.guard import WriteRefusedError, refusal_reason
from connectors.source.privileges import can_write

__all__ = ["FILE_SCHEMES", "Source", "WriteRefusedError", "can_write", "create_readonly_engine", "fingerprint",
           "frame_from_rows", "open_source", "redact", "refusal_reason", "suggest"]
