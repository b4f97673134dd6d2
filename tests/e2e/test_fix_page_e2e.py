"""The Fix package page in chromium: choose, preview, download the package as one zip; a viewer gets counts only."""

from __future__ import annotations

import io
import json
import shutil
import time
import zipfile

import pytest

from checks.config import load_config
from checks.engine import run_checks
from connectors.history import HistoryStore
from tests.dashboard.secured import PASSWORDS, secured_copy
from tests.e2e.browsing import idle
from tests.e2e.conftest import serve

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def real(demo, tmp_path_factory):
    """A copy of the demo whose newest run is real (the synthetic history's findings pass by now)."""
    folder = tmp_path_factory.mktemp("e2e-fix")
    for name in ("crm.db", "cleancrm-history.db", "cleancrm.yml"):
        shutil.copy(demo["config"].parent / name, folder / name)
    cfg = load_config(folder / "cleancrm.yml")
    return {"folder": folder, "cfg": cfg, "run": run_checks(cfg).run_id}


@pytest.fixture(scope="module")
def real_server(real, chromium_path, tmp_path_factory):
    """The dashboard on that copy, without users: this computer only, everyone admin."""
    with serve(real["folder"] / "cleancrm.yml", tmp_path_factory, "e2e-fix") as base:
        yield base


@pytest.fixture(scope="module")
def real_secured_server(real, chromium_path, tmp_path_factory):
    """The dashboard on a copy of that copy with users (vera is a viewer)."""
    path = secured_copy(real["folder"], tmp_path_factory.mktemp("e2e-fix-secured"), ["contact"], [])
    with serve(path, tmp_path_factory, "e2e-fix-secured") as base:
        yield base


def press_preview(page) -> None:
    page.get_by_role("heading", name="Fix package", level=1).wait_for()
    assert page.get_by_test_id("stDownloadButton").count() == 0  # nothing is read from the CRM before
    page.get_by_role("button", name="Preview", exact=True).click()
    idle(page)
    page.get_by_role("heading", name="By entity").wait_for(timeout=60_000)


def screenshot(page, path) -> None:
    # The app scrolls inside its own container: a taller window shows the whole page; the mouse off the buttons.
    page.set_viewport_size({"width": 1400, "height": 3400})
    page.mouse.move(0, 0)
    idle(page, 1.0)
    assert page.get_by_test_id("stException").count() == 0
    page.screenshot(path=str(path), full_page=True)


def test_preview_and_download_a_fix_package(page, real, real_server, screenshots):
    page.goto(f"{real_server}/fix")
    idle(page)
    press_preview(page)
    download = page.get_by_test_id("stDownloadButton").filter(has_text="Download fix package")
    download.wait_for(timeout=60_000)
    page.get_by_role("heading", name="Changes to apply").wait_for()
    page.locator("[data-testid=stDataFrame] canvas").nth(3).wait_for(state="visible", timeout=60_000)
    assert page.get_by_test_id("stAlertContentError").count() == 0
    screenshot(page, screenshots / "fix-package.png")

    with page.expect_download() as info:
        download.locator("button").click()
    got = info.value
    assert got.suggested_filename.startswith(f"{real['cfg'].name}-run{real['run']}-")
    with open(got.path(), "rb") as fh:
        archive = zipfile.ZipFile(io.BytesIO(fh.read()))
    names = {name.split("/", 1)[1] for name in archive.namelist()}
    assert {"manifest.json", "contact.apply.csv", "contact.rollback.csv", "reasons.csv", "README.txt"} <= names
    folder = got.suggested_filename.removesuffix(".zip")
    manifest = json.loads(archive.read(f"{folder}/manifest.json"))
    assert got.suggested_filename == f"{manifest['package_id']}.zip" and manifest["run"]["id"] == real["run"]
    assert manifest["entities"]["contact"]["apply_records"] > 0
    records = page.get_by_test_id("stMetric").filter(has_text="Records to update").get_by_test_id("stMetricValue")
    assert records.inner_text() == f"{sum(e['apply_records'] for e in manifest['entities'].values()):,}"
    # Downloaded, the package is kept in the history: the next runs report what became of its changes.
    store = HistoryStore(real["cfg"].history_url())
    deadline = time.monotonic() + 20  # the click's callback runs with the rerun that follows it
    while manifest["package_id"] not in set((kept := store.fix_packages.list(real["cfg"].name)).package_id):
        assert time.monotonic() < deadline, "the downloaded package was not kept in the history"
        time.sleep(0.5)
    assert len(store.fix_packages.changes(int(kept[kept.package_id == manifest["package_id"]].id.iloc[0]))) == sum(
        e["apply_changes"] for e in manifest["entities"].values())


def test_a_viewer_sees_the_counts_and_no_download(page, real_secured_server, screenshots):
    page.goto(real_secured_server)
    idle(page)
    page.get_by_role("textbox", name="Name", exact=True).fill("vera")
    page.get_by_role("textbox", name="Password", exact=True).fill(PASSWORDS["vera"])
    page.get_by_test_id("stFormSubmitButton").locator("button").click()
    idle(page, 1.0)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Fix package", exact=True).click()
    idle(page)
    press_preview(page)
    page.get_by_text("shows you its counts only").wait_for()
    assert page.get_by_test_id("stDownloadButton").count() == 0
    assert page.get_by_role("heading", name="Changes to apply").count() == 0
    assert page.get_by_test_id("stMetric").filter(has_text="Records to update").count() == 1
    screenshot(page, screenshots / "fix-package-viewer.png")
