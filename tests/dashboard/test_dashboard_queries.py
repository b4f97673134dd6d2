from __future__ import annotations

import sys

import pandas as pd

from checks.base import DIMENSIONS
from connectors.history import NO_OWNER, FindingFilter, HistoryStore
from dashboard import charts, launch, queries
from dashboard.context import config_path_from


def test_findings_pagination_is_done_in_sql(demo_history):
    url, run = demo_history.cfg.history_url(), demo_history.run_ids[-1]
    flt = FindingFilter(dimension="consistency")
    total = queries.findings_count(url, run, flt)
    expected = demo_history.store.findings.of_run(run, dimension="consistency")
    assert total == len(expected) > 100
    first = queries.findings_page(url, run, flt, 50, 0)
    second = queries.findings_page(url, run, flt, 50, 50)
    assert len(first) == 50 and len(second) == 50
    assert not set(first.id) & set(second.id)
    assert (first.dimension == "consistency").all()
    last = queries.findings_page(url, run, flt, 50, (total // 50) * 50)
    assert len(last) == total % 50 or len(last) == 50


def test_findings_filters_and_search(demo_history):
    url, run = demo_history.cfg.history_url(), demo_history.run_ids[-1]
    sample = demo_history.store.findings.of_run(run, check_id="accuracy.phone_valid", entity="contact").iloc[0]
    flt = FindingFilter(check_id="accuracy.phone_valid", search=str(sample.value)[-6:])
    page = queries.findings_page(url, run, flt, 100, 0)
    assert sample.record_key in set(page.record_key)
    assert (page.check_id == "accuracy.phone_valid").all()
    none = FindingFilter(search="no-such-thing-anywhere")
    assert queries.findings_count(url, run, none) == 0
    unowned = queries.findings_count(url, run, FindingFilter(owner=NO_OWNER))
    assert unowned == demo_history.store.findings.of_run(run).owner.isna().sum()


def test_series_metrics_and_affected(demo_history):
    url, source, run = demo_history.cfg.history_url(), demo_history.cfg.name, demo_history.run_ids[-1]
    series = queries.score_series(url, source, "dimension")
    overall = series[series.dimension == "overall"]
    assert len(overall) == len(demo_history.run_ids)  # the failed run has no score
    assert overall.as_of.is_monotonic_increasing
    ages = queries.freshness_metrics(url, source, "contact")
    assert set(ages.bucket) == {"< 30 days", "30–90 days", "90 days–1 year", "1–2 years", "> 2 years"}
    per_run = ages.groupby("as_of").share.sum()
    assert ((per_run - 1).abs() < 1e-9).all()
    affected = queries.affected_records(url, run).set_index("entity")
    # every record with a finding has a score row, and fails at least one check
    n = demo_history.store.findings.of_run(run, entity="contact").record_key.nunique()
    assert affected.loc["contact", "affected"] == n > 0
    check = queries.check_series(url, source, "consistency.phone_e164", "contact")
    assert len(check) == len(demo_history.run_ids) and (check.failed > 0).all()


def test_source_records_reads_current_values(demo_history):
    cfg, run = demo_history.cfg, demo_history.run_ids[-1]
    f = demo_history.store.findings.of_run(run, check_id="accuracy.phone_valid", entity="contact").iloc[0]
    current = queries.source_records(cfg, "contact", (f.record_key, "no-such-key"))
    assert list(current.index) == [f.record_key]
    assert current.loc[f.record_key, "phone:phone"] == f.value  # the value seen is the CRM's value


def test_decide_stores_and_replaces_a_decision(demo_history):
    url, source = demo_history.cfg.history_url(), demo_history.cfg.name
    queries.decide(url, source, "contact-0099", "contact", "confirmed", "ann", "same person")
    queries.decide(url, source, "contact-0099", "contact", "not_duplicate", "bob")
    d = queries.decisions(url, source)
    row = d[d.cluster_id == "contact-0099"]
    assert len(row) == 1 and row.iloc[0].decision == "not_duplicate" and row.iloc[0].decided_by == "bob"


def test_heartbeat_is_read(demo_history, tmp_path):
    url, source = demo_history.cfg.history_url(), demo_history.cfg.name
    assert queries.heartbeat(url, source) is None
    # A store of its own: the demo history is shared by the other tests, which expect no scheduler.
    own = HistoryStore(f"sqlite:///{tmp_path / 'history.db'}")
    own.heartbeats.beat("h:1", source, pd.Timestamp("2025-01-01 06:00").to_pydatetime(),
                        {"nightly": "2025-01-02T06:00:00"})
    beat = queries.heartbeat(own.url, source)
    assert beat["next_runs"] == {"nightly": "2025-01-02T06:00:00"}
    assert beat["scheduler_id"] == "h:1" and beat["beat_at"] == pd.Timestamp("2025-01-01 06:00")
    own.close()


def test_palette_is_one_colour_per_dimension():
    assert set(charts.DIMENSION_COLORS) == set(DIMENSIONS)
    assert len(set(charts.DIMENSION_COLORS.values())) == len(DIMENSIONS)
    fig = charts.trend_chart(pd.DataFrame({"as_of": pd.date_range("2025-01-01", periods=2).tolist() * 2,
                                           "series": ["accuracy"] * 2 + ["overall"] * 2, "value": [90, 91, 80, 81]}),
                             pd.DataFrame({"id": [1], "name": ["clean-up"], "date": [pd.Timestamp("2025-01-01 12:00")]}))
    colours = {t.name: t.line.color for t in fig.data}
    assert colours == {"accuracy": charts.DIMENSION_COLORS["accuracy"], "overall": charts.OVERALL_COLOR}
    assert len(fig.layout.shapes) == 1 and "clean-up" in fig.layout.annotations[0].text


def test_config_path_resolution(monkeypatch):
    assert config_path_from(["--config", "a.yml"], {"CLEANCRM_CONFIG": "b.yml"}) == "a.yml"
    assert config_path_from([], {"CLEANCRM_CONFIG": "b.yml"}) == "b.yml"
    assert config_path_from(["--other"], {}) == "cleancrm.yml"


def test_launch_command_passes_theme_and_config(tmp_path):
    cmd = launch.streamlit_command(tmp_path / "c.yml", port=8601, headless=True)
    assert cmd[:4] == [sys.executable, "-m", "streamlit", "run"]
    assert cmd[4].endswith("dashboard/streamlit_app.py")
    assert cmd[cmd.index("--server.port") + 1] == "8601"
    assert cmd[-3:] == ["--", "--config", str((tmp_path / "c.yml").resolve())]
    assert "--theme.primaryColor" in cmd  # the project's theme applies from any working directory
