"""SuiteCRM: its mapping, how to recognise it, and the demo laid out in its tables.

UUID keys, `deleted` flags on every table, several phone columns, emails in `email_addresses`
joined through `email_addr_bean_rel`, and accounts through `accounts_contacts` and
`accounts_opportunities`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from connectors.presets.base import ACCOUNT_REFERENCES, Preset
from connectors.presets.shaping import ENTITIES, Shaped, int_ids, live_counts
from connectors.source import Source

# The namespace of the demo's UUIDs: the same demo key always gives the same SuiteCRM id.
_NS = uuid.UUID("6f1c55a4-7f43-4b7e-9a55-0c1e2c7d5a10")


def _email_field(entity_table: str, module: str) -> dict:
    """A person's primary, live email address, through the relation table."""
    return {"column": "email_addresses.email_address", "join": [
        {"table": "email_addr_bean_rel", "on": (
            f"email_addr_bean_rel.bean_id = {entity_table}.id AND email_addr_bean_rel.bean_module = '{module}'"
            " AND email_addr_bean_rel.primary_address = 1 AND email_addr_bean_rel.deleted = 0")},
        {"table": "email_addresses", "on": (
            "email_addresses.id = email_addr_bean_rel.email_address_id AND email_addresses.deleted = 0")}]}


def _person_fields(table: str, module: str) -> dict[str, Any]:
    """The fields contacts and leads share."""
    return {
        "first_name": "first_name", "last_name": "last_name", "email": _email_field(table, module),
        "phone": ["phone_work", "phone_mobile", "phone_home", "phone_other"], "title": "title",
        "owner_id": "assigned_user_id", "street": "primary_address_street", "city": "primary_address_city",
        "state": "primary_address_state", "postal_code": "primary_address_postalcode",
        "country": "primary_address_country", "created_at": "date_entered", "modified_at": "date_modified"}


def suite_id(entity: str, key) -> str | None:
    """A stable UUID (SuiteCRM's char(36) ids) for a demo key."""
    if key is None or pd.isna(key):
        return None
    return str(uuid.uuid5(_NS, f"{entity}:{int(key)}"))


def _uuids(entity: str, values: pd.Series) -> list[str | None]:
    return [suite_id(entity, v) for v in values]


class SuiteCRM(Preset, name="suitecrm"):
    """SuiteCRM's contacts, accounts, leads, opportunities and users."""

    # First: its contacts and accounts carry a `deleted` flag too, so the demo's test would match it.
    priority = 10
    entities = {
        "contact": {"table": "contacts", "key": "id", "soft_delete": "contacts.deleted = 1",
                    "fields": {**_person_fields("contacts", "Contacts"), "account_id": {
                        "column": "accounts_contacts.account_id", "join": [{"table": "accounts_contacts", "on": (
                            "accounts_contacts.contact_id = contacts.id AND accounts_contacts.deleted = 0")}]}},
                    "required": ["last_name"]},
        "account": {"table": "accounts", "key": "id", "soft_delete": "accounts.deleted = 1", "fields": {
            "name": "name", "phone": ["phone_office", "phone_alternate"], "website": "website",
            "street": "billing_address_street", "city": "billing_address_city", "state": "billing_address_state",
            "postal_code": "billing_address_postalcode", "country": "billing_address_country",
            "owner_id": "assigned_user_id", "created_at": "date_entered", "modified_at": "date_modified"},
            "required": ["name"]},
        "lead": {"table": "leads", "key": "id", "soft_delete": "leads.deleted = 1",
                 "fields": {**_person_fields("leads", "Leads"), "company": "account_name", "status": "status",
                            "converted": "converted"}, "required": ["last_name", "company"]},
        "opportunity": {"table": "opportunities", "key": "id", "soft_delete": "opportunities.deleted = 1", "fields": {
            "name": "name", "amount": "amount", "stage": "sales_stage", "close_date": "date_closed",
            "is_won": {"sql": "CASE WHEN opportunities.sales_stage = 'Closed Won' THEN 1 ELSE 0 END"},
            "is_closed": {"sql": "CASE WHEN opportunities.sales_stage IN ('Closed Won', 'Closed Lost') THEN 1 ELSE 0 END"},
            "account_id": {"column": "accounts_opportunities.account_id", "join": [{"table": "accounts_opportunities", "on": (
                "accounts_opportunities.opportunity_id = opportunities.id AND accounts_opportunities.deleted = 0")}]},
            "owner_id": "assigned_user_id", "created_at": "date_entered", "modified_at": "date_modified"},
            "required": ["name", "stage", "close_date"]},
        "user": {"table": "users", "key": "id", "soft_delete": "users.deleted = 1", "fields": {
            "first_name": "first_name", "last_name": "last_name",
            "active": {"sql": "CASE WHEN users.status = 'Active' THEN 1 ELSE 0 END"},
            "created_at": "date_entered", "modified_at": "date_modified"}},
    }
    references = ACCOUNT_REFERENCES

    def detect(self, source: Source) -> str | None:
        """An empty spelling where the email relation table is (no other CRM has it), else None."""
        return "" if "email_addr_bean_rel" in self.table_names(source) else None

    def demo_shape(self, tables: dict[str, pd.DataFrame], spelling: str = "", synced: datetime | None = None,
                   schema: sa.MetaData | None = None) -> Shaped:
        """The demo as SuiteCRM tables, with the email and account relations a real one has."""
        u, a, c, ld, o = (tables[e] for e in ENTITIES)
        frames: dict[str, pd.DataFrame] = {}
        frames["users"] = pd.DataFrame({
            "id": _uuids("user", u.id), "user_name": (u.first_name.str[0] + u.last_name).str.lower(),
            "first_name": u.first_name, "last_name": u.last_name,
            "status": np.where(u.is_active == 1, "Active", "Inactive"), "date_entered": u.created_at,
            "date_modified": u.modified_at, "deleted": 0})
        frames["accounts"] = pd.DataFrame({
            "id": _uuids("account", a.id), "name": a.name, "phone_office": a.phone, "phone_alternate": None,
            "website": a.website, "billing_address_street": None, "billing_address_city": a.city,
            "billing_address_state": a.state, "billing_address_postalcode": a.postal_code,
            "billing_address_country": a.country, "assigned_user_id": _uuids("user", int_ids(a, "owner_id")),
            "date_entered": a.created_at, "date_modified": a.modified_at, "deleted": a.deleted.astype(int)})
        contacts = _person_frame(c, "contact")
        contacts.insert(3, "title", c.title)
        frames["contacts"] = contacts
        leads = _person_frame(ld, "lead")
        leads["account_name"], leads["status"], leads["converted"] = ld.company, ld.status, ld.converted.astype(int)
        frames["leads"] = leads
        frames["opportunities"] = pd.DataFrame({
            "id": _uuids("opportunity", o.id), "name": o.name, "amount": o.amount, "sales_stage": o.stage,
            "date_closed": o.close_date, "assigned_user_id": _uuids("user", int_ids(o, "owner_id")),
            "date_entered": o.created_at, "date_modified": o.modified_at, "deleted": o.deleted.astype(int)})
        addresses, rels, expected = _email_tables([("contact", "Contacts", c), ("lead", "Leads", ld)])
        frames["email_addresses"], frames["email_addr_bean_rel"] = addresses, rels
        frames["accounts_contacts"] = _link_table("accounts_contacts", "contact_id", list(contacts.id), "account_id",
                                                  _uuids("account", int_ids(c, "account_id")), "account")
        frames["accounts_opportunities"] = _link_table(
            "accounts_opportunities", "opportunity_id", list(frames["opportunities"].id), "account_id",
            _uuids("account", int_ids(o, "account_id")), "account")
        live = set(contacts.loc[contacts.deleted == 0, "id"])
        emails = {k: v for k, v in expected.items() if k in live}
        return Shaped("suitecrm", "", frames, {n: "id" for n in frames}, {}, live_counts(tables), emails,
                      {"user": "users", "account": "accounts", "contact": "contacts", "lead": "leads",
                       "opportunity": "opportunities"})


def _person_frame(frame: pd.DataFrame, entity: str) -> pd.DataFrame:
    """The columns SuiteCRM's contacts and leads tables share."""
    return pd.DataFrame({
        "id": _uuids(entity, frame.id), "first_name": frame.first_name, "last_name": frame.last_name,
        "phone_work": frame.phone, "phone_mobile": frame.mobile, "phone_home": None, "phone_other": None,
        "primary_address_street": frame.get("street"), "primary_address_city": frame.city,
        "primary_address_state": frame.state, "primary_address_postalcode": frame.postal_code,
        "primary_address_country": frame.country, "assigned_user_id": _uuids("user", int_ids(frame, "owner_id")),
        "date_entered": frame.created_at, "date_modified": frame.modified_at, "deleted": frame.deleted.astype(int)})


def _email_tables(people: list[tuple[str, str, pd.DataFrame]]) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """email_addresses and email_addr_bean_rel, with the traps a real SuiteCRM has.

    Per person with an email: one primary, live relation. Every 5th also has a second, non-primary
    address; every 7th an older primary relation that was deleted; every 11th has its address row
    itself deleted (so the mapping must give no email). Returns the expected email per contact id.
    """
    addresses, rels, expected = [], [], {}
    n = 0

    def address(text: str, deleted: int = 0) -> str:
        nonlocal n
        n += 1
        addr_id = str(uuid.uuid5(_NS, f"email:{n}"))
        addresses.append({"id": addr_id, "email_address": text, "email_address_caps": text.upper(),
                          "invalid_email": 0, "opt_out": 0, "deleted": deleted})
        return addr_id

    def rel(bean: str, module: str, addr_id: str, primary: int, deleted: int = 0) -> None:
        rels.append({"id": str(uuid.uuid5(_NS, f"rel:{len(rels)}")), "email_address_id": addr_id, "bean_id": bean,
                     "bean_module": module, "primary_address": primary, "reply_to_address": 0, "deleted": deleted})

    for entity, module, frame in people:
        for i, (key, email) in enumerate(zip(frame.id, frame.email, strict=True)):
            bean = suite_id(entity, key)
            if email is None or pd.isna(email):
                if entity == "contact":
                    expected[bean] = None
                continue
            gone = i % 11 == 3
            rel(bean, module, address(email, deleted=int(gone)), 1)
            if i % 5 == 1:
                rel(bean, module, address(f"alt.{email}"), 0)
            if i % 7 == 2:
                rel(bean, module, address(f"old.{email}"), 1, deleted=1)
            if entity == "contact":
                expected[bean] = None if gone else email
    return pd.DataFrame(addresses), pd.DataFrame(rels), expected


def _link_table(name: str, left: str, left_ids: list, right: str, right_ids: list, left_entity: str) -> pd.DataFrame:
    """A SuiteCRM relationship table: one live link per row, plus a deleted stale link for every 6th."""
    rows = []
    for i, (lid, rid) in enumerate(zip(left_ids, right_ids, strict=True)):
        if rid is None:
            continue
        rows.append({"id": str(uuid.uuid5(_NS, f"{name}:{i}")), left: lid, right: rid, "deleted": 0})
        if i % 6 == 0:
            stale = str(uuid.uuid5(_NS, f"{left_entity}:stale:{i}"))
            rows.append({"id": str(uuid.uuid5(_NS, f"{name}:stale:{i}")), left: lid, right: stale, "deleted": 1})
    return pd.DataFrame(rows, columns=["id", left, right, "deleted"])
