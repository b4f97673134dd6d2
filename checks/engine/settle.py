"""Records the database settles: counted in SQL, only the others read and judged in Python.

A row check that states a settled-pass predicate (`Check.settled`) is measured in one statement
for all such checks of an entity instead of a read of every record: it returns the records some
predicate left open, each with a flag per check, so that every check judges exactly the records
it did not settle, with its own `evaluate`; the others pass and count as applicable (the
entity's live count minus the open ones). The findings are the row engine's, record for record; only the
work moves. Checks without a predicate are read and measured as before.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd

from checks.base import Context, Outcome
from checks.engine.parallel import prepare_chunk
from checks.engine.plan import Planned
from checks.fields import reset_memo
from checks.values import as_keys
from connectors.mapping import KEY
from connectors.source import Source
from connectors.source.columnar import close as close_columnar
from connectors.source.columnar import columnar_available, frame_from_arrow, read_arrow
from connectors.source.predicates import Predicate, flag

# Dialects whose sources render predicates (a CSV or Excel export is read through SQLite).
PUSHDOWN_DIALECTS = ("postgresql", "mysql", "sqlite")


@dataclass
class Settled:
    """A row check's predicate, its applicable count per settled record, and the flag column naming it."""

    position: int
    predicate: Predicate
    applicable_each: int
    label: str


def settled_checks(planned: list[Planned], contexts: dict[int, Context], row_checks: list[int],
                   dialect: str) -> list[Settled]:
    """The row checks whose records the database can settle on this source."""
    if dialect not in PUSHDOWN_DIALECTS:
        return []
    out = []
    for i in row_checks:
        stated = planned[i].check.settled(contexts[i])
        if stated is not None:
            out.append(Settled(i, stated[0], stated[1], f"__settled:{i}"))
    return out


def open_records_sql(select_sql: str, settled: list[Settled], source: Source) -> str:
    """The records some predicate leaves open, with a 1/0 flag per check (1: settled for it)."""
    flags = ", ".join(f"{flag(s.predicate, source.dialect)} AS {source.quote(s.label)}" for s in settled)
    total = " + ".join(f"r.{source.quote(s.label)}" for s in settled)
    return f"SELECT * FROM (SELECT q.*, {flags} FROM ({select_sql}) q) r WHERE {total} < {len(settled)}"


def measure_settled(source: Source, select_sql: str, settled: list[Settled], planned: list[Planned],
                    contexts: dict[int, Context], total: int, owner_label: str | None, chunk_size: int,
                    timings: dict[int, float]) -> tuple[dict[int, Outcome], pd.Series]:
    """Outcomes of the settled checks: open records judged by each check, the other `total` minus those settled.

    `total` is the entity's live records (its key is unique, `run.repeated_keys`); every record a
    check's predicate does not settle is in the open read, so the settled ones need no statement.
    Also returns the owners of the open records (the only ones that can have findings).
    """
    owners = []
    parts: dict[int, list[Outcome]] = {s.position: [] for s in settled}
    open_for = dict.fromkeys(parts, 0)
    for chunk in _open_chunks(source, select_sql, settled, chunk_size):
        if owner_label:
            owners.append(pd.Series(as_keys(chunk[owner_label]).to_numpy(), index=chunk[KEY].to_numpy(), dtype=object))
        for s in settled:
            start = time.perf_counter()
            mine = chunk.loc[chunk[s.label].to_numpy() == 0].drop(columns=[x.label for x in settled])
            open_for[s.position] += len(mine)
            reset_memo()
            parts[s.position].append(planned[s.position].check.evaluate(mine.reset_index(drop=True),
                                                                        contexts[s.position]))
            timings[s.position] += time.perf_counter() - start
    reset_memo()
    outcomes = {}
    for s in settled:
        out = Outcome.combine(parts[s.position])
        out.applicable += (total - open_for[s.position]) * s.applicable_each
        outcomes[s.position] = out
    return outcomes, (pd.concat(owners) if owners else pd.Series(dtype=object))


def _open_chunks(source: Source, select_sql: str, settled: list[Settled], chunk_size: int) -> Iterator[pd.DataFrame]:
    """The open records in prepared chunks, each with its flags."""
    if columnar_available(source):
        chunks = _open_chunks_in_duckdb(source, select_sql, settled, chunk_size)
    else:
        chunks = source.stream(open_records_sql(select_sql, settled, source), chunk_size)
    for chunk in chunks:
        chunk = chunk.astype({s.label: "int64" for s in settled})
        yield prepare_chunk(chunk)


def _open_chunks_in_duckdb(source: Source, select_sql: str, settled: list[Settled],
                           chunk_size: int) -> Iterator[pd.DataFrame]:
    """The records read as Arrow, the predicates judged by DuckDB in this process, the open ones as rows.

    PostgreSQL's regular-expression engine costs a few microseconds a value; DuckDB's (RE2, over
    columns, on every core) a fraction of that. The open records become Python rows exactly as
    a driver's rows would (`columnar.frame_from_arrow`), so the checks see the same values either way.
    """
    import duckdb

    table = read_arrow(source, select_sql)
    close_columnar(source)  # DuckDB's threads must be gone before the engine forks its workers
    con = duckdb.connect()
    try:
        con.register("q", table)
        flags = ", ".join(f'{flag(s.predicate, "duckdb")} AS "{s.label}"' for s in settled)
        total = " + ".join(f'r."{s.label}"' for s in settled)
        opened = con.execute(f"SELECT * FROM (SELECT q.*, {flags} FROM q) r WHERE {total} < {len(settled)}"
                             ).fetch_arrow_table()
    finally:
        con.close()
    del table
    for start in range(0, opened.num_rows, chunk_size):
        yield frame_from_arrow(opened.slice(start, chunk_size))
