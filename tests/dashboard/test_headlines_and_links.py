"""Overview headlines that tell the truth, and links that open the records behind a number (AppTest)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from checks.base import is_enrichment
from dashboard import launch, logic
from tests.dashboard.test_dashboard_pages import app, texts


def _records_page(monkeypatch, config, params: dict[str, str]) -> AppTest:
    monkeypatch.setenv("CLEANCRM_CONFIG", str(config))
    at = AppTest.from_file(str(launch.APP), default_timeout=60)
    at.run()
    at.switch_page("app_pages/records.py")
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.fixture(scope="module")
def real(demo_real_run):
    """The demo's real run (the synthetic history counts no records)."""
    return demo_real_run.folder / "cleancrm.yml", demo_real_run.store, demo_real_run.run


def test_clean_records_share_counts_records_not_field_values(monkeypatch, real):
    config, store, run = real
    at = app(monkeypatch, config)
    findings = store.findings.of_run(run)
    results = store.results.check_results((run,))
    weighed = set(results.loc[results.weight > 0, "check_id"]) - {c for c in results.check_id if is_enrichment(c)}
    failing = findings[findings.check_id.isin(weighed) & ~findings.record_key.str.startswith("(table ")]
    affected = len(failing[["entity", "record_key"]].drop_duplicates())
    records = results[results.check_id == "completeness.record"].applicable.sum()
    metrics = {m.label: m for m in at.metric}
    assert metrics["Clean records"].value == logic.fmt_percent(1 - affected / records)
    assert f"{affected:,} of {records:,} records have a finding" in texts(at)
    # Per entity the share is of that entity's records: contacts are not divided by field values.
    table = at.dataframe[0].value.set_index("entity")
    contacts = results[(results.check_id == "completeness.record") & (results.entity == "contact")].applicable.iat[0]
    bad = len(failing[failing.entity == "contact"].record_key.unique())
    assert table.loc["contact", "affected"] == f"{bad:,} of {contacts:,}"
    assert table.loc["contact", "clean"] == logic.fmt_percent(1 - bad / contacts)


def test_worst_checks_start_with_the_lowest_score_and_the_weakest_are_named(monkeypatch, demo_history):
    at = app(monkeypatch, demo_history.config_path)
    run = demo_history.run_ids[-1]
    results = demo_history.store.results.check_results((run,))
    failing = results[(results.failed > 0) & ~results.check_id.map(is_enrichment)]
    worst = at.dataframe(key="ov_worst").value
    assert worst.score.iat[0] == logic.fmt_score(failing.score.min())
    lowest = failing.nsmallest(3, "score").check_id.tolist()
    assert set(lowest) <= set(worst.check_id)
    at.segmented_control(key="ov_worst_by").set_value("failed").run()
    by_count = at.dataframe(key="ov_worst").value
    assert by_count.failed.iat[0] == logic.fmt_count(failing.failed.max())
    scores = demo_history.store.results.scores(run)
    dims = scores[(scores.scope == "dimension") & scores.score.notna()]
    metrics = {m.label: m for m in at.metric}
    assert metrics["Weakest dimension"].value == dims.loc[dims.score.idxmin(), "dimension"].capitalize()
    ents = scores[(scores.scope == "entity") & scores.score.notna()]
    assert metrics["Weakest entity"].value == ents.loc[ents.score.idxmin(), "entity"].capitalize()


def test_change_since_the_first_run(monkeypatch, demo_history):
    at = app(monkeypatch, demo_history.config_path)
    at.segmented_control(key="ov_since").set_value("first run").run()
    store, runs = demo_history.store, demo_history.run_ids
    now = store.results.scores(runs[-1])
    first = store.results.scores(runs[0])
    overall = now[now.scope == "overall"].score.iat[0] - first[first.scope == "overall"].score.iat[0]
    metrics = {m.label: m for m in at.metric}
    assert metrics["Overall"].delta == logic.fmt_delta(overall)
    assert "previous run:" in texts(at)


def test_a_link_opens_records_with_its_filters(monkeypatch, demo_history):
    run = demo_history.run_ids[-2]  # not the newest: the link names the run it was made on
    at = _records_page(monkeypatch, demo_history.config_path,
                       {"run": str(run), "check": "accuracy.phone_valid", "entity": "lead"})
    assert at.selectbox(key="cleancrm_run").value == run
    assert at.selectbox(key="rec_check").value == "accuracy.phone_valid"
    assert at.selectbox(key="rec_entity").value == "lead"
    expected = demo_history.store.findings.of_run(run, check_id="accuracy.phone_valid", entity="lead")
    assert len(expected) and f"<b>{logic.plural(len(expected), 'finding')}</b>" in texts(at)
    # The page keeps the URL in step with its filters, so that it can be sent.
    at.selectbox(key="rec_entity").set_value("contact").run()
    assert at.query_params["entity"] == "contact" and at.query_params["check"] == "accuracy.phone_valid"
    assert at.query_params["run"] == str(run)


def test_a_field_link_and_a_stale_link(monkeypatch, demo_history):
    run = demo_history.run_ids[-1]
    at = _records_page(monkeypatch, demo_history.config_path, {"entity": "contact", "field": "email"})
    findings = demo_history.store.findings.of_run(run, entity="contact")
    emails = findings[findings.field == "email"]
    assert at.selectbox(key="rec_field").value == "email"
    assert f"<b>{logic.plural(len(emails), 'finding')}</b>" in texts(at)
    assert set(at.dataframe[0].value.field) == {"email"}
    # A check that no longer fails, or a run that is gone: the page opens with those filters cleared.
    stale = _records_page(monkeypatch, demo_history.config_path, {"run": "99999", "check": "accuracy.no_such"})
    assert stale.selectbox(key="rec_check").value is None
    assert stale.selectbox(key="cleancrm_run").value == run


def test_impact_opens_and_exports_the_records_behind_its_counts(monkeypatch, demo_history):
    at = app(monkeypatch, demo_history.config_path, "impact")
    store = demo_history.store
    note = store.annotations.list(demo_history.cfg.name).iloc[0]
    completed = store.runs.completed(demo_history.cfg.name)
    before = completed[completed.as_of < note.date].id.iat[-1]
    after = completed[completed.as_of >= note.date].id.iat[0]
    counts = store.findings.compare(int(before), int(after))
    metrics = {m.label: m.value for m in at.metric}
    for status, label in (("newly_failing", "Newly failing"), ("fixed", "Records fixed")):
        at.segmented_control(key="impact_status").set_value(status).run()
        behind = next(d.value for d in at.dataframe if "value_before" in d.value.columns)
        assert metrics[label] == f"{int(counts[status].sum()):,}"
        assert len(behind) == min(500, int(counts[status].sum()))
        records = store.findings.compared_records(int(before), int(after), status)
        assert len(records) == int(counts[status].sum())
        button = [b for b in at.get("download_button") if "Download these" in b.proto.label]
        assert button and f"{len(records):,} record" in button[0].proto.label
    fixed = store.findings.compared_records(int(before), int(after), "fixed")
    assert fixed.value_after.isna().all() and fixed.value_before.notna().any()
