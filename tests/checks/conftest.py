"""Helpers for the check tests: run one check on a tiny DataFrame, or the engine on a tiny SQLite CRM."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from checks.base import Context, Outcome
from checks.config import parse_config
from checks.dimensions import all_checks
from checks.engine import RunResult, measure, open_checked_source, plan
from checks.fields import reset_memo
from connectors.mapping import KEY, FieldColumn

NOW = datetime(2026, 11, 23, 12, 0)
PANDAS3 = int(pd.__version__.split(".")[0]) >= 3


def evaluate_check(check_id: str, entity: str, data: dict[str, list], *, now: datetime = NOW,
                   params: dict | None = None, shared: dict | None = None,
                   keys: list[str] | None = None) -> Outcome:
    """Run one registered check on a frame built from `data` (label → values, `field:column` for lists)."""
    n = len(next(iter(data.values())))
    frame = pd.DataFrame({KEY: keys or [str(i + 1) for i in range(n)], **data})
    columns: dict[str, list[FieldColumn]] = {}
    for label in data:
        field, _, column = label.partition(":")
        columns.setdefault(field, []).append(FieldColumn(field, label, label, column or field))
    ctx = Context(entity, now, columns, dict(params or {}), {"aggregates": {}, **(shared or {})})
    reset_memo()
    try:
        return all_checks()[check_id]().evaluate(frame, ctx)
    finally:
        reset_memo()


@pytest.fixture
def run_check() -> Callable[..., Outcome]:
    """`run_check(check_id, entity, {label: values}, now=, params=, shared=, keys=)` → Outcome."""
    return evaluate_check


def failing_keys(outcome: Outcome) -> list[str]:
    """Record keys of an outcome's failures, in order."""
    return [str(k) for k in outcome.failures["record_key"]] if len(outcome.failures) else []


@pytest.fixture
def keys_of() -> Callable[[Outcome], list[str]]:
    """Record keys of an outcome's failures."""
    return failing_keys


# -- a tiny CRM in SQLite, measured by the engine ------------------------------------------------------
TINY_SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, email TEXT, is_active INTEGER);
CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT, country TEXT, phone TEXT, owner_id INTEGER,
                       created_at TEXT, modified_at TEXT, deleted INTEGER DEFAULT 0);
CREATE TABLE contacts (id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, email TEXT, phone TEXT,
                       mobile TEXT, country TEXT, account_id INTEGER, owner_id INTEGER, created_at TEXT,
                       modified_at TEXT, deleted INTEGER DEFAULT 0);
CREATE TABLE leads (id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, email TEXT, company TEXT,
                    status TEXT, owner_id INTEGER, created_at TEXT, modified_at TEXT, deleted INTEGER DEFAULT 0);
"""


def tiny_config(db: Path, history: Path | None = None) -> dict:
    """Config of the tiny CRM (soft deletes on accounts, contacts and leads; contact→account reference)."""
    people = {"first_name": "first_name", "last_name": "last_name", "email": "email"}
    return {
        "name": "tiny",
        "source": {"url": f"sqlite:///{db}"},
        "history": {"url": f"sqlite:///{history or db.with_name('history.db')}"},
        "entities": {
            "user": {"table": "users", "key": "id", "fields": {**people, "active": "is_active"}},
            "account": {"table": "accounts", "key": "id", "soft_delete": "deleted = 1",
                        "fields": {"name": "name", "country": "country", "phone": "phone", "owner_id": "owner_id",
                                   "created_at": "created_at", "modified_at": "modified_at"}},
            "contact": {"table": "contacts", "key": "id", "soft_delete": "deleted = 1",
                        "fields": {**people, "phone": ["phone", "mobile"], "country": "country",
                                   "account_id": "account_id", "owner_id": "owner_id", "created_at": "created_at",
                                   "modified_at": "modified_at"}},
            "lead": {"table": "leads", "key": "id", "soft_delete": "deleted = 1",
                     "fields": {**people, "company": "company", "status": "status", "owner_id": "owner_id",
                                "created_at": "created_at", "modified_at": "modified_at"}},
        },
        "references": [{"from": "contact.account_id", "to": "account"}],
    }


def build_tiny_crm(path: Path, rows: dict[str, list[dict]]) -> Path:
    """A SQLite CRM with TINY_SCHEMA holding `rows` (table → list of column dicts)."""
    con = sqlite3.connect(path)
    con.executescript(TINY_SCHEMA)
    for table, records in rows.items():
        for rec in records:
            cols = ", ".join(rec)
            con.execute(f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(rec))})", list(rec.values()))
    con.commit()
    con.close()
    return path


def measure_tiny(path: Path, rows: dict[str, list[dict]], only: str | None = None, now: datetime = NOW,
                 **overrides) -> RunResult:
    """Build the tiny CRM and measure it with the engine (nothing stored)."""
    db = build_tiny_crm(path / "crm.db", rows)
    data = tiny_config(db)
    tables = {"user": "users", "account": "accounts", "contact": "contacts", "lead": "leads"}
    data["entities"] = {e: spec for e, spec in data["entities"].items() if rows.get(tables[e])}
    data["references"] = [r for r in data["references"] if r["from"].split(".")[0] in data["entities"]
                          and r["to"] in data["entities"]]
    data.update(overrides)
    cfg = parse_config(data, path)
    source = open_checked_source(cfg)
    try:
        return measure(cfg, source, plan(cfg, only), now)
    finally:
        source.close()


@pytest.fixture
def tiny_crm(tmp_path) -> Callable[..., RunResult]:
    """`tiny_crm(rows, only=None, now=NOW)` → the engine's RunResult on a fresh tiny SQLite CRM."""
    counter = iter(range(1000))

    def make(rows, only=None, now=NOW, **overrides):
        folder = tmp_path / f"crm{next(counter)}"
        folder.mkdir()
        return measure_tiny(folder, rows, only, now, **overrides)

    return make
