from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pandas as pd
import pytest

from dashboard import logic


def test_formatting():
    assert logic.fmt_score(87.345) == "87.3"
    assert logic.fmt_score(None) == "–"
    assert logic.fmt_score(float("nan")) == "–"
    assert logic.fmt_delta(1.25) == "+1.2 pts" or logic.fmt_delta(1.25) == "+1.3 pts"
    assert logic.fmt_delta(-0.44) == "-0.4 pts"
    # Near 100 a score moves by hundredths: the change keeps the decimals that show it.
    assert logic.fmt_delta(0.01) == "+0.01 pts"
    assert logic.fmt_delta(-0.003) == "-0.003 pts"
    assert logic.fmt_delta(0.0004) == "±0.0 pts" and logic.fmt_delta(0) == "±0.0 pts"
    assert logic.plural(1, "finding") == "1 finding" and logic.plural(1204, "finding") == "1,204 findings"
    assert logic.fmt_delta(None) == "–"
    assert logic.fmt_count(1234567) == "1,234,567"
    assert logic.fmt_when(datetime(2025, 3, 4, 6, 5)) == "2025-03-04 06:05 UTC"
    assert logic.fmt_when(pd.Timestamp("2025-03-04T08:05", tz="Europe/Berlin")) == "2025-03-04 07:05 UTC"
    assert logic.fmt_when(datetime(2025, 3, 4), with_time=False) == "2025-03-04"
    assert logic.fmt_duration(42) == "42 s"
    assert logic.fmt_duration(185) == "3 min 5 s"
    assert logic.fmt_duration(3720) == "1 h 2 min"
    assert logic.fmt_percent(0.125) == "12.5 %"
    assert logic.fmt_value(12.0) == "12"
    assert logic.fmt_value(None) == ""


def _completed(days: list[int]) -> pd.DataFrame:
    base = datetime(2025, 1, 1)
    return pd.DataFrame({"id": range(1, len(days) + 1), "as_of": [base + timedelta(days=d) for d in days]})


def test_previous_and_month_ago_runs():
    c = _completed([0, 7, 14, 21, 28, 35, 42])
    assert logic.previous_run(c, 1) is None
    assert logic.previous_run(c, 4) == 3
    # 42 - 30 = day 12: the newest run on or before is day 7 (id 2)
    assert logic.run_days_before(c, 7, 30) == 2
    assert logic.run_days_before(c, 3, 30) is None
    assert logic.run_days_before(c, 99, 30) is None


def _scores(rows):
    return pd.DataFrame(rows, columns=["run_id", "scope", "entity", "dimension", "field", "score"])


def test_headline_and_entity_deltas():
    scores = _scores([
        (1, "overall", None, None, None, 80.0), (1, "dimension", None, "accuracy", None, 70.0),
        (2, "overall", None, None, None, 82.0), (2, "dimension", None, "accuracy", None, 75.0),
        (3, "overall", None, None, None, 85.5), (3, "dimension", None, "accuracy", None, 74.0),
        (3, "dimension", None, "freshness", None, 90.0),
        (1, "entity", "contact", None, None, 60.0), (3, "entity", "contact", None, None, 66.0),
        (3, "entity_dimension", "contact", "accuracy", None, 50.0),
    ])
    head = logic.headline(scores, 3, 2, 1).set_index("name")
    assert list(head.index) == ["overall", "accuracy", "freshness"]
    assert head.loc["overall", "vs_previous"] == pytest.approx(3.5)
    assert head.loc["overall", "vs_30_days"] == pytest.approx(5.5)
    assert head.loc["accuracy", "vs_previous"] == pytest.approx(-1.0)
    assert pd.isna(head.loc["freshness", "vs_previous"])
    ent = logic.entity_table(scores, 3, 2, 1).set_index("entity")
    assert ent.loc["contact", "vs_30_days"] == pytest.approx(6.0)
    assert pd.isna(ent.loc["contact", "vs_previous"])  # run 2 has no contact score
    assert ent.loc["contact", "accuracy"] == 50.0


def test_worst_checks_and_fields():
    results = pd.DataFrame({
        "check_id": ["a", "b", "c", "d"], "entity": ["contact"] * 4, "dimension": ["accuracy"] * 4,
        "severity": ["low", "high", "medium", "high"], "failed": [5, 50, 0, 50], "applicable": [100] * 4,
        "score": [95.0, 50.0, 100.0, 50.0], "weight": [1.0] * 4})
    worst = logic.worst_checks(results, 3)
    assert list(worst.check_id) == ["b", "d", "a"]  # no passing check listed


def test_worst_checks_rank_a_low_score_above_a_large_count():
    # A check failing 7 of 56 records (87.5) is worse than one failing 500 of 50,000 (99.0), though it fails fewer.
    results = pd.DataFrame({
        "check_id": ["few_bad", "many_ok", "enrichment.x", "passes"], "entity": ["account", "contact", "contact",
                                                                              "contact"],
        "dimension": ["accuracy", "consistency", "completeness", "consistency"],
        "severity": ["medium", "low", "low", "high"], "failed": [7, 500, 900, 0],
        "applicable": [56, 50_000, 1_000, 50_000], "score": [87.5, 99.0, 10.0, 100.0], "weight": [1.0, 1.0, 0.0, 1.0]})
    assert list(logic.worst_checks(results, by="score").check_id) == ["few_bad", "many_ok"]
    assert list(logic.worst_checks(results, by="failed").check_id) == ["many_ok", "few_bad"]
    # Impact: the points of the overall score each check costs; together, 100 − the overall score.
    from checks.config import ScoringConfig
    from checks.scoring import score_table

    _, overall = score_table(results.assign(fields=""), ScoringConfig())
    impact = logic.check_impact(results, ScoringConfig())
    assert impact.sum() == pytest.approx(100 - overall)
    assert impact.iloc[0] == pytest.approx(12.5 / 2)  # accuracy is half the overall score, few_bad all of it
    assert impact.iloc[2] == 0  # an enrichment opportunity weighs nothing
    assert list(logic.worst_checks(results, by="impact").check_id) == ["few_bad", "many_ok"]


def test_weakest_and_clean_share_and_baselines():
    head = pd.DataFrame({"name": ["overall", "accuracy", "freshness"], "score": [97.0, 99.0, 91.5]})
    ents = pd.DataFrame({"entity": ["contact", "lead"], "score": [98.0, 94.0]})
    assert logic.weakest(head, ents) == {"dimension": ("freshness", 91.5), "entity": ("lead", 94.0)}
    affected = pd.DataFrame({"entity": ["contact", "lead"], "affected": [1_000, 50], "checked": [5_000, 200]})
    assert logic.clean_share(affected) == pytest.approx(1 - 1_050 / 5_200)
    runs = pd.DataFrame({"id": [1, 2, 3, 4], "as_of": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01",
                                                                      "2025-03-08"])})
    assert logic.baseline_run(runs, 4, "previous run") == 3
    assert logic.baseline_run(runs, 4, "first run") == 1
    assert logic.baseline_run(runs, 4, "30 days ago") == 2
    assert logic.baseline_run(runs, 4, "7 days ago") == 3
    assert logic.baseline_run(runs, 1, "first run") is None


    scores = _scores([(1, "field", "contact", None, "email", 90.0), (1, "field", "contact", None, "phone", 70.0),
                      (2, "field", "contact", None, "phone", 10.0)])
    assert list(logic.worst_fields(scores, 1).field) == ["phone", "email"]


def test_period_and_downsample():
    latest = pd.Timestamp("2025-06-30")
    assert logic.period_start("All", latest) is None
    assert logic.period_start("30 days", latest) == pd.Timestamp("2025-05-31")
    frame = pd.DataFrame({"as_of": pd.date_range("2025-01-01", periods=10), "run_id": range(10)})
    assert len(logic.in_period(frame, pd.Timestamp("2025-01-08"))) == 3
    big = pd.DataFrame({"run_id": range(1000), "as_of": pd.date_range("2022-01-01", periods=1000)})
    small = logic.downsample(big, 100)
    assert len(small) <= 100 and 999 in set(small.run_id)


def test_next_run_from_cron_and_from_heartbeat():
    now = datetime(2025, 3, 4, 7, 0, tzinfo=UTC)
    schedule = [SimpleNamespace(name="nightly", cron="0 6 * * *", timezone="UTC"),
                SimpleNamespace(name="hourly", cron="30 * * * *", timezone="Europe/Berlin")]
    nxt = logic.next_scheduled(schedule, None, now)
    assert nxt["origin"] == "config" and nxt["name"] == "hourly"
    assert nxt["when"] == datetime(2025, 3, 4, 7, 30, tzinfo=UTC)
    only_nightly = logic.next_scheduled(schedule[:1], None, now)
    assert only_nightly["when"] == datetime(2025, 3, 5, 6, 0, tzinfo=UTC)
    beat = {"beat_at": datetime(2025, 3, 4, 6, 58), "next_runs": {"nightly": "2025-03-04T09:15:00"}}
    from_scheduler = logic.next_scheduled(schedule, beat, now)
    assert from_scheduler == {"when": datetime(2025, 3, 4, 9, 15, tzinfo=UTC), "name": "nightly",
                              "origin": "scheduler"}
    stale = {"beat_at": datetime(2025, 3, 3, 6, 0), "next_runs": {"nightly": "2025-03-03T09:15:00"}}
    assert logic.next_scheduled(schedule, stale, now)["origin"] == "config"
    assert logic.next_scheduled([], None, now) is None


def test_runs_around_an_intervention():
    c = _completed([0, 7, 14, 21])
    assert logic.runs_around(c, datetime(2025, 1, 10)) == (2, 3)
    assert logic.runs_around(c, datetime(2024, 12, 1)) == (None, 1)
    assert logic.runs_around(c, datetime(2025, 3, 1)) == (4, None)


def test_dimension_before_after_and_comparison_table():
    scores = _scores([(1, "overall", None, None, None, 80.0), (2, "overall", None, None, None, 84.0),
                      (1, "dimension", None, "accuracy", None, 70.0), (2, "dimension", None, "accuracy", None, 90.0)])
    dims = logic.dimension_before_after(scores, 1, 2).set_index("dimension")
    assert dims.loc["accuracy", "change"] == pytest.approx(20.0)
    assert list(dims.index) == ["overall", "accuracy"]
    results_a = pd.DataFrame({"check_id": ["x", "y"], "entity": ["contact"] * 2, "dimension": ["accuracy"] * 2,
                              "score": [90.0, 100.0]})
    results_b = results_a.assign(score=[95.0, 100.0])
    compared = pd.DataFrame({"check_id": ["x"], "entity": ["contact"], "fixed": [5], "still_failing": [3],
                             "newly_failing": [1]})
    table = logic.comparison_table(compared, results_a, results_b)
    assert list(table.check_id) == ["x"]  # y did not change at all
    assert table.iloc[0].score_change == pytest.approx(5.0)
    assert logic.impact_totals(compared) == {"fixed": 5, "still_failing": 3, "newly_failing": 1}


def test_side_by_side_marks_differing_fields():
    records = pd.DataFrame({"email": ["a@x.com", "A@x.com ", "a@x.com"], "phone": ["1", "2", None],
                            "city": ["Rome", "Rome", "Rome"]}, index=["10", "11", "12"])
    table, differing = logic.side_by_side(records, ["11", "10", "99"])
    assert list(table.columns) == ["11", "10"]
    assert differing == ["phone"]  # case and spaces do not count as a difference
    assert table.loc["phone", "11"] == "2"


def test_cluster_status():
    clusters = pd.DataFrame({"cluster_id": ["a", "b"]})
    decisions = pd.DataFrame({"cluster_id": ["b"], "decision": ["not_duplicate"]})
    assert list(logic.cluster_status(clusters, decisions).decision) == ["open", "not_duplicate"]
    assert list(logic.cluster_status(clusters, pd.DataFrame()).decision) == ["open", "open"]


def test_write_export_csv_and_xlsx_roundtrip():
    frame = pd.DataFrame({"record_id": ["7", "8"], "entity": ["contact"] * 2, "owner": ["ann", None],
                          "record_score": [50.0, 75.0], "reason": ["bad, really", "ünïcode"],
                          "suggested_fix": ["fix", "fix"]})
    data = logic.export_bytes(frame, "csv")
    assert data.startswith(b"\xef\xbb\xbf")  # BOM for spreadsheet apps
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str)
    assert back.columns[0] == "record_id" and list(back.reason) == ["bad, really", "ünïcode"]
    book = pd.read_excel(io.BytesIO(logic.export_bytes(frame, "xlsx")), sheet_name=None, dtype=str)
    assert list(book) == ["worklist", "by owner"]
    assert list(book["worklist"].record_id) == ["7", "8"]
    assert set(book["by owner"].owner) == {"ann", "(no owner)"}
    with pytest.raises(ValueError):
        logic.export_bytes(frame, "pdf")


def test_build_worklist_against_history(demo_history):
    store, run = demo_history.store, demo_history.run_ids[-1]
    all_findings = store.findings.of_run(run)
    work = logic.build_worklist(store, run)
    assert list(work.columns) == logic.WORKLIST_COLUMNS
    assert len(work) == len(all_findings)
    owners = work.owner.dropna().astype(int).tolist()
    assert owners == sorted(owners) and work.owner.iloc[len(owners):].isna().all()  # by owner, as numbers
    check = all_findings.check_id.value_counts().index[0]
    only = logic.build_worklist(store, run, check=check, entity="contact")
    expected = all_findings[(all_findings.check_id == check) & (all_findings.entity == "contact")]
    assert sorted(only.record_id) == sorted(expected.record_key)
    assert set(only.reason) == set(expected.reason)
    worst = logic.build_worklist(store, run, max_record_score=80)
    assert len(worst) and (worst.record_score <= 80).all()
    assert len(logic.build_worklist(store, run, dimension=["freshness"], severity="medium")) == len(
        all_findings[(all_findings.dimension == "freshness") & (all_findings.severity == "medium")])
    unowned = logic.build_worklist(store, run, owner="(no owner)")
    assert unowned.owner.isna().all() and len(unowned) == all_findings.owner.isna().sum()


def test_owner_summary_counts_records_once():
    work = pd.DataFrame({"record_id": ["1", "1", "2", "1"], "entity": ["contact", "contact", "contact", "lead"],
                         "owner": ["ann", "ann", "ann", None], "record_score": [50.0, 50.0, 80.0, 90.0]})
    summary = logic.owner_summary(work).set_index("owner")
    assert summary.loc["ann", "findings"] == 3 and summary.loc["ann", "records"] == 2
    assert summary.loc["ann", "worst_record_score"] == 50.0
    assert summary.loc["(no owner)", "records"] == 1


def test_headers_are_in_one_case():
    assert logic.headers(["check_id", "what it wants", "as_of"], as_of="Measured as of") == {
        "check_id": "Check", "what it wants": "What it wants", "as_of": "Measured as of"}


def test_worst_fields_by_impact():
    scores = _scores([(1, "field", "contact", None, "email", 99.0), (1, "field", "account", None, "website", 50.0)])
    results = pd.DataFrame({
        "check_id": ["a", "b"], "entity": ["contact", "account"], "dimension": ["accuracy", "accuracy"],
        "fields": ["email", "website"], "severity": ["critical", "low"], "failed": [5_000, 1],
        "applicable": [500_000, 2], "score": [99.0, 50.0], "weight": [20.0, 1.0]})
    assert list(logic.worst_fields(scores, 1).field) == ["website", "email"]
    by_impact = logic.worst_fields(scores, 1, results=results, by="impact")
    # email's check weighs 100 (20 × critical 5) against website's 1: 1 point of 100 lost outweighs 50 of 1.
    assert list(by_impact.field) == ["email", "website"]
    assert by_impact.impact.sum() == pytest.approx(100 - (99.0 * 100 + 50.0 * 1) / 101)
