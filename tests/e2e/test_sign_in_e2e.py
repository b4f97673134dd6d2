"""Drive the dashboard with users in chromium: signing in, masking per role, refused and audited exports, expiry."""

from __future__ import annotations

import io
import re
import time

import pandas as pd
import pytest

from tests.dashboard.secured import PASSWORDS
from tests.e2e.browsing import grid_cells, idle, pick

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def sign_in(page, base: str, name: str, password: str | None = None) -> None:
    """Open the dashboard and sign in through its form."""
    page.goto(base)
    idle(page)
    page.get_by_test_id("stFormSubmitButton").wait_for()
    page.get_by_role("textbox", name="Name", exact=True).fill(name)
    page.get_by_role("textbox", name="Password", exact=True).fill(PASSWORDS[name] if password is None else password)
    page.get_by_test_id("stFormSubmitButton").locator("button").click()
    idle(page, 1.0)


def go(page, title: str, ready: str = "[data-testid=stDataFrame] canvas") -> None:
    """Open a page from the sidebar: the session (and the sign-in) lives in this browser tab."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    idle(page)
    page.locator(ready).first.wait_for(state="visible", timeout=60_000)
    idle(page, 1.0)


def raw_emails(secured) -> set[str]:
    findings = secured["store"].findings.of_run(secured["run"])
    return set(findings[findings.field == "email"].value.dropna())


def test_sign_in_with_a_good_and_a_bad_password(page, secured_server, secured, screenshots):
    page.goto(secured_server)
    idle(page)
    page.get_by_test_id("stFormSubmitButton").wait_for()
    page.get_by_text("Sign-ins are recorded", exact=False).wait_for()
    idle(page)
    assert page.get_by_test_id("stSidebarNav").count() == 0  # no page but this one before signing in
    page.screenshot(path=str(screenshots / "sign-in.png"), full_page=True)
    sign_in(page, secured_server, "vera", "wrong-password")
    assert page.get_by_text("Unknown name or wrong password.").is_visible()
    assert page.get_by_test_id("stMetric").count() == 0
    sign_in(page, secured_server, "vera")
    page.get_by_role("heading", name="Data quality overview").wait_for()
    assert page.get_by_text("Signed in as vera (viewer)", exact=False).is_visible()
    log = secured["store"].audit.list(secured["cfg"].name)
    failed = log[log.action == "sign_in_failed"]
    assert "vera" in set(failed.actor) and "wrong-password" not in " ".join(log.detail)
    assert ((log.action == "sign_in") & (log.actor == "vera")).any()


def test_a_viewer_sees_masked_records_and_is_refused_exports(page, secured_server, secured, screenshots):
    sign_in(page, secured_server, "vera")
    go(page, "Records")
    pick(page, "Check", "accuracy.email_syntax")
    cells = grid_cells(page)
    assert any("•••" in c for c in cells)
    html = page.content()
    assert not [e for e in raw_emails(secured) if e in html]  # no raw email of the demo anywhere on the page
    page.screenshot(path=str(screenshots / "records-viewer.png"), full_page=True)
    go(page, "Worklists")
    assert page.get_by_test_id("stDownloadButton").count() == 0
    assert page.get_by_text("Exports and downloads need the steward or admin role").is_visible()
    page.get_by_test_id("stDataFrame").last.hover()
    idle(page)
    assert page.get_by_role("button", name="Search").first.is_visible()  # the table's toolbar is shown …
    assert not page.get_by_role("button", name="Download as CSV").first.is_visible()  # … without its export


def test_a_steward_sees_their_records_and_the_download_is_audited(page, secured_server, secured, screenshots):
    findings = secured["store"].findings.of_run(secured["run"])
    findings = findings[findings.check_id.isin(["accuracy.email_syntax", "duplication.exact_email"])]
    mine = findings[(findings.entity == "contact") & (findings.owner == secured["owner"]) & findings.value.notna()]
    check = mine.check_id.value_counts().index[0]  # an email check with findings of the granted owner
    sign_in(page, secured_server, "sam")
    go(page, "Records")
    pick(page, "Check", check)
    cells = grid_cells(page)
    assert any("•••" in c for c in cells)  # other owners' contacts, and leads
    assert set(mine[mine.check_id == check].value) & set(cells)  # the granted owner's contacts unmasked
    page.screenshot(path=str(screenshots / "records-steward.png"), full_page=True)

    go(page, "Worklists")
    before = len(secured["store"].audit.list(secured["cfg"].name, "export"))
    with page.expect_download() as info:
        page.get_by_test_id("stDownloadButton").filter(has_text="Download CSV").locator("button").click()
    got = pd.read_csv(io.BytesIO(open(info.value.path(), "rb").read()), encoding="utf-8-sig", dtype=str)
    idle(page)
    emails = got[(got.field == "email") & got.current_value.notna()]
    granted = (emails.entity == "contact") & (emails.owner == secured["owner"])
    assert granted.any() and not emails[granted].current_value.str.contains("•••").any()
    assert emails[~granted].current_value.str.contains("•••").all()
    deadline = time.monotonic() + 20  # the click's callback runs with the rerun that follows it
    while len(exports := secured["store"].audit.list(secured["cfg"].name, "export")) == before:
        assert time.monotonic() < deadline, "the download was not recorded in the audit log"
        time.sleep(0.5)
    entry = exports.iloc[0]
    assert entry.actor == "sam" and int(entry.records) == len(got)
    assert '"what": "worklist"' in entry.detail and '"format": "csv"' in entry.detail


def test_an_admin_sees_records_unmasked_and_the_audit_log(page, secured_server, secured, screenshots):
    sign_in(page, secured_server, "ann")
    go(page, "Records")
    pick(page, "Check", "accuracy.email_syntax")
    cells = grid_cells(page)
    assert not any("•••" in c for c in cells) and set(cells) & raw_emails(secured)
    page.screenshot(path=str(screenshots / "records-admin.png"), full_page=True)
    go(page, "Audit log")
    assert page.get_by_test_id("stDownloadButton").filter(has_text="Download CSV").count() == 1
    assert "sign_in" in grid_cells(page)
    page.screenshot(path=str(screenshots / "audit-log.png"), full_page=True)


def test_a_session_ends_after_the_configured_minutes(page, short_session_server):
    base, cfg = short_session_server
    assert cfg.dashboard.session_minutes == 1
    sign_in(page, base, "vera")
    page.get_by_role("heading", name="Data quality overview").wait_for()
    time.sleep(61)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Trends", exact=True).click()
    idle(page)
    page.get_by_role("heading", name="Sign in").wait_for()
    assert page.get_by_text(re.compile(r"Your session ended after 1 minute\(s\)")).is_visible()
    assert page.get_by_test_id("stSidebarNav").count() == 0
