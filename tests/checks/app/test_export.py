"""Steward worklists (checks.app.export): filters, ordering, owner summary, CSV/XLSX files, on a stored run."""

from __future__ import annotations

import io
from datetime import datetime

import openpyxl
import pandas as pd
import pytest

from checks.app.export import (
    WORKLIST_COLUMNS,
    build_worklist,
    export_bytes,
    mask_duplicate_worklist,
    mask_worklist,
    owner_summary,
    write_export,
)
from checks.engine import RunResult
from connectors.history import HistoryStore

RESULTS = pd.DataFrame([
    ("accuracy.email_syntax", "contact", "accuracy", "email", "high", 1.0, 10, 2, 80.0, "{}"),
    ("consistency.phone_e164", "contact", "consistency", "phone", "low", 1.0, 10, 2, 80.0, "{}"),
    ("completeness.owner_missing", "account", "completeness", "owner_id", "medium", 1.0, 5, 1, 80.0, "{}"),
], columns=["check_id", "entity", "dimension", "fields", "severity", "weight", "applicable", "failed", "score",
            "metrics"])
FINDINGS = pd.DataFrame([
    ("1", "email", "email", "a..b@x.com", "invalid email syntax", "a.b@x.com", "accuracy.email_syntax", "contact",
     "high", "bob"),
    ("2", "email", "email", "c d@x.com", "invalid email syntax", "cd@x.com", "accuracy.email_syntax", "contact",
     "high", "ann"),
    ("1", "phone", "phone", "(415) 555-0132", "phone not in E.164 format", "+14155550132", "consistency.phone_e164",
     "contact", "low", "bob"),
    ("3", "phone", "mobile", "030 901820", "phone not in E.164 format", "+4930901820", "consistency.phone_e164",
     "contact", "low", None),
    ("7", "owner_id", "owner_id", None, "no owner", None, "completeness.owner_missing", "account", "medium", None),
], columns=["record_key", "field", "column_name", "value", "reason", "suggestion", "check_id", "entity", "severity",
            "owner"])
RECORDS = pd.DataFrame([("contact", "1", 40.0, 2, "bob"), ("contact", "2", 75.0, 1, "ann"),
                        ("contact", "3", 90.0, 1, None), ("account", "7", 0.0, 1, None)],
                       columns=["entity", "record_key", "score", "failed_checks", "owner"])


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    store = HistoryStore(f"sqlite:///{tmp_path_factory.mktemp('export') / 'history.db'}")
    result = RunResult(RESULTS, pd.DataFrame(columns=["scope", "entity", "dimension", "field", "score"]), FINDINGS,
                       RECORDS, 80.0)
    run_id = store.runs.start("crm", datetime(2026, 11, 23), "cli")
    store.runs.complete(run_id, result)
    yield store, run_id
    store.close()


def test_worklist_shape_and_order(stored):
    store, run_id = stored
    work = build_worklist(store, run_id)
    assert list(work.columns) == WORKLIST_COLUMNS and work.columns[0] == "record_id"
    assert len(work) == len(FINDINGS)
    # grouped by owner (unowned last), then entity, record, check
    assert list(zip(work.owner.fillna("-"), work.entity, work.record_id, strict=True)) == [
        ("ann", "contact", "2"), ("bob", "contact", "1"), ("bob", "contact", "1"), ("-", "account", "7"),
        ("-", "contact", "3")]
    first = work.iloc[1]
    assert (first.check_id, first.dimension, first.record_score, first.current_value, first.suggested_fix) == (
        "accuracy.email_syntax", "accuracy", 40.0, "a..b@x.com", "a.b@x.com")
    assert work[work.record_id == "3"].column.iat[0] == "mobile"


@pytest.mark.parametrize(("filters", "records"), [
    pytest.param({"dimension": "accuracy"}, ["2", "1"], id="dimension"),
    pytest.param({"check": ["consistency.phone_e164"]}, ["1", "3"], id="check-list"),
    pytest.param({"entity": "account"}, ["7"], id="entity"),
    pytest.param({"owner": "(no owner)"}, ["7", "3"], id="no-owner"),
    pytest.param({"owner": ["bob", "(no owner)"]}, ["1", "1", "7", "3"], id="owner-or-none"),
    pytest.param({"severity": ["high", "medium"]}, ["2", "1", "7"], id="severities"),
    pytest.param({"max_record_score": 40}, ["1", "1", "7"], id="max-score-inclusive"),
    pytest.param({"min_record_score": 75, "max_record_score": 90}, ["2", "3"], id="score-range"),
    pytest.param({"dimension": ""}, ["2", "1", "1", "7", "3"], id="empty-filter-is-no-filter"),
])
def test_worklist_filters(stored, filters, records):
    store, run_id = stored
    assert build_worklist(store, run_id, **filters).record_id.tolist() == records


def test_owner_summary(stored):
    store, run_id = stored
    summary = owner_summary(build_worklist(store, run_id))
    assert summary.to_dict("records") == [
        {"owner": "(no owner)", "owner_name": None, "team": None, "findings": 2, "records": 2,
         "worst_record_score": 0.0},
        {"owner": "bob", "owner_name": None, "team": None, "findings": 2, "records": 1, "worst_record_score": 40.0},
        {"owner": "ann", "owner_name": None, "team": None, "findings": 1, "records": 1, "worst_record_score": 75.0}]
    assert list(owner_summary(build_worklist(store, run_id, entity="lead")).columns) == [
        "owner", "owner_name", "team", "findings", "records", "worst_record_score"]


def test_csv_and_xlsx_files(stored, tmp_path):
    store, run_id = stored
    work = build_worklist(store, run_id)
    write_export(work, tmp_path / "w.csv", "csv")
    raw = (tmp_path / "w.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.StringIO(raw.decode("utf-8-sig")), dtype=str)
    assert back.record_id.tolist() == work.record_id.tolist() and list(back.columns) == WORKLIST_COLUMNS
    assert export_bytes(work, "CSV") == raw
    write_export(work, tmp_path / "w.xlsx", "xlsx")
    book = openpyxl.load_workbook(tmp_path / "w.xlsx")
    assert book.sheetnames == ["worklist", "by owner"]
    rows = list(book["worklist"].values)
    assert list(rows[0]) == WORKLIST_COLUMNS and len(rows) == len(work) + 1
    assert [r[0] for r in book["by owner"].values][1:] == ["(no owner)", "bob", "ann"]
    other = pd.DataFrame({"check_id": ["x"], "fixed": [1]})  # a comparison: no owner sheet
    book = openpyxl.load_workbook(io.BytesIO(export_bytes(other, "xlsx")))
    assert book.sheetnames == ["worklist"]
    with pytest.raises(ValueError, match="csv or xlsx"):
        write_export(work, tmp_path / "w.txt", "txt")


def test_mask_worklist(stored):
    store, run_id = stored
    work = build_worklist(store, run_id)
    masked = mask_worklist(work)
    assert list(masked.columns) == WORKLIST_COLUMNS and masked.record_id.tolist() == work.record_id.tolist()
    by_key = {(r.record_id, r.field): (r.current_value, r.suggested_fix) for r in masked.itertuples()}
    assert by_key[("1", "email")] == ("a•••@x.com", "a•••@x.com")
    assert by_key[("1", "phone")] == ("••• ••• 0132", "+1 ••• ••• 0132")
    assert pd.isna(by_key[("7", "owner_id")][0])  # no value to mask
    assert work.current_value.iat[1] == "a..b@x.com"  # the worklist itself is left alone
    unfielded = work.assign(field=[None, float("nan"), "email", "phone", "owner_id"])  # no field: kept as is
    assert mask_worklist(unfielded).current_value.tolist()[:2] == work.current_value.tolist()[:2]


def test_mask_duplicate_worklist():
    import json

    plan = json.dumps([{"field": "email", "keep_value": "jane@acme.com", "from_key": "1", "why": "survivor"},
                       {"field": "country", "keep_value": "DE", "from_key": "1", "why": "same"}])
    work = pd.DataFrame({"cluster_id": ["c", "c"], "record_id": ["1", "2"], "merge_plan": [plan, plan]})
    masked = mask_duplicate_worklist(work)
    steps = json.loads(masked.merge_plan.iat[1])
    assert [s["keep_value"] for s in steps] == ["j•••@acme.com", "DE"]
    assert work.merge_plan.iat[0] == plan
    assert mask_duplicate_worklist(work.iloc[:0]).empty
