"""The real dashboard (`streamlit run` on a free port) driven by Debian's chromium through Playwright.

The tests skip when /usr/bin/chromium is absent, unless CLEANCRM_REQUIRE_SERVERS=1 (CI), where they
fail. Screenshots of every page go to test-artifacts/screenshots/ (git-ignored). Besides the
dashboard without users (this computer only), two servers have users who sign in: one with the
default session length, one whose sessions end after a minute.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from checks.config import load_config
from connectors.history import HistoryStore
from dashboard.launch import streamlit_command
from tests.dashboard.secured import busiest_owner, secured_copy
from tests.support.synthetic_history import demo_with_history

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} not found; install it with `apt-get install -y chromium`"
        if os.environ.get("CLEANCRM_REQUIRE_SERVERS") == "1":
            pytest.fail(f"{message} (CLEANCRM_REQUIRE_SERVERS=1, so this fails instead of skipping)", pytrace=False)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    config, store, ids = demo_with_history(tmp_path_factory.mktemp("e2e-demo"))
    return {"config": config, "store": store, "runs": ids}


@contextmanager
def serve(config: Path, tmp_path_factory, name: str):
    """Run `streamlit run` on `config` on a free port until the block ends; yields its base URL."""
    port = _free_port()
    log = tmp_path_factory.mktemp(f"{name}-log") / "streamlit.log"
    cmd = streamlit_command(config, port=port, headless=True, address="127.0.0.1")
    cwd = tmp_path_factory.mktemp(f"{name}-cwd")  # not the checkout: the theme must come from the flags
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start (exit {proc.poll()}):\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def server(demo, chromium_path, tmp_path_factory):
    """The dashboard on the demo without users: this computer only, everyone admin."""
    with serve(demo["config"], tmp_path_factory, "e2e") as base:
        yield base


@pytest.fixture(scope="session")
def secured(demo, tmp_path_factory):
    """A copy of the demo with ann (admin), sam (steward of one owner's contacts) and vera (viewer)."""
    owner = busiest_owner(demo["store"].findings.of_run(demo["runs"][-1]))
    path = secured_copy(demo["config"].parent, tmp_path_factory.mktemp("e2e-secured"), ["contact"], [owner])
    cfg = load_config(path)
    return {"config": path, "cfg": cfg, "store": HistoryStore(cfg.history_url()), "owner": owner,
            "run": demo["runs"][-1]}


@pytest.fixture(scope="session")
def secured_server(secured, chromium_path, tmp_path_factory):
    """The dashboard on the copy with users: the sign-in page first."""
    with serve(secured["config"], tmp_path_factory, "e2e-secured") as base:
        yield base


@pytest.fixture(scope="session")
def short_session_server(demo, chromium_path, tmp_path_factory):
    """The dashboard with users whose sessions end after one minute; yields (base URL, config)."""
    path = secured_copy(demo["config"].parent, tmp_path_factory.mktemp("e2e-short"), ["contact"], [],
                        session_minutes=1)
    with serve(path, tmp_path_factory, "e2e-short") as base:
        yield base, load_config(path)


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, tmp_path):
    context = browser.new_context(viewport={"width": 1400, "height": 1800}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
