"""In chromium: one click from a number to its records, a link that can be sent, and an incident's life."""

from __future__ import annotations

import shutil
import time
from urllib.parse import parse_qs, urlparse

import pytest

from checks.config import load_config
from connectors.history import FindingFilter, HistoryStore
from dashboard import logic
from tests.e2e.browsing import idle
from tests.e2e.conftest import serve

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _filters(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def _shown_count(page) -> str:
    text = page.get_by_text(" match · showing").first.inner_text()
    return text.split(" finding")[0].strip()


def test_a_worst_check_opens_its_records_and_the_link_can_be_sent(page, browser, server, demo, screenshots):
    page.goto(server)
    idle(page)
    worst = page.get_by_test_id("stDataFrame").nth(1)  # by entity, then worst checks
    worst.scroll_into_view_if_needed()
    run = demo["runs"][-1]
    first = logic.worst_checks(demo["store"].results.check_results((run,)), by="score",
                               scoring=load_config(demo["config"]).scoring).iloc[0]
    worst.click(position={"x": 120, "y": 35 + 17})  # the first row's check cell
    page.wait_for_url("**/records?**", timeout=60_000)
    idle(page, 1.0)
    filters = _filters(page)
    assert (filters["check"], filters["entity"], filters["run"]) == (first.check_id, first.entity, str(run))
    store = demo["store"]
    expected = store.findings.of_run(int(filters["run"]), check_id=filters["check"], entity=filters["entity"])
    assert _shown_count(page) == f"{len(expected):,}"
    page.screenshot(path=str(screenshots / "records-from-worst-check.png"), full_page=True)

    # Someone else opens the link in a fresh browser: the same filters, the same records.
    other = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    other.goto(page.url)
    idle(other, 1.0)
    assert _shown_count(other) == f"{len(expected):,}"
    assert other.get_by_role("combobox", name="Check").input_value().startswith(filters["check"])
    other.context.close()


def test_a_score_opens_its_dimension(page, server, demo):
    page.goto(server)
    idle(page)
    page.get_by_role("link", name="Open records").nth(2).click()  # overall, clean records, then the first dimension
    page.wait_for_url("**/records?**", timeout=60_000)
    idle(page, 1.0)
    filters = _filters(page)
    assert set(filters) == {"run", "dimension"}
    store = demo["store"]
    count = store.findings.count(int(filters["run"]), FindingFilter(dimension=filters["dimension"]))
    assert _shown_count(page) == f"{count:,}"


@pytest.fixture(scope="module")
def with_incident(demo, chromium_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("e2e-incident")
    for name in ("crm.db", "cleancrm-history.db", "cleancrm.yml"):
        shutil.copy(demo["config"].parent / name, folder / name)
    store = HistoryStore(load_config(folder / "cleancrm.yml").history_url())
    incident, _ = store.incidents.open_for("demo", "contact-score", "score_below", "contact",
                                           "contact-score (score_below): Score of contact is 91.2, below 95",
                                           demo["runs"][-1], "local-admin")
    with serve(folder / "cleancrm.yml", tmp_path_factory, "e2e-incident") as base:
        yield {"base": base, "store": store, "incident": incident}


def test_an_incident_from_its_link_to_resolved(page, with_incident, screenshots):
    store, incident = with_incident["store"], with_incident["incident"]
    page.goto(f"{with_incident['base']}/incidents?incident={incident}")
    idle(page, 1.0)
    page.get_by_role("heading", name=f"Incident #{incident} · contact-score").wait_for()
    page.get_by_role("button", name="Acknowledge").click()
    idle(page, 1.0)
    assert store.incidents.get(incident)["status"] == "acknowledged"
    page.get_by_label("Comment, or the reason it is resolved").fill("the Monday import blanked emails; re-run")
    page.get_by_role("button", name="Resolve").click()
    deadline = time.monotonic() + 20
    while store.incidents.get(incident)["status"] != "resolved":
        assert time.monotonic() < deadline, "the incident was not resolved"
        time.sleep(0.3)
    idle(page, 1.0)
    assert store.incidents.get(incident)["resolution"] == "the Monday import blanked emails; re-run"
    page.get_by_text("Resolved by").first.wait_for()
    page.screenshot(path=str(screenshots / "incident-resolved.png"), full_page=True)
