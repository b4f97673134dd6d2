"""The statement guard: every statement sent to a CRM source must be one plain read.

A cursor hook on every source engine calls `refuse_writes` before the driver sees a statement. It
reads the statement as the driver will send it (parameters bound, `connectors.source.protocol`),
parses it with sqlglot for the source's dialect, and lets through exactly one read: a SELECT (WITH,
UNION …) or VALUES without INTO, row locks or calls of functions that change the session, take
locks, read server files or run other SQL; the reports SQLAlchemy's reflection asks for (SQLite
pragmas that only report, SHOW, DESCRIBE); SET of harmless session settings. A statement sqlglot
cannot parse is refused, unless SQLAlchemy compiled it from its own catalog tables.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from sqlglot import exp

from connectors.errors import SourceError
from connectors.source.parsing import (
    SQL_ERRORS,
    STATEMENTS,
    UnknownDialectError,
    first_line,
    function_names,
    parse_statements,
    tokenize,
)
from connectors.source.protocol import compiled_from_catalog, sent_text

FUNCTION_REASON = "calls a function that changes the session, locks, or reads server files"
# Functions that change the session (PostgreSQL `set_config('default_transaction_read_only', 'off')`
# would make a pooled connection writable), take locks, touch server files or other servers, or run
# SQL given as text (`query_to_xml('COPY … TO PROGRAM …')`). Matched on the parsed, case-folded name.
_FORBIDDEN_FUNCTIONS = frozenset({
    "set_config", "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
    "pg_stat_file", "pg_notify", "pg_switch_wal", "pg_promote", "pg_create_restore_point",
    "pg_start_backup", "pg_stop_backup", "pg_backup_start", "pg_backup_stop", "pg_import_system_collations",
    "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema", "cursor_to_xml", "cursor_to_xmlschema",
    "setval", "nextval", "lowrite", "loread",
    "load_file", "get_lock", "release_lock", "release_all_locks", "master_pos_wait", "source_pos_wait",
    "master_gtid_wait", "sys_exec", "sys_eval",
    "load_extension", "readfile", "writefile", "edit", "fts3_tokenizer",
})
_FORBIDDEN_PREFIXES = (
    "pg_advisory", "pg_try_advisory", "pg_read_", "pg_ls_", "pg_file_", "pg_logdir_", "pg_create_",
    "pg_drop_", "pg_replication_", "pg_logical_", "pg_stat_reset", "pg_wal_replay_", "lo_", "dblink",
)
# SET may change harmless session settings only: never the read-only mode, the timeout, a role, how
# the server reads quotes and backslashes (sql_mode, standard_conforming_strings), or where
# unqualified functions are found (search_path). Matched on the parsed setting's name.
_PROTECTED_SETTING = re.compile(
    r"read_?only|query_only|read write|timeout|statement_time|execution_time|role|authorization"
    r"|characteristics|transaction|sql_mode|standard_conforming_strings|search_path",
    re.I,
)
_SERVER_WIDE = frozenset({"GLOBAL", "PERSIST", "PERSIST_ONLY"})
# SQLite pragmas that only report (SQLAlchemy's reflection uses these); others can switch query_only off.
_READ_PRAGMAS = frozenset({
    "table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list",
    "database_list", "table_list", "collation_list", "compile_options", "function_list", "pragma_list",
    "module_list",
})
# EXPLAIN's options before the statement it explains (PostgreSQL, SQLite, MySQL).
_EXPLAIN_OPTIONS = frozenset({"ANALYZE", "ANALYSE", "VERBOSE", "QUERY", "PLAN", "EXTENDED", "PARTITIONS"})


class WriteRefusedError(SourceError):
    """A statement that would write was sent to a read-only source."""


class Verdict(NamedTuple):
    """The guard's decision on one statement: why it is refused (None: a read), and whether it parsed."""

    reason: str | None
    parsed: bool


def refusal_reason(statement: str, dialect: str, *, reflection: bool = False) -> str | None:
    """Why `statement` may not run on a read-only `dialect` source, or None if it is one plain read.

    `reflection` says SQLAlchemy compiled the statement from its own catalog tables: then a
    statement sqlglot cannot parse is let through (the database's read-only session still holds).
    """
    verdict = judge(statement, dialect)
    return None if reflection and not verdict.parsed else verdict.reason


@lru_cache(maxsize=1024)  # a run sends the same few statements again and again
def judge(statement: str, dialect: str) -> Verdict:
    """The guard's verdict on `statement` for a `dialect` source."""
    try:
        tokens = tokenize(statement, dialect)
        if dialect == "mysql" and any(token.comments for token in tokens):
            return Verdict("has a comment, which MySQL and MariaDB may run (/*! … */); send it without comments",
                           True)
        statements = parse_statements(statement, dialect, tokens)
    except UnknownDialectError as exc:
        return Verdict(str(exc), True)
    except SQL_ERRORS as exc:
        return Verdict(f"not one SQL statement sqlglot can read for {dialect} ({first_line(exc)})", False)
    if len(statements) != 1:
        return Verdict("several statements in one" if statements else "no statement", True)
    return Verdict(_statement_reason(statements[0], dialect), True)


def _statement_reason(node: exp.Expression, dialect: str) -> str | None:
    if isinstance(node, exp.Query | exp.Values):
        return read_reason(node)
    if isinstance(node, exp.Show):
        return None  # MySQL's SHOW only reports
    if isinstance(node, exp.Describe):
        target = node.this
        return read_reason(target) if isinstance(target, exp.Query) else (
            None if isinstance(target, exp.Table) else "describes something that is not a table or a read")
    if isinstance(node, exp.Pragma):
        return None if _pragma_name(node) in _READ_PRAGMAS else "a SQLite pragma that may write"
    if isinstance(node, exp.Set):
        return _set_reason(node)
    if isinstance(node, exp.Command):
        return _command_reason(node, dialect)
    return "not a read"


def read_reason(node: exp.Expression) -> str | None:
    """Why a parsed query is not a plain read (writes, INTO, row locks, forbidden functions), or None."""
    for part in node.walk():
        if isinstance(part, STATEMENTS):
            return f"writes or runs another statement ({part.key.upper()})"
        if isinstance(part, exp.Into):
            return "selects into a table, a variable or a file"
        if isinstance(part, exp.Lock):
            return "locks rows (FOR UPDATE / FOR SHARE)"
        if isinstance(part, exp.PropertyEQ) and isinstance(part.this, exp.Parameter | exp.SessionParameter):
            return "assigns a session variable"
        if isinstance(part, exp.Func) and (name := forbidden_function(part)):
            return f"{FUNCTION_REASON} ({name})"
    return None


def forbidden_function(node: exp.Func) -> str | None:
    """The name under which a function call is forbidden on a read-only source, or None."""
    for name in sorted(function_names(node)):
        if name in _FORBIDDEN_FUNCTIONS or name.startswith(_FORBIDDEN_PREFIXES):
            return name
    return None


def _pragma_name(node: exp.Pragma) -> str:
    # `PRAGMA main.table_xinfo("t")` and `PRAGMA query_only = 0` both parse as name = argument.
    target = node.this
    if isinstance(target, exp.EQ):
        target = target.this
    if isinstance(target, exp.Dot):
        target = target.expression
    return target.name.lower() if isinstance(target, exp.Expression) else str(target).lower()


def _set_reason(node: exp.Set) -> str | None:
    for item in node.expressions:
        kind = str(item.args.get("kind") or "").upper()
        target = item.this
        name_node, value = (target.this, target.expression) if isinstance(target, exp.EQ) else (None, target)
        scope = name_node.args.get("kind") if isinstance(name_node, exp.SessionParameter) else None
        if kind in _SERVER_WIDE or item.args.get("global_") or str(scope or "").upper() == "GLOBAL":
            return "changes a server-wide setting"
        name = name_node.name if isinstance(name_node, exp.Expression) else kind
        if not name or _PROTECTED_SETTING.search(name) or _PROTECTED_SETTING.search(kind):
            return "changes a protected session setting"
        if isinstance(value, exp.Expression) and (reason := read_reason(value)):
            return reason
    return None


def _command_reason(node: exp.Command, dialect: str) -> str | None:
    """What sqlglot keeps as a command: SHOW, and EXPLAIN of a read, are reads."""
    word = str(node.this).upper()
    rest = node.expression.name if isinstance(node.expression, exp.Expression) else str(node.expression or "")
    if word == "SHOW":
        return None  # reports a setting or the server's state; the `;` split has left no second statement
    if word == "EXPLAIN":
        explained = _explained(rest, dialect)
        reason = judge(explained, dialect).reason if explained else "explains nothing"
        return f"explains a statement that is not a read: {reason}" if reason else None
    if word == "SET":
        return "changes a protected session setting"
    return "not a read"


def _explained(rest: str, dialect: str) -> str:
    """The statement after EXPLAIN's options (`(ANALYZE, FORMAT JSON)`, `ANALYZE VERBOSE`, `QUERY PLAN`)."""
    tokens = tokenize(rest, dialect)
    i = 0
    if tokens and tokens[0].token_type.name == "L_PAREN":  # a parenthesised option list
        depth = 0
        for i, token in enumerate(tokens):
            depth += {"L_PAREN": 1, "R_PAREN": -1}.get(token.token_type.name, 0)
            if depth == 0:
                i += 1
                break
    while i < len(tokens) and tokens[i].text.upper() in _EXPLAIN_OPTIONS:
        i += 1
    return rest[tokens[i].start:] if i < len(tokens) else ""


def refuse_writes(conn, cursor, statement, parameters, context, executemany):  # noqa: PLR0913
    """SQLAlchemy `before_cursor_execute` hook: raise WriteRefusedError for anything but one read."""
    if executemany:
        reason = "several rows of parameters (a bulk write)"
    else:
        try:
            text = sent_text(cursor, statement, parameters, context)
        except Exception as exc:  # a driver that cannot bind these parameters would fail to run them too
            reason = f"its parameters cannot be bound ({first_line(exc)})"
        else:
            verdict = judge(text, conn.dialect.name)
            # A catalog query SQLAlchemy compiled itself carries no text of ours or of the config.
            reason = None if not verdict.parsed and compiled_from_catalog(context) else verdict.reason
    if reason:
        first = " ".join(statement.split())[:80]
        raise WriteRefusedError(f"source: refused {first!r} ({reason}); the CRM source is read-only")
