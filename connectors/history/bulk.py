"""Bulk writes of a run's result frames (findings, record scores, clusters) into the history tables.

A run over a large CRM stores hundreds of thousands of findings, and SQLAlchemy's executemany of
one dict per row spends ~40 µs a row on binding alone (40 s for 1M findings). Each database gets
its own fastest path inside the run's transaction, so a run is still stored all or nothing:

- PostgreSQL: `COPY … FROM STDIN`, the rows formatted by psycopg's C copy writer;
- SQLite: the driver's `executemany` on plain tuples (no per-row dicts, no bind processors);
- anything else (MariaDB/MySQL): the driver's `executemany` on tuples in batches, which PyMySQL
  and mysqlclient fold into multi-row INSERTs.

Values go in as plain Python objects: numpy scalars become int/float/bool, missing values NULL.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import sqlalchemy as sa

BATCH = 20_000  # rows per executemany call: bounds the driver's buffers on multi-row INSERTs


def insert_frame(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame | None, run_id: int) -> int:
    """Insert a result frame's rows, stamped with `run_id`, into `table`; returns how many.

    Only the frame's columns that the table has are written; the others (and an autoincrement id)
    take their defaults.
    """
    if frame is None or not len(frame):
        return 0
    names = ["run_id"] + [c.name for c in table.columns if c.name != "run_id" and c.name in frame.columns]
    columns = [np.full(len(frame), run_id, dtype=object)] + [_plain(frame[name], table.c[name].type)
                                                             for name in names[1:]]
    dialect = conn.dialect.name
    if dialect == "postgresql" and conn.dialect.driver == "psycopg":
        _copy(conn, table, names, columns)
    else:
        _executemany(conn, table, names, columns)
    return len(frame)


def _plain(series: pd.Series, kind: sa.types.TypeEngine) -> np.ndarray:
    """A column as an object array of plain Python values, missing values as None.

    Flags kept as integers (`is_survivor`) are written as 0/1, as COPY does not take `t` for one.
    """
    if isinstance(kind, sa.Integer) and pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype("int64")
    elif isinstance(kind, sa.Integer) and series.dtype == object:
        series = series.map(lambda v: int(v) if isinstance(v, bool | np.bool_) else v)
    values = series.to_numpy(dtype=object)  # numpy ints/floats/bools become Python ones here
    missing = pd.isna(series).to_numpy()
    if missing.any():
        values = values.copy()
        values[missing] = None
    return values


def _rows(columns: list[np.ndarray], start: int = 0, stop: int | None = None) -> Iterator[tuple]:
    """Row tuples of the column arrays between `start` and `stop`."""
    return zip(*(c[start:stop] for c in columns), strict=True)


def _copy(conn: sa.Connection, table: sa.Table, names: list[str], columns: list[np.ndarray]) -> None:
    """PostgreSQL: COPY the rows in on the run's own connection (and so in its transaction)."""
    quote = conn.dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
    driver = conn.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in _rows(columns):
            copy.write_row(row)


def _executemany(conn: sa.Connection, table: sa.Table, names: list[str], columns: list[np.ndarray]) -> None:
    """Other databases: the driver's executemany on row tuples, in batches."""
    preparer = conn.dialect.identifier_preparer
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    statement = (f"INSERT INTO {preparer.quote(table.name)} ({', '.join(preparer.quote(n) for n in names)}) "
                 f"VALUES ({', '.join([marker] * len(names))})")
    total = len(columns[0])
    for start in range(0, total, BATCH):
        conn.exec_driver_sql(statement, list(_rows(columns, start, start + BATCH)))
