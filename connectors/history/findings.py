"""Findings: the failing records of a run, filtered, counted and paged, and compared between runs.

A run's findings and record scores are read as Arrow tables (`connectors.history.segments`) and
queried with DuckDB in process: a filter over a million findings takes milliseconds, and only the
rows asked for become a frame. Each finding is joined to its check's dimension from `check_results`.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from connectors.history import schema, segments
from connectors.history.part import StorePart

NO_OWNER = "(no owner)"  # the owner filter value that selects findings of records without an owner

# What the Records page shows of a finding, in this order.
SHOWN_COLUMNS = "f.id, f.entity, f.record_key, c.dimension, f.check_id, f.field, f.column_name, f.value, " \
                "f.reason, f.suggestion, f.severity, f.owner"
RUN_COLUMNS = "f.check_id, c.dimension, f.entity, f.record_key, f.field, f.column_name, f.value, f.reason, " \
              "f.suggestion, f.severity, f.owner"
JOINED = "findings f JOIN checks c ON c.check_id = f.check_id AND c.entity = f.entity"


@dataclass(frozen=True)
class FindingFilter:
    """What the Records page and worklists filter findings by; empty means any."""

    dimension: str | None = None
    check_id: str | None = None
    entity: str | None = None
    owner: str | tuple[str, ...] | None = None  # one owner, or any of several (a team's)
    severity: str | None = None
    search: str | None = None
    field: str | None = None


class _Where:
    """A WHERE clause built from conditions with `?` parameters (values are never spliced into the SQL)."""

    def __init__(self):
        self.terms: list[str] = []
        self.params: list = []

    def add(self, term: str, *params) -> None:
        self.terms.append(term)
        self.params.extend(params)

    def any_of(self, column: str, values: list) -> None:
        """`column` is one of `values`."""
        self.add(f"{column} IN ({', '.join('?' * len(values))})" if values else "FALSE", *values)

    def owners(self, values: list[str]) -> None:
        """The owner is one of `values`; NO_OWNER among them also selects records without one."""
        named = [v for v in values if v != NO_OWNER]
        term = f"f.owner IN ({', '.join('?' * len(named))})" if named else "FALSE"
        self.add(f"({term} OR f.owner IS NULL)" if NO_OWNER in values else term, *named)

    def sql(self) -> str:
        return " WHERE " + " AND ".join(self.terms) if self.terms else ""


def _filtered(flt: FindingFilter) -> _Where:
    """The WHERE clause of a FindingFilter."""
    where = _Where()
    for column, value in (("c.dimension", flt.dimension), ("f.check_id", flt.check_id), ("f.entity", flt.entity),
                          ("f.severity", flt.severity), ("f.field", flt.field)):
        if value:
            where.add(f"{column} = ?", value)
    if flt.owner is not None:  # an empty tuple is a set of owners too: it matches no finding
        where.owners([flt.owner] if isinstance(flt.owner, str) else list(flt.owner))
    if flt.search:
        like = f"%{flt.search.strip().lower()}%"
        where.add("(lower(f.record_key) LIKE ? OR lower(f.value) LIKE ? OR lower(f.reason) LIKE ? "
                  "OR lower(coalesce(f.owner, '')) LIKE ?)", like, like, like, like)
    return where


def _many(value) -> list | None:
    """A filter of one value or several as a list; None when it filters nothing."""
    return None if value in (None, "", []) else ([value] if isinstance(value, str) else list(value))


class Findings(StorePart):
    """Reads the findings of runs: one row per failing record, check and field."""

    def of_run(self, run_id: int, check_id: str | None = None, dimension: str | None = None,
               entity: str | None = None, limit: int | None = None, offset: int = 0) -> pd.DataFrame:
        """Findings of a run in the order they were found, filtered; joined with the check's dimension."""
        where = _filtered(FindingFilter(dimension=dimension, check_id=check_id, entity=entity))
        page = "" if limit is None else f" LIMIT {int(limit)} OFFSET {int(offset)}"
        return self._query(run_id, f"SELECT ? AS run_id, {RUN_COLUMNS} FROM {JOINED}{where.sql()} ORDER BY f.id{page}",
                           [run_id, *where.params])

    def count(self, run_id: int, flt: FindingFilter) -> int:
        """How many findings match."""
        where = _filtered(flt)
        return int(self._query(run_id, f"SELECT count(*) AS n FROM {JOINED}{where.sql()}", where.params).n.iloc[0])

    def page(self, run_id: int, flt: FindingFilter, limit: int, offset: int) -> pd.DataFrame:
        """One page of matching findings, in a stable order."""
        where = _filtered(flt)
        return self._query(run_id, f"SELECT {SHOWN_COLUMNS} FROM {JOINED}{where.sql()} "
                           f"ORDER BY f.entity, f.check_id, f.record_key, f.id LIMIT {int(limit)} OFFSET {int(offset)}",
                           where.params)

    def of_record(self, run_id: int, entity: str, record_key: str) -> pd.DataFrame:
        """Every finding of one record in a run."""
        where = _filtered(FindingFilter(entity=entity))
        where.add("f.record_key = ?", str(record_key))
        return self._query(run_id, f"SELECT {SHOWN_COLUMNS} FROM {JOINED}{where.sql()} ORDER BY f.check_id, f.id",
                           where.params)

    def record_score(self, run_id: int, entity: str, record_key: str) -> dict | None:
        """The record's score row, if it has findings."""
        frame = self._query(run_id, "SELECT ? AS run_id, entity, record_key, score, failed_checks, owner FROM records "
                            "WHERE entity = ? AND record_key = ?", [run_id, entity, str(record_key)], ("records",))
        return None if frame.empty else frame.iloc[0].to_dict()

    def fields(self, run_id: int, entity: str | None = None) -> list[str]:
        """Distinct fields of the run's findings (of one entity when given), sorted."""
        where = _filtered(FindingFilter(entity=entity))
        frame = self._query(run_id, f"SELECT DISTINCT f.field FROM findings f{where.sql()}", where.params,
                            ("findings",))
        return sorted(str(v) for v in frame.field.dropna() if str(v))

    def owners(self, run_id: int) -> list[str]:
        """Distinct owners of the run's findings (NO_OWNER first when some have none)."""
        frame = self._query(run_id, "SELECT DISTINCT owner FROM findings", [], ("findings",))
        values = sorted(str(v) for v in frame.owner.dropna())
        return ([NO_OWNER] if frame.owner.isna().any() else []) + values

    def worklist(self, run_id: int, *, dimension: str | list[str] | None = None,
                 check: str | list[str] | None = None, entity: str | list[str] | None = None,
                 owner: str | list[str] | None = None, severity: str | list[str] | None = None,
                 min_record_score: float | None = None, max_record_score: float | None = None) -> pd.DataFrame:
        """Findings of a run with their record's score, as worklist rows, sorted by owner, entity and record.

        Filters take one value or a list; `owner=NO_OWNER` selects unowned records; the record
        score bounds are inclusive (a record without a score row scores 100).
        """
        where = _Where()
        for column, value in (("c.dimension", dimension), ("f.check_id", check), ("f.entity", entity),
                              ("f.severity", severity)):
            if (values := _many(value)) is not None:
                where.any_of(column, values)
        if (owners := _many(owner)) is not None:
            where.owners(owners)
        if min_record_score is not None:
            where.add("coalesce(r.score, 100.0) >= ?", float(min_record_score))
        if max_record_score is not None:
            where.add("coalesce(r.score, 100.0) <= ?", float(max_record_score))
        sql = (f"SELECT f.record_key AS record_id, f.entity, f.owner, r.score AS record_score, f.check_id, "
               f"c.dimension, f.severity, f.field, f.column_name AS \"column\", f.value AS current_value, f.reason, "
               f"f.suggestion AS suggested_fix FROM {JOINED} "
               f"LEFT JOIN records r ON r.entity = f.entity AND r.record_key = f.record_key{where.sql()} "
               f"ORDER BY coalesce(f.owner, '~'), f.entity, f.record_key, f.check_id, f.id")
        return self._query(run_id, sql, where.params, ("findings", "checks", "records"))

    def records_per_field(self, run_id: int, check_prefix: str) -> pd.DataFrame:
        """Records with findings per check, entity and field, of the checks whose id starts with `check_prefix`.

        Columns check_id, entity, field, records; most records first.
        """
        return self._query(run_id, "SELECT check_id, entity, field, count(DISTINCT record_key) AS records "
                           "FROM findings WHERE starts_with(check_id, ?) GROUP BY check_id, entity, field "
                           "ORDER BY records DESC, entity, field, check_id", [check_prefix], ("findings",))

    # -- before and after -------------------------------------------------------------------------
    def failing_keys(self, run_id: int) -> pd.DataFrame:
        """Distinct (check, entity, record) failing in a run: the unit of before/after comparison."""
        return self._query(run_id, "SELECT DISTINCT check_id, entity, record_key FROM findings "
                           "ORDER BY check_id, entity, record_key", [], ("findings",))

    # A (check, entity, record) failing in A and not in B is fixed; in both, still failing; in B only, new.
    # One statement defines it, for the counts and for the records behind them; the counts read the keys only.
    STATUSES = ("fixed", "still_failing", "newly_failing")
    _VALUES = ("owner", "field", "value", "reason")

    def _compared(self, run_a: int, run_b: int, sql: str, params: list | None = None, values: bool = False):
        keys = "check_id, entity, record_key"
        side = (f"SELECT {keys}, {', '.join(f'min({c}) AS {c}' for c in self._VALUES)} FROM {{run}} GROUP BY ALL"
                if values else f"SELECT DISTINCT {keys} FROM {{run}}")
        more = ("coalesce(kb.owner, ka.owner) AS owner, coalesce(kb.field, ka.field) AS field, "
                "ka.value AS value_before, kb.value AS value_after, coalesce(kb.reason, ka.reason) AS reason, "
                if values else "")
        con = duckdb.connect()
        con.register("a", segments.read(self.engine, run_a, segments.FINDINGS))
        con.register("b", segments.read(self.engine, run_b, segments.FINDINGS))
        return con.execute(
            f"WITH ka AS ({side.format(run='a')}), kb AS ({side.format(run='b')}), "
            "compared AS (SELECT coalesce(ka.check_id, kb.check_id) AS check_id, "
            "coalesce(ka.entity, kb.entity) AS entity, coalesce(ka.record_key, kb.record_key) AS record_key, "
            f"{more}CASE WHEN kb.record_key IS NULL THEN 'fixed' WHEN ka.record_key IS NULL THEN 'newly_failing' "
            "ELSE 'still_failing' END AS status FROM ka FULL OUTER JOIN kb USING (check_id, entity, record_key)) "
            + sql, params or []).df()

    def compare(self, run_a: int, run_b: int) -> pd.DataFrame:
        """Per check and entity: records fixed, still failing and newly failing from A to B."""
        return self._compared(run_a, run_b, "SELECT check_id, entity, "
                              "count(*) FILTER (WHERE status = 'fixed') AS fixed, "
                              "count(*) FILTER (WHERE status = 'still_failing') AS still_failing, "
                              "count(*) FILTER (WHERE status = 'newly_failing') AS newly_failing "
                              "FROM compared GROUP BY 1, 2 ORDER BY 1, 2")

    def compared_records(self, run_a: int, run_b: int, status: str, check_id: str | None = None,
                         entity: str | None = None) -> pd.DataFrame:
        """The records behind one of `compare`'s counts (`status`: fixed, still_failing, newly_failing).

        Columns: check, entity, record, owner, field, the value seen before and after, and the
        reason; fixed records carry run A's finding, the others run B's.
        """
        if status not in self.STATUSES:
            raise ValueError(f"status must be one of {', '.join(self.STATUSES)}, not {status!r}")
        where, params = ["status = ?"], [status]
        for column, value in (("check_id", check_id), ("entity", entity)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        return self._compared(run_a, run_b, "SELECT check_id, entity, record_key, status, owner, field, value_before, "
                              f"value_after, reason FROM compared WHERE {' AND '.join(where)} "
                              "ORDER BY check_id, entity, record_key", params, values=True)

    def _query(self, run_id: int, sql: str, params: list, tables=("findings", "checks")) -> pd.DataFrame:
        """Run `sql` over the run's `tables`: `findings`, `records` (record scores), `checks` (its check results).

        Only the tables a query names are read: a count need not decode a million record scores.
        """
        loaders = {"findings": lambda: segments.read(self.engine, run_id, segments.FINDINGS),
                   "records": lambda: segments.read(self.engine, run_id, segments.RECORD_SCORES),
                   "checks": lambda: self._checks(run_id)}
        con = duckdb.connect()
        for name in tables:
            con.register(name, loaders[name]())
        return con.execute(sql, params).df()

    def _checks(self, run_id: int) -> pa.Table:
        """The run's checks with their dimension (the join key of a finding's dimension).

        Handed to DuckDB as Arrow, like the findings: a pandas frame of them in the same join
        crashed DuckDB 1.4.4.
        """
        results = schema.check_results
        frame = self._frame(sa.select(results.c.check_id, results.c.entity, results.c.dimension)
                            .where(results.c.run_id == run_id))
        return pa.table({name: pa.array(frame[name].astype(object).tolist(), type=pa.string())
                         for name in ("check_id", "entity", "dimension")})
