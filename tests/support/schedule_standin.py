"""A stand-in for checks.engine.run_checks with the same contract, on the demo SQLite source.

It opens the source first (an unreachable source raises SourceError before anything is written,
like the engine), takes the per-source lock, marks runs left `running` as interrupted, records a
`running` run, measures two real checks on `contacts` (email present, email has an @) and writes
all results in one transaction; any failure marks the run failed and re-raises.

Knobs, read from `standin.json` beside the config (so a test can change them between runs, and
subprocesses see them): `delay` (seconds spent "measuring", to make runs overlap) and
`fail_mid_run` (raise a SourceError after the run was recorded: a lost connection).
"""

from __future__ import annotations

import json
import socket
import time
from contextlib import nullcontext
from datetime import UTC, datetime
from types import SimpleNamespace

import pandas as pd

from connectors.errors import SourceError
from connectors.history import HistoryStore
from connectors.source import open_source

CALLS: list[dict] = []


def knobs(cfg) -> dict:
    path = cfg.base_dir / "standin.json"
    return json.loads(path.read_text()) if path.exists() else {}


def set_knobs(base_dir, **values) -> None:
    path = base_dir / "standin.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data.update(values)
    path.write_text(json.dumps(data))


def _result(source) -> SimpleNamespace:
    total = int(source.scalar("SELECT COUNT(*) FROM contacts WHERE deleted = 0"))
    missing = int(source.scalar("SELECT COUNT(*) FROM contacts WHERE deleted = 0 AND (email IS NULL OR email = '')"))
    present = total - missing
    bad = int(source.scalar("SELECT COUNT(*) FROM contacts WHERE deleted = 0 AND email <> '' AND email NOT LIKE '%@%'"))
    completeness = 100 * (1 - missing / total)
    accuracy = 100 * (1 - bad / present) if present else None
    checks = pd.DataFrame([
        {"check_id": "completeness.required", "entity": "contact", "dimension": "completeness", "fields": "email",
         "severity": "high", "weight": 1.0, "applicable": total, "failed": missing, "score": completeness, "metrics": "{}"},
        {"check_id": "accuracy.email_syntax", "entity": "contact", "dimension": "accuracy", "fields": "email",
         "severity": "high", "weight": 1.0, "applicable": present, "failed": bad, "score": accuracy, "metrics": "{}"},
    ])
    dims = [s for s in (completeness, accuracy) if s is not None]
    overall = sum(dims) / len(dims)
    scores = pd.DataFrame([
        {"scope": "overall", "entity": None, "dimension": None, "field": None, "score": overall},
        {"scope": "dimension", "entity": None, "dimension": "completeness", "field": None, "score": completeness},
        {"scope": "dimension", "entity": None, "dimension": "accuracy", "field": None, "score": accuracy},
        {"scope": "entity", "entity": "contact", "dimension": None, "field": None, "score": overall},
    ])
    return SimpleNamespace(check_results=checks, scores=scores, findings=pd.DataFrame(),
                           record_scores=pd.DataFrame(), overall=overall)


def standin_run(cfg, *, now=None, only=None, trigger="cli", history=None, progress=None, lock=True):
    CALLS.append({"only": only, "trigger": trigger, "at": time.monotonic()})
    start = time.perf_counter()
    settings = knobs(cfg)
    as_of = (now or datetime.now(UTC)).replace(tzinfo=None)
    source = open_source(cfg.source_url(), cfg.source.statement_timeout_s)
    try:
        store = history or HistoryStore(cfg.history_url())
        with store.locks.run_lock(cfg.name) if lock else nullcontext():
            if lock:
                store.runs.mark_interrupted(cfg.name)
            run_id = store.runs.start(cfg.name, as_of, trigger, cfg.fingerprint(), "standin", only)
            with store.runs.failing_on_error(run_id):
                time.sleep(float(settings.get("delay", 0)))
                if settings.get("fail_mid_run"):
                    raise SourceError("source: connection lost while reading contacts (server closed the connection)")
                result = _result(source)
                store.runs.complete(run_id, result, "fp")
    finally:
        source.close()
    return SimpleNamespace(run_id=run_id, result=result, seconds=time.perf_counter() - start)


def wait_for(predicate, timeout: float = 20.0, step: float = 0.05) -> bool:
    """Poll `predicate` until it holds (True) or `timeout` seconds pass (False)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return False


def free_port() -> int:
    """A TCP port nobody listens on (for unreachable-server tests and the SMTP fixture)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
