import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from checks.app.schedule import (
    Runner,
    WallClockCronTrigger,
    make_scheduler,
    next_run_times,
    retry_delay,
    serve,
    trigger_label,
)
from checks.config import RetryConfig
from connectors.errors import ConfigError
from connectors.history import HistoryStore, utcnow
from tests.support.schedule_standin import CALLS, set_knobs, standin_run, wait_for

FAST_RETRY = {"attempts": 3, "backoff_s": 0.2, "backoff_factor": 2, "max_backoff_s": 5}


@pytest.fixture
def store(demo_dir):
    s = HistoryStore(f"sqlite:///{demo_dir / 'history.db'}")
    yield s
    s.close()


def runs(store):
    return store.runs.list("demo").sort_values("id").reset_index(drop=True)


def test_fire_runs_the_checks_and_records_the_schedule(make_cfg, store):
    cfg = make_cfg(schedule=[{"name": "contacts", "cron": "0 3 * * *", "only": ["contact"]}])
    result = Runner(cfg, run_fn=standin_run, history=store).fire("contacts")
    assert result.status == "completed" and result.run_id
    r = runs(store)
    assert list(r.status) == ["completed"]
    assert r.trigger[0] == "schedule:contacts" and r.only[0] == "contact"
    assert len(store.results.check_results(result.run_id)) == 2


def test_unknown_only_is_a_config_error(make_cfg, store):
    cfg = make_cfg(schedule=[{"name": "x", "cron": "0 3 * * *", "only": ["nonsense"]}])
    with pytest.raises(ConfigError, match=r"schedule\[0\] \(x\)\.only"):
        Runner(cfg, run_fn=standin_run, history=store)


def test_source_down_is_recorded_failed_with_a_readable_error_and_retried(make_cfg, store, demo_dir):
    cfg = make_cfg(schedule=[{"name": "nightly", "cron": "0 3 * * *"}], retry=FAST_RETRY)
    (demo_dir / "crm.db").rename(demo_dir / "crm.db.away")
    runner = Runner(cfg, run_fn=standin_run, history=store)
    first = runner.fire("nightly")
    assert first.status == "failed" and first.retry_in == pytest.approx(0.2)
    assert "SQLite file" in first.error and "not found" in first.error
    r = runs(store)
    assert list(r.status) == ["failed"] and r.error[0] == first.error and r.trigger[0] == "schedule:nightly"
    assert store.results.check_results(int(r.id[0])).empty and store.results.scores(int(r.id[0])).empty
    second = runner.fire("nightly", attempt=2, fire_time=first.fire_time)
    assert second.retry_in == pytest.approx(0.4)
    third = runner.fire("nightly", attempt=3, fire_time=first.fire_time)
    assert third.status == "failed" and third.retry_in is None  # attempts used up
    assert list(runs(store).status) == ["failed"] * 3


def test_lost_connection_mid_run_is_recorded_once_and_keeps_no_partial_results(make_cfg, store, demo_dir):
    cfg = make_cfg(schedule=[{"name": "nightly", "cron": "0 3 * * *"}], retry=FAST_RETRY)
    set_knobs(demo_dir, fail_mid_run=True)
    result = Runner(cfg, run_fn=standin_run, history=store).fire("nightly")
    assert result.status == "failed" and "connection lost" in result.error
    r = runs(store)
    assert len(r) == 1 and r.status[0] == "failed" and int(r.id[0]) == result.run_id  # the engine's row, not a second one
    assert store.results.check_results(result.run_id).empty and store.results.scores(result.run_id).empty


def test_config_error_is_not_retried(make_cfg, store):
    cfg = make_cfg(schedule=[{"name": "nightly", "cron": "0 3 * * *"}], retry=FAST_RETRY)

    def broken(cfg, **kw):
        raise ConfigError("entities.contact.table: no table 'contacts'")

    result = Runner(cfg, run_fn=broken, history=store).fire("nightly")
    assert result.status == "failed" and result.retry_in is None
    assert runs(store).error[0] == "entities.contact.table: no table 'contacts'"


def test_retry_delay_grows_and_is_capped():
    retry = RetryConfig(attempts=6, backoff_s=10, backoff_factor=3, max_backoff_s=100)
    assert [retry_delay(retry, a) for a in range(1, 5)] == [10, 30, 90, 100]


def test_no_retry_past_the_next_fire(make_cfg, store, demo_dir):
    cfg = make_cfg(schedule=[{"name": "often", "cron": "*/2 * * * * *"}],
                   retry={"attempts": 5, "backoff_s": 3, "backoff_factor": 1, "max_backoff_s": 3})
    (demo_dir / "crm.db").unlink()
    result = Runner(cfg, run_fn=standin_run, history=store).fire("often")
    assert result.status == "failed" and result.retry_in is None


def test_retries_with_backoff_in_a_real_scheduler_until_the_source_is_back(make_cfg, store, demo_dir):
    cfg = make_cfg(schedule=[{"name": "nightly", "cron": "0 3 * * *"}], retry=FAST_RETRY)
    (demo_dir / "crm.db").rename(demo_dir / "crm.db.away")
    runner = Runner(cfg, run_fn=standin_run, history=store)
    scheduler = make_scheduler(blocking=False)
    runner.start(scheduler, heartbeat_s=60)
    try:
        del CALLS[:]
        scheduler.add_job(runner.fire, args=["nightly"], id="manual")  # fires now, like the cron would
        assert wait_for(lambda: len(CALLS) >= 2)
        (demo_dir / "crm.db.away").rename(demo_dir / "crm.db")  # the source comes back
        assert wait_for(lambda: any(r.status == "completed" for r in runner.results), timeout=10)
    finally:
        runner.shutdown()
    statuses = [(r.attempt, r.status) for r in runner.results]
    assert statuses[:2] == [(1, "failed"), (2, "failed")] and statuses[2] == (3, "completed")
    gaps = [b["at"] - a["at"] for a, b in zip(CALLS, CALLS[1:], strict=False)]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4  # backoff 0.2 s, then × 2
    assert list(runs(store).status) == ["failed", "failed", "completed"]


def test_a_locked_source_waits_for_the_lock_then_runs(make_cfg, store):
    cfg = make_cfg(schedule=[{"name": "nightly", "cron": "0 3 * * *"}],
                   retry={"attempts": 1, "backoff_s": 0.2, "backoff_factor": 1, "max_backoff_s": 1})
    store.locks.acquire("demo", ttl=timedelta(seconds=1), holder="cron-host:4242")  # a holder that died
    runner = Runner(cfg, run_fn=standin_run, history=store)
    result = runner.fire("nightly")
    assert result.status == "locked" and "cron-host:4242" in result.error
    assert result.retry_in == pytest.approx(0.2)  # polls even though `attempts` is 1
    assert runs(store).empty  # a blocked try records nothing
    tries = [result]
    while tries[-1].status == "locked":
        time.sleep(tries[-1].retry_in)
        tries.append(runner.fire("nightly", attempt=len(tries) + 1, fire_time=result.fire_time))
        assert len(tries) < 15
    assert tries[-1].status == "completed" and 4 <= len(tries) <= 8  # once the 1 s lock expired
    assert list(runs(store).status) == ["completed"]


def test_a_fire_already_run_by_another_scheduler_is_skipped(make_cfg, store):
    cfg = make_cfg(schedule=[{"name": "nightly", "cron": "0 3 * * *"}])
    fire_time = datetime.now(UTC) - timedelta(seconds=5)
    other = Runner(cfg, run_fn=standin_run, history=store, scheduler_id="other")
    assert other.fire("nightly", fire_time=fire_time).status == "completed"
    result = Runner(cfg, run_fn=standin_run, history=store).fire("nightly", fire_time=fire_time)
    assert result.status == "skipped"
    assert len(runs(store)) == 1


def complete_scheduled_run(store, name, started_at):
    run_id = store.runs.start("demo", started_at, trigger_label(name), started_at=started_at)
    store.runs.complete(run_id, type("R", (), {"check_results": None, "scores": None, "findings": None,
                                               "record_scores": None, "overall": 90.0})(), finished_at=started_at)


def test_missed_run_after_downtime_is_detected_once(make_cfg, store):
    cfg = make_cfg(schedule=[{"name": "nightly", "cron": "30 2 * * *", "timezone": "Europe/Berlin"},
                             {"name": "new", "cron": "0 4 * * *"}])
    runner = Runner(cfg, run_fn=standin_run, history=store)
    # last nightly run on 2026-10-23 02:30 CEST; the scheduler was down until 2026-10-26 09:00 UTC
    complete_scheduled_run(store, "nightly", datetime(2026, 10, 23, 0, 30, 2))
    now = datetime(2026, 10, 26, 9, tzinfo=UTC)
    # three fire times were missed; one catch-up, for the newest; "new" never ran, so nothing was missed
    assert runner.missed(now) == {"nightly": datetime(2026, 10, 26, 1, 30, tzinfo=UTC)}
    complete_scheduled_run(store, "nightly", datetime(2026, 10, 26, 9, 0, 1))  # the catch-up ran
    assert runner.missed(now + timedelta(minutes=1)) == {}
    assert runner.missed(datetime(2026, 10, 27, 1, 31, tzinfo=UTC)) == {"nightly": datetime(2026, 10, 27, 1, 30, tzinfo=UTC)}
    late = Runner(cfg, run_fn=standin_run, history=store, misfire_grace_s=3600)
    assert late.missed(datetime(2026, 10, 27, 3, tzinfo=UTC)) == {}  # 90 min late > grace


def test_restart_runs_the_missed_run_once(make_cfg, store):
    cfg = make_cfg(schedule=[{"name": "nightly", "cron": "0 3 * * *"}])
    complete_scheduled_run(store, "nightly", utcnow() - timedelta(days=3))
    for _restart in range(2):
        runner = serve(cfg, run_fn=standin_run, history=store, block=False, heartbeat_s=60)
        time.sleep(1.0)
        runner.shutdown()
    r = runs(store)
    assert list(r.status) == ["completed", "completed"]  # the old run and exactly one catch-up
    assert r.trigger.tolist() == ["schedule:nightly"] * 2


def test_misfires_within_a_running_scheduler_are_coalesced():
    now = datetime.now(UTC)
    if now.second >= 58:  # keep clear of the next regular (minute) fire
        time.sleep(61 - now.second)
    calls = []
    scheduler = make_scheduler(blocking=False)
    scheduler.start(paused=True)
    try:
        job = scheduler.add_job(lambda: calls.append(time.monotonic()), WallClockCronTrigger("* * * * *", "UTC"),
                                next_run_time=datetime.now(UTC) - timedelta(minutes=5))  # 5 fire times missed
        scheduler.resume()
        time.sleep(1.0)
        assert len(calls) == 1  # one run for all of them
        job = scheduler.get_job(job.id)
        assert job.next_run_time > datetime.now(UTC)  # the rest were dropped, not queued
        assert job.next_run_time.second == 0
    finally:
        scheduler.shutdown()


def test_heartbeat_publishes_next_runs(make_cfg, store):
    cfg = make_cfg(schedule=[{"name": "nightly", "cron": "30 2 * * *", "timezone": "Europe/Berlin"},
                             {"name": "hourly", "cron": "0 * * * *"}])
    now = datetime(2026, 10, 24, 12, tzinfo=UTC)
    runner = Runner(cfg, run_fn=standin_run, history=store, scheduler_id="host-a/demo", clock=lambda: now)
    next_runs = runner.heartbeat()
    assert next_runs == {"nightly": "2026-10-25T02:30:00+02:00", "hourly": "2026-10-24T13:00:00+00:00"}
    assert next_runs == {k: v.isoformat() for k, v in next_run_times(cfg, now).items()}
    runner.heartbeat()  # an update, not a second row
    runner.clock = lambda: now + timedelta(hours=1)
    runner.shutdown()
    rows = store.heartbeats.list()
    assert len(rows) == 1 and rows.scheduler_id[0] == "host-a/demo" and rows.source_name[0] == "demo"
    assert rows.beat_at[0] == datetime(2026, 10, 24, 13) and json.loads(rows.next_runs[0]) == {}


def test_heartbeat_keeps_beating_during_a_long_run(make_cfg, store, demo_dir):
    cfg = make_cfg(schedule=[{"name": "nightly", "cron": "0 3 * * *"}])
    set_knobs(demo_dir, delay=1.5)
    runner = Runner(cfg, run_fn=standin_run, history=store)
    scheduler = make_scheduler(blocking=False)
    runner.start(scheduler, heartbeat_s=0.2)
    beats = []
    try:
        scheduler.add_job(runner.fire, args=["nightly"], id="manual")
        assert wait_for(lambda: not runs(store).empty)
        for _ in range(4):
            beats.append(store.heartbeats.newest("demo").beat_at)
            time.sleep(0.25)
        assert runs(store).status.iloc[-1] == "running"
    finally:
        runner.shutdown()
    assert len(set(beats)) >= 3


def test_serve_needs_a_schedule(make_cfg, store):
    cfg = make_cfg(schedule=[])
    with pytest.raises(ConfigError, match="schedule: no entries"):
        serve(cfg, run_fn=standin_run, history=store, block=False)


def test_one_run_at_a_time_inside_one_scheduler(make_cfg, store, demo_dir):
    cfg = make_cfg(schedule=[{"name": "a", "cron": "* * * * * *"}, {"name": "b", "cron": "* * * * * *"}])
    set_knobs(demo_dir, delay=0.3)
    runner = serve(cfg, run_fn=standin_run, history=store, block=False, heartbeat_s=60)
    try:
        assert wait_for(lambda: (runs(store).status == "completed").sum() >= 4, timeout=20)
    finally:
        runner.shutdown()
    assert not any(r.status == "locked" for r in runner.results)
    done = runs(store)
    done = done[done.status == "completed"].sort_values("started_at")
    assert (done.started_at.iloc[1:].to_numpy() >= done.finished_at.iloc[:-1].to_numpy()).all()
    assert threading.active_count() < 20
