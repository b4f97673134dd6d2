"""The issue's "done when": a scheduler runs on time, survives a killed source and a restart, alerts once and recovers."""

import json
import time

from checks.app.schedule import serve
from connectors.history import HistoryStore
from tests.support.schedule_standin import standin_run, wait_for


def test_scheduler_survives_a_killed_source_and_a_restart_alerting_once(make_cfg, demo_dir, webhook, smtp):
    cfg = make_cfg(
        schedule=[{"name": "every-second", "cron": "* * * * * *"}],
        retry={"attempts": 2, "backoff_s": 0.2, "backoff_factor": 1, "max_backoff_s": 1},
        alerts={"channels": {"hook": {"type": "webhook", "url": webhook.url},
                             "mail": {"type": "email", "smtp_host": "127.0.0.1", "smtp_port": smtp.port,
                                      "sender": "cleancrm@example.org", "recipients": ["ops@example.org"]}},
                "rules": [{"name": "run-failed", "kind": "run_failed", "channels": ["hook", "mail"]}]})
    store = HistoryStore(cfg.history_url())

    def runs():
        return store.runs.list("demo").sort_values("id")

    def count(status):
        return int((runs().status == status).sum())

    runner = serve(cfg, run_fn=standin_run, history=store, block=False, heartbeat_s=0.3, scheduler_id="test/demo")
    assert wait_for(lambda: count("completed") >= 2)
    done = runs()[runs().status == "completed"]
    # on time: every-second fires start within a fraction of their second
    assert done.started_at.map(lambda t: t.microsecond).median() < 500_000
    assert not done.started_at.map(lambda t: t.replace(microsecond=0)).duplicated().any()
    assert set(done.trigger) == {"schedule:every-second"}

    (demo_dir / "crm.db").rename(demo_dir / "crm.db.killed")  # the source dies
    assert wait_for(lambda: count("failed") >= 4)
    assert [b["text"] for b in webhook.bodies if "ALERT" in b["text"]] == webhook.texts()
    assert len(webhook.bodies) == 1 and len(smtp.messages) == 1  # one alert, no storm
    assert "crm.db not found" in webhook.texts()[0] and smtp.messages[0]["state"] == "firing"
    failed = runs()[runs().status == "failed"]
    assert failed.error.str.contains("SQLite file .* not found").all()
    for run_id in failed.id:  # no partial results
        assert store.results.check_results(int(run_id)).empty and store.results.scores(int(run_id)).empty

    runner.shutdown()  # the scheduler stops ...
    beats = store.heartbeats.list()
    assert len(beats) == 1 and json.loads(beats.next_runs[0]) == {}
    stopped_at = count("failed") + count("completed")
    time.sleep(1.2)
    assert count("failed") + count("completed") == stopped_at  # ... and does nothing while down

    (demo_dir / "crm.db.killed").rename(demo_dir / "crm.db")  # the source is back
    runner = serve(cfg, run_fn=standin_run, history=store, block=False, heartbeat_s=0.3, scheduler_id="test/demo")
    try:
        before = count("completed")
        assert wait_for(lambda: count("completed") >= before + 2)
        assert wait_for(lambda: len(webhook.bodies) == 2)
        beats = store.heartbeats.list()
        assert len(beats) == 1 and list(json.loads(beats.next_runs[0])) == ["every-second"]
    finally:
        runner.shutdown()
    assert "recovered" in webhook.texts()[1] and "completed" in webhook.texts()[1]
    assert len(smtp.messages) == 2 and smtp.messages[1]["state"] == "recovered"
    assert len(webhook.bodies) == 2  # still exactly one alert and one recovery
    assert set(runs().status) == {"completed", "failed"}  # nothing left running
