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


# -- what YAML and the models alone would let through --------------------------------------------------
MINIMAL_YAML = """\
source:
  url: sqlite:///crm.db
entities:
  contact:
    table: contacts
    key: id
    fields: {email: email}
"""


def load_text(tmp_path, text: str):
    path = tmp_path / "cleancrm.yml"
    path.write_text(text)
    return load_config(path)


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path):
    text = MINIMAL_YAML + "  contact:\n    table: people\n    key: id\n    fields: {email: mail}\n"
    with pytest.raises(ConfigError) as caught:
        load_text(tmp_path, text)
    assert str(caught.value) == (f"{tmp_path / 'cleancrm.yml'}:8: entities.contact: given twice (first on line 4); "
                                 "keep one of them")
    with pytest.raises(ConfigError, match=r":1: source\.url: given twice \(first on line 1\)"):  # a flow mapping
        load_text(tmp_path, "source: {url: a.db, url: b.db}\n" + MINIMAL_YAML.partition("\n")[2].partition("\n")[2])


def test_merge_keys_may_be_overridden_and_aliases_reused(tmp_path):
    text = MINIMAL_YAML.replace("    table: contacts\n    key: id\n",
                                "    <<: &keyed {key: id, table: other}\n    table: contacts\n")
    text += "  lead:\n    <<: *keyed\n    fields: {email: email}\n"
    cfg = load_text(tmp_path, text)
    assert cfg.entities["contact"].table == "contacts" and cfg.entities["lead"].table == "other"


def test_alias_bombs_are_refused_before_they_expand(tmp_path):
    bomb = "lol1: &lol1 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    bomb += "".join(f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * 9)}]\n" for i in range(2, 10))
    with pytest.raises(ConfigError, match=r"lol\d: its aliases expand to more than 100,000 values"):
        load_text(tmp_path, bomb + MINIMAL_YAML)
    many = "x: &x deleted = 1\n" + MINIMAL_YAML + "y: [" + ", ".join(["*x"] * 101) + "]\n"
    with pytest.raises(ConfigError, match=r"y\[100\]: more than 100 YAML aliases"):
        load_text(tmp_path, many)
    with pytest.raises(ConfigError, match=r"loop\[0\]: an alias refers to the value that holds it"):
        load_text(tmp_path, "loop: &loop [*loop]\n" + MINIMAL_YAML)


def test_a_mapping_where_a_list_belongs_is_still_reported():
    assert errors_of({**MINIMAL, "schedule": {"cron": "0 6 * * *"}}) == ["schedule: Input should be a valid list"]


def test_problems_across_keys_are_reported_together():
    lines = errors_of({
        **MINIMAL,
        "entities": {"contact": {"table": "contacts", "key": "id", "fields": {"email": "email", "emial": "x"}}},
        "scoring": {"dimension_weights": {"acuracy": 1}, "severity_weights": {"low": 0, "medium": 0, "high": 0,
                                                                            "critical": 0}},
        "alerts": {"rules": [{"name": "down", "kind": "run_failed", "channels": ["ops"]}]},
        "schedule": [{"name": "n", "cron": "61 25 * * *", "timezone": "Mars/Olympus"}],
    })
    assert lines[0].startswith("entities.contact.fields.emial: not a canonical field of contact; did you mean 'email'?")
    assert "scoring.dimension_weights.acuracy: unknown dimension; did you mean 'accuracy'?" in lines[2]
    assert lines[1].startswith("scoring.severity_weights: every severity weighs 0")
    assert lines[3] == "alerts.rules[0] (down).channels: no channel 'ops' under alerts.channels (none defined)"
    assert lines[4].startswith("schedule[0] (n).timezone: unknown timezone 'Mars/Olympus'")
    assert lines[5].startswith("schedule[0] (n).cron: '61 25 * * *' is not a valid cron expression")
    assert errors_of({**MINIMAL, "entities": {}}) == [
        "entities: none mapped; map at least one entity, e.g. contact: {table: contacts, key: id, fields: {email: email}}"]


def test_the_scheduler_reads_cron_as_the_config_checks_it():
    from checks.app.schedule import build_triggers
    from checks.config import Config, ScheduleEntry, SourceConfig, schedule_problems

    entries = [ScheduleEntry(name="a", cron="0 6 * * 8"), ScheduleEntry(name="b", cron="0 6 * * 1-5", timezone="Mars")]
    cfg = Config(source=SourceConfig(url="sqlite:///x.db"), entities={}, schedule=entries)
    with pytest.raises(ConfigError) as caught:
        build_triggers(cfg)
    assert str(caught.value).splitlines() == schedule_problems(entries)
    assert "weekday '8' is out of range" in str(caught.value)
