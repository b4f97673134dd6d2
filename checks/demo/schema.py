"""The demo CRM's schema, portable across SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Column, Date, DateTime, Float, ForeignKey, Integer, MetaData, String, Table

metadata = MetaData()


def _person(name: str, *extra: Column) -> Table:
    return Table(
        name, metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("first_name", String(100)), Column("last_name", String(100)), Column("email", String(200)),
        Column("phone", String(40)), Column("mobile", String(40)),
        Column("street", String(200)), Column("city", String(100)), Column("state", String(40)),
        Column("postal_code", String(20)), Column("country", String(60)),
        Column("owner_id", Integer), Column("created_at", DateTime), Column("modified_at", DateTime),
        Column("deleted", Integer, nullable=False, server_default="0"),
        *extra,
    )


users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("first_name", String(100)), Column("last_name", String(100)), Column("email", String(200)),
    Column("is_active", Integer, nullable=False), Column("team", String(100)), Column("created_at", DateTime),
    Column("modified_at", DateTime),
)
accounts = Table(
    "accounts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200)), Column("website", String(200)), Column("phone", String(40)),
    Column("city", String(100)), Column("state", String(40)), Column("postal_code", String(20)),
    Column("country", String(60)), Column("owner_id", Integer, ForeignKey("users.id")),
    Column("created_at", DateTime), Column("modified_at", DateTime),
    Column("deleted", Integer, nullable=False, server_default="0"),
)
contacts = _person("contacts", Column("title", String(100)), Column("account_id", Integer),
                   Column("job_function", String(40)), Column("seniority", String(40)))
leads = _person("leads", Column("company", String(200)), Column("status", String(40)), Column("converted", Integer),
                Column("website", String(200)))
opportunities = Table(
    "opportunities", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(250)), Column("account_id", Integer), Column("stage", String(40)),
    Column("amount", Float), Column("close_date", Date), Column("owner_id", Integer),
    Column("created_at", DateTime), Column("modified_at", DateTime),
    Column("deleted", Integer, nullable=False, server_default="0"),
)


def create_schema(engine: sa.Engine) -> None:
    """Create the demo tables (dropping old ones)."""
    metadata.drop_all(engine)
    metadata.create_all(engine)
