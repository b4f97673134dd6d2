"""Settled-pass predicates: what the database can decide about a record before Python sees it.

A check may state a predicate under which a record certainly passes it (`Check.settled`). The
engine asks the database to count the records that satisfy it and to send only the others,
which the check then judges in Python exactly as before. So a predicate has to be *sound* — never
true for a record the check would fail — but need not be complete: a record it leaves out only
costs a look in Python.

Predicates are a small expression tree (`Matches`, `NotMatches`, `Lacks`, `NotBefore`, `InKeys`, `AtMost`, `OneOf`,
`FoldedNotIn`, `Compares`, `All`) rendered per
dialect, never text translated from one dialect to another: regular-expression matching differs
in name, anchoring, case folding and escaping between engines (MariaDB folds case under its
default collations, Snowflake's REGEXP_LIKE is anchored, DuckDB's regexp_matches is not, MySQL
string literals read backslashes). Patterns use the part of regex syntax every engine here reads
alike: anchors, bracket classes of ASCII characters, `{m,n}`, `|` and plain groups. Each pattern
is matched against the whole value, case-sensitively and byte for byte; a value that is not text
is matched as its text form.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlglot import exp

# The dialects a predicate renders for: the ones cleancrm reads, and warehouses a replica may live in.
DIALECTS = ("postgresql", "mysql", "sqlite", "duckdb", "snowflake", "bigquery", "databricks", "trino", "redshift")
_SQLGLOT = {"postgresql": "postgres", "mysql": "mysql", "sqlite": "sqlite", "duckdb": "duckdb",
            "snowflake": "snowflake", "bigquery": "bigquery", "databricks": "databricks", "trino": "trino",
            "redshift": "redshift"}
SQLITE_MATCH = "cleancrm_full_match"  # the function SQLite connections get (SQLite has no regex of its own)


@dataclass(frozen=True)
class Matches:
    """The value of column `label` matches `pattern` as a whole (NULL never matches)."""

    label: str
    pattern: str


@dataclass(frozen=True)
class NotMatches:
    """The value of column `label` is not NULL and does not match `pattern` as a whole."""

    label: str
    pattern: str


@dataclass(frozen=True)
class Lacks:
    """The value of column `label` is not NULL and contains none of `fragments` (LIKE, no wildcards in them).

    Cheaper than a pattern on every engine. A collation that folds case or accents can only make
    more values look like they contain a fragment, which leaves them to Python: still sound.
    """

    label: str
    fragments: tuple[str, ...]


@dataclass(frozen=True)
class NotBefore:
    """The value of column `label` is a typed date or timestamp at or after `when` (naive UTC), before 2200.

    Rendered for DuckDB only, where the column's type is known (`typeof`) and the session's time
    zone is UTC; elsewhere it settles nothing, since text dates are not compared as pandas reads them.
    """

    label: str
    when: datetime


@dataclass(frozen=True, eq=False)
class InKeys:
    """The value of column `label`, as text, is one of `keys` (a look-up's key set, held as table `table`).

    Rendered for DuckDB only, where the engine registers the keys as a table; elsewhere it settles nothing.
    """

    label: str
    table: str
    keys: frozenset


@dataclass(frozen=True)
class AtMost:
    """The value of column `label` has at most `length` characters (NULL: false)."""

    label: str
    length: int


@dataclass(frozen=True)
class OneOf:
    """The value of column `label` is text and exactly one of `values` (case and spaces as written).

    Rendered for DuckDB only, where the column's type is known (`typeof`): a number or a flag
    reads differently as text in SQL and in Python, so only text settles; elsewhere it settles nothing.
    """

    label: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class FoldedNotIn:
    """The value of column `label` is printable ASCII text whose folded form is none of `folded`.

    Folded: trimmed, runs of spaces as one, lower case, which is what Python's
    `" ".join(v.split()).casefold()` gives for such a text. Rendered for DuckDB only.
    """

    label: str
    folded: tuple[str, ...]


@dataclass(frozen=True)
class Compares:
    """The value of column `label` is a typed number (or a typed date, for a datetime `value`) and `op` `value`.

    Rendered for DuckDB only, where the column's type is known (`typeof`): text that reads as a
    number or a date is left to Python, which parses it as pandas does.
    """

    label: str
    op: str  # one of >, >=, <, <=
    value: float | datetime


@dataclass(frozen=True)
class All:
    """Every part holds."""

    parts: tuple


Predicate = Matches | NotMatches | Lacks | NotBefore | InKeys | AtMost | OneOf | FoldedNotIn | Compares | All
# DuckDB type names of the columns a `NotBefore` may compare (the scanner's dates and timestamps).
_DATE_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS")
# DuckDB type names of the columns a `Compares` reads as numbers.
_NUMBER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT", "FLOAT", "DOUBLE")
NOTHING = "(1 = 0)"  # what a predicate a dialect cannot state renders as: it settles no record


def sql_pattern(python_pattern: str) -> str:
    """A pattern written for Python's `re` (`(?:…)` groups) in the syntax every dialect shares."""
    return python_pattern.replace("(?:", "(")


def any_of(words) -> str:
    """A whole-value pattern for any of `words`, ASCII letters in either case (no case folding needed).

    Case is spelled out in bracket classes because `lower()` depends on the database's locale (a
    Turkish one lower-cases `I` to a dotless i); other characters stand alone in brackets.
    """
    def spelled(word: str) -> str:
        out = []
        for ch in word:
            if ch.isascii() and ch.isalpha():
                out.append(f"[{ch.upper()}{ch.lower()}]")
            elif ch.isascii() and ch.isalnum():
                out.append(ch)
            elif ch in "\\^][":
                raise ValueError(f"any_of: {word!r} holds {ch!r}, which no bracket class here spells alike")
            else:
                out.append(f"[{ch}]")  # '-' alone in brackets is itself everywhere
        return "".join(out)

    return "(" + "|".join(spelled(w) for w in sorted(words)) + ")"


def _column(label: str, dialect: str) -> str:
    return exp.column(label, table="q", quoted=True).sql(dialect=_SQLGLOT[dialect])


def literal(text: str, dialect: str) -> str:
    """A string literal for `dialect`, quoted and escaped by sqlglot (never pasted into SQL as it is)."""
    return exp.Literal.string(text).sql(dialect=_SQLGLOT[dialect])


_literal = literal


def _as_text(label: str, dialect: str) -> str:
    column = _column(label, dialect)
    if dialect == "mysql":
        return f"CAST({column} AS BINARY)"  # bytes: case-sensitive, no collation folding accents or case
    if dialect == "sqlite":
        return f"CAST({column} AS BLOB)"  # bytes, so text that is not valid UTF-8 cannot break the read
    kind = {"bigquery": "STRING", "databricks": "STRING"}.get(dialect, "VARCHAR" if dialect != "postgresql" else "TEXT")
    return f"CAST({column} AS {kind})"


def _full_match(label: str, pattern: str, dialect: str) -> str:
    # PCRE (MariaDB) and Java (Trino, Spark) let `$` match before a final newline; `\z` does not.
    anchored = f"^({pattern})" + ("\\z" if dialect in ("mysql", "trino", "databricks") else "$")
    value = _as_text(label, dialect)
    if dialect in ("postgresql", "redshift"):
        return f"({value} ~ {_literal(anchored, dialect)})"
    if dialect == "mysql":
        return f"({value} REGEXP {_literal(anchored, dialect)})"
    if dialect == "sqlite":
        return f"({SQLITE_MATCH}({_literal(anchored, dialect)}, {value}) = 1)"
    if dialect == "duckdb":
        return f"regexp_full_match({value}, {_literal(anchored, dialect)})"
    if dialect == "snowflake":
        return f"REGEXP_LIKE({value}, {_literal(anchored, dialect)})"
    if dialect == "bigquery":
        return f"REGEXP_CONTAINS({value}, {_literal(anchored, dialect)})"
    if dialect == "databricks":
        return f"({value} RLIKE {_literal(anchored, dialect)})"
    if dialect == "trino":
        return f"REGEXP_LIKE({value}, {_literal(anchored, dialect)})"
    raise ValueError(f"no rendering of a match for dialect {dialect!r}")


def _length(label: str, dialect: str) -> str:
    column = _column(label, dialect)
    return f"CHAR_LENGTH({column})" if dialect in ("mysql", "postgresql") else f"LENGTH({column})"


def render(predicate: Predicate, dialect: str) -> str:
    """SQL for the predicate over the columns of a subquery aliased `q` (true, false or NULL)."""
    if isinstance(predicate, Matches):
        return _full_match(predicate.label, predicate.pattern, dialect)
    if isinstance(predicate, NotMatches):
        column = _column(predicate.label, dialect)
        return f"({column} IS NOT NULL AND NOT {_full_match(predicate.label, predicate.pattern, dialect)})"
    if isinstance(predicate, Lacks):
        value = _as_text(predicate.label, dialect) if dialect != "sqlite" else _column(predicate.label, dialect)
        likes = []
        for fragment in predicate.fragments:
            if any(ch in fragment for ch in "%_\\'"):
                raise ValueError(f"Lacks: {fragment!r} holds a LIKE wildcard or escape")
            likes.append(f"{value} NOT LIKE {_literal('%' + fragment + '%', dialect)}")
        return f"({_column(predicate.label, dialect)} IS NOT NULL AND " + " AND ".join(likes) + ")"
    if isinstance(predicate, NotBefore):
        if dialect != "duckdb":
            return NOTHING
        column = _column(predicate.label, dialect)
        types = ", ".join(_literal(t, dialect) for t in _DATE_TYPES)
        when = predicate.when.strftime("%Y-%m-%d %H:%M:%S.%f")
        return (f"(typeof({column}) IN ({types}) AND TRY_CAST({column} AS TIMESTAMP) >= TIMESTAMP '{when}' "
                f"AND TRY_CAST({column} AS TIMESTAMP) < TIMESTAMP '2200-01-01')")
    if isinstance(predicate, InKeys):
        if dialect != "duckdb":
            return NOTHING
        table = exp.to_identifier(predicate.table, quoted=True).sql(dialect="duckdb")
        return f"(CAST({_column(predicate.label, dialect)} AS VARCHAR) IN (SELECT k FROM {table}))"
    if isinstance(predicate, OneOf):
        if dialect != "duckdb" or not predicate.values:
            return NOTHING
        column = _column(predicate.label, dialect)
        listed = ", ".join(literal(v, dialect) for v in predicate.values)
        return f"(typeof({column}) = 'VARCHAR' AND {column} IN ({listed}))"
    if isinstance(predicate, FoldedNotIn):
        if dialect != "duckdb":
            return NOTHING
        column = _column(predicate.label, dialect)
        folded = f"lower(regexp_replace(trim({column}), ' +', ' ', 'g'))"
        listed = ", ".join(literal(v, dialect) for v in predicate.folded) or "NULL"
        return (f"(typeof({column}) = 'VARCHAR' AND regexp_full_match({column}, '[ -~]*') "
                f"AND {folded} NOT IN ({listed}))")
    if isinstance(predicate, Compares):
        finite = isinstance(predicate.value, datetime) or math.isfinite(float(predicate.value))
        if dialect != "duckdb" or predicate.op not in (">", ">=", "<", "<=") or not finite:
            return NOTHING
        column = _column(predicate.label, dialect)
        if isinstance(predicate.value, datetime):
            types = ", ".join(_literal(t, dialect) for t in _DATE_TYPES)
            when = predicate.value.strftime("%Y-%m-%d %H:%M:%S.%f")
            return (f"(typeof({column}) IN ({types}) AND TRY_CAST({column} AS TIMESTAMP) < TIMESTAMP '2200-01-01' "
                    f"AND TRY_CAST({column} AS TIMESTAMP) >= TIMESTAMP '1900-01-01' "
                    f"AND TRY_CAST({column} AS TIMESTAMP) {predicate.op} TIMESTAMP '{when}')")
        types = ", ".join(_literal(t, dialect) for t in _NUMBER_TYPES)
        typed = f"(typeof({column}) IN ({types}) OR typeof({column}) LIKE 'DECIMAL(%')"
        return f"({typed} AND CAST({column} AS DOUBLE) {predicate.op} {float(predicate.value)!r})"
    if isinstance(predicate, AtMost):
        return f"({_length(predicate.label, dialect)} <= {int(predicate.length)})"
    if isinstance(predicate, All):
        if not predicate.parts:
            return "(1 = 1)"  # a check with nothing to measure here settles every record (counting none)
        return "(" + " AND ".join(render(p, dialect) for p in predicate.parts) + ")"
    raise TypeError(f"not a predicate: {predicate!r}")


def key_tables(predicate: Predicate) -> list[InKeys]:
    """The key sets a predicate refers to, for the engine to register as tables (DuckDB)."""
    if isinstance(predicate, InKeys):
        return [predicate]
    if isinstance(predicate, All):
        return [k for part in predicate.parts for k in key_tables(part)]
    return []


def flag(predicate: Predicate, dialect: str) -> str:
    """1 where the predicate holds, 0 where it is false or NULL (a NULL must not settle a record)."""
    return f"CASE WHEN {render(predicate, dialect)} THEN 1 ELSE 0 END"


@lru_cache(maxsize=256)
def _compiled(pattern: bytes) -> re.Pattern:
    return re.compile(pattern, re.DOTALL)


def _sqlite_full_match(pattern, value) -> int | None:
    """SQLite's match function: bytes against an anchored pattern, as the other engines match."""
    if value is None or pattern is None:
        return None
    data = value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")
    return 1 if _compiled(pattern.encode()).fullmatch(data) is not None else 0


def register_sqlite_functions(dbapi_conn) -> None:
    """Give a SQLite connection the match function predicates render to."""
    dbapi_conn.create_function(SQLITE_MATCH, 2, _sqlite_full_match, deterministic=True)
