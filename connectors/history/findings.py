"""Findings: the failing records of a run, filtered, counted and paged in SQL, and compared between runs."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from connectors.history import schema
from connectors.history.part import StorePart

NO_OWNER = "(no owner)"  # the owner filter value that selects findings of records without an owner


@dataclass(frozen=True)
class FindingFilter:
    """What the Records page and worklists filter findings by; empty means any."""

    dimension: str | None = None
    check_id: str | None = None
    entity: str | None = None
    owner: str | None = None
    severity: str | None = None
    search: str | None = None


def _select(run_id: int, flt: FindingFilter, columns) -> sa.Select:
    """SELECT `columns` over findings of a run joined to their check's dimension, filtered."""
    findings, results = schema.findings, schema.check_results
    q = (sa.select(*columns)
         .join(results, (results.c.run_id == findings.c.run_id) & (results.c.check_id == findings.c.check_id)
               & (results.c.entity == findings.c.entity))
         .where(findings.c.run_id == run_id))
    if flt.dimension:
        q = q.where(results.c.dimension == flt.dimension)
    if flt.check_id:
        q = q.where(findings.c.check_id == flt.check_id)
    if flt.entity:
        q = q.where(findings.c.entity == flt.entity)
    if flt.owner:
        q = q.where(findings.c.owner.is_(None) if flt.owner == NO_OWNER else findings.c.owner == flt.owner)
    if flt.severity:
        q = q.where(findings.c.severity == flt.severity)
    if flt.search:
        like = f"%{flt.search.strip().lower()}%"
        q = q.where(sa.or_(sa.func.lower(findings.c.record_key).like(like), sa.func.lower(findings.c.value).like(like),
                           sa.func.lower(findings.c.reason).like(like),
                           sa.func.lower(sa.func.coalesce(findings.c.owner, "")).like(like)))
    return q


def _many(value) -> list | None:
    """A filter of one value or several as a list; None when it filters nothing."""
    return None if value in (None, "", []) else ([value] if isinstance(value, str) else list(value))


class Findings(StorePart):
    """Reads the findings of runs: one row per failing record, check and field."""

    def of_run(self, run_id: int, check_id: str | None = None, dimension: str | None = None,
               entity: str | None = None, limit: int | None = None, offset: int = 0) -> pd.DataFrame:
        """Findings of a run, filtered; joined with the check's dimension."""
        findings, results = schema.findings, schema.check_results
        columns = [findings.c.run_id, findings.c.check_id, results.c.dimension, findings.c.entity,
                   findings.c.record_key, findings.c.field, findings.c.column_name, findings.c.value,
                   findings.c.reason, findings.c.suggestion, findings.c.severity, findings.c.owner]
        flt = FindingFilter(dimension=dimension, check_id=check_id, entity=entity)
        q = _select(run_id, flt, columns).order_by(findings.c.id)
        if limit is not None:
            q = q.limit(limit).offset(offset)
        return self._frame(q)

    def count(self, run_id: int, flt: FindingFilter) -> int:
        """How many findings match."""
        with self.engine.connect() as conn:
            return int(conn.execute(_select(run_id, flt, [sa.func.count()])).scalar() or 0)

    def page(self, run_id: int, flt: FindingFilter, limit: int, offset: int) -> pd.DataFrame:
        """One page of matching findings (LIMIT/OFFSET in SQL), in a stable order."""
        findings = schema.findings
        q = (self._shown(run_id, flt)
             .order_by(findings.c.entity, findings.c.check_id, findings.c.record_key, findings.c.id)
             .limit(limit).offset(offset))
        return self._frame(q)

    def of_record(self, run_id: int, entity: str, record_key: str) -> pd.DataFrame:
        """Every finding of one record in a run."""
        findings = schema.findings
        q = (self._shown(run_id, FindingFilter(entity=entity))
             .where(findings.c.record_key == record_key).order_by(findings.c.check_id))
        return self._frame(q)

    def record_score(self, run_id: int, entity: str, record_key: str) -> dict | None:
        """The record's score row, if it has findings."""
        records = schema.record_scores
        frame = self._frame(sa.select(records).where(records.c.run_id == run_id, records.c.entity == entity,
                                                     records.c.record_key == record_key))
        return None if frame.empty else frame.iloc[0].to_dict()

    def owners(self, run_id: int) -> list[str]:
        """Distinct owners of the run's findings (NO_OWNER first when some have none)."""
        findings = schema.findings
        frame = self._frame(sa.select(findings.c.owner).where(findings.c.run_id == run_id).distinct())
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
        findings, results, records = schema.findings, schema.check_results, schema.record_scores
        q = (sa.select(findings.c.record_key.label("record_id"), findings.c.entity, findings.c.owner,
                       records.c.score.label("record_score"), findings.c.check_id, results.c.dimension,
                       findings.c.severity, findings.c.field, findings.c.column_name.label("column"),
                       findings.c.value.label("current_value"), findings.c.reason,
                       findings.c.suggestion.label("suggested_fix"))
             .join(results, (results.c.run_id == findings.c.run_id) & (results.c.check_id == findings.c.check_id)
                   & (results.c.entity == findings.c.entity))
             .outerjoin(records, (records.c.run_id == findings.c.run_id) & (records.c.entity == findings.c.entity)
                        & (records.c.record_key == findings.c.record_key))
             .where(findings.c.run_id == run_id))
        for column, value in ((results.c.dimension, dimension), (findings.c.check_id, check),
                              (findings.c.entity, entity), (findings.c.severity, severity)):
            if (values := _many(value)) is not None:
                q = q.where(column.in_(values))
        if (owners := _many(owner)) is not None:
            named = [o for o in owners if o != NO_OWNER]
            cond = findings.c.owner.in_(named) if named else sa.false()
            q = q.where(sa.or_(cond, findings.c.owner.is_(None)) if NO_OWNER in owners else cond)
        score = sa.func.coalesce(records.c.score, 100.0)
        if min_record_score is not None:
            q = q.where(score >= min_record_score)
        if max_record_score is not None:
            q = q.where(score <= max_record_score)
        q = q.order_by(sa.func.coalesce(findings.c.owner, "~"), findings.c.entity, findings.c.record_key,
                       findings.c.check_id, findings.c.id)
        return self._frame(q)

    # -- before and after -------------------------------------------------------------------------
    def failing_keys(self, run_id: int) -> pd.DataFrame:
        """Distinct (check, entity, record) failing in a run: the unit of before/after comparison."""
        findings = schema.findings
        q = (sa.select(findings.c.check_id, findings.c.entity, findings.c.record_key)
             .where(findings.c.run_id == run_id).distinct())
        return self._frame(q)

    def compare(self, run_a: int, run_b: int) -> pd.DataFrame:
        """Per check and entity: records fixed, still failing and newly failing from A to B."""
        a, b = self.failing_keys(run_a), self.failing_keys(run_b)
        keys = ["check_id", "entity", "record_key"]
        merged = a.assign(in_a=True).merge(b.assign(in_b=True), on=keys, how="outer")
        merged["state"] = "still_failing"
        merged.loc[merged.in_b.isna(), "state"] = "fixed"
        merged.loc[merged.in_a.isna(), "state"] = "newly_failing"
        table = merged.pivot_table(index=["check_id", "entity"], columns="state", values="record_key",
                                   aggfunc="count", fill_value=0)
        for col in ("fixed", "still_failing", "newly_failing"):
            if col not in table:
                table[col] = 0
        table = table[["fixed", "still_failing", "newly_failing"]].reset_index()
        table.columns.name = None
        return table.sort_values(["check_id", "entity"]).reset_index(drop=True)

    @staticmethod
    def _shown(run_id: int, flt: FindingFilter) -> sa.Select:
        """The columns the Records page shows, over the filtered findings of a run."""
        findings, results = schema.findings, schema.check_results
        return _select(run_id, flt, [
            findings.c.id, findings.c.entity, findings.c.record_key, results.c.dimension, findings.c.check_id,
            findings.c.field, findings.c.column_name, findings.c.value, findings.c.reason, findings.c.suggestion,
            findings.c.severity, findings.c.owner])
