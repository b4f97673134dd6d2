"""The statement guard: every statement sent to a CRM source must be a plain read.

A cursor hook on every source engine calls `refuse_writes` before the driver sees a statement.
"""

from __future__ import annotations

import re

from connectors.errors import SourceError

# The guard reads a statement with its string literals, quoted identifiers and comments blanked out,
# so that text inside them can neither hide a write nor make a read look like one.
_SKIP = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`|--[^\n]*|/\*.*?\*/", re.S)
_READ_START = re.compile(r"^\(*\s*(select|with|values|show|describe|desc|explain|pragma|set)\b", re.I)
# Inside a SELECT/WITH: data-modifying CTEs, SELECT INTO (a new table, or a file on a MySQL server)
# and row locks that would block the CRM.
_WRITE_WORDS = re.compile(
    r"\b(insert|update|delete|merge|truncate|into)\b|\block\s+in\s+share\s+mode\b|\bfor\s+share\b", re.I
)
# Functions that change the session (PostgreSQL `set_config('default_transaction_read_only', 'off')`
# would make the pooled connection writable), take locks, or touch server files.
_FORBIDDEN_FUNCTIONS = re.compile(
    r"\b(set_config|pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_advisory\w*|pg_try_advisory\w*"
    r"|lo_import|lo_export|lo_unlink|lo_create|lo_from_bytea|dblink\w*|pg_read_file|pg_read_binary_file"
    r"|pg_ls_dir|setval|nextval|load_extension|load_file|get_lock|release_lock)\s*\(",
    re.I,
)
# SET may change harmless session settings only: never the read-only mode, the timeout or a role.
_FORBIDDEN_SET = re.compile(
    r"global|persist|read\s+write|read_only|readonly|query_only|timeout|statement_time|execution_time|role"
    r"|authorization|characteristics|transaction",
    re.I,
)
# SQLite pragmas that only report (SQLAlchemy's reflection uses these); others can switch query_only off.
_READ_PRAGMA = re.compile(
    r"^pragma\s+(\w+\.)?(table_info|table_xinfo|index_list|index_info|index_xinfo|foreign_key_list|database_list"
    r"|table_list|collation_list|compile_options|function_list|pragma_list|module_list)\s*(\([^)]*\))?$",
    re.I,
)
_EXPLAIN_PREFIX = re.compile(r"^explain\s+((analy[sz]e|verbose|extended|partitions|format\s*=?\s*\w+|\([^)]*\))\s+)*", re.I)


class WriteRefusedError(SourceError):
    """A statement that would write was sent to a read-only source."""


def refusal_reason(statement: str) -> str | None:
    """Why `statement` may not run on a read-only source, or None if it is a plain read."""
    text = _SKIP.sub(lambda m: " " if m.group(0)[0] in "-/" else " '' ", statement).strip().rstrip(";").strip()
    if ";" in text:
        return "several statements in one"
    m = _READ_START.match(text)
    if not m:
        return "not a read"
    word = m.group(1).lower()
    if word == "set":
        return "changes a protected session setting" if _FORBIDDEN_SET.search(text) else None
    if word == "pragma":
        return None if _READ_PRAGMA.match(text) else "a SQLite pragma that may write"
    if word == "explain":
        rest = _EXPLAIN_PREFIX.sub("", text)
        if rest and not re.match(r"^\(*\s*(select|with|values)\b", rest, re.I) and " " in rest.strip():
            return "explains a statement that is not a read"
    if _WRITE_WORDS.search(text):
        return "writes, selects into, or locks rows"
    if _FORBIDDEN_FUNCTIONS.search(text):
        return "calls a function that changes the session, locks, or reads server files"
    return None


def refuse_writes(conn, cursor, statement, parameters, context, executemany):  # noqa: PLR0913
    """SQLAlchemy `before_cursor_execute` hook: raise WriteRefusedError for anything but a read."""
    reason = "several rows of parameters (a bulk write)" if executemany else refusal_reason(statement)
    if reason:
        first = " ".join(statement.split())[:80]
        raise WriteRefusedError(f"source: refused {first!r} ({reason}); the CRM source is read-only")
