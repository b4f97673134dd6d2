"""The demo CRM's own schema (`cleancrm demo`): plain table and column names, a `deleted` flag."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from connectors.presets.base import ACCOUNT_REFERENCES, Preset, to_yaml
from connectors.presets.shaping import ENTITIES, Shaped, live_counts, live_emails
from connectors.source import Source


class Demo(Preset, name="demo"):
    """The demo's contacts, accounts, leads, opportunities and users."""

    # After every CRM whose schema also has `contacts` and `accounts` tables.
    priority = 40
    entities = {
        "contact": {"table": "contacts", "key": "id", "soft_delete": "deleted = 1", "fields": {
            "first_name": "first_name", "last_name": "last_name", "email": "email", "phone": ["phone", "mobile"],
            "title": "title", "account_id": "account_id", "owner_id": "owner_id", "street": "street", "city": "city",
            "state": "state", "postal_code": "postal_code", "country": "country", "created_at": "created_at",
            "modified_at": "modified_at"}, "required": ["first_name", "last_name", "country"],
            # The team's own fields, filled from the title (enrichment.title_function).
            "custom_fields": {"job_function": "job_function", "seniority": "seniority"}},
        "account": {"table": "accounts", "key": "id", "soft_delete": "deleted = 1", "fields": {
            "name": "name", "phone": "phone", "website": "website", "city": "city", "state": "state",
            "postal_code": "postal_code", "country": "country", "owner_id": "owner_id", "created_at": "created_at",
            "modified_at": "modified_at"}, "required": ["name", "country"]},
        "lead": {"table": "leads", "key": "id", "soft_delete": "deleted = 1", "fields": {
            "first_name": "first_name", "last_name": "last_name", "email": "email", "phone": ["phone", "mobile"],
            "company": "company", "status": "status", "city": "city", "state": "state", "postal_code": "postal_code",
            "country": "country", "owner_id": "owner_id", "converted": "converted", "created_at": "created_at",
            "modified_at": "modified_at"}, "required": ["last_name", "company"],
            "custom_fields": {"website": "website"}},
        "opportunity": {"table": "opportunities", "key": "id", "soft_delete": "deleted = 1", "fields": {
            "name": "name", "amount": "amount", "stage": "stage",
            "is_won": {"sql": "CASE WHEN opportunities.stage = 'Closed Won' THEN 1 ELSE 0 END"},
            "is_closed": {"sql": "CASE WHEN opportunities.stage IN ('Closed Won', 'Closed Lost') THEN 1 ELSE 0 END"},
            "close_date": "close_date", "account_id": "account_id", "owner_id": "owner_id",
            "created_at": "created_at", "modified_at": "modified_at"}, "required": ["name", "stage", "close_date"]},
        "user": {"table": "users", "key": "id", "fields": {
            "first_name": "first_name", "last_name": "last_name", "email": "email", "active": "is_active",
            "team": "team", "created_at": "created_at", "modified_at": "modified_at"}},
    }
    references = ACCOUNT_REFERENCES

    def detect(self, source: Source) -> str | None:
        """An empty spelling where `contacts` (with its `deleted` flag) and `accounts` are, else None."""
        tables = self.table_names(source)
        if {"contacts", "accounts"} <= set(tables) and "deleted" in source.columns(tables["contacts"]):
            return ""
        return None

    def demo_shape(self, tables: dict[str, pd.DataFrame], spelling: str = "", synced: datetime | None = None,
                   schema: sa.MetaData | None = None) -> Shaped:
        """The demo's tables as they are, in the column order and types of `schema` where given."""
        names = {e: self.entities[e]["table"] for e in ENTITIES}
        frames = {names[e]: tables[e].copy() for e in ENTITIES}
        types = {}
        if schema is not None:
            types = {name: {c.name: c.type for c in schema.tables[name].columns} for name in frames}
            frames = {name: frame[[c for c in types[name] if c in frame.columns]] for name, frame in frames.items()}
        emails = live_emails(tables["contact"], str)
        return Shaped(self.name, "", frames, {n: "id" for n in frames}, types, live_counts(tables), emails, names)


def demo_config_yaml(db_file: str) -> str:
    """The demo CRM's config: demo preset, history beside it, stale after two years."""
    config = {"name": "demo", "preset": "demo", "source": {"url": f"sqlite:///{db_file}"},
              "entities": Demo.entities, "references": [dict(r) for r in Demo.references],
              "checks": {"freshness.staleness": {"params": {"days": 730}}},
              "schedule": [{"name": "nightly", "cron": "0 6 * * *", "timezone": "UTC"}]}
    return to_yaml(config, "demo")
