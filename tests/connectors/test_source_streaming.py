"""Streaming reads stay bounded by the chunk; the statement timeout stops long queries."""

from __future__ import annotations

import time
import tracemalloc

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from connectors.errors import SourceError
from connectors.source import open_source

ROWS = 200_000
CHUNK = 5_000
PAD = "x" * 60

FILL = {
    "sqlite": f"INSERT INTO big WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {ROWS}) "
              f"SELECT i, 'first' || i, 'person' || i || '@example.com', 'city' || (i % 500), '{PAD}' || i FROM s",
    "postgresql": f"INSERT INTO big SELECT i, 'first' || i, 'person' || i || '@example.com', 'city' || (i % 500), "
                  f"'{PAD}' || i FROM generate_series(1, {ROWS}) AS i",
    "mysql": f"INSERT INTO big SELECT seq, CONCAT('first', seq), CONCAT('person', seq, '@example.com'), "
             f"CONCAT('city', seq % 500), CONCAT('{PAD}', seq) FROM seq_1_to_{ROWS}",
}


@pytest.fixture(scope="session")
def big_table(backend) -> str:
    """A database with `big`: ROWS rows, generated in the database itself."""
    url = backend.new_database("stream")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE big (id INTEGER PRIMARY KEY, first_name VARCHAR(40), email VARCHAR(80), "
                             "city VARCHAR(40), note VARCHAR(100))"))
        conn.execute(sa.text(FILL[engine.dialect.name]))
    engine.dispose()
    return url


def test_stream_is_chunked_and_memory_bounded(big_table):
    source = open_source(big_table)
    cursors = []
    event.listen(source.engine, "after_cursor_execute", lambda c, cur, *a: cursors.append(type(cur).__name__))
    try:
        sizes, frame_bytes = [], 0
        tracemalloc.start()
        for chunk in source.stream("SELECT id, first_name, email, note FROM big", chunk_size=CHUNK):
            sizes.append(len(chunk))
            frame_bytes += int(chunk.memory_usage(deep=True).sum())
            del chunk
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        source.close()
    assert sum(sizes) == ROWS
    assert max(sizes) <= CHUNK and len(sizes) >= ROWS // CHUNK
    # the whole table as frames is ~frame_bytes; streaming must hold only a few chunks at a time
    assert peak < frame_bytes / 6, f"peak {peak / 1e6:.1f} MB vs {frame_bytes / 1e6:.1f} MB for the whole table"
    if source.dialect == "postgresql":
        assert cursors[-1] == "ServerCursor"  # a named cursor: the rows stay on the server until fetched
    elif source.dialect == "mysql":
        assert cursors[-1].startswith("SS")  # PyMySQL's unbuffered SSCursor


def test_stream_stopped_early_releases_the_connection(big_table):
    source = open_source(big_table)
    try:
        for _ in range(3):
            first = next(iter(source.stream("SELECT id FROM big ORDER BY id", chunk_size=100)))
            assert list(first.id[:3]) == [1, 2, 3]
        assert source.engine.pool.checkedout() == 0
        assert source.scalar("SELECT COUNT(*) FROM big") == ROWS
    finally:
        source.close()


@pytest.mark.parametrize("dialect", ["postgresql", "mysql"])
def test_statement_timeout_names_the_timeout(request, dialect):
    url = request.getfixturevalue("pg_url" if dialect == "postgresql" else "mysql_url")
    sleep = "SELECT pg_sleep(5)" if dialect == "postgresql" else "SELECT SLEEP(5)"
    source = open_source(url, timeout_s=1)
    try:
        start = time.perf_counter()
        with pytest.raises(SourceError) as caught:
            source.scalar(sleep)
        assert time.perf_counter() - start < 4
        message = str(caught.value)
        assert "statement timeout of 1 s" in message and "source.statement_timeout_s" in message
        assert "\n" not in message
        with pytest.raises(SourceError, match="statement timeout"):
            list(source.stream(sleep))
        assert source.scalar("SELECT 1") == 1  # the pool recovers
    finally:
        source.close()
