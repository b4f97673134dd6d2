"""The lock, the alert state and a dying source with PostgreSQL for the history store and the CRM."""

import sqlite3
import threading

import pandas as pd
import pytest
import sqlalchemy as sa

from checks.app import alerts
from checks.app.schedule import serve
from connectors.errors import RunLockedError
from connectors.history import HistoryStore
from tests.support.schedule_standin import standin_run, wait_for

pytestmark = pytest.mark.postgres


def load_contacts(admin_url, demo_dir):
    with sqlite3.connect(demo_dir / "crm.db") as conn:
        contacts = pd.read_sql("SELECT * FROM contacts", conn)
    engine = sa.create_engine(admin_url, poolclass=sa.pool.NullPool)
    contacts.to_sql("contacts", engine, index=False, if_exists="replace")
    engine.dispose()


def test_lock_contention_and_alert_claims_on_postgres(pg_server, make_cfg, webhook):
    store = HistoryStore(pg_server.new_database("sched_hist1"))
    holder = store.locks.acquire("demo", holder="host-a:1")
    with pytest.raises(RunLockedError, match=r"host-a:1 since"):  # the holder is read after the failed INSERT
        store.locks.acquire("demo", holder="host-b:2")
    store.locks.release("demo", holder)
    assert store.locks.acquire("demo", holder="host-b:2") == "host-b:2"
    store.locks.release("demo", "host-b:2")

    cfg = make_cfg(history={"url": store.url}, alerts={
        "channels": {"hook": {"type": "webhook", "url": webhook.url}},
        "rules": [{"name": "low", "kind": "score_below", "threshold": 99.9, "channels": ["hook"]}]})
    standin_run(cfg, history=store)
    barrier = threading.Barrier(6)

    def go():
        s = HistoryStore(store.url, upgrade=False)
        barrier.wait()
        alerts.evaluate(cfg, s)
        s.close()

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(webhook.bodies) == 1
    store.close()


def test_postgres_source_dropped_while_scheduled(pg_server, make_cfg, demo_dir, webhook):
    source_url = pg_server.new_database("sched_src")
    load_contacts(source_url, demo_dir)
    store = HistoryStore(pg_server.new_database("sched_hist2"))
    cfg = make_cfg(source={"url": source_url}, history={"url": store.url},
                   schedule=[{"name": "tick", "cron": "* * * * * *"}],
                   retry={"attempts": 2, "backoff_s": 0.2, "backoff_factor": 1, "max_backoff_s": 1},
                   alerts={"channels": {"hook": {"type": "webhook", "url": webhook.url}},
                           "rules": [{"name": "failed", "kind": "run_failed", "channels": ["hook"]}]})

    def count(status):
        return int((store.runs.list("demo").status == status).sum())

    runner = serve(cfg, run_fn=standin_run, history=store, block=False, heartbeat_s=0.5)
    try:
        assert wait_for(lambda: count("completed") >= 1)
        name = sa.engine.make_url(source_url).database
        with pg_server.engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        assert wait_for(lambda: count("failed") >= 3)
        errors = store.runs.list("demo").query("status == 'failed'").error
        assert errors.str.contains(f'database "{name}" does not exist').all(), errors.tolist()
        assert len(webhook.bodies) == 1 and "ALERT" in webhook.texts()[0]
        with pg_server.engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        load_contacts(source_url, demo_dir)
        before = count("completed")
        assert wait_for(lambda: count("completed") > before)
        assert wait_for(lambda: len(webhook.bodies) == 2)
    finally:
        runner.shutdown()
    assert "recovered" in webhook.texts()[1]
    store.close()
