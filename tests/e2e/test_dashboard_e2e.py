"""Drive the running dashboard in chromium: every page, a drill-down, a worklist download, a comparison."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest

from tests.e2e.browsing import click_grid_row, idle, pick

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PAGES = {"overview": "", "trends": "trends", "impact": "impact", "records": "records", "duplicates": "duplicates",
         "worklists": "worklists", "runs": "runs", "profile": "profile", "incidents": "incidents",
         "configuration": "configuration", "audit": "audit"}
# What shows that a page has finished drawing (charts are drawn after the script run ends).
READY = {"overview": "[data-testid=stPlotlyChart] .main-svg", "trends": "[data-testid=stPlotlyChart] .main-svg",
         "impact": "[data-testid=stPlotlyChart] .main-svg", "records": "[data-testid=stDataFrame] canvas",
         "duplicates": "[data-testid=stDataFrame] canvas", "worklists": "[data-testid=stDataFrame] canvas",
         "runs": "[data-testid=stDataFrame] canvas", "profile": "[data-testid=stDataFrame]",
         "incidents": "[data-testid=stAlertContainer]", "configuration": "[data-testid=stCode]",
         "audit": "h1"}


def open_page(page, server, name: str) -> None:
    page.goto(f"{server}/{PAGES[name]}")
    idle(page)
    page.get_by_role("heading", level=1).first.wait_for()
    page.locator(READY[name]).first.wait_for(state="visible", timeout=60_000)
    idle(page, 1.0)


def test_every_page_renders_and_is_screenshotted(page, server, screenshots):
    for name in PAGES:
        open_page(page, server, name)
        assert page.get_by_test_id("stException").count() == 0, name
        page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
    open_page(page, server, "overview")
    assert page.get_by_text("Data quality overview").is_visible()
    assert page.get_by_text("Phone and country clean-up").first.is_visible()  # the annotation on the trend


def test_drill_into_a_check_and_a_record(page, server, demo, screenshots):
    store, run = demo["store"], demo["runs"][-1]
    open_page(page, server, "records")
    pick(page, "Dimension", "accuracy")
    pick(page, "Check", "accuracy.phone_valid")
    expected = store.findings.of_run(run, check_id="accuracy.phone_valid")
    assert page.get_by_text(f"{len(expected):,} findings match").is_visible()
    click_grid_row(page, 0, 0)
    page.get_by_text("Current values in the CRM", exact=True).wait_for()
    first = expected.sort_values(["entity", "record_key"]).iloc[0]
    assert page.get_by_role("heading", name=re.compile(rf"{first.entity} {first.record_key}", re.I)).is_visible()
    assert page.get_by_test_id("stException").count() == 0
    page.screenshot(path=str(screenshots / "records-drilldown.png"), full_page=True)


def test_download_a_worklist_and_check_it_against_the_history(page, server, demo, screenshots):
    store, run = demo["store"], demo["runs"][-1]
    expected = store.findings.of_run(run, check_id="completeness.required")
    open_page(page, server, "worklists")
    box = page.get_by_test_id("stMultiSelect").filter(has=page.get_by_text("Check", exact=True)).first
    box.click()
    page.get_by_role("option", name="completeness.required").first.click()
    page.keyboard.press("Escape")
    # The filter has taken effect once the Findings metric shows its count (a busy machine reruns late).
    findings = page.get_by_test_id("stMetric").filter(has_text="Findings").get_by_test_id("stMetricValue")
    findings.filter(has_text=re.compile(rf"^{len(expected):,}$")).wait_for(timeout=60_000)
    idle(page)
    page.screenshot(path=str(screenshots / "worklists-filtered.png"), full_page=True)
    with page.expect_download() as info:
        page.get_by_test_id("stDownloadButton").filter(has_text="Download CSV").locator("button").click()
    download = info.value
    assert download.suggested_filename == f"cleancrm-worklist-run{run}.csv"
    got = pd.read_csv(io.BytesIO(open(download.path(), "rb").read()), encoding="utf-8-sig", dtype=str)
    assert got.columns[0] == "record_id"
    assert {"reason", "suggested_fix", "owner"} <= set(got.columns)
    assert sorted(zip(got.entity, got.record_id, strict=True)) == sorted(
        zip(expected.entity, expected.record_key, strict=True))
    assert set(got.check_id) == {"completeness.required"}
    assert set(got.suggested_fix) == set(expected.suggestion)


def test_compare_two_runs(page, server, demo, screenshots):
    store, runs = demo["store"], demo["runs"]
    open_page(page, server, "impact")
    page.get_by_test_id("stRadio").get_by_text("Two runs").click()
    idle(page)
    pick(page, "Before", f"#{runs[0]} ")
    pick(page, "After", f"#{runs[-1]} ")
    compared = store.findings.compare(runs[0], runs[-1])
    fixed = page.get_by_test_id("stMetric").filter(has_text="Records fixed")
    assert f"{int(compared.fixed.sum()):,}" in fixed.inner_text()
    newly = page.get_by_test_id("stMetric").filter(has_text="Newly failing")
    assert f"{int(compared.newly_failing.sum()):,}" in newly.inner_text()
    page.screenshot(path=str(screenshots / "impact-two-runs.png"), full_page=True)
    with page.expect_download() as info:
        page.get_by_test_id("stDownloadButton").filter(has_text="Export CSV").locator("button").click()
    table = pd.read_csv(info.value.path(), encoding="utf-8-sig")
    assert int(table[table.check_id != "(all)"].fixed.sum()) == int(compared.fixed.sum())
