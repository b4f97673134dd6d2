"""A run's findings and record scores, stored as compressed Parquet segments in the history database.

A run over a large CRM stores about a million findings. Inserted row by row into indexed tables
they took 20 s (SQLite) and 29 s (PostgreSQL, COPY included) per million on this project's
benchmark machine: the upkeep of indexes on random record keys. So each run's findings and record
scores go into `result_segments` as a few Parquet blobs (zstd, at most `SEGMENT_ROWS` rows and
about `SEGMENT_BYTES` bytes each, which MariaDB's default 16 MB packet allows), inside the run's
own transaction: storing is a handful of large writes whatever the history database, and a run is
still stored all or nothing. Reading fetches a run's segments back as one Arrow table, which
`connectors.history.findings` queries with DuckDB in process; a completed run never changes, so
the tables of recently read runs are kept (`CACHED_TABLES`), checked against the segments' tokens.

Runs stored before segments existed keep their rows in the `findings` and `record_scores` tables;
`read` falls back to them, so old histories read as before.
"""

from __future__ import annotations

import io
import threading
import uuid
from collections import OrderedDict

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from connectors.history import schema

SEGMENT_ROWS = 200_000  # rows per segment at most
SEGMENT_BYTES = 8_000_000  # a segment this large is split again (MariaDB's default packet is 16 MB)
CACHED_TABLES = 4  # Arrow tables of recently read runs kept in memory (two runs: a compare)

FINDINGS = "findings"
RECORD_SCORES = "record_scores"

# The columns of each kind, typed. Texts are read back as plain strings, not dictionary-encoded:
# DuckDB 1.4.4 crashed joining dictionary columns with a pandas frame.
SCHEMAS = {
    FINDINGS: pa.schema([
        ("id", pa.int64()), ("check_id", pa.string()), ("entity", pa.string()), ("record_key", pa.string()),
        ("field", pa.string()), ("column_name", pa.string()), ("value", pa.string()), ("reason", pa.string()),
        ("suggestion", pa.string()), ("severity", pa.string()), ("owner", pa.string())]),
    RECORD_SCORES: pa.schema([
        ("entity", pa.string()), ("record_key", pa.string()), ("score", pa.float64()),
        ("failed_checks", pa.int64()), ("owner", pa.string())]),
}
LEGACY_TABLES = {FINDINGS: schema.findings, RECORD_SCORES: schema.record_scores}

_cache: OrderedDict[tuple, pa.Table] = OrderedDict()
_cache_lock = threading.Lock()


def write(conn: sa.Connection, run_id: int, kind: str, frame: pd.DataFrame | None) -> int:
    """Store a run's frame of `kind` as segments on the run's connection; returns the rows stored.

    Findings get an `id`: their order in the run, which listings use as a stable order.
    """
    if frame is None or not len(frame):
        return 0
    if kind == FINDINGS:
        frame = frame.assign(id=range(1, len(frame) + 1))
    table = _arrow(frame, SCHEMAS[kind])
    rows = [{"run_id": run_id, "kind": kind, "part": part, "row_count": piece.num_rows, "token": uuid.uuid4().hex,
             "data": blob} for part, (piece, blob) in enumerate(_segments(table))]
    conn.execute(schema.result_segments.insert(), rows)
    return table.num_rows


def read(engine: sa.Engine, run_id: int, kind: str) -> pa.Table:
    """A run's rows of `kind` as one Arrow table (empty, with the kind's columns, when it has none)."""
    segments = schema.result_segments
    with engine.connect() as conn:
        tokens = conn.execute(sa.select(segments.c.token).where(segments.c.run_id == run_id, segments.c.kind == kind)
                              .order_by(segments.c.part)).scalars().all()
        key = (str(engine.url), run_id, kind, tuple(tokens))
        with _cache_lock:
            if key in _cache:
                _cache.move_to_end(key)
                return _cache[key]
        if tokens:
            blobs = conn.execute(sa.select(segments.c.data).where(segments.c.run_id == run_id,
                                                                  segments.c.kind == kind)
                                 .order_by(segments.c.part)).scalars().all()
            table = pa.concat_tables([_decode(blob, kind) for blob in blobs])
        else:
            table = _legacy(conn, run_id, kind)
    with _cache_lock:
        _cache[key] = table
        while len(_cache) > CACHED_TABLES:
            _cache.popitem(last=False)
    return table


def _arrow(frame: pd.DataFrame, target: pa.Schema) -> pa.Table:
    """A frame as an Arrow table of `target`'s columns; texts as strings, absent columns as nulls."""
    arrays = []
    for name in target.names:
        kind = target.field(name).type
        if name not in frame:
            arrays.append(pa.nulls(len(frame), kind))
            continue
        values = frame[name]
        if pa.types.is_string(kind):
            arrays.append(_texts(values))
        else:
            arrays.append(pa.array(values.to_numpy(), type=kind, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=target)


def _texts(values: pd.Series) -> pa.Array:
    """A column as Arrow strings; a key or value the CRM holds as a number is stored as its text."""
    try:
        return pa.array(values, type=pa.string(), from_pandas=True)  # C speed for text columns
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        texts = [v if isinstance(v, str) or v is None else (None if pd.isna(v) else str(v))
                 for v in values.to_numpy(dtype=object)]
        return pa.array(texts, type=pa.string())


def _segments(table: pa.Table, rows: int | None = None):
    """(slice, Parquet bytes) pieces of the table, each within SEGMENT_ROWS rows and SEGMENT_BYTES bytes."""
    rows = rows or SEGMENT_ROWS
    for start in range(0, table.num_rows, rows):
        piece = table.slice(start, rows)
        blob = _encode(piece)
        if len(blob) > SEGMENT_BYTES and piece.num_rows > 1:
            yield from _segments(piece, max(1, piece.num_rows // 2))
        else:
            yield piece, blob


def _encode(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def _decode(blob: bytes, kind: str) -> pa.Table:
    return pq.read_table(io.BytesIO(blob), schema=SCHEMAS[kind])


def _legacy(conn: sa.Connection, run_id: int, kind: str) -> pa.Table:
    """Rows a run stored before segments existed, from their own table, in the kind's columns."""
    table = LEGACY_TABLES[kind]
    columns = [table.c[name] for name in SCHEMAS[kind].names]
    order = [table.c.id] if kind == FINDINGS else [table.c.entity, table.c.record_key]
    res = conn.execute(sa.select(*columns).where(table.c.run_id == run_id).order_by(*order))
    frame = pd.DataFrame(res.fetchall(), columns=list(res.keys()))
    return _arrow(frame, SCHEMAS[kind])
