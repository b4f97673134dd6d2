"""Ready mappings for known CRMs, and detection of which one a database is.

A preset lists, per canonical entity, candidate tables and, per canonical field, candidate columns;
`build_config` keeps the candidates the reflected schema really has, so a preset works on a full
CRM and on a partial replica alike. Salesforce names come in three spellings (API names as is,
lowercased by Heroku Connect, snake_case by Fivetran) and are generated from one list.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import yaml

from connectors.source import Source


def snake(name: str) -> str:
    """`MailingPostalCode` → `mailing_postal_code` (Fivetran's spelling)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


SALESFORCE: dict[str, dict[str, Any]] = {
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
        "created_at": "CreatedDate", "modified_at": "LastModifiedDate"}, "required": ["name", "stage", "close_date"]},
    "user": {"table": "User", "fields": {
        "first_name": "FirstName", "last_name": "LastName", "email": "Email", "active": "IsActive",
        "created_at": "CreatedDate", "modified_at": "LastModifiedDate"}},
}

DEMO: dict[str, dict[str, Any]] = {
    "contact": {"table": "contacts", "key": "id", "soft_delete": "deleted = 1", "fields": {
        "first_name": "first_name", "last_name": "last_name", "email": "email", "phone": ["phone", "mobile"],
        "title": "title", "account_id": "account_id", "owner_id": "owner_id", "street": "street", "city": "city",
        "state": "state", "postal_code": "postal_code", "country": "country", "created_at": "created_at",
        "modified_at": "modified_at"}, "required": ["first_name", "last_name", "country"]},
    "account": {"table": "accounts", "key": "id", "soft_delete": "deleted = 1", "fields": {
        "name": "name", "phone": "phone", "website": "website", "city": "city", "state": "state",
        "postal_code": "postal_code", "country": "country", "owner_id": "owner_id", "created_at": "created_at",
        "modified_at": "modified_at"}, "required": ["name", "country"]},
    "lead": {"table": "leads", "key": "id", "soft_delete": "deleted = 1", "fields": {
        "first_name": "first_name", "last_name": "last_name", "email": "email", "phone": ["phone", "mobile"],
        "company": "company", "status": "status", "city": "city", "state": "state", "postal_code": "postal_code",
        "country": "country", "owner_id": "owner_id", "converted": "converted", "created_at": "created_at",
        "modified_at": "modified_at"}, "required": ["last_name", "company"]},
    "opportunity": {"table": "opportunities", "key": "id", "soft_delete": "deleted = 1", "fields": {
        "name": "name", "amount": "amount", "stage": "stage",
        "is_won": {"sql": "CASE WHEN opportunities.stage = 'Closed Won' THEN 1 ELSE 0 END"},
        "is_closed": {"sql": "CASE WHEN opportunities.stage IN ('Closed Won', 'Closed Lost') THEN 1 ELSE 0 END"},
        "close_date": "close_date", "account_id": "account_id", "owner_id": "owner_id",
        "created_at": "created_at", "modified_at": "modified_at"}, "required": ["name", "stage", "close_date"]},
    "user": {"table": "users", "key": "id", "fields": {
        "first_name": "first_name", "last_name": "last_name", "email": "email", "active": "is_active",
        "created_at": "created_at", "modified_at": "modified_at"}},
}


def _suite_email(entity_table: str, module: str) -> dict:
    return {"column": "email_addresses.email_address", "join": [
        {"table": "email_addr_bean_rel", "on": (
            f"email_addr_bean_rel.bean_id = {entity_table}.id AND email_addr_bean_rel.bean_module = '{module}'"
            " AND email_addr_bean_rel.primary_address = 1 AND email_addr_bean_rel.deleted = 0")},
        {"table": "email_addresses", "on": (
            "email_addresses.id = email_addr_bean_rel.email_address_id AND email_addresses.deleted = 0")}]}


def _suite_person(table: str, module: str) -> dict[str, Any]:
    return {
        "first_name": "first_name", "last_name": "last_name", "email": _suite_email(table, module),
        "phone": ["phone_work", "phone_mobile", "phone_home", "phone_other"], "title": "title",
        "owner_id": "assigned_user_id", "street": "primary_address_street", "city": "primary_address_city",
        "state": "primary_address_state", "postal_code": "primary_address_postalcode",
        "country": "primary_address_country", "created_at": "date_entered", "modified_at": "date_modified"}


SUITECRM: dict[str, dict[str, Any]] = {
    "contact": {"table": "contacts", "key": "id", "soft_delete": "contacts.deleted = 1",
                "fields": {**_suite_person("contacts", "Contacts"), "account_id": {
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
             "fields": {**_suite_person("leads", "Leads"), "company": "account_name", "status": "status",
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

HUBSPOT: dict[str, dict[str, Any]] = {
    "contact": {"table": "contacts", "key": "Record ID", "fields": {
        "first_name": "First Name", "last_name": "Last Name", "email": "Email",
        "phone": ["Phone Number", "Mobile Phone Number"], "title": "Job Title", "account_id": "Associated Company ID",
        "owner_id": "Contact owner", "street": "Street Address", "city": "City", "state": "State/Region",
        "postal_code": "Postal Code", "country": "Country/Region", "created_at": "Create Date",
        "modified_at": "Last Modified Date"}, "required": ["email"]},
    "account": {"table": "companies", "key": "Record ID", "fields": {
        "name": "Company name", "phone": "Phone Number", "website": "Website URL", "city": "City",
        "state": "State/Region", "postal_code": "Postal Code", "country": "Country/Region",
        "owner_id": "Company owner", "created_at": "Create Date", "modified_at": "Last Modified Date"},
        "required": ["name"]},
}

REFERENCES = [{"from": "contact.account_id", "to": "account"}, {"from": "opportunity.account_id", "to": "account"}]


def detect_preset(source: Source) -> tuple[str, str]:
    """(preset, spelling) from the tables present: suitecrm, salesforce, hubspot, demo or generic."""
    tables = {t.lower(): t for t in source.tables()}
    if "email_addr_bean_rel" in tables:
        return "suitecrm", ""
    if "contact" in tables:
        cols = set(source.columns(tables["contact"]))
        for spelling, probe in (("api", "IsDeleted"), ("lower", "isdeleted"), ("snake", "is_deleted")):
            if probe in cols:
                return "salesforce", spelling
        if "sfid" in cols or "_fivetran_synced" in cols:
            return "salesforce", "snake" if "_fivetran_synced" in cols else "lower"
    if _hubspot_tables(source, tables):
        return "hubspot", ""
    if {"contacts", "accounts"} <= set(tables) and "deleted" in source.columns(tables["contacts"]):
        return "demo", ""
    return "generic", ""


def _hubspot_tables(source: Source, tables: dict[str, str]) -> dict[str, str]:
    """HubSpot export tables by preset name: `contacts.csv`, or as exported, `hubspot-crm-exports-all-contacts-….csv`."""
    found: dict[str, str] = {}
    for wanted, stem in (("contacts", "contact"), ("companies", "compan")):
        candidates = [tables[wanted]] if wanted in tables else [t for low, t in sorted(tables.items()) if stem in low]
        for table in candidates:
            if "Record ID" in source.columns(table):
                found[wanted] = table
                break
    return found if "contacts" in found else {}


def _salesforce(spelling: str) -> dict[str, dict[str, Any]]:
    spell = {"api": lambda s: s, "lower": str.lower, "snake": snake}[spelling]
    out = {}
    for entity, spec in SALESFORCE.items():
        fields = {f: [spell(c) for c in v] if isinstance(v, list) else spell(v) for f, v in spec["fields"].items()}
        table = spec["table"] if spelling == "api" else spec["table"].lower()
        deleted = spell("IsDeleted")
        out[entity] = {"table": table, "key": "Id" if spelling == "api" else "id", "soft_delete": deleted,
                       "fields": fields, "required": spec.get("required", [])}
    return out


def preset_mapping(preset: str, spelling: str = "") -> dict[str, dict[str, Any]]:
    """The raw preset (before matching it to a schema)."""
    if preset == "salesforce":
        return _salesforce(spelling or "api")
    return {"suitecrm": SUITECRM, "hubspot": HUBSPOT, "demo": DEMO, "generic": DEMO}[preset]


def _present(mapping, columns: set[str]):
    if isinstance(mapping, str):
        return mapping if mapping in columns else None
    if isinstance(mapping, list):
        kept = [c for c in mapping if c in columns]
        return kept or None
    return mapping  # sql and joins are validated later, against the live schema


def build_config(source: Source, url: str, preset: str | None = None, spelling: str = "") -> dict[str, Any]:
    """A starter config for `source`: the preset's candidates that exist in its schema."""
    if preset is None:
        preset, spelling = detect_preset(source)
    tables = {t.lower(): t for t in source.tables()}
    hubspot = _hubspot_tables(source, tables) if preset == "hubspot" else {}
    entities: dict[str, Any] = {}
    # A deep copy: callers edit the config they get, and must never edit the preset itself.
    for entity, spec in copy.deepcopy(preset_mapping(preset, spelling)).items():
        table = hubspot.get(spec["table"]) or tables.get(spec["table"].lower())
        if table is None:
            continue
        columns = set(source.columns(table))
        key = spec.get("key", "id")
        if preset == "salesforce" and "sfid" in columns:
            key = "sfid"  # Heroku Connect keeps the Salesforce id in sfid
        fields = {f: m for f, v in spec["fields"].items() if (m := _present(v, columns))}
        if not fields or key not in columns:
            continue
        ent = {"table": table, "key": key, "fields": fields,
               "required": [f for f in spec.get("required", []) if f in fields]}
        soft = spec.get("soft_delete")
        if soft:
            ent["soft_delete"] = _soft_delete_sql(source, table, soft, columns)
            if ent["soft_delete"] is None:
                del ent["soft_delete"]
        entities[entity] = ent
    refs = [r for r in REFERENCES if r["from"].split(".")[0] in entities and r["to"] in entities
            and r["from"].split(".")[1] in entities[r["from"].split(".")[0]]["fields"]]
    return {"name": preset, "preset": preset, "source": {"url": url}, "entities": entities, "references": refs}


def _soft_delete_sql(source: Source, table: str, soft: str, columns: set[str]) -> str | None:
    """`table.col = 1`, or `= TRUE` where the column is a real boolean (PostgreSQL).

    Qualified with the table, so that it stays unambiguous when a field adds joins.
    """
    if " " in soft.strip():
        return soft
    if soft not in columns:
        return None
    import sqlalchemy as sa

    is_bool = isinstance(source.column_types(table).get(soft), sa.Boolean)
    return f"{source.quote(table)}.{source.quote(soft)} = {'TRUE' if is_bool else '1'}"


HEADER = """# cleancrm configuration: see cleancrm.example.yml for every key.
# Generated by `cleancrm {what}`; adjust the mapping, required fields and checks to your CRM.
"""


def to_yaml(config: dict[str, Any], what: str = "init") -> str:
    """YAML text of a config, with a short header."""
    return HEADER.format(what=what) + yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=110)


def demo_config_yaml(db_file: str) -> str:
    """The demo CRM's config: demo preset, history beside it, stale after two years."""
    config = {"name": "demo", "preset": "demo", "source": {"url": f"sqlite:///{db_file}"},
              "entities": DEMO, "references": REFERENCES,
              "checks": {"freshness.staleness": {"params": {"days": 730}}},
              "schedule": [{"name": "nightly", "cron": "0 6 * * *", "timezone": "UTC"}]}
    return to_yaml(config, "demo")
