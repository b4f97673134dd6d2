"""HubSpot, read from its CSV or XLSX exports of contacts and companies.

An export holds live records only, every value as text, keyed by `Record ID`. Its files are named
`contacts.csv` and `companies.csv`, or as HubSpot names them, `hubspot-crm-exports-all-contacts-….csv`.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from connectors.presets.base import ACCOUNT_REFERENCES, Preset
from connectors.presets.shaping import Shaped, int_ids, live
from connectors.source import Source

# The demo's keys plus this look like HubSpot's record ids.
HUBSPOT_ID_BASE = 51_000_000_000


def export_tables(source: Source, tables: dict[str, str]) -> dict[str, str]:
    """HubSpot export tables by preset table name (`contacts`, `companies`); empty without contacts."""
    found: dict[str, str] = {}
    for wanted, stem in (("contacts", "contact"), ("companies", "compan")):
        candidates = [tables[wanted]] if wanted in tables else [t for low, t in sorted(tables.items()) if stem in low]
        for table in candidates:
            if "Record ID" in source.columns(table):
                found[wanted] = table
                break
    return found if "contacts" in found else {}


class HubSpot(Preset, name="hubspot"):
    """HubSpot's contacts and companies, as exported."""

    # After SuiteCRM and Salesforce; before the demo, whose `contacts` has no `Record ID`.
    priority = 30
    entities = {
        "contact": {"table": "contacts", "key": "Record ID", "fields": {
            "first_name": "First Name", "last_name": "Last Name", "email": "Email",
            "phone": ["Phone Number", "Mobile Phone Number"], "title": "Job Title",
            "account_id": "Associated Company ID", "owner_id": "Contact owner", "street": "Street Address",
            "city": "City", "state": "State/Region", "postal_code": "Postal Code", "country": "Country/Region",
            "created_at": "Create Date", "modified_at": "Last Modified Date"}, "required": ["email"]},
        "account": {"table": "companies", "key": "Record ID", "fields": {
            "name": "Company name", "phone": "Phone Number", "website": "Website URL", "city": "City",
            "state": "State/Region", "postal_code": "Postal Code", "country": "Country/Region",
            "owner_id": "Company owner", "created_at": "Create Date", "modified_at": "Last Modified Date"},
            "required": ["name"]},
    }
    references = ACCOUNT_REFERENCES

    def detect(self, source: Source) -> str | None:
        """An empty spelling where a contacts export (a table with `Record ID`) is, else None."""
        return "" if export_tables(source, super().table_names(source)) else None

    def table_names(self, source: Source) -> dict[str, str]:
        """The export tables, found by name and `Record ID` column, over the tables by lowercase name."""
        tables = super().table_names(source)
        return {**tables, **export_tables(source, tables)}

    def demo_shape(self, tables: dict[str, pd.DataFrame], spelling: str = "", synced: datetime | None = None,
                   schema: sa.MetaData | None = None) -> Shaped:
        """The demo's live contacts and accounts as HubSpot exports them."""
        a, c = tables["account"], tables["contact"]
        a, c = a[live(a)], c[live(c)]  # an export holds live records only
        contacts = pd.DataFrame({
            "Record ID": _record_ids(c.id), "First Name": _text(c.first_name), "Last Name": _text(c.last_name),
            "Email": _text(c.email), "Phone Number": _text(c.phone), "Mobile Phone Number": _text(c.mobile),
            "Job Title": _text(c.title), "Associated Company ID": _record_ids(int_ids(c, "account_id")),
            "Contact owner": _text(int_ids(c, "owner_id")), "Street Address": _text(c.street),
            "City": _text(c.city), "State/Region": _text(c.state), "Postal Code": _text(c.postal_code),
            "Country/Region": _text(c.country), "Create Date": _text(c.created_at),
            "Last Modified Date": _text(c.modified_at)})
        companies = pd.DataFrame({
            "Record ID": _record_ids(a.id), "Company name": _text(a.name), "Phone Number": _text(a.phone),
            "Website URL": _text(a.website), "City": _text(a.city), "State/Region": _text(a.state),
            "Postal Code": _text(a.postal_code), "Country/Region": _text(a.country),
            "Company owner": _text(int_ids(a, "owner_id")), "Create Date": _text(a.created_at),
            "Last Modified Date": _text(a.modified_at)})
        emails = {k: (e or None) for k, e in zip(contacts["Record ID"], contacts["Email"], strict=True)}
        counts = {"contact": len(contacts), "account": len(companies)}
        return Shaped("hubspot", "", {"contacts": contacts, "companies": companies},
                      {"contacts": "Record ID", "companies": "Record ID"}, {}, counts, emails,
                      {"contact": "contacts", "account": "companies"})


def _text(values: pd.Series) -> list[str]:
    """HubSpot exports every value as text; missing ones as empty cells."""
    out = []
    for v in values:
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            out.append("")
        elif isinstance(v, datetime | pd.Timestamp):
            out.append(pd.Timestamp(v).strftime("%Y-%m-%d %H:%M"))
        elif isinstance(v, float) and v.is_integer():
            out.append(str(int(v)))
        else:
            out.append(str(v))
    return out


def _record_ids(values: pd.Series) -> list[str]:
    return ["" if pd.isna(v) else str(HUBSPOT_ID_BASE + int(v)) for v in values]
