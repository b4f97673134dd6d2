"""Charts mark the points outside the range learned from the runs before them (AppTest, a history with a drop)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import numpy as np
import yaml

from connectors.history import HistoryStore
from tests.checks.app.test_incidents import START, add_run
from tests.dashboard.test_dashboard_pages import app


def _history(tmp_path, bad_last: bool) -> tuple:
    store = HistoryStore(f"sqlite:///{tmp_path / 'history.db'}")
    rng = np.random.default_rng(3)
    for day in range(30):
        add_run(store, day, int(rng.normal(200, 6)))
    if bad_last:
        add_run(store, 30, 420)  # two hundred more contacts without an email
    config = tmp_path / "cleancrm.yml"
    config.write_text(yaml.safe_dump({
        "name": "crm", "source": {"url": f"sqlite:///{tmp_path / 'crm.db'}"},
        "history": {"url": f"sqlite:///{tmp_path / 'history.db'}"},
        "entities": {"contact": {"table": "contacts", "key": "id", "fields": {"email": "email"}}}}))
    return config, store


def _values(data) -> list:
    """A trace's x or y: plotly writes numbers as base64 typed arrays (`{"dtype", "bdata"}`)."""
    if isinstance(data, dict) and "bdata" in data:
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]).tolist()
    return list(data)


def _traces(chart) -> list:
    return json.loads(chart.proto.spec)["data"]


def _rings(chart) -> list:
    return [t for t in _traces(chart) if t.get("name") == "outside its learned range"]


def test_a_drop_is_ringed_on_the_overview_and_the_check_trend(monkeypatch, tmp_path):
    config, _ = _history(tmp_path, bad_last=True)
    at = app(monkeypatch, config)
    rings = _rings(at.get("plotly_chart")[0])
    assert rings and len(_values(rings[0]["x"])) >= 1
    assert str(_values(rings[0]["x"])[-1]).startswith(str((START + timedelta(days=30)).date()))  # the newest run
    assert any("outside the range learned" in c.value for c in at.caption)
    at.switch_page("app_pages/trends.py").run()
    at.segmented_control(key="trend_kind").set_value("Check").run()
    score, failing = at.get("plotly_chart")[:2]
    assert any(t.get("name") == "expected range" for t in _traces(failing))  # one line: its band is drawn
    assert [len(_values(r["y"])) for r in _rings(failing)] == [1] and _values(_rings(failing)[0]["y"]) == [420]
    assert _rings(score) and _values(_rings(score)[0]["y"])[-1] == 95.8


def test_normal_noise_rings_nothing(monkeypatch, tmp_path):
    config, _ = _history(tmp_path, bad_last=False)
    at = app(monkeypatch, config)
    assert not _rings(at.get("plotly_chart")[0])
