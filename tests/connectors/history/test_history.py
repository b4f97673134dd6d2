"""The history store keeps whole runs only: killed and failing runs, schema upgrades, compare; SQLite and PostgreSQL.

Every test runs against a SQLite history file and against a fresh PostgreSQL database (`pg_server`;
skipped when the server is down unless CLEANCRM_REQUIRE_SERVERS=1). The CRM is a small demo (SQLite).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
import yaml
from alembic.script import ScriptDirectory

from checks.config import load_config
from checks.demo import generate_demo
from checks.engine import measure, open_checked_source, plan, run_checks
from connectors.errors import HistoryError
from connectors.history import HistoryStore, schema, segments
from connectors.history import runs as runs_module
from tests.support.stored import legacy_complete, stored_rows

AS_OF = datetime(2026, 11, 23)
CLEANCRM = Path(sys.executable).with_name("cleancrm")
RESULT_TABLES = ("check_results", "scores", "findings", "record_scores")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A 500-contact demo CRM (no history); tests copy its config with their own history URL."""
    return generate_demo(tmp_path_factory.mktemp("history-demo"), 500, 7, AS_OF)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def history_url(request, tmp_path):
    """A fresh, empty history store URL: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    server = request.getfixturevalue("pg_server")
    return server.new_database(f"hist_{os.getpid()}_{time.monotonic_ns() % 10**9}")


def write_config(demo, history_url: str, folder: Path, **source) -> Path:
    data = yaml.safe_load(demo.config_path.read_text())
    data["source"]["url"] = f"sqlite:///{demo.db_path}"
    data["source"].update(source)
    data["history"] = {"url": history_url}
    path = folder / "cleancrm.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def count(store: HistoryStore, table: str, run_id: int) -> int:
    return stored_rows(store, table, run_id)


def run_row(store: HistoryStore, run_id: int):
    runs = store.runs.list()
    return runs[runs.id == run_id].iloc[0]


# -- a run killed halfway ---------------------------------------------------------------------------------
def test_killed_run_leaves_no_results_and_the_next_run_marks_it_interrupted(demo, history_url, tmp_path):
    config = write_config(demo, history_url, tmp_path, chunk_size=100)  # many chunks: a run takes seconds
    store = HistoryStore(history_url)
    proc = subprocess.Popen([str(CLEANCRM), "run", "--config", str(config), "--now", "2026-11-23", "--json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        running = None
        while time.monotonic() < deadline and proc.poll() is None:
            runs = store.runs.list("demo")
            if len(runs) and (runs.status == "running").any():
                running = int(runs[runs.status == "running"].id.iat[0])
                break
            time.sleep(0.01)
        assert running is not None, f"no running row appeared (exit {proc.poll()}): {proc.stderr.read()!r}"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert run_row(store, running).status == "running"
    for table in RESULT_TABLES:
        assert count(store, table, running) == 0, f"the killed run left rows in {table}"

    # The dead holder's lock expires after its TTL; pretend that time has passed.
    with store.engine.begin() as conn:
        conn.execute(schema.run_locks.update().values(expires_at=datetime(2000, 1, 1)))
    cfg = load_config(config)
    outcome = run_checks(cfg, now=AS_OF, history=store)
    killed = run_row(store, running)
    assert killed.status == "failed"
    assert "interrupted" in killed.error
    assert killed.finished_at is not None
    done = run_row(store, outcome.run_id)
    assert done.status == "completed" and done.overall_score == pytest.approx(outcome.result.overall)
    assert count(store, "check_results", outcome.run_id) == len(outcome.result.check_results)
    assert count(store, "findings", outcome.run_id) == len(outcome.result.findings) > 0
    assert store.runs.resolve("latest", "demo") == outcome.run_id
    store.close()


# -- a run whose storing fails -----------------------------------------------------------------------------
def test_failure_while_storing_keeps_nothing_but_a_failed_run(demo, history_url, tmp_path, monkeypatch):
    cfg = load_config(write_config(demo, history_url, tmp_path))
    store = HistoryStore(history_url)
    real_write = segments.write

    def write(conn, run_id, kind, frame):
        if kind == segments.RECORD_SCORES:  # after check results, scores and findings, in the same transaction
            raise RuntimeError("disk full while writing findings")
        return real_write(conn, run_id, kind, frame)

    monkeypatch.setattr(segments, "write", write)
    with pytest.raises(RuntimeError, match="disk full"):
        run_checks(cfg, now=AS_OF, history=store)
    runs = store.runs.list("demo")
    assert len(runs) == 1
    failed = runs.iloc[0]
    assert failed.status == "failed"
    assert "disk full while writing findings" in failed.error
    assert failed.overall_score is None or failed.overall_score != failed.overall_score  # None / NaN
    for table in RESULT_TABLES:
        assert count(store, table, int(failed.id)) == 0, f"the failed run left rows in {table}"
    with pytest.raises(Exception, match="is failed and has no results"):
        store.runs.resolve(int(failed.id))

    monkeypatch.setattr(segments, "write", real_write)
    ok = run_checks(cfg, now=AS_OF, history=store)  # the lock was released, the store still works
    assert run_row(store, ok.run_id).status == "completed"
    store.close()


# -- schema upgrade -------------------------------------------------------------------------------------------
def test_head_revision_read_from_the_files_is_alembics_head(tmp_path):
    from connectors.history.store import head_revision

    store = HistoryStore(f"sqlite:///{tmp_path / 'h.db'}", upgrade=False)
    assert store.revision() is None  # no table yet: nothing to read
    assert [head_revision()] == ScriptDirectory.from_config(store.alembic_config()).get_heads()
    store.upgrade()
    assert store.revision() == head_revision()
    store.close()


def test_upgrade_from_0001_keeps_runs_and_adds_tables(demo, history_url, tmp_path):
    cfg = load_config(write_config(demo, history_url, tmp_path))
    old = HistoryStore(history_url, upgrade=False)
    old.upgrade("0001")
    assert old.revision() == "0001"
    tables = set(sa.inspect(old.engine).get_table_names())
    assert {"runs", "check_results", "scores", "findings", "record_scores", "annotations"} <= tables
    assert "duplicate_clusters" not in tables and "run_locks" not in tables

    # A run as a 0001-era cleancrm wrote it: results, scores, findings, record scores; no clusters.
    source = open_checked_source(cfg)
    try:
        result = measure(cfg, source, plan(cfg), AS_OF)
    finally:
        source.close()
    result.clusters = result.cluster_members = None
    run_id = old.runs.start("demo", AS_OF, "cli", cfg.fingerprint(), "0.0.1")
    legacy_complete(old, run_id, result)
    old.annotations.add("demo", "Import", datetime(2026, 11, 1), "contact", "before the upgrade")
    before = {t: count(old, t, run_id) for t in RESULT_TABLES}
    assert before["findings"] == len(result.findings) > 0
    old.close()

    store = HistoryStore(history_url)  # upgrades to head on open
    heads = ScriptDirectory.from_config(store.alembic_config()).get_heads()
    assert store.revision() in heads
    tables = set(sa.inspect(store.engine).get_table_names())
    assert {"duplicate_clusters", "cluster_members", "cluster_decisions", "run_locks", "heartbeats",
            "alert_state"} <= tables
    assert {t: count(store, t, run_id) for t in RESULT_TABLES} == before
    row = run_row(store, run_id)
    assert (row.status, row.tool_version, row.source_fingerprint) == ("completed", "0.0.1", "fp")
    assert row.overall_score == pytest.approx(result.overall)
    # Its findings read back from their old table as they were found, in the order they were found.
    findings_after = store.findings.of_run(run_id)
    columns = ["check_id", "entity", "record_key", "field", "column_name", "value", "reason", "suggestion", "severity"]
    expected = result.findings[columns].astype(object).where(result.findings[columns].notna(), None)
    actual = findings_after[columns].astype(object).where(findings_after[columns].notna(), None)
    assert actual.assign(record_key=actual.record_key.astype(str)).values.tolist() == \
        expected.assign(record_key=expected.record_key.astype(str)).values.tolist()
    assert store.annotations.list("demo").name.tolist() == ["Import"]

    # The upgraded store takes new runs (with locks and clusters) and compares them with the old one.
    new = run_checks(cfg, now=AS_OF, history=store)
    assert run_row(store, new.run_id).status == "completed"
    table = store.findings.compare(run_id, new.run_id)
    assert int(table.newly_failing.sum()) == 0 and int(table.fixed.sum()) == 0
    assert int(table.still_failing.sum()) == len(store.findings.failing_keys(run_id))
    store.close()


# -- compare -------------------------------------------------------------------------------------------------
def test_compare_counts_fixed_still_and_newly_failing(demo, history_url, tmp_path):
    crm = tmp_path / "crm.db"
    crm.write_bytes(demo.db_path.read_bytes())
    config = write_config(demo, history_url, tmp_path)
    data = yaml.safe_load(config.read_text())
    data["source"]["url"] = f"sqlite:///{crm}"
    config.write_text(yaml.safe_dump(data))
    cfg = load_config(config)
    store = HistoryStore(history_url)
    a = run_checks(cfg, now=AS_OF, history=store, only="accuracy")

    placeholder = a.result.findings
    placeholder = sorted(placeholder[(placeholder.check_id == "accuracy.email_placeholder")
                                     & (placeholder.entity == "contact")].record_key, key=int)
    assert len(placeholder) >= 4
    fixed = placeholder[:3]
    with sqlite3.connect(crm) as con:
        for key in fixed:
            con.execute("UPDATE contacts SET email = ? WHERE id = ?", (f"fixed.{key}@acme-example.org", int(key)))
        clean = [r[0] for r in con.execute(
            "SELECT id FROM contacts WHERE deleted = 0 AND email LIKE '%@%.%' AND phone IS NOT NULL ORDER BY id")]
        failing_any = set(a.result.findings[a.result.findings.entity == "contact"].record_key)
        broken = [k for k in clean if str(k) not in failing_any][:2]
        for key in broken:
            con.execute("UPDATE contacts SET email = 'none@none.com' WHERE id = ?", (key,))
    b = run_checks(cfg, now=AS_OF, history=store, only="accuracy")

    table = store.findings.compare(a.run_id, b.run_id).set_index(["check_id", "entity"])
    row = table.loc[("accuracy.email_placeholder", "contact")]
    assert (row.fixed, row.still_failing, row.newly_failing) == (3, len(placeholder) - 3, 2)
    # Every row is the set arithmetic of the two runs' failing records.
    ka, kb = store.findings.failing_keys(a.run_id), store.findings.failing_keys(b.run_id)
    sets = {}
    for name, frame in (("a", ka), ("b", kb)):
        for (check, entity), g in frame.groupby(["check_id", "entity"]):
            sets.setdefault((check, entity), {"a": set(), "b": set()})[name] = set(g.record_key)
    assert set(table.index) == set(sets)
    for key, s in sets.items():
        assert tuple(table.loc[key, ["fixed", "still_failing", "newly_failing"]]) == (
            len(s["a"] - s["b"]), len(s["a"] & s["b"]), len(s["b"] - s["a"])), key
    assert store.findings.compare(a.run_id, a.run_id).fixed.sum() == 0
    store.close()


# -- the store failing, and a stop just after storing ------------------------------------------------------
EMPTY_RESULT = SimpleNamespace(check_results=None, scores=None, findings=None, record_scores=None, overall=90.0)


def test_the_store_failing_while_writing_is_one_line_and_a_failed_run(history_url, monkeypatch):
    store = HistoryStore(history_url)
    run_id = store.runs.start("demo", AS_OF)

    def insert(conn, table, frame, run_id):
        raise sa.exc.OperationalError("INSERT INTO check_results …", {}, Exception("disk I/O error\nmore detail"))

    monkeypatch.setattr(runs_module, "insert_frame", insert)
    with pytest.raises(HistoryError) as caught, store.runs.failing_on_error(run_id):
        store.runs.complete(run_id, EMPTY_RESULT)
    message = str(caught.value)
    assert message.startswith("history: the run could not be stored (disk I/O error)") and "\n" not in message
    row = run_row(store, run_id)
    assert (row.status, row.error) == ("failed", message)
    store.close()


def test_a_stop_just_after_the_results_were_stored_keeps_the_run_completed(history_url):
    store = HistoryStore(history_url)
    run_id = store.runs.start("demo", AS_OF)
    with pytest.raises(RuntimeError), store.runs.failing_on_error(run_id):
        store.runs.complete(run_id, EMPTY_RESULT)
        raise RuntimeError("SIGTERM between the commit and the end of the run")
    assert run_row(store, run_id).status == "completed"  # failing marks running runs only
    store.close()


def test_a_store_at_the_newest_revision_opens_without_writing(history_url, tmp_path):
    HistoryStore(history_url).close()
    if history_url.startswith("sqlite:///"):
        path = Path(history_url.removeprefix("sqlite:///"))
        before = path.stat().st_mtime_ns, path.read_bytes()
        store = HistoryStore(history_url)  # no migration lock taken: a read-only copy opens too
        assert (path.stat().st_mtime_ns, path.read_bytes()) == before
    else:
        store = HistoryStore(history_url)
    assert store.revision() in ScriptDirectory.from_config(store.alembic_config()).get_heads()
    store.close()
