"""Steward worklists and exports: one code path for the CLI (`cleancrm findings`) and the dashboard.

Every export goes through `write_export`, so masking or auditing exports later lands in one place.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

import pandas as pd

WORKLIST_COLUMNS = ["record_id", "entity", "owner", "record_score", "check_id", "dimension", "severity", "field",
                    "column", "current_value", "reason", "suggested_fix"]


def build_worklist(history, run_id: int, *, dimension: str | list[str] | None = None,
                   check: str | list[str] | None = None, entity: str | list[str] | None = None,
                   owner: str | list[str] | None = None, severity: str | list[str] | None = None,
                   min_record_score: float | None = None, max_record_score: float | None = None) -> pd.DataFrame:
    """Findings of a run as a steward's worklist, shaped for a CRM bulk update.

    One row per finding, record id first, grouped by owner (sorted by owner, entity, record).
    Filters take one value or a list; `owner="(no owner)"` selects unowned records; the record
    score bounds are inclusive. `history` is a HistoryStore.
    """
    rows = history.findings.worklist(run_id, dimension=dimension, check=check, entity=entity, owner=owner,
                                     severity=severity, min_record_score=min_record_score,
                                     max_record_score=max_record_score)
    return rows.reindex(columns=WORKLIST_COLUMNS)


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
    `history` is a HistoryStore.
    """
    return history.clusters.worklist(run_id).reindex(columns=DUPLICATE_COLUMNS)
