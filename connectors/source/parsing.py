"""SQL as the source's database reads it, parsed by sqlglot: tokens, statements and function names.

The statement guard and the check of config fragments both decide from these parsed trees, never
from patterns over the raw text.
"""

from __future__ import annotations

import logging
from functools import cache

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token

# SQLAlchemy's dialect names → sqlglot's (MariaDB is SQLAlchemy's `mysql` too).
SQLGLOT_DIALECTS = {"sqlite": "sqlite", "postgresql": "postgres", "mysql": "mysql"}
SQL_ERRORS = (ParseError, TokenError)


class _CommandFallbackFilter(logging.Filter):
    """Drops sqlglot's warning that it keeps a statement as a command: the guard decides on commands itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Falling back to parsing as a 'Command'" not in record.getMessage()


logging.getLogger("sqlglot").addFilter(_CommandFallbackFilter())


def _classes(*names: str) -> tuple[type[exp.Expression], ...]:
    # sqlglot has added statement classes over its releases: keep the ones this release has.
    return tuple(cls for name in names if isinstance(cls := getattr(exp, name, None), type))


# Everything that is a statement of its own rather than part of a query.
STATEMENTS = _classes(
    "DML", "DDL", "Drop", "Alter", "AlterTable", "TruncateTable", "Command", "Set", "Pragma", "Transaction",
    "Commit", "Rollback", "Grant", "Revoke", "Analyze", "Use", "Describe", "Show", "Kill", "Cache",
    "Uncache", "Refresh", "LoadData", "Declare", "Execute", "Merge", "Copy",
)


class UnknownDialectError(ValueError):
    """A SQLAlchemy dialect the guard has no parser for."""


@cache
def sqlglot_dialect(dialect: str) -> Dialect:
    """The sqlglot dialect for a SQLAlchemy dialect name (`sqlite`, `postgresql`, `mysql`)."""
    if dialect not in SQLGLOT_DIALECTS:
        raise UnknownDialectError(f"no SQL parser for the {dialect!r} dialect")
    return Dialect.get_or_raise(SQLGLOT_DIALECTS[dialect])


def tokenize(sql: str, dialect: str) -> list[Token]:
    """The tokens of `sql` as the dialect reads them (comments are attached to the tokens)."""
    return sqlglot_dialect(dialect).tokenize(sql)


@cache
def _expression_tokenizer(dialect: str) -> type:
    # A fragment is never a statement: without command words, `REPLACE(a, '-', '')` at the start
    # of a MySQL fragment is the function, not the REPLACE statement swallowing the rest as text.
    base = sqlglot_dialect(dialect).tokenizer_class
    return type(f"{base.__name__}ForExpressions", (base,), {"COMMANDS": set()})


def tokenize_expression(sql: str, dialect: str) -> list[Token]:
    """The tokens of an SQL expression (no statement keywords taken as commands)."""
    return _expression_tokenizer(dialect)(dialect=sqlglot_dialect(dialect)).tokenize(sql)


def parse_statements(sql: str, dialect: str, tokens: list[Token] | None = None) -> list[exp.Expression]:
    """The statements of `sql` (empty ones, as after a final `;`, left out)."""
    dia = sqlglot_dialect(dialect)
    parsed = dia.parser().parse(tokens if tokens is not None else dia.tokenize(sql), sql)
    return [node for node in parsed if node is not None]


def parse_expression(sql: str, dialect: str, tokens: list[Token]) -> list[exp.Expression]:
    """`sql` parsed as SQL expressions, one per `;`-separated part; ParseError if a part is not one."""
    return [node for node in sqlglot_dialect(dialect).parser().parse_into(exp.Condition, tokens, sql)
            if node is not None]


def is_call(node: exp.Expression) -> bool:
    """Whether a parsed node is a function call (sqlglot also makes functions of AND, OR, `~`, `->` …)."""
    return isinstance(node, exp.Func) and not isinstance(node, exp.Binary | exp.Unary)


def function_names(node: exp.Func) -> set[str]:
    """The case-folded names a function call goes by.

    An unknown function keeps the name it was called by, unquoted: `"set_config"(…)`,
    `SET_CONFIG(…)` and `pg_catalog.set_config(…)` are all `set_config`. A function sqlglot knows
    answers to each of its spellings and to its class (`IFNULL` is also `coalesce`).
    """
    if isinstance(node, exp.Anonymous):
        return {node.name.lower()}
    return {name.lower() for name in node.sql_names()} | {node.key}


def first_line(exc: BaseException) -> str:
    """The first line of an error message, without sqlglot's terminal colour codes."""
    text = str(exc).replace("\x1b[4m", "").replace("\x1b[0m", "").strip()
    return text.splitlines()[0] if text else type(exc).__name__
