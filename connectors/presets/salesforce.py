"""Salesforce, in the three spellings its tables reach a database in.

API names as they are (`Contact.MailingPostalCode`), lowercased by Heroku Connect
(`contact.mailingpostalcode`, with the Salesforce id in `sfid`), or snake_case by Fivetran
(`contact.mailing_postal_code`). The mapping is written once, in API names, and spelled on demand.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from connectors.presets.base import ACCOUNT_REFERENCES, Preset
from connectors.presets.shaping import ENTITIES, Shaped, int_ids, live_counts, live_emails
from connectors.source import Source

SPELLINGS = ("api", "lower", "snake")

# When the demo's Fivetran copy was last synced: fixed, so that a shape is the same on every run.
FIVETRAN_SYNCED = datetime(2024, 1, 1)

# Salesforce's key prefix per object (a record id says which object it belongs to).
_ID_PREFIX = {"user": "005", "account": "001", "contact": "003", "lead": "00Q", "opportunity": "006"}


def snake(name: str) -> str:
    """`MailingPostalCode` → `mailing_postal_code` (Fivetran's spelling)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _speller(spelling: str) -> Callable[[str], str]:
    """The function that turns an API name into `spelling` ("" is the API names)."""
    spellers = {"api": lambda s: s, "lower": str.lower, "snake": snake}
    if (spelling or "api") not in spellers:
        raise ValueError(f"spelling {spelling!r}: use one of {', '.join(SPELLINGS)}")
    return spellers[spelling or "api"]


def sf_id(entity: str, key) -> str | None:
    """An 18-character Salesforce-like id for a demo key."""
    if key is None or pd.isna(key):
        return None
    return f"{_ID_PREFIX[entity]}{int(key):012d}AAA"


def _sf_ids(entity: str, values: pd.Series) -> list[str | None]:
    return [sf_id(entity, v) for v in values]


class Salesforce(Preset, name="salesforce"):
    """Salesforce objects: Contact, Account, Lead, Opportunity and User, soft-deleted by IsDeleted."""

    # After SuiteCRM, whose schema has no `contact` table; before HubSpot and the demo.
    priority = 20
    spellings = SPELLINGS
    entities = {
        "contact": {"table": "Contact", "fields": {
            "first_name": "FirstName", "last_name": "LastName", "email": "Email",
            "phone": ["Phone", "MobilePhone", "HomePhone", "OtherPhone"], "title": "Title",
            "account_id": "AccountId", "owner_id": "OwnerId", "street": "MailingStreet", "city": "MailingCity",
            "state": "MailingState", "postal_code": "MailingPostalCode", "country": "MailingCountry",
            "created_at": "CreatedDate", "modified_at": "LastModifiedDate"},
            "required": ["last_name"]},
        "account": {"table": "Account", "fields": {
            "name": "Name", "phone": "Phone", "website": "Website", "street": "BillingStreet",
            "city": "BillingCity", "state": "BillingState", "postal_code": "BillingPostalCode",
            "country": "BillingCountry", "owner_id": "OwnerId", "created_at": "CreatedDate",
            "modified_at": "LastModifiedDate"}, "required": ["name"]},
        "lead": {"table": "Lead", "fields": {
            "first_name": "FirstName", "last_name": "LastName", "email": "Email", "phone": ["Phone", "MobilePhone"],
            "company": "Company", "status": "Status", "street": "Street", "city": "City", "state": "State",
            "postal_code": "PostalCode", "country": "Country", "owner_id": "OwnerId", "converted": "IsConverted",
            "created_at": "CreatedDate", "modified_at": "LastModifiedDate"}, "required": ["last_name", "company"]},
        "opportunity": {"table": "Opportunity", "fields": {
            "name": "Name", "amount": "Amount", "stage": "StageName", "is_won": "IsWon", "is_closed": "IsClosed",
            "close_date": "CloseDate", "account_id": "AccountId", "owner_id": "OwnerId",
            "created_at": "CreatedDate", "modified_at": "LastModifiedDate"},
            "required": ["name", "stage", "close_date"]},
        "user": {"table": "User", "fields": {
            "first_name": "FirstName", "last_name": "LastName", "email": "Email", "active": "IsActive",
            "created_at": "CreatedDate", "modified_at": "LastModifiedDate"}},
    }
    references = ACCOUNT_REFERENCES

    def detect(self, source: Source) -> str | None:
        """The spelling, from the `contact` table's deleted flag or its sync tool's columns."""
        tables = self.table_names(source)
        if "contact" not in tables:
            return None
        cols = set(source.columns(tables["contact"]))
        for spelling, probe in (("api", "IsDeleted"), ("lower", "isdeleted"), ("snake", "is_deleted")):
            if probe in cols:
                return spelling
        if "sfid" in cols or "_fivetran_synced" in cols:
            return "snake" if "_fivetran_synced" in cols else "lower"
        return None

    def mapping(self, spelling: str = "") -> dict[str, dict[str, Any]]:
        """The API-named mapping spelled as `spelling` ("" is the API names)."""
        spell = _speller(spelling)
        api = (spelling or "api") == "api"
        out = {}
        for entity, spec in self.entities.items():
            fields = {f: [spell(c) for c in v] if isinstance(v, list) else spell(v) for f, v in spec["fields"].items()}
            out[entity] = {"table": spec["table"] if api else spec["table"].lower(), "key": "Id" if api else "id",
                           "soft_delete": spell("IsDeleted"), "fields": fields, "required": spec.get("required", [])}
        return out

    def entity_key(self, spec: dict[str, Any], columns: set[str]) -> str:
        """`sfid` where Heroku Connect keeps the Salesforce id in it, else the mapping's key."""
        return "sfid" if "sfid" in columns else super().entity_key(spec, columns)

    def demo_shape(self, tables: dict[str, pd.DataFrame], spelling: str = "", synced: datetime | None = None,
                   schema: sa.MetaData | None = None) -> Shaped:
        """The demo as Salesforce objects, spelled as the API, Heroku Connect or Fivetran has them."""
        spell = _speller(spelling)
        spelling = spelling or "api"
        frames, keys, entity_tables = {}, {}, {}
        for entity, (name, frame) in zip(ENTITIES, _api_frames(tables).items(), strict=True):
            if spelling == "api":
                frames[name], keys[name] = frame, "Id"
            elif spelling == "lower":  # Heroku Connect: lowercase names, a serial id, the Salesforce id in sfid
                frame = frame.rename(columns=spell).rename(columns={"id": "sfid"})
                frame.insert(0, "id", np.arange(1, len(frame) + 1))
                frame["systemmodstamp"] = frame["lastmodifieddate"]
                frame["_hc_lastop"] = "SYNCED"
                name = name.lower()
                frames[name], keys[name] = frame, "id"
            else:  # Fivetran: snake_case names, plus its sync columns
                frame = frame.rename(columns=spell)
                frame["_fivetran_synced"] = synced or FIVETRAN_SYNCED
                frame["_fivetran_deleted"] = False
                name = name.lower()
                frames[name], keys[name] = frame, "id"
            entity_tables[entity] = name
        emails = live_emails(tables["contact"], lambda k: sf_id("contact", k))
        return Shaped("salesforce", spelling, frames, keys, {}, live_counts(tables), emails, entity_tables)


def _api_frames(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The demo's tables as Salesforce objects under their API names, in `ENTITIES` order."""
    u, a, c, ld, o = (tables[e] for e in ENTITIES)
    out: dict[str, pd.DataFrame] = {}
    out["User"] = pd.DataFrame({
        "Id": _sf_ids("user", u.id), "FirstName": u.first_name, "LastName": u.last_name, "Email": u.email,
        "IsActive": u.is_active == 1, "CreatedDate": u.created_at, "LastModifiedDate": u.modified_at})
    out["Account"] = pd.DataFrame({
        "Id": _sf_ids("account", a.id), "Name": a.name, "Phone": a.phone, "Website": a.website,
        "BillingStreet": None, "BillingCity": a.city, "BillingState": a.state, "BillingPostalCode": a.postal_code,
        "BillingCountry": a.country, "OwnerId": _sf_ids("user", int_ids(a, "owner_id")),
        "CreatedDate": a.created_at, "LastModifiedDate": a.modified_at, "IsDeleted": a.deleted == 1})
    out["Contact"] = pd.DataFrame({
        "Id": _sf_ids("contact", c.id), "FirstName": c.first_name, "LastName": c.last_name, "Email": c.email,
        "Phone": c.phone, "MobilePhone": c.mobile, "HomePhone": None, "OtherPhone": None, "Title": c.title,
        "AccountId": _sf_ids("account", int_ids(c, "account_id")), "OwnerId": _sf_ids("user", int_ids(c, "owner_id")),
        "MailingStreet": c.street, "MailingCity": c.city, "MailingState": c.state,
        "MailingPostalCode": c.postal_code, "MailingCountry": c.country, "CreatedDate": c.created_at,
        "LastModifiedDate": c.modified_at, "IsDeleted": c.deleted == 1})
    out["Lead"] = pd.DataFrame({
        "Id": _sf_ids("lead", ld.id), "FirstName": ld.first_name, "LastName": ld.last_name, "Email": ld.email,
        "Phone": ld.phone, "MobilePhone": ld.mobile, "Company": ld.company, "Status": ld.status,
        "Street": ld.get("street"), "City": ld.city, "State": ld.state, "PostalCode": ld.postal_code, "Country": ld.country,
        "OwnerId": _sf_ids("user", int_ids(ld, "owner_id")), "IsConverted": ld.converted == 1,
        "CreatedDate": ld.created_at, "LastModifiedDate": ld.modified_at, "IsDeleted": ld.deleted == 1})
    out["Opportunity"] = pd.DataFrame({
        "Id": _sf_ids("opportunity", o.id), "Name": o.name, "Amount": o.amount, "StageName": o.stage,
        "IsWon": o.stage == "Closed Won", "IsClosed": o.stage.isin(["Closed Won", "Closed Lost"]),
        "CloseDate": o.close_date, "AccountId": _sf_ids("account", int_ids(o, "account_id")),
        "OwnerId": _sf_ids("user", int_ids(o, "owner_id")), "CreatedDate": o.created_at,
        "LastModifiedDate": o.modified_at, "IsDeleted": o.deleted == 1})
    return out
