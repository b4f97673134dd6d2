"""Fix packages on a Salesforce-shaped CRM in SQLite, PostgreSQL and MariaDB.

The UPDATE script's literals are the database's own (quotes, backslashes, a semicolon and a line
break inside a value survive); run by the test as a DBA would, the next run finds its findings
gone and none new, and the rollback script restores every table's checksum. The Salesforce files
carry `Id` first and the API names.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from checks.config import load_config
from checks.demo.export import shape_tables, write_shape
from connectors.history import HistoryStore
from connectors.presets import build_config
from connectors.source import open_source
from tests.support.commands import cli

NOW = "2024-06-01"
# Trimmed by the whitespace fix; what is left must reach the database as written.
TRICKY_CITY = "  O'Brien \\ Town; DROP TABLE x;\n-- 'end' "
TRICKY_FIXED = "O'Brien \\ Town; DROP TABLE x; -- 'end'"


def run_script(url: str, script: str) -> None:
    """Run a whole script through the driver as a DBA's client would (several statements at once)."""
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        con = sqlite3.connect(engine.url.database)
        con.executescript(script)
        con.close()
    elif engine.dialect.name == "postgresql":
        import psycopg

        with psycopg.connect(engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
                             autocommit=True) as con:
            con.execute(script)  # no parameters: the simple query protocol runs every statement
    else:
        import pymysql
        from pymysql.constants import CLIENT

        u = engine.url
        con = pymysql.connect(host=u.host, port=u.port or 3306, user=u.username, password=u.password or "",
                              database=u.database, client_flag=CLIENT.MULTI_STATEMENTS, autocommit=True)
        with con.cursor() as cur:
            cur.execute(script)
            while cur.nextset():
                pass
        con.close()
    engine.dispose()


def checksums(url: str, tables: dict[str, str]) -> dict[str, str]:
    """Each table's rows in key order, hashed."""
    engine = sa.create_engine(url)
    out = {}
    with engine.connect() as conn:
        for table, key in tables.items():
            rows = conn.execute(sa.text(f"SELECT * FROM {engine.dialect.identifier_preparer.quote(table)} "
                                        f"ORDER BY {engine.dialect.identifier_preparer.quote(key)}")).fetchall()
            out[table] = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
    engine.dispose()
    return out


def latest_findings(config: Path) -> set[tuple[str, str, str]]:
    cfg = load_config(config)
    store = HistoryStore(cfg.history_url())
    keys = store.findings.failing_keys(store.runs.resolve("latest", cfg.name))
    return set(zip(keys.check_id, keys.entity, keys.record_key.astype(str), strict=True))


@pytest.fixture
def salesforce_crm(backend, demo_tables, tmp_path):
    """A Salesforce-shaped CRM of its own (the test changes it), with a city full of SQL metacharacters."""
    shaped = shape_tables(demo_tables, "salesforce", "api")
    url = backend.new_database("fixes")
    write_shape(url, shaped)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        contact = sa.table("Contact", sa.column("Id"), sa.column("MailingCity"), sa.column("IsDeleted"))
        first = conn.execute(sa.select(sa.func.min(contact.c.Id)).where(contact.c.IsDeleted == sa.false())).scalar()
        conn.execute(sa.update(contact).where(contact.c.Id == first).values(MailingCity=TRICKY_CITY))
    engine.dispose()
    source = open_source(url)
    try:
        raw = build_config(source, url)
    finally:
        source.close()
    raw["history"] = {"url": f"sqlite:///{tmp_path / 'history.db'}"}
    config = tmp_path / "cleancrm.yml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    tables = {shaped.entity_tables[e]: shaped.keys[shaped.entity_tables[e]] for e in raw["entities"]}
    return url, config, tables, str(first)


def test_the_update_script_applies_its_fixes_and_the_rollback_restores_every_table(salesforce_crm, tmp_path):
    url, config, tables, tricky_id = salesforce_crm
    cli("run", "--config", config, "--now", NOW)
    before = latest_findings(config)
    out = tmp_path / "sql"
    cli("fixes", "--config", config, "--out", out, "--format", "sql")
    manifest = json.loads((out / "manifest.json").read_text())
    contact = manifest["entities"]["contact"]
    assert contact["table"] == "Contact" and contact["apply_records"] > 20
    original = checksums(url, tables)
    for entity, info in manifest["entities"].items():
        if info["apply_records"]:
            run_script(url, (out / f"{entity}.apply.sql").read_text())
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        contact_t = sa.table("Contact", sa.column("Id"), sa.column("MailingCity"))
        city = conn.execute(sa.select(contact_t.c.MailingCity).where(contact_t.c.Id == tricky_id)).scalar()
    engine.dispose()
    assert city == TRICKY_FIXED
    cli("run", "--config", config, "--now", NOW)
    after = latest_findings(config)
    fixed = sum(v["apply"] for v in manifest["checks"].values())
    assert fixed and len(before - after) >= fixed
    assert not after - before, sorted(after - before)[:5]
    for entity, info in manifest["entities"].items():
        if info["apply_records"]:
            run_script(url, (out / f"{entity}.rollback.sql").read_text())
    assert checksums(url, tables) == original


def test_salesforce_files_carry_id_first_and_the_api_names(salesforce_crm, tmp_path):
    url, config, _, tricky_id = salesforce_crm
    cli("run", "--config", config, "--now", NOW)
    out = tmp_path / "sf"
    cli("fixes", "--config", config, "--out", out, "--format", "salesforce")
    rows = list(csv.reader(io.StringIO((out / "contact.apply.csv").read_bytes().decode("utf-8"))))
    header = rows[0]
    assert header[0] == "Id" and "MailingCity" in header and "Email" in header
    by_id = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert by_id[tricky_id]["MailingCity"] == TRICKY_FIXED
    rollback = list(csv.reader(io.StringIO((out / "contact.rollback.csv").read_bytes().decode("utf-8"))))
    assert {r[0]: dict(zip(rollback[0], r, strict=True)) for r in rollback[1:]}[tricky_id]["MailingCity"] == TRICKY_CITY
    assert all(len(k) == 18 and k.startswith("003") for k in by_id)  # Salesforce ids as the CRM holds them
