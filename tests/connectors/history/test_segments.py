"""A run's findings and record scores stored as Parquet segments read back as they were stored.

On a SQLite, PostgreSQL and MariaDB history: values of every awkward kind (numbers where text is
expected, NULLs, long and non-ASCII texts), runs large enough for several segments, the order of
findings, a stale cached copy after the store was made anew, and the queries over them.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from types import SimpleNamespace

import pandas as pd
import pytest

from connectors.history import HistoryStore, segments
from connectors.history.findings import NO_OWNER, FindingFilter
from tests.support.stored import stored_rows

AS_OF = datetime(2026, 11, 23)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres),
                        pytest.param("mysql", marks=pytest.mark.mysql)])
def history_url(request, tmp_path):
    """A fresh, empty history store URL on each kind of database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    server = request.getfixturevalue("pg_server" if request.param == "postgresql" else "mysql_server")
    return server.new_database(f"seg_{os.getpid()}_{time.monotonic_ns() % 10**9}")


def result_of(findings: pd.DataFrame) -> SimpleNamespace:
    """A run result with one check per check id of `findings` and a record score per failing record."""
    checks = findings[["check_id", "entity"]].drop_duplicates()
    check_results = checks.assign(dimension=checks.check_id.str.split(".").str[0], fields="x", severity="high",
                                  weight=1.0, applicable=1000, failed=1, score=90.0, metrics="{}")
    records = findings.groupby(["entity", "record_key"], as_index=False).agg(owner=("owner", "first"),
                                                                           failed_checks=("check_id", "nunique"))
    return SimpleNamespace(check_results=check_results, scores=None, findings=findings,
                           record_scores=records.assign(score=100.0 - 10 * records.failed_checks),
                           overall=90.0, clusters=None, cluster_members=None)


def awkward_findings(n: int) -> pd.DataFrame:
    """`n` findings whose values are texts, numbers, NULLs, long and non-ASCII texts, in a known order."""
    values = ["x@example.com", 12345, None, "é" * 1500, "‮=cmd|' /C calc'!A0", 3.5, "", "日本語"]
    return pd.DataFrame({
        "check_id": [("accuracy.email_syntax", "completeness.required")[i % 2] for i in range(n)],
        "entity": ["contact" if i % 3 else "lead" for i in range(n)],
        "record_key": [str(n - i) for i in range(n)],  # stored order is not key order
        "field": "email", "column_name": "Email",
        "value": pd.Series([values[i % len(values)] for i in range(n)], dtype=object),
        "reason": [f"reason {i}" for i in range(n)],
        "suggestion": pd.Series([None if i % 2 else "fix" for i in range(n)], dtype=object),
        "severity": "high",
        "owner": pd.Series([None if i % 5 == 0 else f"owner{i % 4}" for i in range(n)], dtype=object),
    })


def test_findings_and_record_scores_read_back_as_stored_across_segments(history_url, monkeypatch):
    monkeypatch.setattr(segments, "SEGMENT_ROWS", 700)  # several segments for a small run
    findings = awkward_findings(2_500)
    store = HistoryStore(history_url)
    run_id = store.runs.start("src", AS_OF)
    store.runs.complete(run_id, result_of(findings))
    assert stored_rows(store, "findings", run_id) == 2_500
    with store.engine.connect() as conn:
        parts = conn.exec_driver_sql(f"SELECT COUNT(*) FROM result_segments WHERE run_id = {run_id} "
                                     "AND kind = 'findings'").scalar()
    assert parts == 4

    back = store.findings.of_run(run_id)
    assert len(back) == 2_500
    assert back.record_key.tolist() == findings.record_key.tolist()  # the order they were found in
    expected = [None if v is None else str(v) for v in findings.value]
    expected = [v[:999] + "…" if v and len(v) > 1000 else v for v in expected]  # stored values are bounded
    assert [None if pd.isna(v) else v for v in back.value] == expected
    assert back.dimension.tolist() == findings.check_id.str.split(".").str[0].tolist()

    assert store.findings.count(run_id, FindingFilter(entity="lead")) == int((findings.entity == "lead").sum())
    unowned = store.findings.count(run_id, FindingFilter(owner=NO_OWNER))
    assert unowned == int(findings.owner.isna().sum())
    assert store.findings.count(run_id, FindingFilter(search="日本")) == int((findings.value == "日本語").sum())
    assert store.findings.owners(run_id) == [NO_OWNER, "owner0", "owner1", "owner2", "owner3"]
    page = store.findings.page(run_id, FindingFilter(check_id="completeness.required"), limit=10, offset=5)
    assert len(page) == 10 and set(page.check_id) == {"completeness.required"}

    key = findings.record_key.iloc[7]
    score = store.findings.record_score(run_id, findings.entity.iloc[7], key)
    assert score is not None and score["record_key"] == key and score["failed_checks"] == 1
    assert len(store.findings.of_record(run_id, findings.entity.iloc[7], key)) == 1

    worklist = store.findings.worklist(run_id, owner=["owner1", NO_OWNER], max_record_score=95)
    assert len(worklist) == int((findings.owner.isna() | (findings.owner == "owner1")).sum())
    assert (worklist.record_score <= 95).all()
    store.close()


def test_compare_and_affected_records_read_the_segments(history_url):
    store = HistoryStore(history_url)
    before = awkward_findings(300)
    after = before[before.index % 2 == 0]  # half fixed
    run_a = store.runs.start("src", AS_OF)
    store.runs.complete(run_a, result_of(before))
    run_b = store.runs.start("src", AS_OF)
    store.runs.complete(run_b, result_of(after))
    table = store.findings.compare(run_a, run_b)
    assert int(table.fixed.sum()) == len(before) - len(after)
    assert int(table.still_failing.sum()) == len(after) and int(table.newly_failing.sum()) == 0
    affected = store.results.affected_records(run_b).set_index("entity").affected.to_dict()
    assert affected == after.groupby("entity").record_key.nunique().to_dict()
    store.close()


def test_a_store_made_anew_is_not_read_from_the_cache(tmp_path):
    url = f"sqlite:///{tmp_path / 'history.db'}"
    for round_no, n in enumerate((40, 25)):  # the same run id in both stores
        if round_no:
            (tmp_path / "history.db").unlink()
        store = HistoryStore(url)
        run_id = store.runs.start("src", AS_OF)
        assert run_id == 1
        store.runs.complete(run_id, result_of(awkward_findings(n)))
        assert store.findings.count(run_id, FindingFilter()) == n
        store.close()


def test_a_large_run_reads_back_through_every_query(tmp_path):
    # Tens of thousands of findings over many owners and records: the size at which DuckDB once
    # crashed joining the findings with the check results when those were a pandas frame.
    findings = awkward_findings(30_000)
    findings["owner"] = [None if i % 7 == 0 else f"00{i % 997}" for i in range(len(findings))]
    store = HistoryStore(f"sqlite:///{tmp_path / 'history.db'}")
    run_id = store.runs.start("src", AS_OF)
    store.runs.complete(run_id, result_of(findings))
    worklist = store.findings.worklist(run_id)
    assert len(worklist) == 30_000 and worklist.record_score.notna().all()
    assert worklist.owner.isna().sum() == int(findings.owner.isna().sum())
    assert store.findings.count(run_id, FindingFilter(dimension="accuracy")) == 15_000
    assert len(store.findings.owners(run_id)) == 998
    store.close()
