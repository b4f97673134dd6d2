"""Steward worklists and exports: one code path for the CLI (`cleancrm findings`) and the dashboard.

Every export goes through `write_export` (or `csv_text` for the CLI's standard output), so what
makes a file safe to open lands in one place: a value that a spreadsheet would run as a formula
(`=HYPERLINK(…)`, `+1+1`, `@SUM(…)`, OWASP's CSV injection) stays text. In CSV such a cell gets a
leading `'` (and CSV lines end with CRLF, so a carriage return inside a value is quoted and cannot
start a row of its own); in XLSX every text cell is written as text, never as a formula. Numbers
stay numbers.
`mask_worklist` and `mask_duplicate_worklist` hide personal data for `--mask`.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from checks.engine.run import mask_merge_plan
from checks.masking import mask_findings

WORKLIST_COLUMNS = ["record_id", "entity", "owner", "owner_name", "team", "record_score", "check_id", "dimension",
                    "severity", "field", "column", "current_value", "reason", "suggested_fix"]
# What a spreadsheet reads as the start of a formula (OWASP: CSV injection); tab and carriage
# return because some apps strip them and read what follows.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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
    rows = with_owner_names(rows, history.owners.of_run(run_id))
    # Ids sort as numbers where they are numbers (owner 2 before owner 10); unowned records last.
    rows = rows.sort_values(["owner", "entity", "record_id", "check_id"], key=sort_key, na_position="last",
                            kind="stable")
    return rows.reindex(columns=WORKLIST_COLUMNS).reset_index(drop=True)


def with_owner_names(frame: pd.DataFrame, directory: pd.DataFrame, column: str = "owner") -> pd.DataFrame:
    """`frame` with the owner's name and team (`owner_name`, `team`) beside its owner id."""
    names = directory.set_index("owner") if len(directory) else pd.DataFrame(columns=["name", "team"])
    ids = frame[column].astype(object)
    return frame.assign(owner_name=ids.map(names["name"]).astype(object),
                        team=ids.map(names["team"]).astype(object))


def sort_key(series: pd.Series) -> pd.Series:
    """A sort key that orders ids as numbers when every present one is a whole number, else as text."""
    present = series.dropna().astype(str)
    if len(present) and present.str.fullmatch(r"-?\d{1,18}").all():
        return pd.to_numeric(series, errors="coerce")
    return series


def owner_summary(worklist: pd.DataFrame) -> pd.DataFrame:
    """Per owner: findings, distinct records, and the worst (lowest) record score."""
    cols = ["owner", "owner_name", "team", "findings", "records", "worst_record_score"]
    if worklist.empty:
        return pd.DataFrame(columns=cols)
    w = worklist.reindex(columns=[*worklist.columns, *[c for c in ("owner_name", "team") if c not in worklist]])
    w = w.assign(owner=w.owner.fillna("(no owner)"), owner_name=w.owner_name.fillna(""), team=w.team.fillna(""),
                 _rec=w.entity.astype(str) + "|" + w.record_id.astype(str))
    out = w.groupby(["owner", "owner_name", "team"], sort=True).agg(
        findings=("record_id", "size"), records=("_rec", "nunique"), worst_record_score=("record_score", "min"))
    out = out.reset_index().sort_values(["findings", "owner"], ascending=[False, True]).reset_index(drop=True)
    return out.replace({"owner_name": {"": None}, "team": {"": None}})[cols]


def starts_formula(value) -> bool:
    """True for text a spreadsheet would read as a formula: it starts with `=`, `+`, `-`, `@`, tab or CR."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells that start a formula begin with `'` (OWASP); numbers untouched."""
    out = frame.copy()
    for column in out.columns:
        values = out[column].to_numpy(dtype=object)
        if any(starts_formula(v) for v in values):
            out[column] = pd.Series([f"'{v}" if starts_formula(v) else v for v in values], index=out.index,
                                    dtype=object)
    return out


def csv_text(frame: pd.DataFrame) -> str:
    """A frame as CSV text that opens safely in a spreadsheet (see `neutralise_formulas`).

    Lines end with CRLF (RFC 4180), so that a field holding a carriage return is quoted: unquoted,
    a spreadsheet starts a new row there, and what follows (`=…`) would be a cell of its own.
    """
    return neutralise_formulas(frame).to_csv(index=False, lineterminator="\r\n")


def _write_sheet(book, name: str, frame: pd.DataFrame, formats: dict) -> None:
    """One sheet, column by column: text stays text, numbers stay numbers, dates are dates.

    A text cell that starts a formula gets a quote prefix, so it stays text when someone edits it;
    a missing value is a blank cell.
    """
    sheet = book.add_worksheet(name)
    columns = [str(c) for c in frame.columns]
    sheet.write_row(0, 0, columns, formats["header"])
    for c, column in enumerate(frame.columns):
        values = frame[column].to_numpy(dtype=object)
        kind = frame[column].dtype.kind
        sheet.set_column(c, c, min(60, max(10, len(columns[c]) + 2)))
        if kind in "iuf":  # numbers: one call per cell, no type test per cell
            for r, v in enumerate(values, start=1):
                if v is not None and v == v:
                    sheet.write_number(r, c, float(v))
            continue
        for r, v in enumerate(values, start=1):
            if v is None or v is pd.NaT or (isinstance(v, float) and v != v):
                continue
            if isinstance(v, str):
                if v:  # a carriage return as a line feed: XLSX would keep it as the escape `_x000D_`
                    sheet.write_string(r, c, v.replace("\r\n", "\n").replace("\r", "\n"),
                                       formats["quoted"] if starts_formula(v) else None)
            elif isinstance(v, bool):
                sheet.write_boolean(r, c, v)
            elif isinstance(v, int | float):
                sheet.write_number(r, c, float(v))
            elif isinstance(v, datetime | date | pd.Timestamp):
                sheet.write_datetime(r, c, pd.Timestamp(v).to_pydatetime().replace(tzinfo=None), formats["date"])
            else:
                sheet.write_string(r, c, str(v))


def _write_xlsx(frame: pd.DataFrame, target) -> None:
    """The worklist sheet (and, for a worklist, its per-owner summary) as XLSX, no cell a formula."""
    import xlsxwriter

    # Text is never read as a formula, a number or a link: a CRM value `=HYPERLINK(…)` stays text.
    book = xlsxwriter.Workbook(target, {"strings_to_formulas": False, "strings_to_numbers": False,
                                        "strings_to_urls": False, "in_memory": True})
    formats = {"header": book.add_format({"bold": True}), "quoted": book.add_format({"quote_prefix": True}),
               "date": book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})}
    _write_sheet(book, "worklist", frame, formats)
    if {"owner", "record_id", "entity"} <= set(frame.columns):
        _write_sheet(book, "by owner", owner_summary(frame), formats)
    book.close()


def write_export(frame: pd.DataFrame, target: str | Path | BinaryIO, fmt: str) -> None:
    """Write a worklist (or comparison) as CSV (UTF-8 with BOM, for spreadsheet apps) or XLSX.

    Either way no cell is a live formula: see the module's docstring.
    """
    fmt = fmt.lower()
    if fmt == "csv":
        data = csv_text(frame).encode("utf-8-sig")
        if isinstance(target, str | Path):
            Path(target).write_bytes(data)
        else:
            target.write(data)
    elif fmt == "xlsx":
        _write_xlsx(frame, str(target) if isinstance(target, Path) else target)
    else:
        raise ValueError(f"export format must be csv or xlsx, not {fmt!r}")


def export_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    """`write_export` into memory (for download buttons)."""
    buf = io.BytesIO()
    write_export(frame, buf, fmt)
    return buf.getvalue()


def mask_worklist(worklist: pd.DataFrame) -> pd.DataFrame:
    """A worklist with the current values and suggested fixes of personal fields masked (`mask_findings`)."""
    names = {"current_value": "value", "suggested_fix": "suggestion"}
    # A finding on several fields has none; read back from the history that is NaN, which
    # `mask_findings` cannot read as a field name: None it is, for masking only.
    fields = worklist["field"].astype(object)
    masked = mask_findings(worklist.rename(columns=names).assign(field=fields.where(fields.notna(), None)))
    return masked.assign(field=worklist["field"]).rename(columns={v: k for k, v in names.items()})


DUPLICATE_COLUMNS = ["cluster_id", "entity", "tier", "matched_on", "score", "size", "record_id", "is_survivor",
                     "match_score", "survivor_key", "merge_plan", "decision"]


def duplicate_worklist(history, run_id: int) -> pd.DataFrame:
    """The merge worklist of a run: one row per cluster member, survivor first, the merge plan on the survivor's row.

    A steward's decision on the cluster ('not_duplicate', 'confirmed') is shown beside it.
    `history` is a HistoryStore.
    """
    work = history.clusters.worklist(run_id).reindex(columns=DUPLICATE_COLUMNS)
    # The plan is the cluster's, not each member's: on the survivor's row only (`cleancrm merges` has one row
    # per cluster with only the values to set on the master).
    return work.assign(merge_plan=work.merge_plan.where(work.is_survivor.astype(bool), None))


def mask_duplicate_worklist(worklist: pd.DataFrame) -> pd.DataFrame:
    """A merge worklist whose merge plans keep masked values of personal fields (`mask_merge_plan`)."""
    if not len(worklist) or "merge_plan" not in worklist:
        return worklist
    return worklist.assign(merge_plan=[mask_merge_plan(p) for p in worklist.merge_plan.to_numpy(dtype=object)])
