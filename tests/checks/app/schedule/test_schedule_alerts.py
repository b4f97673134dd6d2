import sqlite3
import threading
from datetime import datetime, timedelta

import pytest

from checks.app import alerts
from checks.app.schedule import Runner
from checks.config import AlertChannel
from connectors import notify
from connectors.errors import ConfigError
from connectors.history import HistoryStore, utcnow
from tests.support.schedule_standin import free_port, standin_run


@pytest.fixture
def store(demo_dir):
    s = HistoryStore(f"sqlite:///{demo_dir / 'history.db'}")
    yield s
    s.close()


def channels(webhook, smtp):
    return {"hook": {"type": "webhook", "url": webhook.url},
            "mail": {"type": "email", "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "sender": "cleancrm@example.org",
                     "recipients": ["ops@example.org", "crm@example.org"]}}


def blank_emails(demo_dir, share):
    """Blank the email of a share of live contacts (a bad import), or restore them from the template."""
    with sqlite3.connect(demo_dir / "crm.db") as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS saved AS SELECT id, email FROM contacts")
        conn.execute("UPDATE contacts SET email = (SELECT email FROM saved WHERE saved.id = contacts.id)")
        if share:
            conn.execute(f"UPDATE contacts SET email = NULL WHERE id % 100 < {int(share * 100)}")


def run(cfg, store):
    return standin_run(cfg, trigger="cli", history=store)


def test_score_below_alerts_once_then_recovers_on_both_channels(make_cfg, store, demo_dir, webhook, smtp):
    cfg = make_cfg(alerts={"channels": channels(webhook, smtp), "rules": [
        {"name": "completeness-low", "kind": "score_below", "scope": "completeness", "threshold": 80,
         "channels": ["hook", "mail"]}]})
    blank_emails(demo_dir, 0.5)
    for _ in range(3):  # still low on every run: one alert, no storm
        run(cfg, store)
        alerts.evaluate(cfg, store)
    assert len(webhook.bodies) == 1 and len(smtp.messages) == 1
    body = webhook.bodies[0]
    assert body["text"].startswith("cleancrm [demo] completeness-low: ALERT: Score of completeness is ")
    assert "below 80" in body["text"] and body["blocks"][0]["type"] == "section"
    mail = smtp.messages[0]
    assert mail["to"] == ["ops@example.org", "crm@example.org"] and mail["state"] == "firing"
    assert "below 80" in mail["body"] and "scope: completeness" in mail["body"]
    state = store.alert_state.state("demo")
    assert state.firing.tolist() == [1] and state.last_value[0] < 80

    blank_emails(demo_dir, 0)
    for _ in range(2):
        run(cfg, store)
        alerts.evaluate(cfg, store)
    assert len(webhook.bodies) == 2 and len(smtp.messages) == 2
    assert "recovered" in webhook.bodies[1]["text"] and "back to" in webhook.bodies[1]["text"]
    assert smtp.messages[1]["state"] == "recovered"
    assert store.alert_state.state("demo").firing.tolist() == [0]


def test_score_drop_compares_with_the_previous_run_of_the_same_checks(make_cfg, store, demo_dir, webhook):
    cfg = make_cfg(alerts={"channels": {"hook": {"type": "webhook", "url": webhook.url}}, "rules": [
        {"name": "drop", "kind": "score_drop", "scope": "overall", "threshold": 5, "channels": ["hook"]}]})
    run(cfg, store)
    assert alerts.evaluate(cfg, store) == []  # one run: nothing to compare with
    blank_emails(demo_dir, 0.3)
    run(cfg, store)
    # a partial run in between (another `only`) must not be compared with the full ones
    standin_run(cfg, only="accuracy", history=store)
    events = alerts.evaluate(cfg, store)
    assert [e.state for e in events] == ["firing"] and "dropped" in webhook.texts()[0]
    run(cfg, store)  # same low score: the drop since the previous run is 0 → recovered
    assert [e.state for e in alerts.evaluate(cfg, store)] == ["recovered"]


def test_failed_count_above(make_cfg, store, demo_dir, webhook):
    cfg = make_cfg(alerts={"channels": {"hook": {"type": "webhook", "url": webhook.url}}, "rules": [
        {"name": "missing-emails", "kind": "failed_count_above", "scope": "completeness.required", "threshold": 50,
         "channels": ["hook"]}]})
    blank_emails(demo_dir, 0.3)
    run(cfg, store)
    events = alerts.evaluate(cfg, store)
    assert len(events) == 1 and events[0].state == "firing"
    count = float(events[0].message.fields["value"])
    assert count > 50 and f"{count:g} failures in completeness.required" in webhook.texts()[0]
    blank_emails(demo_dir, 0)
    run(cfg, store)
    assert [e.state for e in alerts.evaluate(cfg, store)] == ["recovered"]


def test_run_failed_and_heartbeat_stale(make_cfg, store, demo_dir, webhook):
    cfg = make_cfg(schedule=[{"name": "nightly", "cron": "0 3 * * *"}], retry={"attempts": 1},
                   alerts={"channels": {"hook": {"type": "webhook", "url": webhook.url}}, "rules": [
                       {"name": "failed", "kind": "run_failed", "channels": ["hook"]},
                       {"name": "stale", "kind": "heartbeat_stale", "threshold": 10, "channels": ["hook"]}]})
    runner = Runner(cfg, run_fn=standin_run, history=store, scheduler_id="h/demo")
    (demo_dir / "crm.db").rename(demo_dir / "crm.db.away")
    runner.fire("nightly")
    runner.fire("nightly", fire_time=datetime.now().astimezone())  # fails again: no second alert
    assert len(webhook.bodies) == 1
    assert "failed" in webhook.texts()[0] and "crm.db not found" in webhook.texts()[0]
    (demo_dir / "crm.db.away").rename(demo_dir / "crm.db")
    runner.fire("nightly", fire_time=datetime.now().astimezone())
    assert len(webhook.bodies) == 2 and "completed" in webhook.texts()[1] and "recovered" in webhook.texts()[1]

    runner.heartbeat()
    beat = utcnow()
    assert alerts.evaluate(cfg, store, now=beat + timedelta(minutes=5)) == []
    events = alerts.evaluate(cfg, store, now=beat + timedelta(minutes=11))
    assert [(e.rule, e.state) for e in events] == [("stale", "firing")]
    assert "has not reported for 11 min" in webhook.texts()[2]
    assert alerts.evaluate(cfg, store, now=beat + timedelta(minutes=30)) == []  # still stale: quiet
    runner.heartbeat()  # the scheduler is back: its own beat sends the recovery
    assert "recovered" in webhook.texts()[3] and "reporting again" in webhook.texts()[3]
    assert len(webhook.bodies) == 4


def test_undelivered_alert_is_sent_again_next_time(make_cfg, store, demo_dir, webhook):
    cfg = make_cfg(alerts={"channels": {"hook": {"type": "webhook", "url": webhook.url}}, "rules": [
        {"name": "low", "kind": "score_below", "threshold": 99.9, "channels": ["hook"]}]})
    run(cfg, store)
    webhook.status = 500
    events = alerts.evaluate(cfg, store)
    assert events[0].delivered == [] and "answered HTTP 500" in events[0].errors[0]
    assert "secret" not in events[0].errors[0]  # the webhook path (a secret for Slack) is not shown
    assert store.alert_state.state("demo").empty
    webhook.status = 200
    assert [e.delivered for e in alerts.evaluate(cfg, store)] == [["hook"]]
    assert alerts.evaluate(cfg, store) == [] and len(webhook.bodies) == 1


def test_concurrent_evaluations_send_one_alert(make_cfg, store, demo_dir, webhook):
    cfg = make_cfg(alerts={"channels": {"hook": {"type": "webhook", "url": webhook.url}}, "rules": [
        {"name": "low", "kind": "score_below", "threshold": 99.9, "channels": ["hook"]}]})
    run(cfg, store)
    stores = [HistoryStore(store.url) for _ in range(6)]
    barrier = threading.Barrier(len(stores))

    def go(s):
        barrier.wait()
        alerts.evaluate(cfg, s)

    threads = [threading.Thread(target=go, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(webhook.bodies) == 1


def test_bad_rules_are_reported_together(make_cfg):
    cfg = make_cfg(alerts={"channels": {"mail": {"type": "email"}}, "rules": [
        {"name": "a", "kind": "score_below", "scope": "completenes", "channels": ["mail"]},
        {"name": "a", "kind": "run_failed"}]})
    cfg.alerts.rules[0].channels = ["slack"]  # (loading refuses an unknown channel already: test_config_errors)
    with pytest.raises(ConfigError) as err:

        alerts.validate_rules(cfg)
    text = str(err.value)
    assert "alerts.rules[0] (a).threshold: required for score_below" in text
    assert "alerts.rules[0] (a).channels: no channel 'slack'" in text
    assert "alerts.rules[0] (a).scope: 'completenes' is not" in text
    assert "alerts.rules[1] (a): duplicate rule name" in text
    assert "alerts.channels.mail.smtp_host: required" in text and "alerts.channels.mail.recipients" in text


def test_unreachable_channels_raise_readable_errors(smtp):
    msg = notify.Message("subject", "text")
    with pytest.raises(notify.NotifyError, match=r"webhook http://127.0.0.1:\d+/…: cannot deliver"):
        notify.send_webhook(f"http://127.0.0.1:{free_port()}/x", msg, timeout=2)
    channel = AlertChannel(type="email", smtp_host="127.0.0.1", smtp_port=free_port(), sender="a@b.c", recipients=["d@e.f"])
    with pytest.raises(notify.NotifyError, match=r"email via 127.0.0.1:\d+: cannot deliver"):
        notify.send_email(channel, msg, timeout=2)
