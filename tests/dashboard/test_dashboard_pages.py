"""Every page through Streamlit's AppTest, on the demo history (config passed by $CLEANCRM_CONFIG)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import access, launch, logic

APP = str(launch.APP)


def app(monkeypatch, config, page: str | None = None) -> AppTest:
    monkeypatch.setenv("CLEANCRM_CONFIG", str(config))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    if page:
        at.switch_page(f"app_pages/{page}.py")
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [i.value for i in at.info] + [c.value for c in at.caption]
    parts += [w.value for w in at.warning] + [e.value for e in at.error] + [s.value for s in at.success]
    return "\n".join(str(p) for p in parts)


def test_overview_shows_scores_deltas_and_next_run(monkeypatch, demo_history):
    at = app(monkeypatch, demo_history.config_path)
    store, runs = demo_history.store, demo_history.run_ids
    scores = store.results.scores(runs[-1])
    prev = store.results.scores(runs[-2])
    metrics = {m.label: m for m in at.metric}
    overall = scores[scores.scope == "overall"].score.iat[0]
    assert metrics["Overall"].value == f"{overall:.1f}"
    acc = scores[(scores.scope == "dimension") & (scores.dimension == "accuracy")].score.iat[0]
    acc_prev = prev[(prev.scope == "dimension") & (prev.dimension == "accuracy")].score.iat[0]
    assert metrics["Accuracy"].value == f"{acc:.1f}"
    assert metrics["Accuracy"].delta == logic.fmt_delta(acc - acc_prev)
    body = texts(at)
    assert f"run **#{runs[-1]}**" in body
    assert "next scheduled run" in body and "nightly" in body  # the demo config schedules `0 6 * * *`
    assert "30 days:" in body and "history too short" not in body
    assert len(at.get("plotly_chart")) == 1
    entity_table = at.dataframe[0].value
    assert set(entity_table.entity) == set(demo_history.cfg.entities)


def test_no_runs_yet_explains_how_to_run_one(monkeypatch, empty_config):
    for page in (None, "trends", "records", "duplicates", "worklists", "impact"):
        at = app(monkeypatch, empty_config, page)
        assert "No completed run yet" in texts(at)
        assert f"cleancrm run --config {empty_config}" in texts(at)


def test_bad_config_is_explained(monkeypatch, tmp_path):
    bad = tmp_path / "cleancrm.yml"
    bad.write_text("name: x\nsource: {}\n")
    at = app(monkeypatch, bad)
    assert "The configuration cannot be loaded" in texts(at)
    assert "source.url" in texts(at)


def test_trends_dimension_check_field_and_decay(monkeypatch, demo_history):
    at = app(monkeypatch, demo_history.config_path, "trends")
    assert len(at.get("plotly_chart")) == 2  # the trend and the decay view
    assert "Newest run: < 30 days" in texts(at)
    at.segmented_control(key="trend_kind").set_value("Check").run()
    at.selectbox(key="trend_check").set_value("consistency.phone_e164").run()
    at.selectbox(key="trend_check_entity").set_value("contact").run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 3  # score, failing records, decay
    assert "failing of" in texts(at)
    at.segmented_control(key="trend_kind").set_value("Field").run()
    assert not at.exception and at.multiselect(key="trend_fields").value


def test_records_drill_down_filters_in_sql(monkeypatch, demo_history):
    at = app(monkeypatch, demo_history.config_path, "records")
    run = demo_history.run_ids[-1]
    at.selectbox(key="rec_dimension").set_value("accuracy").run()
    at.selectbox(key="rec_check").set_value("accuracy.phone_valid").run()
    expected = demo_history.store.findings.of_run(run, check_id="accuracy.phone_valid")
    assert f"<b>{len(expected):,} findings</b> match" in texts(at)
    table = at.dataframe[0].value
    assert set(table.Check if "Check" in table else table.check_id) == {"accuracy.phone_valid"}
    at.selectbox(key="rec_entity").set_value("lead").run()
    lead = expected[expected.entity == "lead"]
    assert len(at.dataframe[0].value) == min(len(lead), 50)
    at.text_input(key="rec_search").set_value("zzz-nothing").run()
    assert "No finding matches these filters" in texts(at)


def test_duplicates_show_clusters_and_store_decisions(monkeypatch, demo_history):
    at = app(monkeypatch, demo_history.config_path, "duplicates")
    clusters = at.dataframe[0].value
    assert len(clusters) == 6
    body = texts(at)
    assert "field(s) whose values differ" in body
    side = at.dataframe[1].value
    assert any("survivor" in c for c in side.columns)
    assert not [t for t in at.text_input if t.label == "Your name"]  # recorded under the signed-in name
    rejected = next(b for b in at.button if b.label == "Not a duplicate")  # in the shown (first) cluster's form
    rejected.click().run()
    assert not at.exception
    rows = demo_history.store.decisions.list(demo_history.cfg.name)
    local = access.local_admin().name  # no users configured: whoever uses this computer, as admin
    assert ((rows.decision == "not_duplicate") & (rows.decided_by == local)).any()
    audit = demo_history.store.audit.list(demo_history.cfg.name, "decision")
    assert (audit.actor == local).any()


def test_duplicates_absent_is_explained(monkeypatch, demo_history):
    at = app(monkeypatch, demo_history.config_path)
    at.selectbox(key="cleancrm_run").set_value(demo_history.run_ids[0]).run()
    at.switch_page("app_pages/duplicates.py").run()
    assert "No duplicate clusters in run" in texts(at)


def test_worklists_filter_and_offer_downloads(monkeypatch, demo_history):
    at = app(monkeypatch, demo_history.config_path, "worklists")
    run = demo_history.run_ids[-1]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Findings"] == f"{len(demo_history.store.findings.of_run(run)):,}"
    at.multiselect(key="wl_checks").set_value(["completeness.required"]).run()
    expected = demo_history.store.findings.of_run(run, check_id="completeness.required")
    assert {m.label: m.value for m in at.metric}["Findings"] == f"{len(expected):,}"
    assert len(at.get("download_button")) == 2
    preview = at.dataframe[1].value
    assert list(preview.columns)[0] == "record_id" and set(preview.check_id) == {"completeness.required"}


def test_impact_of_the_annotated_clean_up(monkeypatch, demo_history):
    at = app(monkeypatch, demo_history.config_path, "impact")
    store = demo_history.store
    note = store.annotations.list(demo_history.cfg.name).iloc[0]
    completed = store.runs.list(demo_history.cfg.name)
    completed = completed[completed.status == "completed"]
    before = int(completed[completed.as_of < note.date].id.max())
    after = int(completed[completed.as_of >= note.date].id.min())
    fixed = int(store.findings.compare(before, after).fixed.sum())
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Records fixed"] == f"{fixed:,}" and fixed > 0
    assert float(metrics["Overall score"]) > 0
    at.radio(key="impact_mode").set_value("Two runs").run()
    at.selectbox(key="impact_before").set_value(demo_history.run_ids[0]).run()
    at.selectbox(key="impact_after").set_value(demo_history.run_ids[-1]).run()
    compared = store.findings.compare(demo_history.run_ids[0], demo_history.run_ids[-1])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Newly failing"] == f"{int(compared.newly_failing.sum()):,}"


def test_runs_page_lists_runs_and_respects_the_lock(monkeypatch, demo_history):
    at = app(monkeypatch, demo_history.config_path, "runs")
    table = at.dataframe[0].value
    assert len(table) == len(demo_history.run_ids) + 1  # and the failed run
    assert "database is locked" in " ".join(table.error)
    holder = demo_history.store.locks.acquire(demo_history.cfg.name, holder="elsewhere:42")
    try:
        at.button(key="run_now").click().run(timeout=120)
    finally:
        demo_history.store.locks.release(demo_history.cfg.name, holder)
    assert not at.exception
    assert "another run is in progress" in texts(at).lower()
    assert "elsewhere:42" in texts(at)


@pytest.mark.parametrize("page", ["overview", "trends", "records", "duplicates", "worklists", "impact", "runs"])
def test_every_page_renders_without_error(monkeypatch, demo_history, page):
    at = app(monkeypatch, demo_history.config_path, None if page == "overview" else page)
    assert at.title and not at.error


def test_a_single_run_has_no_deltas_and_says_so(monkeypatch, empty_config):
    from checks.config import load_config
    from connectors.history import HistoryStore
    from tests.support.synthetic_history import spec_from_source, synthesize_history

    cfg = load_config(empty_config)
    synthesize_history(HistoryStore(cfg.history_url()), spec_from_source(cfg, runs=1, clusters=0))
    at = app(monkeypatch, empty_config)
    assert not {m.label: m.delta for m in at.metric}["Overall"]
    assert "history too short" in texts(at)
    at.switch_page("app_pages/impact.py").run()
    assert "needs two completed runs" in texts(at)
    at.switch_page("app_pages/duplicates.py").run()
    assert "No duplicate clusters" in texts(at)


def test_profile_shows_what_each_column_holds_and_the_fill_rates_over_runs(monkeypatch, demo_history, tmp_path):
    import shutil

    from checks.config import load_config
    from checks.engine import run_checks
    from connectors.history import HistoryStore

    folder = tmp_path / "demo"
    shutil.copytree(demo_history.pristine, folder)
    cfg = load_config(folder / "cleancrm.yml")
    run_checks(cfg)  # a real run keeps every field's fill rate (the synthetic history has none)
    at = app(monkeypatch, folder / "cleancrm.yml", "profile")
    assert [t.value for t in at.title] == ["Profile"]
    columns = at.dataframe[0].value.set_index("column")
    email_column = cfg.entities["contact"].fields["email"]
    assert columns.loc[email_column, "holds"] == "email" and columns.loc[email_column, "field"] == "email"
    assert 0 < columns.loc[email_column, "filled %"] <= 100
    assert len(at.get("plotly_chart")) == 1
    rates = HistoryStore(cfg.history_url()).results.fill_rates(cfg.name, "contact")
    assert rates.as_of.nunique() == 1 and "email" in set(rates.field)
    assert "No rule of your own on contact" in texts(at)
