"""`cleancrm init` then `cleancrm run` on every preset's shape and on schemas no preset knows.

A new user's schema is mapped by init alone, and what init writes passes the run's own
validation: the run exits 0 on each. The generic schemas name things in English, German, French
and camelCase; their columns are found by name and, where the name says nothing, by content.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import warnings
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from checks.demo.export import shape_tables, write_shape
from connectors.presets import preset_names
from connectors.presets.base import get_preset

CLEANCRM = Path(sys.executable).with_name("cleancrm")
AS_OF = "2024-06-01"


def sh(*args) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLEANCRM), *map(str, args)], capture_output=True, text=True, timeout=300, check=False)


def init_and_run(db: Path, out: Path, *extra) -> dict:
    made = sh("init", "--url", f"sqlite:///{db}", "--out", out, *extra)
    assert made.returncode == 0, made.stderr
    assert "left out" not in made.stderr, made.stderr  # the mapping found nothing the run refuses
    ran = sh("run", "--config", out, "--now", AS_OF, "--json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["overall"] is not None
    return yaml.safe_load(out.read_text())


@pytest.fixture(scope="module")
def demo_tables():
    from checks.demo import build_tables

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return build_tables(300, 3, datetime(2024, 6, 1)).tables


SHAPES = [(name, spelling) for name in preset_names() for spelling in get_preset(name).spellings]


@pytest.mark.parametrize(("shape", "spelling"), SHAPES, ids=[f"{n}-{s or 'plain'}" for n, s in SHAPES])
def test_init_then_run_on_every_preset_shape(demo_tables, tmp_path, shape, spelling):
    db = tmp_path / "crm.db"
    write_shape(f"sqlite:///{db}", shape_tables(demo_tables, shape, spelling))
    config = init_and_run(db, tmp_path / "cleancrm.yml")
    assert len(config["entities"]) >= 2


def _write(db: Path, ddl: str, rows: list[tuple]) -> None:
    with sqlite3.connect(db) as con:
        con.execute(ddl)
        marks = ",".join("?" * len(rows[0]))
        table = ddl.split()[2]
        con.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)


def _people(n: int = 120):
    firsts, lasts = ["Anna", "Ben", "Chloé", "Dieter", "Eva"], ["Müller", "Martin", "García", "Smith"]
    countries = ["DE", "France", "ES", "Deutschland", "US"]
    for i in range(1, n + 1):
        yield (i, firsts[i % 5], lasts[i % 4], f"p{i}@firma{i % 7}.de" if i % 12 else None, f"+49 30 {1000000 + i}",
               f"{10000 + i}", countries[i % 5], ["Retail", "Banking", "Public"][i % 3], f"2023-0{1 + i % 9}-1{i % 9}")


GENERIC = {
    "english": ("CREATE TABLE customers (id INTEGER PRIMARY KEY, firstname TEXT, lastname TEXT, email TEXT, "
                "phone TEXT, postalcode TEXT, country TEXT, segment TEXT, created TEXT)"),
    "german": ("CREATE TABLE kunden (kundennr INTEGER PRIMARY KEY, Vorname TEXT, Nachname TEXT, EMail TEXT, "
               "Telefon TEXT, PLZ TEXT, Land TEXT, Branche TEXT, ErstelltAm TEXT)"),
    "french": ("CREATE TABLE clients (id INTEGER PRIMARY KEY, prenom TEXT, nom TEXT, courriel TEXT, "
               "telephone TEXT, code_postal TEXT, pays TEXT, secteur TEXT, date_creation TEXT)"),
    "camel": ("CREATE TABLE people (personId INTEGER PRIMARY KEY, givenName TEXT, familyName TEXT, contact TEXT, "
              "reachAt TEXT, zipCode TEXT, homeCountry TEXT, tier TEXT, createdAt TEXT)"),
}


@pytest.mark.parametrize("style", list(GENERIC))
def test_init_maps_a_schema_no_preset_knows(tmp_path, style):
    db = tmp_path / "crm.db"
    _write(db, GENERIC[style], list(_people()))
    config = init_and_run(db, tmp_path / "cleancrm.yml")
    contact = config["entities"]["contact"]
    assert {"first_name", "last_name", "email", "phone", "postal_code", "country", "created_at"} <= set(contact["fields"])
    assert len(contact["custom_fields"]) == 1  # the segment/Branche/secteur/tier column
    rules = {r["kind"] for r in contact["rules"]}
    assert "allowed_values" in rules and all(r["suggested"] for r in contact["rules"])
    assert "email" in contact["expected"]  # 92% filled: expected, not required
    assert {"first_name", "last_name", "phone", "country"} <= set(contact["required"])  # 100% filled: required
    assert "email" not in contact["required"]


def test_a_generic_table_without_a_deleted_column_gets_no_soft_delete(tmp_path):
    db = tmp_path / "crm.db"
    _write(db, "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT, street TEXT, city TEXT, website TEXT)",
           [(i, f"Firm {i}", f"{i} Main St", "Boston", f"https://firm{i}.com") for i in range(1, 40)])
    config = init_and_run(db, tmp_path / "cleancrm.yml")
    account = config["entities"]["account"]
    assert "soft_delete" not in account
    assert account["fields"]["street"] == "street"


def test_no_suggest_writes_no_rules_and_profile_says_what_columns_hold(tmp_path):
    db = tmp_path / "crm.db"
    _write(db, GENERIC["english"], list(_people()))
    config = init_and_run(db, tmp_path / "cleancrm.yml", "--no-suggest")
    assert all("rules" not in ent for ent in config["entities"].values())
    shown = sh("profile", "--config", tmp_path / "cleancrm.yml", "--json")
    assert shown.returncode == 0, shown.stderr
    columns = {c["column"]: c for c in json.loads(shown.stdout)["contact"]["columns"]}
    assert {name: columns[name]["meaning"] for name in ("email", "phone", "country", "postalcode", "segment",
                                                        "created")} == {
        "email": "email", "phone": "phone", "country": "country", "postalcode": "postal code",
        "segment": "picklist", "created": "date"}
    assert columns["email"]["fill_rate"] == pytest.approx(110 / 120, abs=1e-4)
    assert sorted(map(tuple, columns["segment"]["top"])) == [("Banking", 40), ("Public", 40), ("Retail", 40)]


def test_salesforce_custom_fields_are_mapped_and_get_suggested_rules(demo_tables, tmp_path):
    db = tmp_path / "crm.db"
    write_shape(f"sqlite:///{db}", shape_tables(demo_tables, "salesforce", "api"))
    with sqlite3.connect(db) as con:
        con.execute('ALTER TABLE "Contact" ADD COLUMN "Region__c" TEXT')
        con.execute('UPDATE "Contact" SET "Region__c" = CASE abs(random()) % 3 WHEN 0 THEN \'EMEA\' '
                    'WHEN 1 THEN \'AMER\' ELSE \'APAC\' END')
        con.execute('CREATE TABLE "Invoice__c" ("Id" TEXT PRIMARY KEY, "Amount__c" REAL)')
    made = sh("init", "--url", f"sqlite:///{db}", "--out", tmp_path / "cleancrm.yml")
    assert made.returncode == 0, made.stderr
    assert "custom objects (Invoice__c)" in made.stdout
    contact = yaml.safe_load((tmp_path / "cleancrm.yml").read_text())["entities"]["contact"]
    assert contact["custom_fields"]["region"] == "Region__c"
    rule = next(r for r in contact["rules"] if r["field"] == "region")
    assert rule["kind"] == "allowed_values" and sorted(rule["values"]) == ["AMER", "APAC", "EMEA"]
    ran = sh("run", "--config", tmp_path / "cleancrm.yml", "--now", AS_OF, "--json")
    assert ran.returncode == 0, ran.stderr
    checks = {(c["id"], c["entity"]): c for c in json.loads(ran.stdout)["checks"]}
    assert checks[(f"rule.{rule['id']}", "contact")]["failed"] == 0  # every region is one of the three
