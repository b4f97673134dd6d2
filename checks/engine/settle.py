"""Records settled without Python: what certainly passes is counted, only the rest is judged by the checks.

A row check that states a settled-pass predicate (`Check.settled`) judges only the records its
predicate leaves open, with its own `evaluate`; the others pass and count as applicable (the
entity's live count minus the open ones). On a columnar source the records are read once as
Arrow and the predicates judged by DuckDB in this process (`Records`); elsewhere one statement in
the source's SQL returns the open records with a flag per check. A keyed entity check (exact
duplicates, `Check.settled_key`) gets its keys from DuckDB where it can, and judges only the
records that may share one. The findings are the row engine's, record for record; only the work
moves. Checks without a predicate are read and measured as before.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from checks.base import Context, Outcome, prepared_column
from checks.engine.parallel import as_read, owners_of, prepare_chunk
from checks.engine.plan import Planned
from checks.fields import reset_memo
from connectors.mapping import KEY
from connectors.source import Source
from connectors.source.columnar import frame_from_arrow, read_arrow
from connectors.source.predicates import All, Predicate, flag, key_tables, render

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
                    timings: dict[int, float], records: Records | None = None) -> tuple[dict[int, Outcome], pd.Series]:
    """Outcomes of the settled checks: open records judged by each check, the other `total` minus those settled.

    `total` is the entity's live records (its key is unique, `run.repeated_keys`); every record a
    check's predicate does not settle is open, so the settled ones need no statement. The open
    records come from `records` (read as columns) or, without them, from the source's SQL. Also
    returns the owners of the open records (the only ones that can have findings).
    """
    owners = []
    parts: dict[int, list[Outcome]] = {s.position: [] for s in settled}
    open_for = dict.fromkeys(parts, 0)
    opened = (_open_in_duckdb(records, settled, planned, contexts, owner_label, chunk_size) if records is not None
              else _open_in_source(source, select_sql, settled, chunk_size))
    for s, frame in opened:
        start = time.perf_counter()
        if owner_label:
            owners.append(owners_of(frame, owner_label))
        open_for[s.position] += len(frame)
        reset_memo()
        parts[s.position].append(planned[s.position].check.evaluate(frame, contexts[s.position]))
        timings[s.position] += time.perf_counter() - start
    for s in settled:  # every record settled: the check still gives its table-wide metrics
        if not parts[s.position]:
            labels = _labels(planned[s.position], contexts[s.position])
            empty = pd.DataFrame({c: pd.Series(dtype=object) for c in dict.fromkeys([KEY, *labels])})
            parts[s.position].append(planned[s.position].check.evaluate(empty, contexts[s.position]))
    reset_memo()
    outcomes = {}
    for s in settled:
        out = Outcome.combine(parts[s.position])
        out.applicable += (total - open_for[s.position]) * s.applicable_each
        outcomes[s.position] = out
    owners = pd.concat(owners) if owners else pd.Series(dtype=object)
    return outcomes, owners[~owners.index.duplicated()]


def _labels(p: Planned, context: Context) -> list[str]:
    """The frame columns a check reads."""
    return [fc.label for f in p.check.read_fields(list(context.columns), context.params) for fc in context.cols(f)]


def _open_in_source(source: Source, select_sql: str, settled: list[Settled],
                    chunk_size: int) -> Iterator[tuple[Settled, pd.DataFrame]]:
    """Per settled check, its open records, from one statement in the source's SQL with a flag per check."""
    for chunk in source.stream(open_records_sql(select_sql, settled, source), chunk_size):
        chunk = prepare_chunk(chunk.astype({s.label: "int64" for s in settled}))
        for s in settled:
            mine = chunk.loc[chunk[s.label].to_numpy() == 0].drop(columns=[x.label for x in settled])
            yield s, mine.reset_index(drop=True)


def _open_in_duckdb(records: Records, settled: list[Settled], planned: list[Planned], contexts: dict[int, Context],
                    owner_label: str | None, chunk_size: int) -> Iterator[tuple[Settled, pd.DataFrame]]:
    """Per settled check, the records its predicate leaves open, judged by DuckDB over the records read.

    PostgreSQL's regular-expression engine costs a few microseconds a value; DuckDB's (RE2, over
    columns, on every core) a fraction of that. Each check's open records come back with its own
    columns only, and become Python values exactly as a driver's rows would
    (`columnar.frame_from_arrow`), so the checks see the same values either way.
    """
    records.register_keys(s.predicate for s in settled)
    for s in settled:
        labels = [KEY, *([owner_label] if owner_label else []), *_labels(planned[s.position], contexts[s.position])]
        columns = ", ".join(f'"q"."{label}"' for label in dict.fromkeys(labels))
        opened = records.con.execute(f"SELECT {columns} FROM q WHERE ({flag(s.predicate, 'duckdb')}) = 0 "
                                     "ORDER BY __row").fetch_arrow_table()
        for start in range(0, opened.num_rows, chunk_size):
            yield s, prepare_chunk(frame_from_arrow(opened.slice(start, chunk_size)))


class Records:
    """An entity's records read as Arrow, held by a DuckDB of this process as table `q` (numbered by `__row`).

    Copied into DuckDB once: a query over a registered Arrow table converts its text columns again
    every time. Rows are numbered since DuckDB's scans on several threads need not keep their order.
    """

    def __init__(self, table: pa.Table):
        import duckdb

        self.table = table
        # One thread: checks judging the records may fork while this DuckDB is open (see read_records).
        self.con = duckdb.connect(config={"threads": 1})
        self.con.execute("SET TimeZone = 'UTC'")  # timestamps compared as pandas reads them: in UTC
        self.con.register("arrow_records", table.append_column("__row", pa.array(np.arange(table.num_rows))))
        self.con.execute("CREATE TABLE q AS SELECT * FROM arrow_records")
        self.con.unregister("arrow_records")
        self._keys: set[str] = set()

    def register_keys(self, predicates) -> None:
        """Make the key sets the predicates refer to (`InKeys`) tables of this DuckDB."""
        for keys in {k.table: k for p in predicates for k in key_tables(p)}.values():
            if keys.table not in self._keys:
                self.con.register(keys.table, pa.table({"k": pa.array(sorted(keys.keys), pa.string())}))
                self._keys.add(keys.table)

    def close(self) -> None:  # noqa: D102
        self.con.close()


def read_records(source: Source, select_sql: str) -> Records:
    """The records of a SELECT read as Arrow by DuckDB's scanner, ready to be judged in DuckDB.

    The scanner runs on the calling thread only (`columnar`), so the checks that judge the records
    next may fork (phone validity on many cores) with its connection kept open for the next read.
    """
    return Records(read_arrow(source, select_sql))


def measure_keyed_settled(records: Records, position: int, planned: list[Planned], contexts: dict[int, Context],
                          owner_label: str | None, timings: dict[int, float]) -> tuple[Outcome, pd.Series]:
    """A keyed entity check (exact duplicates) with DuckDB computing the keys it can and counting them.

    Every record's key comes from DuckDB where `Check.settled_key` says it can, from `chunk_keys`
    in Python for the others; a record whose key no other record has passes (and is applicable).
    Only records that may be duplicates — a shared key, or no key — are given to `evaluate`, with
    their keys prepared, so its groups, survivors and reasons are the row engine's. Also returns
    the owners of those records (the only ones that can have findings).
    """
    start = time.perf_counter()
    check, context = planned[position].check, contexts[position]
    parts, key_steps = check.settled_key(context)
    table = records.table
    relation = f"(SELECT q.* FROM q WHERE {render(All(parts), 'duckdb')}) q"
    for name, expression in key_steps:  # each step once, over the plain records only
        relation = f"(SELECT q.*, {expression} AS {name} FROM {relation}) q"
    keyed = records.con.execute(f"SELECT __row, {key_steps[-1][0]} FROM {relation}").fetch_arrow_table()
    in_sql = np.zeros(table.num_rows, dtype=bool)
    keys = np.full(table.num_rows, None, dtype=object)
    rows = keyed.column("__row").to_numpy()
    in_sql[rows] = True
    keys[rows] = keyed.column(1).to_numpy(zero_copy_only=False)
    others = np.flatnonzero(~in_sql)
    if len(others):  # their keys as the check computes them, row for row
        keys[others] = check.chunk_keys(as_read(frame_from_arrow(table.take(pa.array(others)))),
                                        context).to_numpy(dtype=object)
    codes, _ = pd.factorize(keys)  # -1 for no key
    counts = np.bincount(codes[codes >= 0])
    alone = in_sql & (codes >= 0)
    alone[alone] = counts[codes[alone]] == 1
    judged = np.flatnonzero(~alone)
    frame = as_read(frame_from_arrow(table.take(pa.array(judged))))
    frame[prepared_column(check)] = pd.Series(keys[judged], index=frame.index, dtype=object)
    frame = frame.drop_duplicates(KEY).reset_index(drop=True)
    reset_memo()
    out = check.evaluate(frame, context)
    reset_memo()
    out.applicable += int(alone.sum())
    timings[position] += time.perf_counter() - start
    return out, owners_of(frame, owner_label) if owner_label in frame else pd.Series(dtype=object)
