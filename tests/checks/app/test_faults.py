"""Faults while a run is in progress: it ends as one error line and a failed run, never as half a run.

Each fault is injected into a real `cleancrm run` (or `cleancrm schedule`) process:

- the run is stopped (SIGTERM) or killed (SIGKILL) while its forked workers read the CRM;
- a lock holder on this host whose process is gone, or one that still runs;
- the history store read-only, locked by another connection, full, or its PostgreSQL server stopped
  while the run writes its results;
- the source connection killed mid-run (PostgreSQL `pg_terminate_backend`, MariaDB `KILL`);
- two first runs at once on a fresh history (both migrate it);
- the scheduler killed during a run, then started again.

Every time: exit 2 with one `error:` line naming the cause and no traceback (a SIGKILL has no
last word), no worker outlives the run, the run is stored as failed with its cause wherever the
store still answers (never as completed, never with part of its results), and the next run
completes. The CRM is a 3,000-contact demo read in chunks of 1,000, so that runs fork workers.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa
import yaml

from checks.config import load_config
from checks.demo import generate_demo
from checks.demo.export import shape_tables, write_shape
from checks.engine import run_checks
from connectors.errors import RunLockedError
from connectors.history import HistoryStore
from connectors.presets import build_config
from connectors.source import open_source
from tests.support.schedule_standin import free_port
from tests.support.stored import stored_rows

CLEANCRM = Path(sys.executable).with_name("cleancrm")
ROOT = Path(__file__).resolve().parents[3]  # the checkout: wrappers run with it as their folder
AS_OF = datetime(2026, 11, 23)
RESULT_TABLES = ("check_results", "scores", "findings", "record_scores", "duplicate_clusters")
CHUNK = 1000


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo CRM (SQLite, no history): 3,000 contacts, so contacts are measured by forked workers."""
    return generate_demo(tmp_path_factory.mktemp("faults-demo"), 3000, 3, AS_OF)


def write_config(folder: Path, demo, history_url: str | None = None, source_url: str | None = None,
                 **overrides) -> Path:
    """The demo config in `folder`, reading the demo CRM (or `source_url`) in chunks of 1,000."""
    if source_url is None:
        data = yaml.safe_load(demo.config_path.read_text())
        data["source"]["url"] = f"sqlite:///{demo.db_path}"
    else:
        source = open_source(source_url)
        try:
            data = build_config(source, source_url)
        finally:
            source.close()
    data["source"]["chunk_size"] = CHUNK
    data["history"] = {"url": history_url or f"sqlite:///{folder / 'history.db'}"}
    data.update(overrides)
    path = folder / "cleancrm.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def start_run(config: Path, *, command: list[str] | None = None) -> subprocess.Popen:
    args = command or [str(CLEANCRM)]
    return subprocess.Popen([*args, "run", "--config", str(config), "--now", AS_OF.date().isoformat(), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def finish(proc: subprocess.Popen, timeout: float = 60) -> tuple[int, str, list[str]]:
    """Exit code, stdout and the non-empty stderr lines; fails (and kills it) when the process hangs."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the process (or a worker holding its pipes) did not end within {timeout} s: {err[-2000:]}")
    return proc.returncode, out, [line for line in err.splitlines() if line.strip()]


def one_error_line(lines: list[str], *causes: str) -> str:
    """The single `error:` line, checked to name every cause; returns it without the prefix."""
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and "Traceback" not in lines[0], lines
    for cause in causes:
        assert cause in lines[0], (cause, lines[0])
    return lines[0].removeprefix("error: ")


def wait_for(predicate, timeout: float, what: str, step: float = 0.01):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    pytest.fail(f"waited {timeout} s for {what}")


def running_run(store: HistoryStore, proc: subprocess.Popen | None = None) -> int | None:
    """The id of the run in progress, once its `running` row is stored."""
    if proc is not None and proc.poll() is not None:
        pytest.fail(f"the run ended (exit {proc.returncode}) before the fault: {proc.stderr.read()[-2000:]}")
    runs = store.runs.list()
    running = runs[runs.status == "running"] if len(runs) else runs
    return int(running.id.iat[0]) if len(running) else None


def workers_of(proc: subprocess.Popen) -> list[int]:
    try:
        return [child.pid for child in psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def gone(pids: list[int]) -> bool:
    """True when none of `pids` runs any more (a zombie waiting for its reaper counts as gone)."""
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            continue
    return True


def run_row(store: HistoryStore, run_id: int):
    runs = store.runs.list()
    return runs[runs.id == run_id].iloc[0]


def results_of(store: HistoryStore, run_id: int) -> dict[str, int]:
    return {t: stored_rows(store, t, run_id) for t in RESULT_TABLES}


def assert_failed_and_empty(store: HistoryStore, run_id: int, cause: str) -> None:
    row = run_row(store, run_id)
    assert row.status == "failed", (row.status, row.error)
    assert cause in row.error, row.error
    assert row.finished_at is not None
    assert results_of(store, run_id) == dict.fromkeys(RESULT_TABLES, 0)


def next_run_completes(config: Path, store: HistoryStore) -> int:
    """Run once more (in this process) and check it completed with its results; its id."""
    cfg = load_config(config)
    outcome = run_checks(cfg, now=AS_OF, history=store)
    row = run_row(store, outcome.run_id)
    assert row.status == "completed"
    assert results_of(store, outcome.run_id)["check_results"] == len(outcome.result.check_results) > 0
    assert store.locks.info(cfg.name) is None  # and it gave the lock back
    return outcome.run_id


def run_with_workers(config: Path, store: HistoryStore) -> tuple[subprocess.Popen, int, list[int]]:
    """Start a run and wait until it is stored as running and has forked its workers."""
    proc = start_run(config)
    run_id = wait_for(lambda: running_run(store, proc), 60, "the running row")

    def forked() -> list[int]:
        if proc.poll() is not None:
            pytest.fail(f"the run ended before forking workers: {proc.stderr.read()[-2000:]}")
        return workers_of(proc)

    return proc, run_id, wait_for(forked, 60, "the workers")


# -- stopped or killed while its workers read --------------------------------------------------------------
@pytest.mark.slow
def test_sigterm_mid_run_stores_it_failed_reaps_the_workers_and_exits_2(demo, tmp_path):
    config = write_config(tmp_path, demo)
    store = HistoryStore(f"sqlite:///{tmp_path / 'history.db'}")
    proc, run_id, workers = run_with_workers(config, store)
    proc.send_signal(signal.SIGTERM)
    code, out, err = finish(proc, timeout=30)
    assert code == 2
    error = one_error_line(err, "stopped by SIGTERM")
    assert out == ""
    assert gone(workers), "a worker outlived the stopped run"
    assert_failed_and_empty(store, run_id, error)
    assert store.locks.info("demo") is None
    next_run_completes(config, store)
    store.close()


@pytest.mark.slow
def test_sigkill_mid_run_leaves_no_worker_and_the_next_run_marks_it_interrupted(demo, tmp_path):
    config = write_config(tmp_path, demo)
    store = HistoryStore(f"sqlite:///{tmp_path / 'history.db'}")
    proc, run_id, workers = run_with_workers(config, store)
    proc.send_signal(signal.SIGKILL)
    code, _, _ = finish(proc, timeout=30)  # returns only when no worker holds its pipes any more
    assert code == -signal.SIGKILL
    wait_for(lambda: gone(workers), 10, "the workers to die with their parent")
    assert run_row(store, run_id).status == "running"
    assert results_of(store, run_id) == dict.fromkeys(RESULT_TABLES, 0)
    assert store.locks.info("demo") is None  # its lock is still there, unexpired, but its holder is gone
    next_run_completes(config, store)  # so it is taken over at once (a live holder raises RunLockedError)
    assert_failed_and_empty(store, run_id, "interrupted")
    store.close()


# -- the lock of a dead holder ----------------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'history.db'}"
    else:
        url = request.getfixturevalue("pg_server").new_database(f"locks_{os.getpid()}_{time.monotonic_ns() % 10**9}")
    store = HistoryStore(url)
    yield store
    store.close()


def test_a_dead_holder_on_this_host_is_taken_over_at_once_and_a_live_one_refused(empty_store):
    store, host = empty_store, socket.gethostname()
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    store.locks.acquire("demo", holder=f"{host}:{ended.pid}")
    assert store.locks.info("demo") is None  # its process is gone: the lock holds nothing
    assert store.locks.acquire("demo") != f"{host}:{ended.pid}"  # taken over, not waited for
    store.locks.release("demo", store.locks.info("demo").holder)

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        store.locks.acquire("demo", holder=f"{host}:{sleeper.pid}")
        with pytest.raises(RunLockedError, match=rf"a run is already in progress \({host}:{sleeper.pid} since"):
            store.locks.acquire("demo")
        assert store.locks.info("demo").holder == f"{host}:{sleeper.pid}"
    finally:
        sleeper.kill()
        sleeper.wait()
    store.locks.release("demo", f"{host}:{sleeper.pid}")
    store.locks.acquire("demo", holder="elsewhere.example:1")  # another host: its pid is not ours to judge
    with pytest.raises(RunLockedError, match="elsewhere.example:1"):
        store.locks.acquire("demo")


# -- the history store failing ----------------------------------------------------------------------------------
@pytest.mark.slow
def test_read_only_history_is_one_line_and_writes_nothing(demo, tmp_path):
    config = write_config(tmp_path, demo)
    history = tmp_path / "history.db"
    store = HistoryStore(f"sqlite:///{history}")
    first = next_run_completes(config, store)
    store.close()
    before = history.read_bytes()
    history.chmod(0o444)
    immutable = os.geteuid() == 0  # root writes through file modes: make the file immutable instead
    if immutable:
        subprocess.run(["chattr", "+i", str(history)], check=True)
    try:
        code, out, err = finish(start_run(config))
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(history)], check=True)
        history.chmod(0o644)
    assert code == 2 and out == ""
    one_error_line(err, "history:", "readonly database")
    store = HistoryStore(f"sqlite:///{history}")
    assert list(store.runs.list().id) == [first]  # nothing was stored, not even a failed run
    assert history.read_bytes() == before
    next_run_completes(config, store)
    store.close()


@pytest.mark.slow
def test_history_locked_by_another_connection_mid_run(demo, tmp_path):
    history = tmp_path / "history.db"
    config = write_config(tmp_path, demo, history_url=f"sqlite:///{history}?timeout=2")  # wait 2 s, not 30
    store = HistoryStore(f"sqlite:///{history}")
    proc = start_run(config)
    run_id = wait_for(lambda: running_run(store, proc), 60, "the running row")
    holder = sqlite3.connect(history, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # readers and writers wait for it: the run cannot store anything
    try:
        code, out, err = finish(proc)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code == 2 and out == ""
    one_error_line(err, "history:", "database is locked")
    # The store did not answer, so the run could not be marked: it stays `running`, with nothing of it kept.
    assert run_row(store, run_id).status == "running"
    assert results_of(store, run_id) == dict.fromkeys(RESULT_TABLES, 0)
    next_run_completes(config, store)  # takes the dead process's lock over and marks its run failed
    assert_failed_and_empty(store, run_id, "interrupted")
    store.close()


FULL = """\
import sys

import sqlalchemy as sa

pages = int(sys.argv[1])


@sa.event.listens_for(sa.Engine, "connect")
def cap(dbapi_connection, _record):
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full past this


from checks.app.cli import main

sys.argv = ["cleancrm", *sys.argv[2:]]
main()
"""


@pytest.mark.slow
def test_history_full_stores_the_run_failed_with_the_cause(demo, tmp_path):
    config = write_config(tmp_path, demo)
    history = tmp_path / "history.db"
    store = HistoryStore(f"sqlite:///{history}")
    with sqlite3.connect(history) as con:
        pages = con.execute("PRAGMA page_count").fetchone()[0]
    wrapper = tmp_path / "full_disk.py"
    wrapper.write_text(FULL)
    code, out, err = finish(start_run(config, command=[sys.executable, str(wrapper), str(pages + 2)]))
    assert code == 2 and out == ""
    error = one_error_line(err, "history:", "database or disk is full")
    runs = store.runs.list()
    assert len(runs) == 1
    assert_failed_and_empty(store, int(runs.id.iat[0]), error)
    next_run_completes(config, store)
    store.close()


@pytest.fixture(scope="module")
def scratch_pg():
    """A throw-away PostgreSQL cluster on its own port, run by the `postgres` user; its admin URL and pg_ctl."""
    initdb = next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or [shutil.which("initdb")]), None)
    if not initdb:
        pytest.fail("initdb not found: install the PostgreSQL server binaries")
    pg_ctl = str(Path(initdb).with_name("pg_ctl"))
    folder = Path(tempfile.mkdtemp(prefix="cleancrm-pg-"))
    demote = None
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)

        def demote():
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)

    port = free_port()
    data = folder / "data"

    def ctl(*args: str, check: bool = True):
        return subprocess.run([pg_ctl, "-D", str(data), "-w", *args], preexec_fn=demote, capture_output=True,
                              text=True, timeout=120, check=check)

    subprocess.run([initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"], preexec_fn=demote,
                   capture_output=True, text=True, timeout=180, check=True)
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    cluster = {"url": f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres",
               "start": lambda: ctl("-o", options, "-l", str(folder / "log"), "start"),
               "stop": lambda: ctl("-m", "immediate", "stop")}
    cluster["start"]()
    yield cluster
    ctl("-m", "immediate", "stop", check=False)
    shutil.rmtree(folder, ignore_errors=True)


# The first INSERT of findings segments in a transaction sleeps 3 s: the run is caught while it writes.
SLOW_FINDINGS = """
CREATE FUNCTION slow_first_findings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('cleancrm_test.slept', true), '') = '' THEN
        PERFORM set_config('cleancrm_test.slept', 'yes', true);
        PERFORM pg_sleep(3);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER slow_findings AFTER INSERT ON result_segments FOR EACH STATEMENT EXECUTE FUNCTION slow_first_findings();
"""


@pytest.mark.slow
@pytest.mark.postgres
def test_history_server_stopped_while_the_run_writes(demo, tmp_path, scratch_pg):
    url = scratch_pg["url"]
    config = write_config(tmp_path, demo, history_url=url)
    store = HistoryStore(url)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(SLOW_FINDINGS)
    proc = start_run(config)
    run_id = wait_for(lambda: running_run(store, proc), 60, "the running row")

    def writing():
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it wrote: {proc.stderr.read()[-2000:]}")
        with admin.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'")).scalar()

    wait_for(writing, 120, "the run to write its findings", step=0.05)
    scratch_pg["stop"]()  # mid-transaction: the results written so far are lost with it
    code, out, err = finish(proc)
    assert code == 2 and out == ""
    one_error_line(err, "history:")
    scratch_pg["start"]()
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP TRIGGER slow_findings ON result_segments")
    store.engine.dispose()  # the pool's connections died with the server
    assert run_row(store, run_id).status == "running"  # the server was gone: nobody could mark it
    assert results_of(store, run_id) == dict.fromkeys(RESULT_TABLES, 0)
    next_run_completes(config, store)
    assert_failed_and_empty(store, run_id, "interrupted")
    store.close()
    admin.dispose()


# -- the source connection killed ------------------------------------------------------------------------------
def _kill_source_connections(kind: str, admin: sa.Engine, database: str) -> None:
    with admin.connect() as conn:
        if kind == "postgresql":
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": database})
            return
        ids = conn.execute(sa.text("SELECT id FROM information_schema.processlist "
                                   "WHERE db = :db AND id <> CONNECTION_ID()"), {"db": database}).scalars().all()
        for thread_id in ids:
            try:
                conn.exec_driver_sql(f"KILL {int(thread_id)}")
            except sa.exc.DBAPIError:
                pass  # it ended on its own meanwhile


@pytest.mark.slow
@pytest.mark.parametrize("kind", [pytest.param("postgresql", marks=pytest.mark.postgres),
                                  pytest.param("mysql", marks=pytest.mark.mysql, id="mariadb")])
def test_source_connection_killed_mid_run(demo, tmp_path, request, kind):
    server = request.getfixturevalue("pg_server" if kind == "postgresql" else "mysql_server")
    source_url = server.new_database(f"faults_{os.getpid()}")
    write_shape(source_url, shape_tables(demo.injector.tables, "demo"))
    config = write_config(tmp_path, demo, source_url=source_url)
    store = HistoryStore(f"sqlite:///{tmp_path / 'history.db'}")
    database = sa.engine.make_url(source_url).database
    proc = start_run(config)
    run_id = wait_for(lambda: running_run(store, proc), 120, "the running row")
    stop = threading.Event()

    def killer():  # every backend of the source, again and again, until the run gives up
        while not stop.is_set() and proc.poll() is None:
            _kill_source_connections(kind, server.engine, database)
            time.sleep(0.05)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        code, out, err = finish(proc, timeout=120)
    finally:
        stop.set()
        thread.join()
    assert code == 2 and out == ""
    error = one_error_line(err, "source:")
    assert_failed_and_empty(store, run_id, error)
    next_run_completes(config, store)
    store.close()


# -- two first runs on a fresh history --------------------------------------------------------------------------
TOGETHER = """\
import sys
import time
from pathlib import Path

import checks.app.progress
import checks.app.report
import checks.engine
import connectors.history
from checks.app.cli import main

go = Path(sys.argv[1])
print("ready", flush=True)
while not go.exists():
    time.sleep(0.001)
sys.argv = ["cleancrm", *sys.argv[2:]]
main()
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_two_first_runs_at_once_both_migrate_without_a_race(demo, tmp_path, request, backend):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'history.db'}"
    else:
        url = request.getfixturevalue("pg_server").new_database(f"first_{os.getpid()}_{time.monotonic_ns() % 10**9}")
    config = write_config(tmp_path, demo, history_url=url)
    wrapper, go = tmp_path / "together.py", tmp_path / "go"
    wrapper.write_text(TOGETHER)
    procs = [subprocess.Popen([sys.executable, str(wrapper), str(go), "run", "--config", str(config), "--now",
                               AS_OF.date().isoformat(), "--json", "--only", "completeness"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT) for _ in range(2)]
    assert [p.stdout.readline().strip() for p in procs] == ["ready", "ready"]
    go.touch()  # both open the fresh store at the same moment
    ends = [finish(p, timeout=300) for p in procs]
    codes = sorted(code for code, _, _ in ends)
    assert codes in ([0, 0], [0, 2]), ends
    for code, _, err in ends:
        assert "Traceback" not in "\n".join(err)
        if code == 2:
            one_error_line(err, "a run is already in progress")
    store = HistoryStore(url)
    runs = store.runs.list("demo")
    assert set(runs.status) == {"completed"} and len(runs) == codes.count(0)
    store.close()


# -- the scheduler killed during a run, then started again -----------------------------------------------------
@pytest.mark.slow
def test_scheduler_killed_mid_run_and_restarted(demo, tmp_path):
    config = write_config(tmp_path, demo, schedule=[{"name": "often", "cron": "*/5 * * * * *"}],
                          retry={"attempts": 1})
    store = HistoryStore(f"sqlite:///{tmp_path / 'history.db'}")

    def scheduler(name: str) -> subprocess.Popen:  # logs to a file: a full pipe would stall it
        log = (tmp_path / f"{name}.log").open("w")
        return subprocess.Popen([str(CLEANCRM), "schedule", "--config", str(config), "--heartbeat-s", "1"],
                                stdout=log, stderr=subprocess.STDOUT, text=True, cwd=ROOT)

    first = scheduler("first")
    try:
        run_id = wait_for(lambda: running_run(store, first), 60, "a scheduled run")
        workers = wait_for(lambda: workers_of(first), 60, "its workers")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    wait_for(lambda: gone(workers), 10, "the workers to die with the scheduler")
    assert run_row(store, run_id).status == "running"

    second = scheduler("second")
    try:
        def completed_after_restart():
            assert second.poll() is None, (tmp_path / "second.log").read_text()[-2000:]
            runs = store.runs.list()
            return len(runs[(runs.id > run_id) & (runs.status == "completed")])

        wait_for(completed_after_restart, 90, "a completed run after the restart", step=0.2)
    finally:
        second.send_signal(signal.SIGTERM)
        code = second.wait(timeout=120)  # it finishes the run in progress, then stops
    assert code == 0, (tmp_path / "second.log").read_text()[-2000:]
    assert_failed_and_empty(store, run_id, "interrupted")
    runs = store.runs.list()
    assert "running" not in set(runs.status)
    assert set(runs[runs.id > run_id].status) <= {"completed"}
    store.close()
