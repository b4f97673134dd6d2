import json
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from connectors.errors import RunLockedError
from connectors.history import HistoryStore
from tests.support.schedule_standin import set_knobs, standin_run

ROOT = Path(__file__).resolve().parents[4]  # the checkout, where `python -m tests.support…` finds the tests package


def spawn(*args):
    return subprocess.Popen([sys.executable, "-m", "tests.support.schedule_proc", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


@pytest.fixture
def cfg_path(make_cfg, demo_dir):
    make_cfg(history={"url": f"sqlite:///{demo_dir / 'history.db'}"})
    return demo_dir / "cleancrm.yml"


@pytest.fixture
def store(cfg_path, demo_dir):
    s = HistoryStore(f"sqlite:///{demo_dir / 'history.db'}")
    yield s
    s.close()


def no_overlap(frame):
    frame = frame.sort_values("started_at")
    return bool((frame.started_at.iloc[1:].to_numpy() >= frame.finished_at.iloc[:-1].to_numpy()).all())


def test_two_processes_racing_for_one_source_run_once(cfg_path, store, demo_dir):
    set_knobs(demo_dir, delay=1.0)
    go = demo_dir / "go"
    procs = [spawn("race", cfg_path, go) for _ in range(2)]
    assert [p.stdout.readline().strip() for p in procs] == ["ready", "ready"]
    go.touch()  # both start together
    outs = [p.communicate(timeout=60) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 3], outs
    loser = next(out for p, out in zip(procs, outs, strict=True) if p.returncode == 3)[0]
    assert "a run is already in progress" in loser
    runs = store.runs.list("demo")
    assert list(runs.status) == ["completed"]


def test_lock_of_a_killed_process_expires_and_its_run_becomes_failed(cfg_path, store, demo_dir):
    holder = spawn("hold", cfg_path, 1.0)
    assert holder.stdout.readline().strip() == "ready"
    time.sleep(1.5)  # longer than the TTL: a live holder renews its lock
    with pytest.raises(RunLockedError, match=rf"a run is already in progress \(.*:{holder.pid} since"):
        store.locks.acquire("demo", holder="probe")
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    killed_at = time.monotonic()
    while True:
        try:
            store.locks.acquire("demo", holder="probe")
            break
        except RunLockedError:
            assert time.monotonic() - killed_at < 5, "the dead holder's lock never expired"
            time.sleep(0.1)
    store.locks.release("demo", "probe")
    assert list(store.runs.list("demo").status) == ["running"]
    standin_run(__import__("checks.config").config.load_config(cfg_path), history=store)
    runs = store.runs.list("demo").sort_values("id")
    assert list(runs.status) == ["failed", "completed"]
    assert runs.error.iloc[0].startswith("interrupted")


def test_renewal_keeps_a_long_run_locked(store):
    with store.locks.run_lock("demo", ttl=timedelta(seconds=0.3)) as holder:
        for _ in range(5):
            time.sleep(0.2)
            with pytest.raises(RunLockedError):
                store.locks.acquire("demo", holder="other")
        assert store.locks.info("demo").holder == holder
    assert store.locks.info("demo") is None


def test_two_scheduler_processes_never_double_run_and_stop_cleanly(make_cfg, cfg_path, store, demo_dir):
    make_cfg(schedule=[{"name": "tick", "cron": "*/2 * * * * *"}],
             retry={"attempts": 3, "backoff_s": 0.2, "backoff_factor": 2, "max_backoff_s": 1})
    set_knobs(demo_dir, delay=0.5)
    procs = [spawn("serve", cfg_path, name) for name in ("host-a/demo", "host-b/demo")]
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            runs = store.runs.list("demo")
            if (runs.status == "completed").sum() >= 3:
                break
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.2)
        else:
            pytest.fail("no runs")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        outs = [p.communicate(timeout=30) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert all(out[0].strip() == "stopped" for out in outs)
    runs = store.runs.list("demo")
    done = runs[runs.status == "completed"]
    assert set(runs.status) == {"completed"} and no_overlap(done)
    # one run per fire time (every 2 s): never two runs of the same fire
    slots = done.started_at.map(lambda t: (t.minute * 60 + t.second) // 2)
    assert not slots.duplicated().any(), done[["started_at", "finished_at"]]
    beats = store.heartbeats.list()
    assert sorted(beats.scheduler_id) == ["host-a/demo", "host-b/demo"]
    assert all(json.loads(text) == {} for text in beats.next_runs)  # clean stop
