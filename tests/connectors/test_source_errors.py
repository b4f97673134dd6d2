"""Bad input gives one line naming the place and the fix (issue 2, item 7)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from checks.config import parse_config
from connectors.errors import SourceError
from connectors.mapping import validate_mapping
from connectors.presets import build_config
from connectors.source import open_source, refusal_reason


def one_line(text: str) -> str:
    assert "\n" not in text, text
    return text


@pytest.mark.parametrize(("url", "expected"), [
    ("not a url", "source.url: 'not a url' is not a database URL; e.g. postgresql+psycopg://user@host/db"),
    ("oracle://scott@db/crm", "source.url: database 'oracle' is not supported; use sqlite, postgresql"),
    ("sqlite:///no/such/crm.db", "source.url: SQLite file "),
    ("sqlite://", "source.url: an in-memory SQLite database holds no CRM"),
])
def test_wrong_url(url, expected):
    with pytest.raises(SourceError) as caught:
        open_source(url)
    assert one_line(str(caught.value)).startswith(expected)


@pytest.mark.parametrize("url", [
    "postgresql://crm:s3cr3t-pw@127.0.0.1:1/crm",
    "postgres://crm:s3cr3t-pw@127.0.0.1:1/crm",
    "mysql://crm:s3cr3t-pw@127.0.0.1:1/crm",
    "mariadb+pymysql://crm:s3cr3t-pw@127.0.0.1:1/crm",
])
def test_unreachable_server_names_it_and_hides_the_password(url):
    with pytest.raises(SourceError) as caught:
        open_source(url)
    message = one_line(str(caught.value))
    assert message.startswith("source.url: cannot connect to ")
    assert "127.0.0.1:1" in message and "check host, port, user and that the server runs" in message
    assert "s3cr3t-pw" not in message and "***" in message


def test_postgres_scheme_is_accepted(pg_url):
    source = open_source(pg_url.replace("postgresql+psycopg://", "postgres://"))
    try:
        assert source.dialect == "postgresql" and source.scalar("SELECT 1") == 1
    finally:
        source.close()


def test_sqlite_path_with_spaces_and_hash(tmp_path):
    folder = tmp_path / "my crm #1 100%"
    folder.mkdir()
    engine = sa.create_engine(f"sqlite:///{folder / 'crm.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE contacts (id INTEGER)"))
    engine.dispose()
    source = open_source(f"sqlite:///{folder / 'crm.db'}")
    assert source.tables() == ["contacts"]


def mapping_errors(source, url, mutate):
    cfg = build_config(source, url)
    mutate(cfg["entities"])
    return validate_mapping(parse_config(cfg), source)


def test_missing_table_column_and_key_suggest_the_right_name(loaded):
    url, _ = loaded("salesforce", "api")
    source = open_source(url)
    try:
        def typos(ents):
            ents["contact"]["fields"]["email"] = "Emial"
            ents["contact"]["fields"]["phone"] = ["Phone", "Mobilephone"]
            ents["account"]["key"] = "ID"
            ents["lead"]["table"] = "Leed"
            ents["opportunity"]["soft_delete"] = "IsDelted = 1"

        errors = mapping_errors(source, url, typos)
        assert "entities.contact.fields.email: no column 'Emial' in table Contact; did you mean 'Email'?" in errors
        assert "entities.contact.fields.phone: no column 'Mobilephone' in table Contact; did you mean 'MobilePhone'?" in errors
        assert "entities.account.key: no column 'ID' in table Account; did you mean 'Id'?" in errors
        assert "entities.lead.table: no table 'Leed' in the source; did you mean 'Lead'?" in errors
        assert any(e.startswith("entities.opportunity.soft_delete: SQL 'IsDelted = 1' fails on table Opportunity (")
                   for e in errors)
        assert len(errors) == 5 and all(one_line(e) for e in errors)
        with pytest.raises(SourceError, match="no table 'Contcat'; did you mean 'Contact'"):
            source.columns("Contcat")
    finally:
        source.close()


def test_join_errors_name_the_join(loaded):
    url, _ = loaded("suitecrm")
    source = open_source(url)
    try:
        def broken(ents):
            ents["contact"]["fields"]["email"]["join"][1]["table"] = "email_adresses"
            ents["lead"]["fields"]["email"]["column"] = "email_addresses.email_adress"
            ents["account"]["fields"]["phone"] = []
            ents["opportunity"]["fields"]["is_won"] = {"sql": "CASE WHEN opportunities.stage = 'x' THEN 1 END"}

        errors = mapping_errors(source, url, broken)
        assert ("entities.contact.fields.email.join: no table 'email_adresses' in the source; "
                "did you mean 'email_addresses'?") in errors
        assert ("entities.lead.fields.email.column: no column 'email_adress' in table email_addresses; "
                "did you mean 'email_address'?") in errors
        assert "entities.account.fields.phone: an empty list of columns; name at least one column or remove the field" in errors
        assert any(e.startswith("entities.opportunity.fields.is_won: its SQL fails (") for e in errors)
        assert all(one_line(e) for e in errors)
    finally:
        source.close()


def test_empty_table_and_entity_without_fields(backend):
    url = backend.new_database("empty")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE contacts (id INTEGER PRIMARY KEY, email VARCHAR(80), deleted INTEGER)"))
        conn.execute(sa.text("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name VARCHAR(80), deleted INTEGER)"))
        conn.execute(sa.text("INSERT INTO accounts VALUES (1, 'ACME', 1)"))
    engine.dispose()
    source = open_source(url)
    try:
        cfg = parse_config({"source": {"url": url}, "entities": {
            "contact": {"table": "contacts", "key": "id", "fields": {"email": "email"}},
            "account": {"table": "accounts", "key": "id", "soft_delete": "deleted = 1", "fields": {"name": "name"}},
            "lead": {"table": "contacts", "key": "id", "required": ["email"]},
        }})
        errors = validate_mapping(cfg, source)
        assert errors == [
            "entities.contact: table contacts has no live rows; remove the entity or check its soft_delete/filter",
            "entities.account: table accounts has no live rows; remove the entity or check its soft_delete/filter",
            "entities.lead.fields: no fields mapped; map at least one canonical field, e.g. email: Email",
            "entities.lead.required: field 'email' is not mapped; map it under fields or remove it",
        ]
    finally:
        source.close()


def test_references_to_unmapped_things(loaded):
    url, _ = loaded("demo")
    source = open_source(url)
    try:
        cfg = build_config(source, url)
        cfg["references"] = [{"from": "contact.acount_id", "to": "account"}, {"from": "lead.owner_id", "to": "user"}]
        del cfg["entities"]["user"]
        errors = validate_mapping(parse_config(cfg), source)
        assert errors == [
            "references[0].from: 'contact.acount_id' is not a mapped entity field; write it as entity.field",
            "references[1].to: entity 'user' is not configured; add it under entities or drop the reference",
        ]
    finally:
        source.close()


@pytest.mark.parametrize(("dialect", "sql", "refused"), [
    ("postgresql", "SELECT a FROM t WHERE note = 'please delete me; now'", False),
    ("postgresql", "-- comment\nSELECT 1", False),
    ("mysql", "SELECT REPLACE(phone, '-', '') FROM t", False),
    ("postgresql", 'SELECT "update" FROM t', False),
    ("sqlite", "PRAGMA main.table_xinfo(\"contacts\")", False),
    ("mysql", "SET NAMES utf8mb4", False),
    ("postgresql", "EXPLAIN SELECT 1", False),
    ("sqlite", "/* hi */ DELETE FROM t", True),
    ("sqlite", "SELECT 1; DELETE FROM t", True),
    ("postgresql", "select * from t for update", True),
    ("postgresql", "EXPLAIN ANALYZE DELETE FROM t", True),
    ("postgresql", "SELECT pg_catalog.set_config('default_transaction_read_only', 'off', false)", True),
    ("postgresql", "SELECT lo_import('/etc/passwd')", True),
    ("sqlite", "PRAGMA writable_schema = 1", True),
    ("mysql", "SET GLOBAL read_only = 0", True),
    ("postgresql", "MERGE INTO t USING s ON (t.id = s.id) WHEN MATCHED THEN DELETE", True),
])
def test_guard_reads_past_literals_and_comments(dialect, sql, refused):
    assert (refusal_reason(sql, dialect) is not None) == refused
