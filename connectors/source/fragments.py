"""SQL fragments of a config (soft_delete, filter, a field's sql, a join's on): one harmless expression each.

A fragment is pasted into the SELECTs cleancrm sends, so it is parsed by sqlglot for the source's
dialect before any of it reaches the database, and refused unless it is exactly one expression:
no `;`, no statements, no comments (databases drop them before sqlglot could see what they hide,
and MySQL and MariaDB run `/*! … */`), no subquery but a plain SELECT, no quoted or
schema-qualified function names, and only functions from `ALLOWED_FUNCTIONS`.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.tokens import TokenType

from connectors.source.parsing import (
    SQL_ERRORS,
    STATEMENTS,
    first_line,
    function_names,
    is_call,
    parse_expression,
    tokenize_expression,
)

# Harmless scalar functions (and the aggregates a scalar subquery needs), by every name sqlglot may
# give them: as written (`instr`) and as the class it parses them into (`str_position`).
ALLOWED_FUNCTIONS = frozenset({
    # conditions and NULLs
    "case", "if", "iif", "coalesce", "ifnull", "nvl", "nullif", "greatest", "least", "exists",
    # text
    "lower", "lcase", "upper", "ucase", "trim", "ltrim", "rtrim", "btrim", "length", "char_length",
    "character_length", "octet_length", "substr", "substring", "substring_index", "left", "right", "lpad",
    "rpad", "pad", "replace", "translate", "concat", "concat_ws", "position", "strpos", "instr", "locate",
    "str_position", "split_part", "initcap", "reverse", "ascii", "regexp_like", "regexp_replace",
    # types
    "cast", "try_cast",
    # numbers
    "abs", "round", "floor", "ceil", "ceiling", "sign", "mod",
    # dates and times
    "now", "curdate", "curtime", "current_date", "current_time", "current_timestamp", "localtimestamp",
    "date", "time", "datetime", "julianday", "strftime", "date_trunc", "timestamp_trunc", "date_part",
    "extract", "date_add", "date_sub", "adddate", "subdate", "datediff", "date_diff", "timestampdiff",
    "timestamp_diff", "age", "to_char", "to_date", "to_timestamp", "str_to_date", "str_to_time",
    "date_format", "time_to_str", "ts_or_ds_to_date", "ts_or_ds_to_timestamp", "unix_to_time",
    "from_unixtime", "unix_timestamp", "year", "month", "day", "dayofmonth", "day_of_month", "dayofweek",
    "day_of_week", "hour", "minute", "second", "last_day",
    # aggregates, for a scalar subquery
    "count", "min", "max", "sum", "avg",
})


def comment_marker(text: str, dialect: str) -> str | None:
    """The comment opener in a fragment's raw text (`/*`, `--`, and `#` in MySQL), or None."""
    markers = ("/*", "--", "#") if dialect == "mysql" else ("/*", "--")
    return next((marker for marker in markers if marker in text), None)


def fragment_problem(text: str, dialect: str) -> str | None:
    """Why `text` is not one harmless SQL expression for a `dialect` source, or None if it is."""
    if marker := comment_marker(text, dialect):
        return f"{marker!r} starts a comment, and comments are not allowed (the database would skip what they hide)"
    if dialect == "mysql" and "\\" in text:
        # Whether a backslash escapes a quote depends on the server's sql_mode (NO_BACKSLASH_ESCAPES).
        return "a backslash, which MySQL and MariaDB read by their sql_mode, is not allowed"
    try:
        tokens = tokenize_expression(text, dialect)
    except SQL_ERRORS as exc:
        return f"not valid SQL ({first_line(exc)})"
    if not tokens:
        return "empty"
    if any(token.token_type == TokenType.SEMICOLON for token in tokens):
        return "';' ends a statement; a fragment is one expression"
    for before, after in zip(tokens, tokens[1:], strict=False):
        if before.token_type == TokenType.IDENTIFIER and after.token_type == TokenType.L_PAREN:
            return f"the function name {before.text!r} is quoted, and function names must be written without quotes"
    try:
        parsed = parse_expression(text, dialect, tokens)
    except SQL_ERRORS as exc:
        return f"not one SQL expression ({first_line(exc)})"
    if len(parsed) != 1:
        return "not one SQL expression"
    return _expression_problem(parsed[0])


def _expression_problem(node: exp.Expression) -> str | None:
    for part in node.walk():
        if isinstance(part, STATEMENTS):
            return f"holds a {part.key.upper()} statement"
        if isinstance(part, exp.Into):
            return "selects INTO a table, a variable or a file"
        if isinstance(part, exp.Lock):
            return "locks rows (FOR UPDATE / FOR SHARE)"
        if isinstance(part, exp.PropertyEQ):
            return "assigns a variable (:=)"
        if isinstance(part, exp.Dot) and isinstance(part.expression, exp.Func):
            return f"calls {part.sql()} through a schema; call functions without one"
        if is_call(part) and not function_names(part) & ALLOWED_FUNCTIONS:
            name = part.name if isinstance(part, exp.Anonymous) else part.sql_name()
            return f"calls {name.upper()}(), which is not among the harmless functions allowed (CASE, COALESCE, " \
                   "LOWER, UPPER, TRIM, LENGTH, SUBSTR, CAST, NULLIF, REPLACE, date functions …)"
    return None
