"""A query's result as Arrow, through DuckDB's PostgreSQL scanner: binary COPY, no Python row per record.

Reading a million records as Python rows costs seconds of driver and object work; DuckDB's
scanner (the `duckdb-ext-postgres` wheel, as DuckDB cannot download extensions here) reads the
same result as columns. The statement is our own SELECT, checked by the statement guard before it
is sent; DuckDB's connection is read-only twice over, as the engine's are: the database is
attached READ_ONLY and its session starts with `default_transaction_read_only=on` and the
source's statement timeout.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import pyarrow as pa

from connectors.source.guard import WriteRefusedError, judge

_CONNECTIONS: dict[tuple[int, int], object] = {}  # (process, source) → DuckDB connection; forks open their own


@cache
def _extension() -> Path | None:
    """The PostgreSQL scanner of the installed DuckDB, from its wheel; None when it is not installed."""
    try:
        import duckdb
        import duckdb_ext  # the namespace package of the duckdb-ext-* wheels
    except ImportError:
        return None
    for folder in duckdb_ext.__path__:
        path = Path(folder) / "extensions" / f"v{duckdb.__version__}" / "linux_amd64" / "postgres_scanner.duckdb_extension"
        if path.is_file():
            return path
    return None


def columnar_available(source) -> bool:
    """Whether this source's queries can be read as Arrow here (PostgreSQL with the scanner installed)."""
    return source.dialect == "postgresql" and _extension() is not None


def _conninfo(source) -> str:
    url = source.engine.url
    options = f"-c default_transaction_read_only=on -c statement_timeout={int(source.timeout_s or 600) * 1000}"
    parts = {"host": url.host or "localhost", "port": url.port or 5432, "user": url.username,
             "password": url.password, "dbname": url.database, "options": options, "connect_timeout": 10}

    def quoted(value) -> str:
        return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"

    return " ".join(f"{k}={quoted(v)}" for k, v in parts.items() if v is not None)


def _connection(source):
    key = (os.getpid(), id(source))
    if key not in _CONNECTIONS:
        import duckdb

        # One thread: DuckDB starts no worker thread then, so the engine may fork while the
        # connection stays open (loading the scanner costs about 0.3 s, once per process).
        con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False,
                                     "threads": 1})
        con.execute(f"LOAD '{_extension()}'")
        literal = "'" + _conninfo(source).replace("'", "''") + "'"  # ATTACH takes no bound parameters
        con.execute(f"ATTACH {literal} AS crm (TYPE postgres, READ_ONLY)")
        _CONNECTIONS[key] = con
    return _CONNECTIONS[key]


def read_arrow(source, sql: str) -> pa.Table:
    """Run one SELECT of ours on the PostgreSQL source and return its result as an Arrow table."""
    import duckdb

    verdict = judge(sql, "postgresql")
    if verdict.reason:
        first = " ".join(sql.split())[:80]
        raise WriteRefusedError(f"source: refused {first!r} ({verdict.reason}); the CRM source is read-only")
    try:
        return _connection(source).execute("SELECT * FROM postgres_query('crm', ?)", [sql]).fetch_arrow_table()
    except duckdb.Error as exc:
        raise source.query_error(exc) from None


def frame_from_arrow(table: pa.Table):
    """A DataFrame typed as `database.frame_from_rows` types a driver's rows of the same values.

    Text columns become object arrays straight from Arrow; other columns pass through Python
    values first, so dates, decimals and time zones come out as a driver's would.
    """
    import numpy as np
    import pandas as pd

    from connectors.source.database import typed_column

    data = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            values = column.to_numpy(zero_copy_only=False)
        else:
            values = np.empty(len(column), dtype=object)
            values[:] = column.to_pylist()
        data[name] = typed_column(values.astype(object, copy=False))
    return pd.DataFrame(data, columns=table.column_names)


def close(source) -> None:
    """Close this process's DuckDB connection of the source, if any."""
    con = _CONNECTIONS.pop((os.getpid(), id(source)), None)
    if con is not None:
        con.close()
