"""The Incidents page: an alert's incident listed with its owner, acknowledged, commented and resolved by a steward."""

from __future__ import annotations

import shutil

from checks.config import load_config
from connectors.history import HistoryStore
from tests.dashboard.secured import secured_copy
from tests.dashboard.test_dashboard_pages import app, texts
from tests.dashboard.test_dashboard_roles import signed_in


def _with_incident(demo_history, folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("crm.db", "cleancrm-history.db", "cleancrm.yml"):
        shutil.copy(demo_history.pristine / name, folder / name)
    store = HistoryStore(load_config(folder / "cleancrm.yml").history_url())
    incident, _ = store.incidents.open_for("demo", "contact-score", "score_below", "contact",
                                           "contact-score (score_below): Score of contact is 91.2, below 95",
                                           demo_history.run_ids[-1], "sam")
    return store, incident


def test_an_incident_is_listed_and_opened_by_its_link(monkeypatch, demo_history, tmp_path):
    store, incident = _with_incident(demo_history, tmp_path)
    at = app(monkeypatch, tmp_path / "cleancrm.yml", "incidents")
    table = at.dataframe[0].value
    assert table.id.tolist() == [incident] and table.owner.tolist() == ["sam"]
    assert {m.label: m.value for m in at.metric}["Open"] == "1"
    at.query_params["incident"] = str(incident)
    at.run()
    assert f"Incident #{incident} · contact-score" in [s.value for s in at.subheader]
    assert "Score of contact is 91.2" in texts(at)


def test_a_steward_acknowledges_comments_and_resolves_with_a_reason(monkeypatch, demo_history, tmp_path):
    store, incident = _with_incident(demo_history, tmp_path / "plain")
    path = secured_copy(tmp_path / "plain", tmp_path / "secured", [], [])
    store = HistoryStore(load_config(path).history_url())
    at = signed_in(monkeypatch, {"path": path}, "sam", "incidents")
    at.query_params["incident"] = str(incident)
    at.run()
    next(b for b in at.button if b.label == "Acknowledge").click().run()
    assert store.incidents.get(incident)["status"] == "acknowledged"
    assert store.incidents.get(incident)["acknowledged_by"] == "sam"
    at.text_area(key=f"inc_text_{incident}").input("blank emails came from the Monday import")
    next(b for b in at.button if b.label == "Comment").click().run()
    assert store.incidents.comments(incident).text.tolist() == ["blank emails came from the Monday import"]
    next(b for b in at.button if b.label == "Resolve").click().run()  # no reason: refused, in words
    assert "resolved with a reason" in " ".join(e.value for e in at.error)
    assert store.incidents.get(incident)["status"] == "acknowledged"
    at.text_area(key=f"inc_text_{incident}").input("import re-run with the email column mapped")
    next(b for b in at.button if b.label == "Resolve").click().run()
    row = store.incidents.get(incident)
    assert row["status"] == "resolved" and row["resolved_by"] == "sam"
    assert row["resolution"] == "import re-run with the email column mapped"
    actions = store.audit.list("demo", "incident")
    assert set(actions.actor) == {"sam"} and len(actions) == 3


def test_a_viewer_reads_but_cannot_act(monkeypatch, demo_history, tmp_path):
    _, incident = _with_incident(demo_history, tmp_path / "plain")
    path = secured_copy(tmp_path / "plain", tmp_path / "secured", [], [])
    at = signed_in(monkeypatch, {"path": path}, "vera", "incidents")
    at.query_params["incident"] = str(incident)
    at.run()
    assert not [b for b in at.button if b.label in ("Acknowledge", "Resolve")]
    assert "need the steward or admin role" in texts(at)
