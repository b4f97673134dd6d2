"""`cleancrm schedule`: run the checks on the config's cron schedules, with APScheduler.

Cron expressions (config `schedule[].cron`) have five fields, `minute hour day month weekday`,
read in the entry's `timezone`, with crontab's weekday numbers (0 and 7 are Sunday). A sixth,
leading field is read as seconds (`*/5 * * * * *` = every five seconds); it exists for tests and
demos. Daylight-saving changes follow cron's usual rules:

- a wall-clock time that does not exist (02:30 on a spring-forward night in Europe/Berlin) runs
  as many minutes after the change (03:30 CEST), once;
- a wall-clock time that happens twice (02:30 on a fall-back night) runs once, at its first
  occurrence, unless the hour field is `*`: an hourly or more frequent job keeps running by
  elapsed time through the repeated hour.

Restarts: missed fire times within one scheduler are coalesced into one run (`coalesce`, and
`misfire_grace_time`: None = however late). Across a restart, each schedule compares its newest
completed run with its previous fire time; if that fire time was missed while the scheduler was
down, one catch-up run starts at once.

Failures: a run that fails (source down, statement timeout, lost connection) is recorded as a
failed run with a readable error (by the engine, or here when the engine failed before recording
anything), then retried after `retry.backoff_s`, growing by `retry.backoff_factor`, at most
`retry.attempts` tries; a retry is never scheduled past the schedule's next fire time, and the
next fire cancels a pending retry, so the next scheduled run always happens. A run blocked by the
source's lock (another scheduler, `cleancrm run` from cron, the dashboard's "Run now") waits for
the lock instead, and is skipped when a run of the same schedule started since its fire time
(so two schedulers on one source run each fire once).

Heartbeat: every `heartbeat_s` the scheduler writes its row in `heartbeats` (`beat_at`, and
`next_runs`: JSON {schedule name: ISO 8601 time with UTC offset, in the schedule's timezone}).
A clean shutdown writes a last beat with `next_runs` = {}. Alert rules are evaluated after every
run that completed or failed for good, and `heartbeat_stale` rules at every beat.
"""

from __future__ import annotations

import collections
import logging
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from checks import __version__
from checks.app.alerts import evaluate, validate_rules
from checks.config import (
    Config,
    RetryConfig,
    ScheduleEntry,
    cron_calendar,
    cron_fields,
    read_timezone,
    schedule_entry_problems,
    schedule_problems,
)
from connectors.errors import CleanCRMError, ConfigError, RunLockedError
from connectors.history import HistoryStore, utcnow
from connectors.notify import send as notify_send

log = logging.getLogger("cleancrm.schedule")
RunFn = Callable[..., object]
_US = timedelta(microseconds=1)
_LOOKBACKS = (timedelta(seconds=2), timedelta(minutes=2), timedelta(hours=2), timedelta(days=2),
              timedelta(days=40), timedelta(days=400), timedelta(days=3000))


# -- cron maths (the expression itself is read by checks.config, so a config is checked as it loads) --
class WallClockCronTrigger(BaseTrigger):
    """A cron trigger read in wall-clock time of a timezone, with cron's DST rules.

    APScheduler 3's CronTrigger fires a fixed-time job twice on a fall-back night (and can return
    the same time again after the second one); this trigger matches the expression on naive wall
    times (a UTC CronTrigger used as a calendar) and maps each to real instants itself.
    """

    def __init__(self, expr: str, timezone: str | tzinfo = "UTC"):
        self.expr = expr
        self.timezone = read_timezone(timezone) if isinstance(timezone, str) else timezone
        self._calendar = cron_calendar(expr)
        self.elapsed_time = cron_fields(expr)[2] in ("*", "*/1")  # the hour field

    def __str__(self) -> str:
        return f"cron[{self.expr}] {self.timezone}"

    def __repr__(self) -> str:
        return f"<WallClockCronTrigger {self.expr!r} {self.timezone}>"

    def _next_wall(self, wall: datetime) -> datetime | None:
        """The first matching naive wall time strictly after `wall`."""
        nxt = self._calendar.get_next_fire_time(None, (wall + _US).replace(tzinfo=UTC))
        return None if nxt is None else nxt.replace(tzinfo=None)

    def _instants(self, wall: datetime) -> tuple[list[datetime], timedelta]:
        """The UTC instants a wall time fires at, and the length of the gap it falls in (or 0)."""
        u0 = wall.replace(tzinfo=self.timezone, fold=0).astimezone(UTC)
        u1 = wall.replace(tzinfo=self.timezone, fold=1).astimezone(UTC)
        if u0 == u1:
            return [u0], timedelta(0)
        if u1 > u0:  # ambiguous: the hour repeats
            return ([u0, u1] if self.elapsed_time else [u0]), timedelta(0)
        return [u0], u0 - u1  # nonexistent: shifted past the gap

    def next_after(self, after: datetime) -> datetime | None:
        """The first fire time strictly after the aware instant `after`, as an aware UTC datetime.

        UTC because aware times inside a repeated hour never compare equal across zones (PEP 495).
        """
        after = after.astimezone(UTC)
        local = after.astimezone(self.timezone)
        wall = local.replace(tzinfo=None, fold=0)
        best: datetime | None = None
        candidate = self._next_wall(wall)
        for _ in range(10_000):
            if candidate is None:
                break
            instants, gap = self._instants(candidate)
            later = [i for i in instants if i > after]
            if later:
                best = min(later)
                if gap:  # a later wall time just past the gap can map to an earlier instant
                    nxt = self._next_wall(candidate)
                    while nxt is not None and nxt < candidate + gap:
                        best = min([best, *(i for i in self._instants(nxt)[0] if i > after)])
                        nxt = self._next_wall(nxt)
                break
            candidate = self._next_wall(candidate)
        if self.elapsed_time and local.fold == 0:
            # First pass of a repeated hour: its second pass comes before the wall times after it.
            off0 = wall.replace(tzinfo=self.timezone, fold=0).utcoffset()
            off1 = wall.replace(tzinfo=self.timezone, fold=1).utcoffset()
            if off0 is not None and off1 is not None and off0 > off1:
                again = self._next_wall(wall - (off0 - off1))
                if again is not None:
                    later = [i for i in self._instants(again)[0] if i > after]
                    if later and (best is None or min(later) < best):
                        best = min(later)
        return best

    def get_next_fire_time(self, previous_fire_time, now):
        """APScheduler's hook: the next fire time after the previous one (or from `now`)."""
        after = now - _US
        if previous_fire_time is not None:
            after = min(previous_fire_time, after)
        return self.next_after(after)

    def last_at_or_before(self, moment: datetime) -> datetime | None:
        """The newest fire time not after `moment` (None when there is none within ~8 years)."""
        for lookback in _LOOKBACKS:
            fire = self.next_after(moment - lookback)
            if fire is None or fire > moment:
                continue
            while True:
                nxt = self.next_after(fire)
                if nxt is None or nxt > moment:
                    return fire
                fire = nxt
        return None


def cron_trigger(entry: ScheduleEntry, where: str = "schedule") -> WallClockCronTrigger:
    """The trigger of one schedule entry; a bad expression or timezone is a ConfigError."""
    problems = schedule_entry_problems(entry, where)
    if problems:
        raise ConfigError("\n".join(problems))
    return WallClockCronTrigger(entry.cron, entry.timezone)


def build_triggers(cfg: Config) -> dict[str, WallClockCronTrigger]:
    """Triggers of every schedule entry by name; problems raise one ConfigError listing them all."""
    problems = schedule_problems(cfg.schedule)
    if problems:
        raise ConfigError("\n".join(problems))
    return {entry.name: WallClockCronTrigger(entry.cron, entry.timezone) for entry in cfg.schedule}


def next_run_times(cfg: Config, now: datetime | None = None) -> dict[str, datetime]:
    """Next fire time of each schedule after `now` (aware; naive means UTC), in its own timezone."""
    now = _aware(now or datetime.now(UTC))
    out = {}
    for name, trigger in build_triggers(cfg).items():
        nxt = trigger.next_after(now)
        if nxt is not None:
            out[name] = nxt.astimezone(trigger.timezone)
    return out


def retry_delay(retry: RetryConfig, attempt: int) -> float:
    """Seconds to wait after try number `attempt` (1-based) failed."""
    return min(retry.max_backoff_s, retry.backoff_s * retry.backoff_factor ** (attempt - 1))


def trigger_label(schedule_name: str) -> str:
    """The `runs.trigger` value of a schedule's runs: `schedule:<name>` (40 characters at most)."""
    return f"schedule:{schedule_name}"[:40]


def default_scheduler_id(cfg: Config) -> str:
    """`host/source`: stable across restarts, so a restarted scheduler updates its own heartbeat row."""
    return f"{socket.gethostname()}/{cfg.name}"[:200]


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _naive_utc(moment: datetime) -> datetime:
    return _aware(moment).astimezone(UTC).replace(tzinfo=None)


def _default_run_fn(cfg: Config, **kwargs):
    from checks.engine import run_checks

    return run_checks(cfg, **kwargs)


# -- the runner -----------------------------------------------------------------------------------
@dataclass
class FireResult:
    """What one try of a scheduled run did.

    `status` is `completed`, `failed`, `locked` (another run held the source's lock) or `skipped`
    (a run of this schedule already started since the fire time).
    """

    schedule: str
    attempt: int
    status: str
    fire_time: datetime
    run_id: int | None = None
    error: str | None = None
    retry_in: float | None = None


class Runner:
    """Runs scheduled checks for one config: tries, retries, catch-up, heartbeat and alerts.

    Args:
        cfg: The loaded config (`schedule`, `retry`, `alerts`).
        run_fn: Runs the checks; called as `run_fn(cfg, only=..., trigger=..., history=store)` and
            expected to behave like `checks.engine.run_checks` (the default).
        history: The history store; default the config's.
        scheduler_id: Key of this scheduler's heartbeat row; default `host/source`.
        clock: Aware "now" (tests); default the system clock.
        send: Alert delivery function; default `connectors.notify.send`.
        misfire_grace_s: How late a missed fire may still run; None = however late.
    """

    def __init__(self, cfg: Config, *, run_fn: RunFn | None = None, history: HistoryStore | None = None,
                 scheduler_id: str | None = None, clock: Callable[[], datetime] | None = None,
                 send=notify_send, misfire_grace_s: float | None = None):
        self.cfg = cfg
        self.entries = {e.name: e for e in cfg.schedule}
        self.triggers = build_triggers(cfg)
        validate_rules(cfg)
        self._validate_only()
        self.store = history or HistoryStore(cfg.history_url())
        self.run_fn = run_fn or _default_run_fn
        self.scheduler_id = scheduler_id or default_scheduler_id(cfg)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.send = send
        self.misfire_grace_s = misfire_grace_s
        self.scheduler: BaseScheduler | None = None
        self.results: collections.deque[FireResult] = collections.deque(maxlen=1000)
        self.run_lock = threading.Lock()  # one run at a time in this process

    def _validate_only(self) -> None:
        entries = [(i, e) for i, e in enumerate(self.cfg.schedule) if e.only]
        if not entries:
            return
        from checks.engine import plan

        problems = []
        for i, entry in entries:
            try:
                plan(self.cfg, ",".join(entry.only))
            except ConfigError as exc:
                problems.append(f"schedule[{i}] ({entry.name}).only: {str(exc).removeprefix('--only: ')}")
        if problems:
            raise ConfigError("\n".join(problems))

    # -- history look-ups ------------------------------------------------------------------------
    def last_completed(self, name: str) -> datetime | None:
        """Start (aware UTC) of the newest completed run of a schedule."""
        started = self.store.runs.last_completed(self.cfg.name, trigger_label(name))
        return None if started is None else started.replace(tzinfo=UTC)

    def _record_failure(self, name: str, error: str, started_at: datetime) -> int:
        """A failed run for a try that failed before the engine recorded one (source down)."""
        entry = self.entries[name]
        return self.store.runs.record_failure(
            self.cfg.name, error, started_at=started_at, trigger=trigger_label(name),
            config_hash=self.cfg.fingerprint(), tool_version=__version__, only=",".join(entry.only)[:200] or None)

    # -- running ---------------------------------------------------------------------------------
    def next_fire(self, name: str, after: datetime | None = None) -> datetime | None:
        """The schedule's next fire time after `after` (default now)."""
        return self.triggers[name].next_after(after or self.clock())

    def fire(self, name: str, attempt: int = 1, fire_time: datetime | None = None) -> FireResult:
        """One try of a schedule's run: never raises; schedules a retry when one is due.

        Args:
            name: Schedule name.
            attempt: 1 for a fire of the cron trigger (or a catch-up), more for a retry.
            fire_time: The fire time this try belongs to; default the newest one not after now.
        """
        now = self.clock()
        fire_time = fire_time or self.triggers[name].last_at_or_before(now) or now
        if attempt == 1:
            self._cancel_retry(name)
        with self.run_lock:
            result = self._try(name, attempt, fire_time)
        self.results.append(result)
        log.info("schedule %r try %d: %s%s%s", name, attempt, result.status,
                 f" (run {result.run_id})" if result.run_id else "", f": {result.error}" if result.error else "")
        if result.status == "completed" or (result.status == "failed" and result.retry_in is None):
            try:
                evaluate(self.cfg, self.store, kinds=("score_below", "score_drop", "failed_count_above",
                                                      "run_failed", "anomaly"), send=self.send)
            except Exception:  # alerts must never stop the scheduler
                log.exception("alert evaluation failed")
        return result

    def _try(self, name: str, attempt: int, fire_time: datetime) -> FireResult:
        label, entry = trigger_label(name), self.entries[name]
        try:
            done = self.store.runs.runs_since(self.cfg.name, label, started_from=_naive_utc(fire_time),
                                              statuses=("completed", "running"))
            if done and all(r.status == "running" for r in done) and self.store.locks.info(self.cfg.name) is None:
                done = []  # left `running` by a dead process: run it again
            if done:
                return FireResult(name, attempt, "skipped", fire_time, int(done[-1].id),
                                  "a run of this schedule already started since its fire time")
            before, started = self.store.runs.max_id(), utcnow()
        except Exception as exc:  # history store unreachable: treat like any failed try
            return self._failed(name, attempt, fire_time, f"history: {exc}", transient=True)
        try:
            outcome = self.run_fn(self.cfg, only=",".join(entry.only) or None, trigger=label, history=self.store)
            return FireResult(name, attempt, "completed", fire_time, getattr(outcome, "run_id", None))
        except RunLockedError as exc:
            # Another run holds the source: poll with the backoff (not counted against `attempts`),
            # until the next fire; a dead holder's lock expires meanwhile.
            retry_in = self._schedule_retry(name, attempt + 1, fire_time, retry_delay(self.cfg.retry, attempt))
            return FireResult(name, attempt, "locked", fire_time, None, str(exc), retry_in)
        except Exception as exc:
            error = str(exc) if isinstance(exc, CleanCRMError) else f"{type(exc).__name__}: {exc}"
            run_id = None
            try:
                recorded = self.store.runs.runs_since(self.cfg.name, label, after_id=before)
                run_id = int(recorded[-1].id) if recorded else self._record_failure(name, error, started)
            except Exception:
                log.exception("schedule %r: could not record the failed run", name)
            result = self._failed(name, attempt, fire_time, error, transient=not isinstance(exc, ConfigError))
            result.run_id = run_id
            return result

    def _failed(self, name: str, attempt: int, fire_time: datetime, error: str, transient: bool) -> FireResult:
        retry_in = None
        if transient and attempt < self.cfg.retry.attempts:
            retry_in = self._schedule_retry(name, attempt + 1, fire_time, retry_delay(self.cfg.retry, attempt))
        return FireResult(name, attempt, "failed", fire_time, None, error, retry_in)

    def _schedule_retry(self, name: str, attempt: int, fire_time: datetime, delay: float) -> float | None:
        """Schedule try `attempt` in `delay` seconds unless the next fire comes first; the delay or None."""
        now = self.clock()
        at = now + timedelta(seconds=delay)
        nxt = self.next_fire(name, now)
        if nxt is not None and at >= nxt:
            log.info("schedule %r: no retry, the next fire (%s) comes first", name, nxt.isoformat())
            return None
        if self.scheduler is not None:
            self.scheduler.add_job(self.fire, DateTrigger(run_date=at), args=[name, attempt, fire_time],
                                   id=f"retry:{name}", name=f"retry {name} #{attempt}", replace_existing=True,
                                   misfire_grace_time=None)
        return delay

    def _cancel_retry(self, name: str) -> None:
        if self.scheduler is not None:
            try:
                self.scheduler.remove_job(f"retry:{name}")
            except JobLookupError:
                pass

    # -- restarts and heartbeat ------------------------------------------------------------------
    def missed(self, now: datetime | None = None) -> dict[str, datetime]:
        """Schedules whose previous fire time passed without a completed run since: {name: fire time}."""
        now = _aware(now or self.clock())
        out = {}
        for name, trigger in self.triggers.items():
            previous = trigger.last_at_or_before(now)
            last = self.last_completed(name)
            if previous is None or last is None or last >= previous:
                continue  # never run before (nothing was missed), or up to date
            if self.misfire_grace_s is not None and (now - previous).total_seconds() > self.misfire_grace_s:
                continue
            out[name] = previous
        return out

    def heartbeat(self, stopping: bool = False) -> dict[str, str]:
        """Write this scheduler's heartbeat row; evaluates `heartbeat_stale` rules. Returns next_runs."""
        now = self.clock()
        next_runs = {} if stopping else {
            name: nxt.astimezone(trigger.timezone).isoformat() for name, trigger in self.triggers.items()
            if (nxt := self.next_fire(name, now)) is not None}
        try:
            self.store.heartbeats.beat(self.scheduler_id, self.cfg.name, _naive_utc(now), next_runs)
            if not stopping:
                evaluate(self.cfg, self.store, now=_naive_utc(now), kinds=("heartbeat_stale",), send=self.send)
        except Exception as exc:  # the store being briefly unreachable must not stop the scheduler
            log.warning("heartbeat failed: %s", str(exc).splitlines()[0])
        return next_runs

    def start(self, scheduler: BaseScheduler, heartbeat_s: float = 30.0) -> None:
        """Add the cron, heartbeat and catch-up jobs to `scheduler` and start it."""
        self.scheduler = scheduler
        for name, trigger in self.triggers.items():
            scheduler.add_job(self.fire, trigger, args=[name], id=f"schedule:{name}", name=f"schedule {name}")
        now = self.clock()
        for name, fire_time in self.missed(now).items():
            log.info("schedule %r: the run due %s was missed while down; running it now", name, fire_time.isoformat())
            scheduler.add_job(self.fire, DateTrigger(run_date=now), args=[name, 1, fire_time],
                              id=f"catchup:{name}", name=f"catch-up {name}", misfire_grace_time=None)
        scheduler.add_job(self.heartbeat, IntervalTrigger(seconds=heartbeat_s), id="heartbeat",
                          name="heartbeat", executor="heartbeat", next_run_time=now, misfire_grace_time=None)
        scheduler.start()

    def shutdown(self, wait: bool = True) -> None:
        """Stop the scheduler and write a last heartbeat (with no next runs)."""
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
        self.heartbeat(stopping=True)


def make_scheduler(blocking: bool, misfire_grace_s: float | None = None) -> BaseScheduler:
    """An APScheduler scheduler: one worker for runs (one at a time), one for the heartbeat."""
    cls = BlockingScheduler if blocking else BackgroundScheduler
    return cls(executors={"default": ThreadPoolExecutor(1), "heartbeat": ThreadPoolExecutor(1)},
               job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": misfire_grace_s},
               timezone=UTC)


def serve(cfg: Config, *, run_fn: RunFn | None = None, history: HistoryStore | None = None,
          scheduler_id: str | None = None, heartbeat_s: float = 30.0, misfire_grace_s: float | None = None,
          block: bool = True, send=notify_send) -> Runner:
    """Run the config's schedules until stopped (SIGINT/SIGTERM), or in the background.

    Args:
        cfg: The loaded config; needs at least one `schedule` entry.
        run_fn: The run function; default `checks.engine.run_checks`.
        history: The history store; default the config's.
        scheduler_id: Key of the heartbeat row; default `host/source`.
        heartbeat_s: Seconds between heartbeats.
        misfire_grace_s: How late a missed run may still start; None = however late (one run).
        block: True: block until a signal stops the scheduler (the CLI). False: start a background
            scheduler and return at once; call `Runner.shutdown()` to stop it.
        send: Alert delivery function (tests).

    Returns:
        The runner (stopped when `block` is true).

    Raises:
        ConfigError: No schedule, a bad cron expression or timezone, or bad alert rules.
    """
    if not cfg.schedule:
        raise ConfigError("schedule: no entries; add one, e.g. `schedule: [{name: nightly, cron: '0 6 * * *'}]`")
    runner = Runner(cfg, run_fn=run_fn, history=history, scheduler_id=scheduler_id, send=send,
                    misfire_grace_s=misfire_grace_s)
    scheduler = make_scheduler(block, misfire_grace_s)
    if not block:
        runner.start(scheduler, heartbeat_s)
        return runner
    if threading.current_thread() is threading.main_thread():
        def stop(signum, _frame):
            log.info("signal %s: stopping after the current run", signal.Signals(signum).name)
            scheduler.shutdown(wait=False)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
    try:
        runner.start(scheduler, heartbeat_s)  # blocks until shutdown
    finally:
        runner.heartbeat(stopping=True)
    return runner
