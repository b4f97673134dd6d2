"""Signing in and each role's pages through Streamlit's AppTest, on a copy of the demo history with users."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from checks.config import load_config
from connectors.history import HistoryStore
from dashboard import gate, launch
from tests.dashboard.secured import PASSWORDS, busiest_owner, secured_copy

APP = str(launch.APP)


@pytest.fixture()
def secured(demo_history, tmp_path):
    """A config with ann (admin), sam (steward of the contacts of one owner) and vera (viewer)."""
    owner = busiest_owner(demo_history.store.findings.of_run(demo_history.run_ids[-1]))
    path = secured_copy(demo_history.pristine, tmp_path / "secured", ["contact"], [owner])
    cfg = load_config(path)
    return {"path": path, "cfg": cfg, "store": HistoryStore(cfg.history_url()), "owner": owner,
            "run": demo_history.run_ids[-1]}


def start(monkeypatch, config) -> AppTest:
    monkeypatch.setenv("CLEANCRM_CONFIG", str(config))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def sign_in(at: AppTest, name: str, password: str | None = None) -> AppTest:
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(PASSWORDS[name] if password is None else password)
    at.button(key="sign_in_submit").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def signed_in(monkeypatch, secured, name: str, page: str | None = None) -> AppTest:
    at = sign_in(start(monkeypatch, secured["path"]), name)
    if page:
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, [e.message for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [i.value for i in at.info] + [c.value for c in at.caption]
    parts += [w.value for w in at.warning] + [e.value for e in at.error] + [s.value for s in at.success]
    return "\n".join(str(p) for p in parts)


def email_rows(at: AppTest, check: str = "accuracy.email_syntax"):
    at.selectbox(key="rec_check").set_value(check).run()
    table = at.dataframe[0].value
    return table[table.field == "email"]


def test_the_sign_in_page_comes_before_any_other(monkeypatch, secured):
    at = start(monkeypatch, secured["path"])
    assert [t.value for t in at.title] == ["Sign in"]
    assert not at.metric and not at.dataframe  # no score, no record before signing in
    with pytest.raises(ValueError, match=r"Known pages: .*sign_in.py'\]"):  # no other page exists until then
        at.switch_page("app_pages/records.py")


def test_a_wrong_password_is_refused_and_audited(monkeypatch, secured):
    at = sign_in(start(monkeypatch, secured["path"]), "vera", "not-her-password")
    assert "Unknown name or wrong password" in texts(at)
    assert [t.value for t in at.title] == ["Sign in"]
    sign_in(at, "mallory", "guess")
    log = secured["store"].audit.list(secured["cfg"].name)
    assert list(log.action) == ["sign_in_failed", "sign_in_failed"]
    assert list(log.actor) == ["mallory", "vera"]  # newest first
    assert "not-her-password" not in " ".join(log.detail)


def test_a_viewer_sees_masked_records_and_no_export(monkeypatch, secured):
    at = signed_in(monkeypatch, secured, "vera", "records")
    assert [t.value for t in at.title] == ["Records to fix"]
    assert "Signed in as **vera** (viewer)" in texts(at)
    rows = email_rows(at)
    assert len(rows) and rows.value.str.contains("•••").all()
    raw = set(secured["store"].findings.of_run(secured["run"], check_id="accuracy.email_syntax").value.dropna())
    assert not set(rows.value) & raw
    assert at.text_input(key="rec_search").disabled  # a search by value would tell what the masks hide

    at.switch_page("app_pages/worklists.py").run()
    assert not at.get("download_button")
    assert "Exports and downloads need the steward or admin role; you are signed in as viewer." in texts(at)
    preview = at.dataframe[-1].value
    emails = preview[preview.field == "email"].current_value.dropna()
    assert len(emails) and emails.str.contains("•••").all()

    at.switch_page("app_pages/duplicates.py").run()
    assert "Duplicate decisions need the steward or admin role" in texts(at)
    assert not [b for b in at.button if b.label in ("Confirm duplicate", "Not a duplicate")]
    side = at.dataframe[1].value
    assert side.loc["email"].str.contains("•••").all()

    at.switch_page("app_pages/impact.py").run()
    assert not at.get("download_button") and "Exports and downloads need" in texts(at)
    at.switch_page("app_pages/runs.py").run()
    assert not [b for b in at.button if b.key == "run_now"]
    assert "Starting a run need the admin role" in texts(at)
    assert secured["store"].audit.list(secured["cfg"].name, "sign_in").actor.tolist() == ["vera"]


def test_a_steward_sees_only_their_grants_unmasked(monkeypatch, secured):
    at = signed_in(monkeypatch, secured, "sam", "records")
    for check in ("accuracy.email_syntax", "completeness.contactability"):
        rows = email_rows(at, check)
        mine = (rows.entity == "contact") & (rows.owner == secured["owner"])
        masked = rows.value.fillna("").str.contains("•••")
        assert mine.any() and (~mine).any(), check
        assert not masked[mine].any() and masked[~mine & rows.value.notna()].all(), check

    at.switch_page("app_pages/worklists.py").run()
    assert len(at.get("download_button")) == 2
    preview = at.dataframe[-1].value
    emails = preview[(preview.field == "email") & preview.current_value.notna()]
    granted = (emails.entity == "contact") & (emails.owner.astype(str) == secured["owner"])  # ids shown as numbers
    assert not emails[granted].current_value.str.contains("•••").any()
    assert emails[~granted].current_value.str.contains("•••").all()

    at.switch_page("app_pages/duplicates.py").run()
    assert not [t for t in at.text_input if t.label == "Your name"]
    at.button[1].click().run()  # "Not a duplicate" on the first cluster, under sam's own name
    decisions = secured["store"].decisions.list(secured["cfg"].name)
    assert list(decisions.decided_by) == ["sam"]
    entry = secured["store"].audit.list(secured["cfg"].name, "decision").iloc[0]
    assert entry.actor == "sam" and '"decision": "not_duplicate"' in entry.detail


def test_an_admin_sees_everything_and_the_audit_log(monkeypatch, secured):
    at = signed_in(monkeypatch, secured, "ann", "records")
    rows = email_rows(at)
    assert not rows.value.str.contains("•••").any()
    at.switch_page("app_pages/audit.py").run()
    assert [t.value for t in at.title] == ["Audit log"]
    log = at.dataframe[0].value
    assert list(log.action)[:1] == ["sign_in"] and list(log.actor)[:1] == ["ann"]
    assert len(at.get("download_button")) == 1
    at.selectbox(key="audit_action").set_value("sign_in_failed").run()
    assert "Nothing recorded yet" in texts(at)

    at.switch_page("app_pages/configuration.py").run()
    shown = at.code[0].value
    assert "password_hash: •••" in shown and "$2b$" not in shown
    assert "sam" in at.dataframe[0].value.name.tolist()
    at.switch_page("app_pages/runs.py").run()
    assert [b for b in at.button if b.key == "run_now"]


@pytest.mark.parametrize("name", ["sam", "vera"])
def test_only_admins_have_the_audit_and_configuration_pages(monkeypatch, secured, name):
    at = signed_in(monkeypatch, secured, name)
    for page in ("audit", "configuration"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"app_pages/{page}.py")


def test_a_session_expires_after_the_configured_minutes(monkeypatch, secured):
    at = signed_in(monkeypatch, secured, "vera")
    assert at.metric  # the overview
    minutes = secured["cfg"].dashboard.session_minutes
    at.session_state[gate.SINCE_KEY] = gate.now() - timedelta(minutes=minutes, seconds=1)
    at.run()
    assert [t.value for t in at.title] == ["Sign in"]
    assert f"Your session ended after {minutes} minute(s)" in texts(at)
    ended = secured["store"].audit.list(secured["cfg"].name, "sign_out").iloc[0]
    assert ended.actor == "vera" and '"reason": "expired"' in ended.detail


def test_a_person_removed_from_the_config_loses_access_at_once(monkeypatch, secured):
    at = signed_in(monkeypatch, secured, "sam")
    data = yaml.safe_load(secured["path"].read_text())
    data["dashboard"]["users"] = [u for u in data["dashboard"]["users"] if u["name"] != "sam"]
    secured["path"].write_text(yaml.safe_dump(data, sort_keys=False))
    at.run()
    assert [t.value for t in at.title] == ["Sign in"]
    assert "Your access was withdrawn" in texts(at)


def test_signing_out_returns_to_the_sign_in_page(monkeypatch, secured):
    at = signed_in(monkeypatch, secured, "sam")
    at.button(key="sign_out").click().run()
    assert [t.value for t in at.title] == ["Sign in"]
    assert secured["store"].audit.list(secured["cfg"].name, "sign_out").actor.tolist() == ["sam"]


def test_without_users_this_computer_is_admin_and_the_sidebar_says_so(monkeypatch, demo_history):
    at = start(monkeypatch, demo_history.config_path)
    assert "No users configured" in texts(at) and "serves this computer only" in texts(at)
    assert not [b for b in at.button if b.key == "sign_out"]
    at.switch_page("app_pages/audit.py").run()
    assert [t.value for t in at.title] == ["Audit log"]


def test_a_viewer_sees_the_profile_with_personal_values_masked(monkeypatch, secured):
    at = signed_in(monkeypatch, secured, "vera", "profile")
    columns = at.dataframe[0].value.set_index("column")
    email_column = secured["cfg"].entities["contact"].fields["email"]
    assert columns.loc[email_column, "top values"] and "•••" in columns.loc[email_column, "top values"]
    assert "@" not in columns.loc[email_column, "max"].replace("•••", "")
    assert "personal data are masked" in texts(at)
