"""Anomaly alerts from learned ranges, and incidents: opened by a breach, routed, acknowledged, resolved."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from checks.app import alerts
from checks.app.incidents import route_owner, scope_parts
from checks.config import AlertRule, Config
from checks.scoring import score_table
from connectors.errors import ConfigError, HistoryError
from connectors.history import HistoryStore

START = datetime(2026, 6, 1, 6, 0)
FINDING_COLUMNS = ["record_key", "field", "column_name", "value", "reason", "suggestion", "check_id", "entity",
                   "severity", "owner"]


def config(tmp_path, rules, incidents=None, public_url=None) -> Config:
    data = {"name": "crm", "source": {"url": f"sqlite:///{tmp_path / 'crm.db'}"},
            "history": {"url": f"sqlite:///{tmp_path / 'history.db'}"},
            "entities": {"contact": {"table": "contacts", "key": "id", "fields": {"email": "email"}}},
            "alerts": {"channels": {}, "rules": rules}}
    if incidents:
        data["incidents"] = incidents
    if public_url:
        data["dashboard"] = {"public_url": public_url}
    return Config.model_validate(data)


def add_run(store: HistoryStore, day: int, failed: int, applicable: int = 10_000) -> int:
    """A completed run whose one check failed `failed` of `applicable` contacts."""
    results = pd.DataFrame([{"check_id": "completeness.required", "entity": "contact", "dimension": "completeness",
                             "fields": "email", "severity": "high", "weight": 1.0, "applicable": applicable,
                             "failed": failed, "score": round(100 * (1 - failed / applicable), 4),
                             "metrics": json.dumps({})}])
    from checks.config import ScoringConfig

    scores, overall = score_table(results, ScoringConfig())
    empty = pd.DataFrame(columns=FINDING_COLUMNS)
    records = pd.DataFrame(columns=["entity", "record_key", "score", "failed_checks", "owner"])
    as_of = START + timedelta(days=day)
    run = store.runs.start("crm", as_of, "schedule", started_at=as_of)
    store.runs.complete(run, SimpleNamespace(check_results=results, scores=scores, findings=empty,
                                             record_scores=records, overall=overall, clusters=None,
                                             cluster_members=None), finished_at=as_of)
    return run


@pytest.fixture
def store(tmp_path):
    s = HistoryStore(f"sqlite:///{tmp_path / 'history.db'}")
    yield s
    s.close()


def normal_days(store, days=30, seed=3):
    rng = np.random.default_rng(seed)
    for day in range(days):
        add_run(store, day, int(rng.normal(200, 6)))


def test_an_anomaly_fires_on_a_jump_no_threshold_set_and_recovers(tmp_path, store):
    rule = {"name": "required-anomaly", "kind": "anomaly", "scope": "completeness.required", "metric": "failed"}
    cfg = config(tmp_path, [rule], {"routes": [{"owner": "sam", "entity": "contact"},
                                               {"owner": "dora", "check": "completeness.*"}],
                                    "default_owner": "ann"}, public_url="https://dq.example.com/")
    normal_days(store)
    sent = []
    assert alerts.evaluate(cfg, store, send=lambda ch, m: sent.append(m)) == []  # normal noise: nothing fires
    assert alerts.measure(cfg.alerts.rules[0], cfg, store).firing is False
    add_run(store, 30, 420)  # an import blanked two hundred more emails
    events = alerts.evaluate(cfg, store, now=START + timedelta(days=30, hours=1))
    assert [e.state for e in events] == ["firing"]
    message = events[0].message
    assert "a spike" in message.text and "learned from past runs" in message.text
    incident = store.incidents.get(events[0].incident)
    assert incident["status"] == "open" and incident["kind"] == "anomaly"
    assert incident["owner"] == "dora"  # the check's route: its scope names no entity
    assert message.fields["incident"] == f"#{incident['id']}" and message.fields["owner"] == "dora"
    assert message.fields["link"] == f"https://dq.example.com/incidents?incident={incident['id']}"
    add_run(store, 31, 198)
    recovered = alerts.evaluate(cfg, store, now=START + timedelta(days=31, hours=1))
    assert [e.state for e in recovered] == ["recovered"] and recovered[0].incident == incident["id"]
    comments = store.incidents.comments(incident["id"])
    assert comments.author.tolist() == ["cleancrm"] and comments.text.iat[0].startswith("Recovered:")
    assert store.incidents.get(incident["id"])["status"] == "open"  # a person resolves it, with a reason


def test_a_short_history_does_not_judge(tmp_path, store):
    cfg = config(tmp_path, [{"name": "a", "kind": "anomaly", "scope": "overall"}])
    for day in range(3):
        add_run(store, day, 200)
    ev = alerts.measure(cfg.alerts.rules[0], cfg, store)
    assert ev.firing is None and "too few" in ev.detail


def test_a_slow_drift_of_the_score_is_an_anomaly(tmp_path, store):
    cfg = config(tmp_path, [{"name": "drift", "kind": "anomaly", "scope": "completeness"}])
    rng = np.random.default_rng(5)
    for day in range(30):
        add_run(store, day, int(rng.normal(200, 4)))
    assert alerts.evaluate(cfg, store, send=lambda ch, m: None) == []
    fired = []
    for day in range(30, 46):  # a sync that loses a few more emails each day; evaluated after each run
        add_run(store, day, int(rng.normal(200, 4)) + 6 * (day - 29))
        fired += [(day, e) for e in alerts.evaluate(cfg, store, now=START + timedelta(days=day, hours=1))
                  if e.state == "firing"]
    assert fired, "the slide was never flagged"
    day, event = fired[0]
    assert day <= 40 and "drift" in event.message.text, event.message.text  # within ten runs of its start


def test_incident_lifecycle_and_times(tmp_path, store):
    opened, new = store.incidents.open_for("crm", "r", "score_below", "contact", "score 80", 1, "sam",
                                           at=START)
    again, new_again = store.incidents.open_for("crm", "r", "score_below", "contact", "score 79", 2, "sam",
                                                at=START + timedelta(days=1))
    assert new and not new_again and again == opened  # one incident per breach, not one per run
    store.incidents.acknowledge(opened, "sam", at=START + timedelta(hours=2))
    store.incidents.comment(opened, "sam", "the Monday import blanked emails", at=START + timedelta(hours=3))
    with pytest.raises(HistoryError, match="resolved with a reason"):
        store.incidents.resolve(opened, "sam", "  ")
    store.incidents.resolve(opened, "sam", "import fixed and re-run", at=START + timedelta(hours=26))
    with pytest.raises(HistoryError, match="is resolved: it cannot become acknowledged"):
        store.incidents.acknowledge(opened, "sam")
    row = store.incidents.list("crm").iloc[0]
    assert row.status == "resolved" and row.resolution == "import fixed and re-run"
    assert row.hours_to_acknowledge == pytest.approx(2) and row.hours_to_resolve == pytest.approx(26)
    assert store.incidents.comments(opened).text.tolist() == ["the Monday import blanked emails",
                                                              "Breached again: score 79"]  # in time order
    later, new_later = store.incidents.open_for("crm", "r", "score_below", "contact", "score 70", 3, "sam")
    assert new_later and later != opened  # a breach after the resolution is a new incident
    store.incidents.reopen(opened, "ann")
    assert store.incidents.get(opened)["status"] == "open"


@pytest.mark.parametrize(("scope", "kind", "owner"), [
    ("contact", "score_below", "sam"), ("contact.completeness", "score_below", "sam"),
    ("freshness", "score_below", "fred"), ("accuracy.email_syntax", "failed_count_above", "erin"),
    ("overall", "anomaly", "olga"), ("overall", "run_failed", "ops"), ("lead", "score_below", "ann"),
])
def test_routing_by_entity_dimension_check_and_kind(tmp_path, scope, kind, owner):
    cfg = config(tmp_path, [], {"default_owner": "ann", "routes": [
        {"owner": "ops", "kind": "run_failed"}, {"owner": "olga", "kind": "anomaly"},
        {"owner": "sam", "entity": "contact"}, {"owner": "fred", "dimension": "freshness"},
        {"owner": "erin", "check": "accuracy.email_*"}]})
    assert route_owner(cfg, AlertRule(name="x", kind=kind, scope=scope)) == owner


def test_scope_parts():
    assert scope_parts("contact.email") == {"entity": "contact", "dimension": None, "check": None}
    assert scope_parts("accuracy.phone_valid") == {"entity": None, "dimension": "accuracy",
                                                   "check": "accuracy.phone_valid"}
    assert scope_parts("rule.budget_range")["check"] == "rule.budget_range"


def test_bad_routes_are_named(tmp_path):
    cfg = config(tmp_path, [], {"routes": [{"owner": "x", "entity": "contcat"}, {"owner": "y", "kind": "nope"}]})
    with pytest.raises(ConfigError) as err:
        alerts.validate_rules(cfg)
    assert "incidents.routes[0].entity: 'contcat' is not one of" in str(err.value)
    assert "incidents.routes[1].kind: 'nope' is not one of" in str(err.value)
