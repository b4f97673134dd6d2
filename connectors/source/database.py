"""Read-only access to a CRM database: one engine per source, guarded twice.

The database enforces read-only where it can (SQLite `mode=ro`, PostgreSQL
`default_transaction_read_only`, MySQL/MariaDB `SET SESSION TRANSACTION READ ONLY`), the
statement guard (`connectors.source.guard`) refuses any statement that is not one read before it
reaches the driver, so that even a database that ignores the session setting for DDL is never
written to, and each driver runs one statement per call (`connectors.source.protocol`).
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from connectors.errors import SourceError
from connectors.source.guard import WriteRefusedError, refuse_writes
from connectors.source.predicates import register_sqlite_functions
from connectors.source.protocol import (
    check_single_statements,
    single_statement_cursor,
    without_multi_statements,
)
from connectors.source.sqlite_text import is_undecodable_text, replacing_undecodable

FILE_SCHEMES = ("csv", "xlsx", "xls")
_NUMERIC_KINDS = ("integer", "floating", "mixed-integer-float", "decimal")


def frame_from_rows(rows, names: list[str]) -> pd.DataFrame:
    """A DataFrame from driver rows: numbers and timestamps typed, text kept as Python objects.

    Built column by column: `DataFrame.from_records` probes Row objects slowly, and on pandas 3
    turns every text column into an Arrow string array that the checks would convert straight
    back (about a fifth of a large run's reading time).
    """
    rows = [tuple(r) for r in rows]
    grid = np.array(rows, dtype=object) if rows else np.empty((0, len(names)), dtype=object)
    if grid.shape != (len(rows), len(names)):  # a value that is itself a sequence: build it column by column
        grid = np.empty((len(rows), len(names)), dtype=object)
        for j, values in enumerate(zip(*rows, strict=True)):
            grid[:, j] = values
    return pd.DataFrame({name: typed_column(grid[:, j]) for j, name in enumerate(names)}, columns=names)


def typed_column(arr: np.ndarray) -> pd.Series:
    """One column of driver values (an object array) as the checks read it: numbers and timestamps typed."""
    kind = pd.api.types.infer_dtype(arr, skipna=True)
    if kind in _NUMERIC_KINDS:
        return pd.to_numeric(pd.Series(arr, dtype=object), errors="coerce")
    if kind == "datetime":
        return pd.to_datetime(pd.Series(arr, dtype=object), errors="coerce")
    if kind == "boolean" and not pd.isna(arr).any():
        return pd.Series(arr.astype(bool))
    return pd.Series(arr, dtype=object)

@dataclass
class Source:
    """A read-only CRM source: reflection, streaming reads, fingerprints."""

    engine: Engine
    url_for_display: str
    schema: str | None = None
    _columns: dict[str, list[str]] = field(default_factory=dict)
    timeout_s: int | None = None

    @property
    def dialect(self) -> str:
        """`sqlite`, `postgresql` or `mysql` (MariaDB included)."""
        return self.engine.dialect.name

    @cached_property
    def _inspector(self) -> sa.Inspector:
        return sa.inspect(self.engine)

    def tables(self) -> list[str]:
        """Table and view names in the source's schema."""
        try:
            names = self._inspector.get_table_names(schema=self.schema)
            names += self._inspector.get_view_names(schema=self.schema)
        except SQLAlchemyError as exc:
            raise SourceError(f"source: cannot list tables ({_first_line(exc)})") from None
        return names

    def columns(self, table: str) -> list[str]:
        """Column names of a table (cached)."""
        if table not in self._columns:
            self._columns[table] = [c["name"] for c in self._reflect_columns(table)]
        return self._columns[table]

    def column_types(self, table: str) -> dict[str, sa.types.TypeEngine]:
        """Column name → SQLAlchemy type."""
        return {c["name"]: c["type"] for c in self._reflect_columns(table)}

    def primary_key(self, table: str) -> list[str]:
        """The table's primary-key columns as declared (empty when it declares none, as views do)."""
        try:
            return list(self._inspector.get_pk_constraint(table, schema=self.schema).get("constrained_columns") or [])
        except SQLAlchemyError:
            return []

    def _reflect_columns(self, table: str) -> list[dict]:
        try:
            return self._inspector.get_columns(table, schema=self.schema)
        except sa.exc.NoSuchTableError:
            raise SourceError(f"source: no table {table!r}{suggest(table, self.tables())}") from None
        except SQLAlchemyError as exc:
            raise SourceError(f"source: cannot read the columns of {table} ({_first_line(exc)})") from None

    def quote(self, name: str) -> str:
        """Quote an identifier for this dialect."""
        return self.engine.dialect.identifier_preparer.quote(name)

    def table_ref(self, table: str) -> str:
        """`schema.table AS table`, so SQL in the config can say `table.column`."""
        q = self.quote(table)
        return f"{self.quote(self.schema)}.{q} AS {q}" if self.schema else q

    def stream(self, sql: str, chunk_size: int = 50_000, params: dict | None = None) -> Iterator[pd.DataFrame]:
        """Run a query and yield its rows as DataFrames of at most `chunk_size` rows.

        Uses server-side cursors (psycopg named cursors, PyMySQL SSCursor) so memory stays
        bounded by the chunk, whatever the table size. A SQLite read that meets text that is not
        valid UTF-8 is read again with replacement characters, from the row it stopped at.
        """
        done = 0  # rows yielded so far: a read run again skips them
        for replacing in (False, True):
            try:
                with self.engine.connect() as conn, \
                        replacing_undecodable(conn) if replacing else contextlib.nullcontext():
                    opts = conn.execution_options(yield_per=chunk_size)
                    result = opts.execute(sa.text(sql), params or {})
                    try:
                        names = list(result.keys())
                        skip = done
                        for rows in result.partitions(chunk_size):
                            if skip:
                                rows, skip = rows[skip:], max(0, skip - len(rows))
                                if not rows:
                                    continue
                            yield frame_from_rows(rows, names)
                            done += len(rows)
                    finally:
                        result.close()  # a reader that stops early closes the server-side cursor cleanly
                return
            except WriteRefusedError:
                raise
            except SQLAlchemyError as exc:
                if not replacing and is_undecodable_text(exc):
                    continue
                raise self._query_error(exc) from None

    def read_frame(self, sql: str, params: dict | None = None) -> pd.DataFrame:
        """Run a small query and return all of its rows."""
        chunks = list(self.stream(sql, chunk_size=100_000, params=params))
        return pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()

    def scalar(self, sql: str, params: dict | None = None):
        """Run a query returning one value."""
        try:
            with self.engine.connect() as conn:
                return conn.execute(sa.text(sql), params or {}).scalar()
        except WriteRefusedError:
            raise
        except SQLAlchemyError as exc:
            raise self._query_error(exc) from None

    def query_error(self, exc: Exception) -> SourceError:
        """The one-line SourceError for a failed query (also for readers other than SQLAlchemy)."""
        return self._query_error(exc)

    def _query_error(self, exc: SQLAlchemyError) -> SourceError:
        """A one-line SourceError; a cancelled query names the statement timeout and how to raise it."""
        first = _first_line(exc)
        if _TIMEOUT_MESSAGE.search(first):
            limit = f" of {self.timeout_s} s" if self.timeout_s else ""
            return SourceError(
                f"source: query cancelled by the statement timeout{limit} ({first}); "
                "raise source.statement_timeout_s or narrow the entity with a filter"
            )
        return SourceError(f"source: query failed ({first})")

    def try_sql(self, sql: str) -> str | None:
        """Run a query that returns nothing (for validation); the error's first line, or None."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text(sql)).fetchall()
        except SQLAlchemyError as exc:
            return _first_line(exc)
        return None

    def close(self) -> None:
        """Release the connection pool (and a columnar reader's connection)."""
        from connectors.source import columnar

        columnar.close(self)
        self.engine.dispose()


_TIMEOUT_MESSAGE = re.compile(r"statement timeout|max_statement_time|maximum statement execution time", re.I)


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def suggest(name: str, choices: list[str]) -> str:
    """`; did you mean 'X'?` for the closest choice, case-insensitively, or ''."""
    lowered = {c.lower(): c for c in choices}
    if name.lower() in lowered:
        return f"; did you mean {lowered[name.lower()]!r}?"
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return f"; did you mean {lowered[close[0]]!r}?" if close else ""


def _sqlite_readonly_url(url: sa.URL) -> sa.URL:
    database = url.database or ""
    if database in ("", ":memory:"):
        raise SourceError("source.url: an in-memory SQLite database holds no CRM; give the path of a .db file")
    if database.startswith("file:"):
        path = database[5:].split("?")[0]
    else:
        path = database
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        raise SourceError(f"source.url: SQLite file {resolved} not found; check the path (relative paths are read from the config's folder)")
    # A URI filename, percent-encoded, so that spaces, '#', '?' or '%' in the path survive.
    return sa.URL.create("sqlite", database=f"file:{quote(str(resolved))}", query={"mode": "ro", "uri": "true"})


def _on_connect_sqlite(dbapi_conn, _record):
    dbapi_conn.execute("PRAGMA query_only = ON")
    register_sqlite_functions(dbapi_conn)


def _on_connect_psycopg(dbapi_conn, _record):
    # Every transaction starts as `BEGIN READ ONLY`: unlike default_transaction_read_only, this
    # cannot be switched off from SQL on a pooled connection.
    dbapi_conn.read_only = True


def _mysql_session(timeout_s: int):
    def on_connect(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("SELECT VERSION()")
        version = cur.fetchone()[0]
        cur.execute("SET SESSION TRANSACTION READ ONLY")
        if "mariadb" in version.lower():
            cur.execute(f"SET SESSION max_statement_time = {int(timeout_s)}")
        else:
            cur.execute(f"SET SESSION max_execution_time = {int(timeout_s) * 1000}")
        cur.close()

    return on_connect


def create_readonly_engine(url: str, timeout_s: int = 600) -> Engine:
    """An engine whose every connection is read-only and time-limited, for the dialects we support."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise SourceError(f"source.url: {redact(url)!r} is not a database URL; e.g. postgresql+psycopg://user@host/db") from None
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            engine = sa.create_engine(_sqlite_readonly_url(parsed))
            event.listen(engine, "connect", _on_connect_sqlite)
        elif backend in ("postgresql", "postgres"):
            if parsed.drivername in ("postgresql", "postgres"):  # postgres:// as Heroku and others write it
                parsed = parsed.set(drivername="postgresql+psycopg")
            # standard_conforming_strings: backslashes in '…' are plain text, as the guard's parser reads them.
            opts = (f"-c default_transaction_read_only=on -c statement_timeout={int(timeout_s) * 1000}"
                    " -c standard_conforming_strings=on")
            connect_args = {"options": opts, "connect_timeout": 10}
            if parsed.get_driver_name() == "psycopg":
                connect_args["cursor_factory"] = single_statement_cursor()
            engine = sa.create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)
            if engine.dialect.driver == "psycopg":
                event.listen(engine, "connect", _on_connect_psycopg)
        elif backend in ("mysql", "mariadb"):
            if parsed.drivername in ("mysql", "mariadb"):
                parsed = parsed.set(drivername="mysql+pymysql")
            engine = sa.create_engine(parsed, connect_args={"connect_timeout": 10}, pool_pre_ping=True)
            event.listen(engine, "connect", _mysql_session(timeout_s))
            if engine.dialect.driver == "pymysql":
                event.listen(engine, "do_connect", without_multi_statements)
                event.listen(engine, "connect", check_single_statements)
        else:
            raise SourceError(
                f"source.url: database {backend!r} is not supported; use sqlite, postgresql, mysql/mariadb, or csv:///DIR"
            )
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise SourceError(f"source.url: driver for {parsed.drivername} is not installed ({exc}); pip install 'cleancrm[dev]'") from None
    event.listen(engine, "before_cursor_execute", refuse_writes)
    return engine


def redact(url: str) -> str:
    """The URL with any password hidden, for messages and the dashboard."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def open_source(url: str, timeout_s: int = 600, schema: str | None = None) -> Source:
    """Open a CRM source read-only and check that it answers."""
    scheme = url.split(":", 1)[0].lower()
    if scheme in FILE_SCHEMES:
        from connectors.source.files import open_file_source  # (it builds on Source)

        return open_file_source(url)
    engine = create_readonly_engine(url, timeout_s)
    source = Source(engine=engine, url_for_display=redact(url), schema=schema, timeout_s=timeout_s)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1")).scalar()
    except DBAPIError as exc:
        engine.dispose()
        raise SourceError(f"source.url: cannot connect to {redact(url)} ({_first_line(exc)}); check host, port, user and that the server runs") from None
    return source


def fingerprint(source: Source, tables: list[str]) -> str:
    """A cheap fingerprint of the source: dialect, tables and their row counts."""
    parts = [source.dialect]
    for t in sorted(tables):
        n = source.scalar(f"SELECT COUNT(*) FROM {source.table_ref(t)}")
        parts.append(f"{t}:{n}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
