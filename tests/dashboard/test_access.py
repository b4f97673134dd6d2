"""The role rules, sign-in checks, masking per person, the redacted config and the bind address, without streamlit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import bcrypt
import pandas as pd
import pytest

from checks.config import parse_config
from dashboard import access, config_view, identity, launch, privacy
from dashboard.access import Person

ADMIN = Person("ann", "admin")
VIEWER = Person("vera", "viewer")
STEWARD = Person("sam", "steward", entities=frozenset({"contact"}), owners=frozenset({"7"}))
OPEN_STEWARD = Person("sue", "steward")


def test_what_each_role_may_do():
    assert [a for a in access.ACTIONS if access.may(VIEWER, a)] == []
    assert [a for a in access.ACTIONS if access.may(STEWARD, a)] == ["export", "decide", "incident"]
    assert [a for a in access.ACTIONS if access.may(ADMIN, a)] == list(access.ACTIONS)
    assert not access.may(None, "export")
    assert not access.may(Person("x", "superuser"), "export")  # an unknown role may nothing
    with pytest.raises(ValueError):
        access.may(ADMIN, "delete")
    assert access.lowest_role("export") == "steward" and access.lowest_role("audit") == "admin"
    assert access.refusal(VIEWER, "export") == ("Exports and downloads need the steward or admin role; "
                                                "you are signed in as viewer.")
    assert "need the admin role" in access.refusal(STEWARD, "run")


def test_whose_records_each_role_sees_unmasked():
    assert access.sees_unmasked(ADMIN, "lead", None)
    assert not access.sees_unmasked(VIEWER, "contact", "7")
    assert not access.sees_unmasked(None, "contact", "7")
    assert access.sees_unmasked(STEWARD, "contact", "7")
    assert access.sees_unmasked(STEWARD, "contact", 7)  # owner ids compare as text
    assert not access.sees_unmasked(STEWARD, "contact", "8")  # another owner
    assert not access.sees_unmasked(STEWARD, "lead", "7")  # another entity
    assert not access.sees_unmasked(STEWARD, "contact", None)  # no owner: not granted
    assert access.sees_unmasked(OPEN_STEWARD, "lead", None)  # nothing listed: everything
    only_leads = Person("li", "steward", entities=frozenset({"lead"}))
    assert access.sees_unmasked(only_leads, "lead", None) and not access.sees_unmasked(only_leads, "contact", "7")
    assert access.sees_all_unmasked(ADMIN) and access.sees_all_unmasked(OPEN_STEWARD)
    assert not access.sees_all_unmasked(STEWARD) and not access.sees_all_unmasked(VIEWER)


def test_people_from_the_config_and_on_this_computer():
    user = SimpleNamespace(name="sam", role="steward", entities=["contact"], owners=["7", "9"])
    assert access.from_user(user) == Person("sam", "steward", frozenset({"contact"}), frozenset({"7", "9"}))
    local = access.local_admin()
    assert local.role == "admin" and local.method == "local" and local.name.startswith("local:")


def _users(**hashes):
    return [SimpleNamespace(name=n, role="viewer", entities=[], owners=[], password_hash=h) for n, h in hashes.items()]


def test_passwords_are_checked_against_bcrypt_hashes():
    good = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(4)).decode()
    users = _users(vera=good, nohash=None, typo="$2b$04$not-a-hash")
    assert identity.authenticate(users, "vera", "s3cret") == Person("vera", "viewer")
    assert identity.authenticate(users, " vera ", "s3cret").name == "vera"  # spaces around the name
    assert identity.authenticate(users, "vera", "S3cret") is None
    assert identity.authenticate(users, "Vera", "s3cret") is None  # names are exact
    assert identity.authenticate(users, "nobody", "s3cret") is None
    assert identity.authenticate(users, "nohash", "") is None  # no hash: cannot sign in at all
    assert identity.authenticate(users, "typo", "x") is None  # a malformed hash refuses, never fails
    assert identity.authenticate(users, "vera", "x" * 100) is None  # over bcrypt's 72 bytes
    assert identity.authenticate(users, "nobody", "x" * 100) is None


def test_oidc_addresses_get_their_configured_role():
    roles = {"Vera@Acme.com": "viewer", "ann@acme.com": "admin"}
    assert identity.oidc_person("vera@acme.com", roles) == Person("vera@acme.com", "viewer", method="oidc")
    assert identity.oidc_person(" ANN@acme.com ", roles).role == "admin"
    assert identity.oidc_person("mallory@acme.com", roles) is None  # signed in at the provider is not enough
    assert identity.oidc_person(None, roles) is None
    assert identity.oidc_person("vera@acme.com", {}) is None


def test_sessions_expire_after_the_configured_minutes():
    start = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
    assert identity.expires_at(start, 30) == start + timedelta(minutes=30)
    assert not identity.expired(start, 30, start + timedelta(minutes=29, seconds=59))
    assert identity.expired(start, 30, start + timedelta(minutes=30))


FINDINGS = pd.DataFrame({
    "entity": ["contact", "contact", "lead", "contact"],
    "owner": ["7", "8", "7", None],
    "field": ["email", "email", "phone", "country"],
    "value": ["jane.doe@acme.com", "bob@acme.com", "+1 415 555 0132", "Germany"],
    "suggestion": ["jane.doe@acme.com", None, "+14155550132", "DE"],
})


def test_findings_are_masked_per_record_the_person_may_not_see():
    assert privacy.findings(ADMIN, FINDINGS) is FINDINGS
    viewer = privacy.findings(VIEWER, FINDINGS)
    assert list(viewer.value) == ["j•••@acme.com", "b•••@acme.com", "+1 ••• ••• 0132", "Germany"]
    assert viewer.suggestion.iat[0] == "j•••@acme.com" and viewer.suggestion.iat[3] == "DE"
    steward = privacy.findings(STEWARD, FINDINGS)
    assert list(steward.value) == ["jane.doe@acme.com", "b•••@acme.com", "+1 ••• ••• 0132", "Germany"]
    assert FINDINGS.value.iat[1] == "bob@acme.com"  # the input is left as it was
    one = FINDINGS.drop(columns=["entity", "owner"]).head(1)
    assert privacy.findings(STEWARD, one, "contact", "7").value.iat[0] == "jane.doe@acme.com"
    assert privacy.findings(STEWARD, one, "contact", 8.0).value.iat[0] == "j•••@acme.com"


def test_worklists_and_crm_values_are_masked_too():
    work = FINDINGS.rename(columns={"value": "current_value", "suggestion": "suggested_fix"})
    shown = privacy.worklist(STEWARD, work)
    assert list(shown.columns) == list(work.columns)
    assert list(shown.current_value) == ["jane.doe@acme.com", "b•••@acme.com", "+1 ••• ••• 0132", "Germany"]
    values = pd.DataFrame({"field": ["email", "phone:mobile", "city"], "value": ["a@b.co", "+44 20 7946 0958", "Rome"]})
    assert list(privacy.record_values(VIEWER, "contact", "7", values).value) == ["a•••@b.co", "+44 ••• ••• 0958", "Rome"]
    assert privacy.record_values(STEWARD, "contact", 7.0, values) is values


def test_duplicates_are_masked_per_member():
    records = pd.DataFrame({"email": ["a@x.com", "b@x.com"], "owner_id": [7.0, 8.0]}, index=["10", "11"])
    owners = privacy.record_owners(records)
    assert owners == {"10": "7", "11": "8"}
    side = records.T.astype(str)
    shown = privacy.side_by_side(STEWARD, "contact", side, owners)
    assert shown.loc["email", "10"] == "a@x.com" and shown.loc["email", "11"] == "b•••@x.com"
    plan = pd.DataFrame({"field": ["email", "phone"], "keep_value": ["b@x.com", "+1 415 555 0132"],
                         "from_key": ["11", "10"], "why": ["newest", "valid"]})
    kept = privacy.merge_plan(STEWARD, "contact", plan, owners)
    assert list(kept.keep_value) == ["b•••@x.com", "+1 415 555 0132"]
    assert privacy.merge_plan(VIEWER, "contact", plan, {}).keep_value.iat[1] == "+1 ••• ••• 0132"
    assert privacy.record_owners(records.drop(columns="owner_id")) == {}


def test_the_configuration_view_hides_every_secret():
    cfg = parse_config({
        "name": "acme",
        "source": {"url": "postgresql+psycopg://ro:pa55word@db.internal:5432/crm"},
        "history": {"url": "postgresql+psycopg://hist:h1st@db.internal/history?sslmode=require&password=q"},
        "entities": {"contact": {"table": "contacts", "key": "id", "fields": {"email": "email"}}},
        "alerts": {"channels": {"slack": {"type": "webhook", "url": "https://hooks.slack.com/services/T0/B0/XyZ"},
                                "mail": {"type": "email", "smtp_host": "smtp", "password": "m41l"}}},
        "dashboard": {"users": [{"name": "ann", "role": "admin", "password_hash": "$2b$12$abcdefghijklmnopqrstuv"}]},
    })
    text = config_view.redacted_yaml(cfg)
    for secret in ("pa55word", "h1st", "password=q", "XyZ", "services", "m41l", "$2b$"):
        assert secret not in text, secret
    data = config_view.redacted(cfg)
    assert data["source"]["url"] == "postgresql+psycopg://ro:***@db.internal:5432/crm"
    assert data["alerts"]["channels"]["slack"]["url"] == "https://hooks.slack.com/•••"
    assert data["dashboard"]["users"][0]["password_hash"] == "•••"
    assert data["dashboard"]["users"][0]["name"] == "ann" and data["name"] == "acme"
    assert config_view.redact_url("https://example.com") == "https://example.com"  # nothing secret in it


def test_the_bind_address_needs_users_unless_it_is_this_computer(tmp_path):
    for local in ("127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"):
        assert launch.is_local(local), local
    for shared in ("0.0.0.0", "::", "10.0.0.5", "crm-dashboard.internal"):
        assert not launch.is_local(shared), shared
    assert launch.bind_refusal("127.0.0.1", users=0, oidc=False) is None
    assert launch.bind_refusal("0.0.0.0", users=2, oidc=False) is None
    assert launch.bind_refusal("0.0.0.0", users=0, oidc=True) is None
    refused = launch.bind_refusal("0.0.0.0", users=0, oidc=False, where="--address")
    assert refused.startswith("--address: 0.0.0.0 would serve other computers") and "\n" not in refused
    secrets = tmp_path / ".streamlit" / "secrets.toml"
    assert not launch.oidc_configured([secrets])
    secrets.parent.mkdir()
    secrets.write_text("[connections.crm]\nurl = 'x'\n")
    assert not launch.oidc_configured([secrets])
    secrets.write_text("[auth]\nredirect_uri = 'http://localhost:8501/oauth2callback'\n")
    assert launch.oidc_configured([tmp_path / "absent.toml", secrets])
    assert launch.secrets_files(tmp_path, tmp_path / "home") == [secrets, tmp_path / "home" / ".streamlit" / "secrets.toml"]


def test_the_launch_command_binds_to_the_address_asked_for(tmp_path):
    default = launch.streamlit_command(tmp_path / "c.yml")
    assert default[default.index("--server.address") + 1] == "127.0.0.1"  # the project's config: this computer
    shared = launch.streamlit_command(tmp_path / "c.yml", address="0.0.0.0")
    assert shared.count("--server.address") == 1 and shared[shared.index("--server.address") + 1] == "0.0.0.0"
