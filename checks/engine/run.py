"""One run: plan → measure → score → store, in one transaction; a failure is stored as a failed run.

Faults end a run as one error line and a failed run, never as half a run: a key column that
repeats is refused before anything is stored (the engine keeps each key once); the history store
failing (read-only, full, locked, its server gone) is a HistoryError naming the cause; and in the
main thread, SIGTERM stops the run (`RunStopped`): its workers are reaped and it is stored failed.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from checks import __version__
from checks.config import Config
from checks.engine.fix_tracking import track_packages
from checks.engine.measure import Progress, RunResult, measure
from checks.engine.plan import not_planned, plan
from checks.engine.stages import Stages
from checks.masking import mask, mask_findings
from connectors.errors import CleanCRMError, ConfigError, SourceError
from connectors.history.runs import store_failure
from connectors.mapping import EntityQuery, mapped_tables, validate_mapping
from connectors.source import Source, can_write, open_source


class RunStopped(CleanCRMError):
    """The run was stopped by SIGTERM before it finished; it is stored as failed."""


@dataclass
class RunOutcome:
    """A stored run, and the warnings about how it read the source (a login that could write)."""

    run_id: int
    result: RunResult
    seconds: float
    as_of: datetime | None = None
    warnings: list[str] = field(default_factory=list)
    # Checks and rules of the config's entities that did not run, and why (a full run only).
    skipped: list[tuple[str, str, str]] = field(default_factory=list)


def open_checked_source(cfg: Config) -> Source:
    """Open the source and check the config against its schema; every problem reported at once."""
    source = open_source(cfg.source_url(), cfg.source.statement_timeout_s, cfg.source.schema_)
    errors = validate_mapping(cfg, source)
    if not errors:
        try:
            errors = repeated_keys(cfg, source)
        except SourceError:
            source.close()
            raise
    if errors:
        source.close()
        raise ConfigError("\n".join(errors))
    return source


def repeated_keys(cfg: Config, source: Source) -> list[str]:
    """Entities whose key column is not unique among the live rows, each `entities.<name>.key: …`.

    The engine keeps one record per key, so a repeated key would drop the other rows silently.
    A key that PostgreSQL or MariaDB holds as the table's primary key is unique and never NULL by
    their constraint, so it is not counted (about a second on a million rows); SQLite lets a
    primary key other than an INTEGER one hold NULLs, and a view or an export declares none.
    """
    problems = []
    for name, ent in cfg.entities.items():
        if source.dialect in ("postgresql", "mysql") and source.primary_key(ent.table) == [ent.key]:
            continue
        query = EntityQuery(source, name, ent)
        key = f"{query.alias}.{source.quote(ent.key)}"
        counts = source.read_frame(f"SELECT COUNT(*), COUNT(DISTINCT {key}) FROM "
                                   f"{source.table_ref(ent.table)}{query.where()}").iloc[0]
        rows, keys = int(counts.iloc[0] or 0), int(counts.iloc[1] or 0)
        if keys < rows:
            problems.append(f"entities.{name}.key: column {ent.key!r} is not unique in table {ent.table} "
                            f"({rows:,} live rows, {keys:,} distinct non-empty values); give its primary key")
    return problems


def role_warnings(cfg: Config, source: Source, require_read_only_role: bool = False) -> list[str]:
    """A warning when the source's login could write to the CRM; with `require_read_only_role`, a SourceError."""
    reason = can_write(source, mapped_tables(cfg))
    if reason is None:
        return []
    if require_read_only_role:
        raise SourceError(f"source: a read-only role is required, and {reason}; "
                          "connect with a role that has SELECT privileges only")
    return [f"source: {reason}; cleancrm only reads, but a role with SELECT privileges only keeps the CRM safe"]


def _record_early_failure(cfg: Config, history, error: Exception, as_of: datetime, trigger: str,
                          only: str | None) -> None:
    """Keep a run that failed before it started (bad mapping, source down) as a failed run.

    Only where the source has completed runs already: the dashboard then shows the failure
    instead of the last good data without a word, while a first try with a typo is refused and
    leaves no history behind.
    A store that cannot take the failure does not hide the error itself.
    """
    from connectors.history import HistoryStore

    try:
        store = history or HistoryStore.existing(cfg.history_url())
        # A source with runs already: the pages would show them without a word. A first try is refused, not kept.
        if store is not None and len(store.runs.completed(cfg.name)):
            store.runs.record_failure(cfg.name, str(error), started_at=as_of, trigger=trigger,
                                      config_hash=cfg.fingerprint(), tool_version=__version__, only=only)
    except Exception:  # noqa: BLE001 - the run's own error is the one to report
        pass


def run_checks(cfg: Config, *, now: datetime | None = None, only: str | None = None, trigger: str = "cli",
               history=None, progress: Progress | None = None, lock: bool = True,
               require_read_only_role: bool = False, stages: Stages | None = None) -> RunOutcome:
    """Plan, measure, score and store one run; a failure is stored as a failed run and re-raised.

    Each stage's wall time is added to `stages` (the caller may have timed its own start-up there).

    Bad config and an unreachable source are reported before anything is written, and so is a
    source login that could write when `require_read_only_role` is set (otherwise a warning).
    """
    from connectors.history import HistoryStore
    from connectors.source import fingerprint

    start = time.perf_counter()
    stages = stages if stages is not None else Stages()
    as_of = (now or datetime.now(UTC)).replace(tzinfo=None)
    with stages.timed("plan"):
        planned = plan(cfg, only)
    with stages.timed("open and check the source"):
        try:
            source = open_checked_source(cfg)
        except CleanCRMError as exc:
            _record_early_failure(cfg, history, exc, as_of, trigger, only)
            raise
    try:
        with stages.timed("check the source's login"):
            warnings = role_warnings(cfg, source, require_read_only_role)
        with stages.timed("open the history"):
            store = history or HistoryStore(cfg.history_url())
        with (_stopped_by_sigterm() as stopped, _store_faults(),
              store.locks.run_lock(cfg.name) if lock else nullcontext()):
            if lock:
                store.runs.mark_interrupted(cfg.name)  # we hold the lock: any run still "running" died
            run_id = store.runs.start(cfg.name, as_of, trigger, cfg.fingerprint(), __version__, only)
            with store.runs.failing_on_error(run_id):
                # What the checks that compare with the previous run stored then (their metrics).
                previous = {cid: store.results.latest_metrics(cfg.name, cid)
                            for cid in {p.check.id for p in planned if p.check.compares_previous}}
                result = measure(cfg, source, planned, as_of, progress, store.decisions.as_mapping(cfg.name), stages,
                                 previous, store.decisions.not_duplicate_pairs(cfg.name))
                stopped()  # a stop whose exception a finaliser dropped ends the run before it is stored
                tables = [ent.table for ent in cfg.entities.values()]
                # The fields the config lists under history.mask_fields are never stored raw.
                with stages.timed("store"):
                    store.runs.complete(run_id, for_history(result, cfg.history.mask_fields),
                                        fingerprint(source, tables))
            if not only:  # a partial run cannot tell a fix's findings from the checks it left out
                with stages.timed("fix packages"):
                    warnings += track_packages(cfg, source, store, run_id)
    finally:
        source.close()
    skipped = [] if only else not_planned(cfg)
    return RunOutcome(run_id, result, time.perf_counter() - start, as_of, warnings, skipped)


@contextmanager
def _store_faults() -> Iterator[None]:
    """The history store failing underneath a run (read-only, full, locked, server gone) as one HistoryError."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise store_failure(exc) from None


@contextmanager
def _stopped_by_sigterm() -> Iterator[Callable[[], None]]:
    """While the run lasts, SIGTERM raises RunStopped in the main thread, so the run ends as a failed one.

    The exception unwinds the run like any failure: the workers are killed and reaped, the run is
    marked failed and the lock given back. A second SIGTERM during that clean-up is ignored. A run
    in another thread (the scheduler, the dashboard) leaves signals to its process.

    Yields:
        A check that raises RunStopped again if a stop was asked for: an exception raised in a
        finaliser or an at-fork hook is printed and dropped by Python, so the run checks once more
        before it stores its results.
    """
    reason: list[str] = []

    def check() -> None:
        if reason:
            raise RunStopped(reason[0])

    if threading.current_thread() is not threading.main_thread():
        yield check
        return

    def stop(signum, _frame):
        if not reason:  # the first one stops the run; a second one would interrupt its clean-up
            reason.append(f"run: stopped by {signal.Signals(signum).name} before it finished; "
                          "it is stored as failed, start it again")
            raise RunStopped(reason[0])

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield check
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def for_history(result: RunResult, mask_fields: list[str]) -> RunResult:
    """The result as the history stores it: values of `mask_fields` masked in findings and merge plans."""
    if not mask_fields:
        return result
    only = set(mask_fields)
    clusters = result.clusters
    if clusters is not None and len(clusters):
        clusters = clusters.assign(merge_plan=[mask_merge_plan(p, only) for p in clusters.merge_plan])
    return replace(result, findings=mask_findings(result.findings, only=only), clusters=clusters)


def mask_merge_plan(plan: str | None, only: set[str] | None = None) -> str | None:
    """A merge plan (JSON list of `{field, keep_value, from_key, why}`) with each kept value masked by field.

    `only` limits masking to those canonical fields; text that is not such a plan is returned as is.
    """
    try:
        steps = json.loads(plan) if isinstance(plan, str) else None
    except ValueError:
        return plan
    if not isinstance(steps, list):
        return plan
    for step in steps:
        if isinstance(step, dict) and (only is None or str(step.get("field")).partition(":")[0] in only):
            step["keep_value"] = mask(step.get("field"), step.get("keep_value"))
    return json.dumps(steps, ensure_ascii=False)
