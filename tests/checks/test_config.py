"""The config model: every error at once with its dotted location, and `${ENV}` interpolation."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.config import interpolate_env, load_config, parse_config
from connectors.errors import ConfigError

MINIMAL = {"source": {"url": "sqlite:///crm.db"},
           "entities": {"contact": {"table": "contacts", "key": "id", "fields": {"email": "email"}}}}


def errors_of(data) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    return str(caught.value).splitlines()


def test_minimal_config_parses_with_defaults():
    cfg = parse_config(MINIMAL, Path("/srv/crm"))
    assert cfg.source.statement_timeout_s == 600 and cfg.source.chunk_size == 50_000
    assert cfg.entities["contact"].fields == {"email": "email"}
    assert cfg.source_url() == "sqlite:////srv/crm/crm.db"  # relative to the config's folder
    assert cfg.history_url() == "sqlite:////srv/crm/cleancrm-history.db"


def test_all_typos_and_wrong_types_reported_at_once_with_locations():
    lines = errors_of({
        "sourc": {"url": "x"},
        "source": {"url": "sqlite:///a.db", "chunk_size": "lots", "statement_timeout_s": 0, "timeout": 3},
        "entities": {"contact": {"tabel": "c", "key": "id", "fields": {"email": {"colum": "Email"}},
                                 "required": "email"}},
        "references": [{"from": "contact.account_id"}],
        "checks": {"validity.email": {"weight": -1, "severity": "huge"}},
    })
    expected = [
        "sourc: unknown key",
        "source.timeout: unknown key",
        "source.chunk_size: Input should be a valid integer",
        "source.statement_timeout_s: Input should be greater than or equal to 1",
        "entities.contact.tabel: unknown key",
        "entities.contact.table: Field required",
        "entities.contact.fields.email.colum: unknown key",
        "entities.contact.required: Input should be a valid list",
        "references.0.to: Field required",
        "checks.validity.email.weight: Input should be greater than or equal to 0",
        "checks.validity.email.severity: Input should be 'low', 'medium', 'high' or 'critical'",
    ]
    for prefix in expected:
        assert any(line.startswith(prefix) for line in lines), (prefix, lines)
    assert all(": " in line for line in lines)
    unknown = [line for line in lines if "unknown key" in line]
    assert all(line.endswith("see cleancrm.example.yml for the keys allowed here") for line in unknown)


def test_unknown_entity_name_lists_the_allowed_ones():
    data = {**MINIMAL, "entities": {"contacts": MINIMAL["entities"]["contact"]}}
    assert errors_of(data) == ["entities: unknown entity 'contacts'; use one of contact, account, lead, opportunity, user"]


def test_fieldspec_typo_gives_only_the_real_error():
    data = {**MINIMAL, "entities": {"contact": {"table": "c", "key": "id", "fields": {"email": {"colum": "x"}}}}}
    assert errors_of(data) == ["entities.contact.fields.email.colum: unknown key; see cleancrm.example.yml for the "
                               "keys allowed here"]


def test_unknown_entity_reported_with_other_errors():
    data = {**MINIMAL, "entities": {"contacts": {"table": "c", "key": "id"}, "lead": {"key": "id"}}}
    lines = errors_of(data)
    assert any(line.startswith("entities: unknown entity 'contacts'") for line in lines)
    assert "entities.lead.table: Field required" in lines


def test_missing_env_var_names_the_variable_and_the_place(monkeypatch):
    monkeypatch.delenv("CLEANCRM_TEST_PW", raising=False)
    data = {**MINIMAL, "source": {"url": "postgresql://crm:${CLEANCRM_TEST_PW}@db/crm"}}
    assert errors_of(data) == ["source.url: environment variable ${CLEANCRM_TEST_PW} is not set; "
                               "export it or give ${CLEANCRM_TEST_PW:-default}"]
    data = {**MINIMAL, "alerts": {"channels": {"ops": {"type": "email", "password": "${CLEANCRM_TEST_PW}"}}}}
    assert errors_of(data)[0].startswith("alerts.channels.ops.password: environment variable ${CLEANCRM_TEST_PW}")


def test_env_interpolation_keeps_the_password_out_of_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("CLEANCRM_TEST_PW", "pa$$:w@rd-42")
    monkeypatch.delenv("CLEANCRM_TEST_SCHEMA", raising=False)
    path = tmp_path / "cleancrm.yml"
    path.write_text(
        "source:\n"
        "  url: postgresql+psycopg://crm:${CLEANCRM_TEST_PW}@db.internal/crm\n"
        "  schema: ${CLEANCRM_TEST_SCHEMA:-salesforce}\n"
        "entities:\n  contact: {table: contacts, key: id, fields: {email: email}}\n"
    )
    cfg = load_config(path)
    assert cfg.source.url == "postgresql+psycopg://crm:pa$$:w@rd-42@db.internal/crm"
    assert cfg.source.schema_ == "salesforce"
    assert "pa$$" not in path.read_text()
    assert cfg.base_dir == tmp_path.resolve()


def test_interpolation_is_literal_and_leaves_other_dollars():
    assert interpolate_env("cost $5 and ${NOT A VAR}") == "cost $5 and ${NOT A VAR}"
    assert interpolate_env("${CLEANCRM_UNSET_X:-}") == ""


def test_load_config_file_problems(tmp_path):
    with pytest.raises(ConfigError, match=r"config file not found; create one with `cleancrm init --url URL`"):
        load_config(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("source:\n  url: [unclosed\nentities: {}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    assert str(caught.value).startswith(f"{bad}:") and "not valid YAML" in str(caught.value)
    scalar = tmp_path / "scalar.yml"
    scalar.write_text("just text\n")
    with pytest.raises(ConfigError, match="the file must be a YAML mapping"):
        load_config(scalar)
