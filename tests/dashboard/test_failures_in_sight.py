"""Failures in plain sight: a run that fails is stored, shown open on every page, and Run now refreshes the sidebar."""

from __future__ import annotations

import shutil

import pytest
import yaml

from checks.config import load_config
from checks.engine import run_checks
from connectors.errors import ConfigError
from connectors.history import HistoryStore
from tests.dashboard.test_dashboard_pages import app, texts

PAGES = ["overview", "trends", "impact", "records", "duplicates", "worklists", "fix", "runs", "incidents", "profile"]


def _copy(demo_history, folder):
    for name in ("crm.db", "cleancrm-history.db", "cleancrm.yml"):
        shutil.copy(demo_history.pristine / name, folder / name)
    return folder / "cleancrm.yml"


def _break_a_column(config):
    data = yaml.safe_load(config.read_text())
    data["entities"]["contact"]["fields"]["email"] = "emial"
    config.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture()
def broken(demo_history, tmp_path):
    """A demo with a history whose config now names a column the CRM does not have (renamed in the CRM)."""
    config = _copy(demo_history, tmp_path)
    _break_a_column(config)
    return config


def test_a_run_that_cannot_start_is_stored_as_failed_where_a_history_exists(broken):
    cfg = load_config(broken)
    store = HistoryStore(cfg.history_url())
    before = store.runs.list(cfg.name)
    with pytest.raises(ConfigError, match="entities.contact.fields.email: no column 'emial'"):
        run_checks(cfg, trigger="scheduled:nightly")
    after = store.runs.list(cfg.name)
    assert len(after) == len(before) + 1
    newest = after.iloc[0]
    assert newest.status == "failed" and newest.trigger == "scheduled:nightly"
    assert "entities.contact.fields.email: no column 'emial'" in newest.error
    assert set(store.runs.completed(cfg.name).id) == set(before[before.status == "completed"].id)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_shows_the_newest_failure_open(monkeypatch, broken, page):
    cfg = load_config(broken)
    with pytest.raises(ConfigError):
        run_checks(cfg)
    at = app(monkeypatch, broken, None if page == "overview" else page)
    errors = [e.value for e in at.error]
    assert any("The newest run" in e and "failed" in e and "no column 'emial'" in e for e in errors), errors
    assert any("the last completed one" in e for e in errors)


def test_a_good_run_after_the_failure_clears_the_warning(monkeypatch, broken, demo_history):
    cfg = load_config(broken)
    with pytest.raises(ConfigError):
        run_checks(cfg)
    shutil.copy(demo_history.pristine / "cleancrm.yml", broken)  # the mapping is put right
    run_checks(load_config(broken))
    at = app(monkeypatch, broken)
    assert not [e for e in at.error if "The newest run" in e.value]


def test_run_now_that_fails_shows_the_error_and_lists_the_failed_run(monkeypatch, broken):
    at = app(monkeypatch, broken, "runs")
    runs_before = len(at.dataframe[0].value)
    at.button(key="run_now").click().run(timeout=120)
    assert not at.exception
    body = " ".join(e.value for e in at.error)
    assert "The run failed" in body and "no column 'emial'" in body
    table = at.dataframe[0].value
    assert len(table) == runs_before + 1 and "no column 'emial'" in table.error.iat[0]
    assert "failed" in table.status.iat[0]


def test_run_now_on_an_empty_history_fills_the_sidebar(monkeypatch, empty_config):
    at = app(monkeypatch, empty_config, "runs")
    assert "No completed run yet." in texts(at)
    assert not [s for s in at.selectbox if s.key == "cleancrm_run"]
    at.button(key="run_now").click().run(timeout=180)
    assert not at.exception
    assert any("completed in" in s.value for s in at.success)
    assert "No completed run yet." not in [c.value for c in at.sidebar.caption]
    picker = at.selectbox(key="cleancrm_run")
    assert picker.value == int(HistoryStore(load_config(empty_config).history_url()).runs.completed("demo").id.iat[-1])
