"""Each part of `HistoryStore` on its own, on SQLite and on PostgreSQL.

The PostgreSQL database (`pg_url`) is shared by the session, so every test works on a source
name of its own and reads back through it.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace

import pandas as pd
import pytest

from connectors.errors import HistoryError, RunLockedError
from connectors.history import NO_OWNER, FindingFilter, HistoryStore

AS_OF = datetime(2026, 11, 23, 6)

CHECK_RESULTS = pd.DataFrame([
    ("accuracy.email_syntax", "contact", "accuracy", "email", "high", 1.0, 10, 3, 70.0, "{}"),
    ("freshness.staleness", "contact", "freshness", "modified_at", "medium", 1.0, 10, 1, 90.0,
     json.dumps({"age_buckets": {"< 30 days": 6, "> 2 years": 4}})),
    ("completeness.required", "account", "completeness", "country", "high", 1.0, 4, 0, 100.0, "{}"),
], columns=["check_id", "entity", "dimension", "fields", "severity", "weight", "applicable", "failed", "score",
            "metrics"])
SCORES = pd.DataFrame([
    ("overall", None, None, None, 86.7), ("dimension", None, "accuracy", None, 70.0),
    ("dimension", None, "freshness", None, 90.0), ("dimension", None, "completeness", None, 100.0),
], columns=["scope", "entity", "dimension", "field", "score"])
FINDINGS = pd.DataFrame([
    ("1", "email", "email", "a..b@x.com", "invalid email syntax", "a.b@x.com", "accuracy.email_syntax", "contact",
     "high", "ann"),
    ("2", "email", "email", "c d@x.com", "invalid email syntax", "cd@x.com", "accuracy.email_syntax", "contact",
     "high", None),
    ("3", "email", "email", "e@@x.com", "invalid email syntax", "e@x.com", "accuracy.email_syntax", "contact",
     "high", "bob"),
    ("1", "modified_at", "modified_at", "2020-01-01", "not modified for over two years", None,
     "freshness.staleness", "contact", "medium", "ann"),
], columns=["record_key", "field", "column_name", "value", "reason", "suggestion", "check_id", "entity", "severity",
            "owner"])
RECORDS = pd.DataFrame([("contact", "1", 40.0, 2, "ann"), ("contact", "2", 75.0, 1, None),
                        ("contact", "3", 75.0, 1, "bob")],
                       columns=["entity", "record_key", "score", "failed_checks", "owner"])
CLUSTERS = pd.DataFrame([("contact-0001", "contact", "likely", 0.9, 2, "1", "[]"),
                         ("contact-0002", "contact", "review", 0.7, 2, "3", "[]")],
                        columns=["cluster_id", "entity", "tier", "score", "size", "survivor_key", "merge_plan"])
MEMBERS = pd.DataFrame([("contact-0001", "1", "contact", 1, None), ("contact-0001", "2", "contact", 0, 0.9),
                        ("contact-0002", "3", "contact", 1, None), ("contact-0002", "4", "contact", 0, 0.7)],
                       columns=["cluster_id", "record_key", "entity", "is_survivor", "match_score"])


def tiny_result(findings: pd.DataFrame = FINDINGS) -> SimpleNamespace:
    """What the engine hands the store: three checks, a few findings, two duplicate clusters."""
    return SimpleNamespace(check_results=CHECK_RESULTS, scores=SCORES, findings=findings, record_scores=RECORDS,
                           overall=86.7, clusters=CLUSTERS, cluster_members=MEMBERS)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'history.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    history = HistoryStore(url)
    yield history
    history.close()


@pytest.fixture
def source() -> str:
    return f"crm-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def run_id(store, source) -> int:
    """A completed run of the tiny result."""
    run = store.runs.start(source, AS_OF, "cli", started_at=AS_OF)
    store.runs.complete(run, tiny_result(), "fp", finished_at=AS_OF + timedelta(seconds=5))
    return run


def test_runs_start_complete_fail_and_resolve(store, source):
    run = store.runs.start(source, AS_OF, "schedule:nightly", "cfg", "1.0", started_at=AS_OF)
    assert store.runs.list(source).status.tolist() == ["running"]
    store.runs.complete(run, tiny_result(), "fp")
    row = store.runs.list(source).iloc[0]
    assert (row.status, row.source_fingerprint, row.overall_score) == ("completed", "fp", pytest.approx(86.7))
    assert store.runs.resolve("latest", source) == run
    assert store.runs.last_completed(source, "schedule:nightly") == AS_OF
    assert store.runs.completed(source).id.tolist() == [run] and store.runs.max_id() >= run

    broken = store.runs.start(source, AS_OF)
    with pytest.raises(RuntimeError), store.runs.failing_on_error(broken):
        raise RuntimeError("lost the connection")
    dead = store.runs.start(source, AS_OF)
    assert store.runs.mark_interrupted(source) == 1
    failed = store.runs.record_failure(source, "source down", started_at=AS_OF, trigger="schedule:nightly")
    runs = store.runs.list(source).set_index("id")
    assert runs.status.drop(run).unique().tolist() == ["failed"]
    assert runs.error.drop(run).to_dict() == {
        broken: "RuntimeError: lost the connection", dead: "interrupted: the process stopped before the run finished",
        failed: "source down"}
    assert [r.id for r in store.runs.runs_since(source, "schedule:nightly", after_id=run)] == [failed]
    with pytest.raises(HistoryError, match=f"run {failed} is failed and has no results"):
        store.runs.resolve(failed)


def test_results_of_a_run_and_over_runs(store, source, run_id):
    assert len(store.results.check_results(run_id)) == 3
    assert len(store.results.scores((run_id,))) == len(SCORES)
    assert store.results.failing_checks(run_id).check_id.tolist() == ["accuracy.email_syntax", "freshness.staleness"]
    affected = store.results.affected_records(run_id).set_index("entity")
    assert affected.loc["contact"].tolist() == [10, 3] and affected.loc["account"].tolist() == [4, 0]
    series = store.results.score_series(source)
    assert set(series.dimension) == {"overall", "accuracy", "freshness", "completeness"}
    assert store.results.check_series(source, "accuracy.email_syntax").failed.tolist() == [3]
    assert len(store.results.catalog(source)) == 3
    ages = store.results.freshness_metrics(source, "contact")
    assert ages[["bucket", "count", "share"]].values.tolist() == [["< 30 days", 6, 0.6], ["> 2 years", 4, 0.4]]


def test_findings_filtered_paginated_and_compared(store, source, run_id):
    emails = FindingFilter(check_id="accuracy.email_syntax")
    assert store.findings.count(run_id, emails) == 3
    first, second = store.findings.page(run_id, emails, 2, 0), store.findings.page(run_id, emails, 2, 2)
    assert first.record_key.tolist() + second.record_key.tolist() == ["1", "2", "3"]
    assert store.findings.count(run_id, FindingFilter(owner=NO_OWNER)) == 1
    assert store.findings.count(run_id, FindingFilter(dimension="freshness", search="two years")) == 1
    assert store.findings.of_record(run_id, "contact", "1").check_id.tolist() == [
        "accuracy.email_syntax", "freshness.staleness"]
    assert store.findings.of_run(run_id, dimension="accuracy").record_key.tolist() == ["1", "2", "3"]
    assert store.findings.record_score(run_id, "contact", "1")["failed_checks"] == 2
    assert store.findings.owners(run_id) == [NO_OWNER, "ann", "bob"]
    assert store.findings.worklist(run_id, owner=["bob", NO_OWNER]).record_id.tolist() == ["3", "2"]

    later = store.runs.start(source, AS_OF + timedelta(days=1))
    store.runs.complete(later, tiny_result(FINDINGS[FINDINGS.record_key != "1"]))
    compared = store.findings.compare(run_id, later).set_index("check_id")
    assert compared.loc["accuracy.email_syntax", ["fixed", "still_failing", "newly_failing"]].tolist() == [1, 2, 0]


def test_clusters_and_a_replaced_decision(store, source, run_id):
    assert store.clusters.of_run(run_id).cluster_id.tolist() == ["contact-0001", "contact-0002"]
    assert store.clusters.members(run_id, "contact-0001").record_key.tolist() == ["1", "2"]
    store.decisions.decide(source, "contact-0001", "contact", "confirmed", "ann", "same person")
    store.decisions.decide(source, "contact-0001", "contact", "not_duplicate", "bob")
    decided = store.decisions.list(source)
    assert decided[["cluster_id", "decision", "decided_by"]].values.tolist() == [
        ["contact-0001", "not_duplicate", "bob"]]
    assert store.decisions.as_mapping(source) == {"contact": {"contact-0001": "not_duplicate"}}
    work = store.clusters.worklist(run_id)
    assert work.groupby("cluster_id").decision.first().fillna("open").to_dict() == {
        "contact-0001": "not_duplicate", "contact-0002": "open"}
    with pytest.raises(HistoryError, match="must be not_duplicate or confirmed"):
        store.decisions.decide(source, "contact-0002", "contact", "maybe")


def test_lock_acquired_refused_and_released(store, source):
    holder = store.locks.acquire(source, holder="host-a:1")
    with pytest.raises(RunLockedError, match="host-a:1 since"):
        store.locks.acquire(source, holder="host-b:2")
    assert store.locks.info(source).holder == "host-a:1"
    assert store.locks.renew(source, holder) and not store.locks.renew(source, "host-b:2")
    store.locks.release(source, holder)
    assert store.locks.info(source) is None
    with store.locks.run_lock(source, ttl=timedelta(seconds=0.3)) as held:
        assert store.locks.info(source).holder == held
    assert store.locks.info(source) is None


def test_heartbeat_newest(store, source):
    assert store.heartbeats.newest(source) is None
    store.heartbeats.beat("host-a", source, AS_OF, {"nightly": "2026-11-24T06:00:00+00:00"})
    store.heartbeats.beat("host-b", source, AS_OF + timedelta(minutes=1), {})
    store.heartbeats.beat("host-a", source, AS_OF + timedelta(minutes=2), {"nightly": "2026-11-25T06:00:00+00:00"})
    beat = store.heartbeats.newest(source)
    assert (beat.scheduler_id, beat.beat_at, beat.next_runs) == (
        "host-a", AS_OF + timedelta(minutes=2), {"nightly": "2026-11-25T06:00:00+00:00"})
    assert store.heartbeats.list(source).scheduler_id.tolist() == ["host-a", "host-b"]  # updated, not added


def test_alert_state_claim_and_unclaim(store, source):
    assert store.alert_state.claim(source, "low", True, 70.0, AS_OF) == (True, None)
    assert store.alert_state.claim(source, "low", True, 69.0, AS_OF) == (False, None)  # still firing: no message
    claimed, previous = store.alert_state.claim(source, "low", False, 95.0, AS_OF + timedelta(hours=1))
    assert claimed and previous == (1, AS_OF)
    store.alert_state.unclaim(source, "low", previous)  # the recovery went nowhere
    row = store.alert_state.state(source).iloc[0]
    assert (row.rule, row.firing, row.since) == ("low", 1, AS_OF)
    store.alert_state.unclaim(source, "low", None)
    assert store.alert_state.state(source).empty


def test_annotation_listed(store, source):
    first = store.annotations.add(source, "Import", datetime(2026, 11, 20), "contact", "vendor file")
    store.annotations.add(source, "Clean-up", datetime(2026, 11, 1))
    notes = store.annotations.list(source)
    assert notes.name.tolist() == ["Clean-up", "Import"] and int(notes.id.iat[1]) == first


def test_audit_records_and_lists_newest_first(tmp_path):
    store = HistoryStore(f"sqlite:///{tmp_path / 'h.db'}")
    store.audit.record("crm", "ann", "export", {"format": "csv", "check": "accuracy.email_syntax"}, records=40)
    store.audit.record("crm", "cli:root", "decision", {"cluster": "c1"}, records=2)
    store.audit.record("other", "ann", "sign_in")
    listed = store.audit.list("crm")
    assert listed.action.tolist() == ["decision", "export"]
    assert listed.records.tolist() == [2, 40]
    assert '"format": "csv"' in listed.detail.iat[1]
    assert store.audit.list("crm", action="export").actor.tolist() == ["ann"]
    with pytest.raises(ValueError, match="audit action"):
        store.audit.record("crm", "ann", "delete_everything")
