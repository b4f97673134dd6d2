"""One run: plan → measure → score → store, in one transaction; a failure is stored as a failed run."""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime

from checks import __version__
from checks.config import Config
from checks.engine.measure import Progress, RunResult, measure
from checks.engine.plan import plan
from connectors.errors import ConfigError
from connectors.mapping import validate_mapping
from connectors.source import Source, open_source


@dataclass
class RunOutcome:
    """A stored run."""

    run_id: int
    result: RunResult
    seconds: float
    as_of: datetime | None = None


def open_checked_source(cfg: Config) -> Source:
    """Open the source and check the config against its schema; every problem reported at once."""
    source = open_source(cfg.source_url(), cfg.source.statement_timeout_s, cfg.source.schema_)
    errors = validate_mapping(cfg, source)
    if errors:
        source.close()
        raise ConfigError("\n".join(errors))
    return source


def run_checks(cfg: Config, *, now: datetime | None = None, only: str | None = None, trigger: str = "cli",
               history=None, progress: Progress | None = None, lock: bool = True) -> RunOutcome:
    """Plan, measure, score and store one run; a failure is stored as a failed run and re-raised.

    Bad config and an unreachable source are reported before anything is written.
    """
    from connectors.history import HistoryStore
    from connectors.source import fingerprint

    start = time.perf_counter()
    as_of = (now or datetime.now(UTC)).replace(tzinfo=None)
    planned = plan(cfg, only)
    source = open_checked_source(cfg)
    try:
        store = history or HistoryStore(cfg.history_url())
        with store.locks.run_lock(cfg.name) if lock else nullcontext():
            if lock:
                store.runs.mark_interrupted(cfg.name)  # we hold the lock: any run still "running" died
            run_id = store.runs.start(cfg.name, as_of, trigger, cfg.fingerprint(), __version__, only)
            with store.runs.failing_on_error(run_id):
                result = measure(cfg, source, planned, as_of, progress, store.decisions.as_mapping(cfg.name))
                tables = [ent.table for ent in cfg.entities.values()]
                store.runs.complete(run_id, result, fingerprint(source, tables))
    finally:
        source.close()
    return RunOutcome(run_id, result, time.perf_counter() - start, as_of)
