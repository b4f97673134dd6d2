"""Passwords stay out of files, output, logs, the history and the dashboard.

A demo CRM on PostgreSQL, read by a login with a password: `cleancrm init` gets the password in
`--url` and writes `${CLEANCRM_SOURCE_PASSWORD}` instead; every later command gets it from the
environment. The password's text is then looked for everywhere a user or an attacker could read
it. (PostgreSQL here trusts local logins, so any password works: what counts is its text.)
"""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import warnings
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from checks.app.cli import app
from checks.config import load_config, parse_config, refuse_literal_passwords
from connectors.errors import ConfigError

pytestmark = pytest.mark.postgres

CLEANCRM = Path(sys.executable).with_name("cleancrm")
AS_OF = "2026-11-23"
VARIABLE = "CLEANCRM_SOURCE_PASSWORD"
runner = CliRunner()


def sh(*args, env: dict | None = None) -> subprocess.CompletedProcess:
    """The executable with `env` added to this environment (less the password variable, unless given)."""
    base = {k: v for k, v in os.environ.items() if k != VARIABLE}
    return subprocess.run([str(CLEANCRM), *map(str, args)], capture_output=True, text=True, timeout=300,
                          env={**base, **(env or {})})


class Leaks:
    """Where the password was seen, by place."""

    def __init__(self, password: str):
        self.password = password
        self.places: list[str] = []
        self.looked: list[str] = []

    def look(self, place: str, text: str | bytes) -> None:
        needle = self.password.encode() if isinstance(text, bytes) else self.password
        self.looked.append(place)
        if needle in text:
            self.places.append(place)

    def look_proc(self, place: str, proc: subprocess.CompletedProcess) -> None:
        self.look(f"{place} stdout", proc.stdout)
        self.look(f"{place} stderr", proc.stderr)


@pytest.fixture(scope="module")
def crm(pg_server, tmp_path_factory):
    """(folder, select-only URL with its password, the password): the demo CRM on PostgreSQL, `init` run on it."""
    from checks.demo import build_tables
    from checks.demo.export import shape_tables, write_shape

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        tables = build_tables(300, 13, datetime(2026, 6, 1)).tables
    admin_url = pg_server.new_database("secrets")
    write_shape(admin_url, shape_tables(tables, "demo"))
    ro_url = pg_server.readonly_user(admin_url)
    password = make_url(ro_url).password
    assert password and len(password) >= 12
    folder = tmp_path_factory.mktemp("secrets")
    init = sh("init", "--url", ro_url, "--out", folder / "cleancrm.yml")
    assert init.returncode == 0, init.stderr
    return folder, ro_url, password, init


def test_init_writes_a_reference_not_the_password(crm):
    folder, ro_url, password, init = crm
    config = folder / "cleancrm.yml"
    text = config.read_text()
    assert password not in text and password not in init.stdout and password not in init.stderr
    url = yaml.safe_load(text)["source"]["url"]
    assert url == ro_url.replace(password, f"${{{VARIABLE}}}")
    assert f"export {VARIABLE}" in init.stderr
    assert stat.S_IMODE(config.stat().st_mode) == 0o600


def test_init_over_an_existing_file_makes_it_private_too(crm, tmp_path):
    _, ro_url, password, _ = crm
    out = tmp_path / "x.yml"
    out.write_text("old")
    out.chmod(0o644)
    assert sh("init", "--url", ro_url, "--out", out).returncode == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and password not in out.read_text()


def test_a_literal_password_in_the_config_is_refused(crm, tmp_path):
    folder, ro_url, password, _ = crm
    data = yaml.safe_load((folder / "cleancrm.yml").read_text())
    data["source"]["url"] = ro_url
    path = tmp_path / "cleancrm.yml"
    path.write_text(yaml.safe_dump(data))
    proc = sh("run", "--config", path)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: source.url: holds a literal password")
    assert f"${{{VARIABLE}}}" in lines[0] and f"export {VARIABLE}" in lines[0]
    assert password not in proc.stderr and password not in proc.stdout
    assert not (tmp_path / "cleancrm-history.db").exists()


@pytest.mark.parametrize(("data", "key"), [
    pytest.param({"source": {"url": "postgresql://crm:hunter2hunter2@db/crm"}}, "source.url", id="source"),
    pytest.param({"source": {"url": "postgresql://crm@db/crm?password=hunter2hunter2"}}, "source.url", id="query"),
    pytest.param({"source": {"url": "postgresql://crm:${PW:-hunter2hunter2}@db/crm"}}, "source.url", id="default"),
    pytest.param({"source": {"url": "sqlite:///crm.db"}, "history": {"url": "postgresql://h:hunter2hunter2@db/h"}},
                 "history.url", id="history"),
    pytest.param({"source": {"url": "sqlite:///crm.db"},
                  "alerts": {"channels": {"ops": {"type": "email", "password": "hunter2hunter2"}}}},
                 "alerts.channels.ops.password", id="smtp"),
])
def test_literal_passwords_are_refused_by_key(data, key):
    with pytest.raises(ConfigError) as caught:
        refuse_literal_passwords(data)
    message = str(caught.value)
    assert message.startswith(f"{key}: holds a literal password; write ") and "\n" not in message
    assert "hunter2" not in message and "export CLEANCRM_" in message


@pytest.mark.parametrize("data", [
    pytest.param({"source": {"url": "postgresql://crm:${PW}@db/crm"}}, id="reference"),
    pytest.param({"source": {"url": "postgresql://crm:${PW:-}@db/crm"}}, id="empty-default"),
    pytest.param({"source": {"url": "${CRM_URL}"}}, id="whole-url"),
    pytest.param({"source": {"url": "postgresql://crm@db/crm"}}, id="no-password"),
    pytest.param({"source": {"url": "sqlite:///folder:with:colons/crm.db"}}, id="sqlite"),
    pytest.param({"source": {"url": "mysql+pymysql://root@127.0.0.1:3306/crm"}}, id="mysql-no-password"),
    pytest.param({"alerts": {"channels": {"ops": {"type": "email", "password": "${SMTP_PASSWORD:-}"}}}},
                 id="smtp-reference"),
])
def test_references_are_accepted(data):
    refuse_literal_passwords(data)


def test_parse_config_still_takes_a_mapping_built_in_memory(crm):
    _, ro_url, _, _ = crm  # e.g. a preset's starter config on a URL from the environment: no file involved
    cfg = parse_config({"source": {"url": ro_url}, "entities": {"contact": {"table": "contacts", "key": "id"}}})
    assert cfg.source.url == ro_url


def test_the_password_appears_nowhere(crm, tmp_path, monkeypatch, caplog):
    folder, ro_url, password, init = crm
    config = folder / "cleancrm.yml"
    env = {VARIABLE: password}
    leaks = Leaks(password)
    leaks.look_proc("init", init)
    leaks.look("config written by init", config.read_bytes())

    run = sh("run", "--config", config, "--now", AS_OF, env=env)
    assert run.returncode == 0, run.stderr
    leaks.look_proc("run", run)
    as_json = sh("run", "--config", config, "--now", AS_OF, "--json", env=env)
    assert as_json.returncode == 0, as_json.stderr
    leaks.look_proc("run --json", as_json)
    for command in (("findings",), ("findings", "--format", "json"), ("duplicates",), ("runs",)):
        proc = sh(*command, "--config", config, env=env)
        assert proc.returncode == 0, proc.stderr
        leaks.look_proc(" ".join(command), proc)

    # errors: a wrong table, an unreachable server, the variable not set
    data = yaml.safe_load(config.read_text())
    wrong = {**data, "entities": {**data["entities"], "contact": {**data["entities"]["contact"], "table": "contactz"}}}
    bad = tmp_path / "wrong-table.yml"
    bad.write_text(yaml.safe_dump(wrong))
    proc = sh("run", "--config", bad, env=env)
    assert proc.returncode == 2 and "contactz" in proc.stderr
    leaks.look_proc("run on a wrong table", proc)
    down = {**data, "source": {**data["source"], "url": data["source"]["url"].replace(":5432/", ":1/")}}
    bad.write_text(yaml.safe_dump(down))
    proc = sh("run", "--config", bad, env=env)
    assert proc.returncode == 2 and "cannot connect" in proc.stderr and ":***@" in proc.stderr
    leaks.look_proc("run on an unreachable server", proc)
    proc = sh("run", "--config", config)
    assert proc.returncode == 2 and f"${{{VARIABLE}}} is not set" in proc.stderr
    leaks.look_proc("run without the variable", proc)

    # the log output of a run in this process, every logger at DEBUG (SQLAlchemy's statements too)
    monkeypatch.setenv(VARIABLE, password)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")  # the statements and their parameters
    result = runner.invoke(app, ["run", "--config", str(config), "--now", AS_OF, "--json"])
    assert result.exit_code == 0, result.output
    leaks.look("in-process run output", result.output)
    assert caplog.records, "nothing was logged: the log check would prove nothing"
    leaks.look("log records", caplog.text)

    # the history store, every byte of it
    store_file = folder / "cleancrm-history.db"
    assert store_file.exists()
    leaks.look("history database file", store_file.read_bytes())
    assert load_config(config).source.url == ro_url  # the run did use the password

    # the dashboard: every page, everything it renders
    monkeypatch.setenv("CLEANCRM_CONFIG", str(config))
    pages = sorted(p.stem for p in (Path(__file__).parents[3] / "dashboard" / "app_pages").glob("*.py"))
    rendered = {page: dashboard_text(page) for page in pages}
    assert "Overall" in rendered["overview"] and "records" in rendered  # the pages did render
    for page, text in rendered.items():
        leaks.look(f"dashboard page {page}", text)

    print(f"\nlooked in {len(leaks.looked)} places; the password was found in {len(leaks.places)}: {leaks.places}")
    assert leaks.places == []
    assert len(leaks.looked) >= 20


def dashboard_text(page: str) -> str:
    """Everything a page renders (every element's message, data frames included), and its exceptions."""
    from dashboard import launch

    at = AppTest.from_file(str(launch.APP), default_timeout=120)
    at.run()
    if page != "overview":
        try:
            at.switch_page(f"app_pages/{page}.py")
        except ValueError:  # a page the navigation does not offer here
            return ""
        at.run()
    parts = [e.message for e in at.exception]
    stack = [at._tree]
    while stack:
        node = stack.pop()
        if getattr(node, "proto", None) is not None:
            parts.append(str(node.proto))
        stack.extend(getattr(node, "children", {}).values())
    return "\n".join(parts)
