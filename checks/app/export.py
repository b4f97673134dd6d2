"""Steward worklists and exports: one code path for the CLI (`cleancrm findings`) and the dashboard.

Every export goes through `write_export`, so masking or auditing exports later lands in one place.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

import pandas as pd
import sqlalchemy as sa

from connectors.history import schema as hs

WORKLIST_COLUMNS = ["record_id", "entity", "owner", "record_score", "check_id", "dimension", "severity", "field",
                    "column", "current_value", "reason", "suggested_fix"]


def build_worklist(history, run_id: int, *, dimension: str | list[str] | None = None,
                   check: str | list[str] | None = None, entity: str | list[str] | None = None,
                   owner: str | list[str] | None = None, severity: str | list[str] | None = None,
                   min_record_score: float | None = None, max_record_score: float | None = None) -> pd.DataFrame:
    """Findings of a run as a steward's worklist, shaped for a CRM bulk update.

    One row per finding, record id first, grouped by owner (sorted by owner, entity, record).
    Filters take one value or a list; `owner="(no owner)"` selects unowned records; the record
    score bounds are inclusive. `history` is a HistoryStore (or anything with `.engine`).
    """
    f, c, rs = hs.findings, hs.check_results, hs.record_scores
    q = (sa.select(f.c.record_key.label("record_id"), f.c.entity, f.c.owner, rs.c.score.label("record_score"),
                   f.c.check_id, c.c.dimension, f.c.severity, f.c.field, f.c.column_name.label("column"),
                   f.c.value.label("current_value"), f.c.reason, f.c.suggestion.label("suggested_fix"))
         .join(c, (c.c.run_id == f.c.run_id) & (c.c.check_id == f.c.check_id) & (c.c.entity == f.c.entity))
         .outerjoin(rs, (rs.c.run_id == f.c.run_id) & (rs.c.entity == f.c.entity) & (rs.c.record_key == f.c.record_key))
         .where(f.c.run_id == run_id))

    def many(v):
        return None if v in (None, "", []) else ([v] if isinstance(v, str) else list(v))

    for column, value in ((c.c.dimension, dimension), (f.c.check_id, check), (f.c.entity, entity),
                          (f.c.severity, severity)):
        if (values := many(value)) is not None:
            q = q.where(column.in_(values))
    if (owners := many(owner)) is not None:
        named = [o for o in owners if o != "(no owner)"]
        cond = f.c.owner.in_(named) if named else sa.false()
        q = q.where(sa.or_(cond, f.c.owner.is_(None)) if "(no owner)" in owners else cond)
    score = sa.func.coalesce(rs.c.score, 100.0)
    if min_record_score is not None:
        q = q.where(score >= min_record_score)
    if max_record_score is not None:
        q = q.where(score <= max_record_score)
    q = q.order_by(sa.func.coalesce(f.c.owner, "~"), f.c.entity, f.c.record_key, f.c.check_id, f.c.id)
    with history.engine.connect() as conn:
        res = conn.execute(q)
        frame = pd.DataFrame(res.fetchall(), columns=list(res.keys()))
    return frame.reindex(columns=WORKLIST_COLUMNS)


def owner_summary(worklist: pd.DataFrame) -> pd.DataFrame:
    """Per owner: findings, distinct records, and the worst (lowest) record score."""
    if worklist.empty:
        return pd.DataFrame(columns=["owner", "findings", "records", "worst_record_score"])
    w = worklist.assign(owner=worklist.owner.fillna("(no owner)"),
                        _rec=worklist.entity.astype(str) + "|" + worklist.record_id.astype(str))
    out = w.groupby("owner", sort=True).agg(findings=("record_id", "size"), records=("_rec", "nunique"),
                                            worst_record_score=("record_score", "min"))
    return out.reset_index().sort_values(["findings", "owner"], ascending=[False, True]).reset_index(drop=True)


def write_export(frame: pd.DataFrame, target: str | Path | BinaryIO, fmt: str) -> None:
    """Write a worklist (or comparison) as CSV (UTF-8 with BOM, for spreadsheet apps) or XLSX."""
    fmt = fmt.lower()
    if fmt == "csv":
        data = frame.to_csv(index=False).encode("utf-8-sig")
        if isinstance(target, str | Path):
            Path(target).write_bytes(data)
        else:
            target.write(data)
    elif fmt == "xlsx":
        with pd.ExcelWriter(target, engine="openpyxl") as writer:
            frame.to_excel(writer, sheet_name="worklist", index=False)
            if {"owner", "record_id", "entity"} <= set(frame.columns):
                owner_summary(frame).to_excel(writer, sheet_name="by owner", index=False)
    else:
        raise ValueError(f"export format must be csv or xlsx, not {fmt!r}")


def export_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    """`write_export` into memory (for download buttons)."""
    buf = io.BytesIO()
    write_export(frame, buf, fmt)
    return buf.getvalue()




DUPLICATE_COLUMNS = ["cluster_id", "entity", "tier", "score", "size", "record_id", "is_survivor", "match_score",
                     "survivor_key", "merge_plan", "decision"]


def duplicate_worklist(history, run_id: int) -> pd.DataFrame:
    """The merge worklist of a run: one row per cluster member, survivor first, with the merge plan.

    A steward's decision on the cluster ('not_duplicate', 'confirmed') is shown beside it.
    """
    d, m, dec, runs = hs.duplicate_clusters, hs.cluster_members, hs.cluster_decisions, hs.runs
    q = (sa.select(d.c.cluster_id, d.c.entity, d.c.tier, d.c.score, d.c.size, m.c.record_key.label("record_id"),
                   m.c.is_survivor, m.c.match_score, d.c.survivor_key, d.c.merge_plan, dec.c.decision)
         .join(m, (m.c.run_id == d.c.run_id) & (m.c.cluster_id == d.c.cluster_id))
         .join(runs, runs.c.id == d.c.run_id)
         .outerjoin(dec, (dec.c.cluster_id == d.c.cluster_id) & (dec.c.source_name == runs.c.source_name))
         .where(d.c.run_id == run_id)
         .order_by(d.c.score.desc(), d.c.cluster_id, m.c.is_survivor.desc(), m.c.record_key))
    with history.engine.connect() as conn:
        res = conn.execute(q)
        return pd.DataFrame(res.fetchall(), columns=list(res.keys())).reindex(columns=DUPLICATE_COLUMNS)
