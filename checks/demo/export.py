"""The demo CRM in other shapes and other databases: for tests, and for trying the presets.

`shape_tables` reshapes the demo tables (from `checks.demo.build_tables`) into the layout a CRM
really uses: the demo's own schema, Salesforce (API names, Heroku Connect's lowercase, Fivetran's
snake_case), SuiteCRM (UUID keys, `deleted` flags, several phone columns, emails in
`email_addresses` joined through `email_addr_bean_rel`, accounts through `accounts_contacts` and
`accounts_opportunities`) or a HubSpot export. `write_shape` writes a shape into any SQLAlchemy URL
(SQLite, PostgreSQL, MariaDB/MySQL); `write_hubspot_export` writes HubSpot-style CSV or XLSX files.

Each shape also says what a reader should get back through its preset: the live (not soft-deleted)
row count per entity, and each contact's primary email.

    python -m checks.demo.export --url postgresql+psycopg://me@localhost/crm_try --shape suitecrm
"""

from __future__ import annotations

import argparse
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

SHAPES = ("demo", "salesforce", "suitecrm", "hubspot")
SPELLINGS = ("api", "lower", "snake")
ENTITIES = ("user", "account", "contact", "lead", "opportunity")
_NS = uuid.UUID("6f1c55a4-7f43-4b7e-9a55-0c1e2c7d5a10")


@dataclass
class Shaped:
    """Tables in one CRM's layout, and what reading them through the preset must give."""

    shape: str
    spelling: str
    frames: dict[str, pd.DataFrame]
    keys: dict[str, str]
    types: dict[str, dict[str, sa.types.TypeEngine]] = field(default_factory=dict)
    live_counts: dict[str, int] = field(default_factory=dict)
    contact_emails: dict[str, str | None] = field(default_factory=dict)
    entity_tables: dict[str, str] = field(default_factory=dict)


def _live(frame: pd.DataFrame) -> pd.Series:
    return frame["deleted"] == 0 if "deleted" in frame else pd.Series(True, index=frame.index)


def _value(v):
    """None for a missing value (pandas 3 gives NaN in text columns), else the value."""
    return None if v is None or (not isinstance(v, str) and pd.isna(v)) else v


def _ids(frame: pd.DataFrame, column: str = "id") -> pd.Series:
    """Integer ids (owner_id and the like hold floats or objects where some are missing)."""
    return pd.to_numeric(frame[column], errors="coerce").astype("Int64")


def _base_counts(tables: dict[str, pd.DataFrame]) -> dict[str, int]:
    return {e: int(_live(t).sum()) for e, t in tables.items()}


# ---------------------------------------------------------------------------------------------- demo


def _demo(tables: dict[str, pd.DataFrame]) -> Shaped:
    from checks.demo import TABLES
    from checks.demo.schema import metadata

    frames = {TABLES[e]: tables[e].copy() for e in ENTITIES}
    types = {name: {c.name: c.type for c in metadata.tables[name].columns} for name in frames}
    for name, frame in frames.items():
        frames[name] = frame[[c for c in types[name] if c in frame.columns]]
    c = tables["contact"]
    emails = {str(k): _value(e) for k, e in zip(c.loc[_live(c), "id"], c.loc[_live(c), "email"], strict=True)}
    return Shaped("demo", "", frames, {n: "id" for n in frames}, types, _base_counts(tables), emails,
                  {e: TABLES[e] for e in ENTITIES})


# ---------------------------------------------------------------------------------------- salesforce

_SF_PREFIX = {"user": "005", "account": "001", "contact": "003", "lead": "00Q", "opportunity": "006"}
_SF_TABLE = {"user": "User", "account": "Account", "contact": "Contact", "lead": "Lead", "opportunity": "Opportunity"}


def sf_id(entity: str, key) -> str | None:
    """An 18-character Salesforce-like id for a demo key."""
    if key is None or pd.isna(key):
        return None
    return f"{_SF_PREFIX[entity]}{int(key):012d}AAA"


def _sf_ids(entity: str, values: pd.Series) -> list[str | None]:
    return [sf_id(entity, v) for v in values]


def _salesforce_api(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    u, a, c, ld, o = (tables[e] for e in ENTITIES)
    out: dict[str, pd.DataFrame] = {}
    out["User"] = pd.DataFrame({
        "Id": _sf_ids("user", u.id), "FirstName": u.first_name, "LastName": u.last_name, "Email": u.email,
        "IsActive": u.is_active == 1, "CreatedDate": u.created_at, "LastModifiedDate": u.modified_at})
    out["Account"] = pd.DataFrame({
        "Id": _sf_ids("account", a.id), "Name": a.name, "Phone": a.phone, "Website": a.website,
        "BillingStreet": None, "BillingCity": a.city, "BillingState": a.state, "BillingPostalCode": a.postal_code,
        "BillingCountry": a.country, "OwnerId": _sf_ids("user", _ids(a, "owner_id")),
        "CreatedDate": a.created_at, "LastModifiedDate": a.modified_at, "IsDeleted": a.deleted == 1})
    out["Contact"] = pd.DataFrame({
        "Id": _sf_ids("contact", c.id), "FirstName": c.first_name, "LastName": c.last_name, "Email": c.email,
        "Phone": c.phone, "MobilePhone": c.mobile, "HomePhone": None, "OtherPhone": None, "Title": c.title,
        "AccountId": _sf_ids("account", _ids(c, "account_id")), "OwnerId": _sf_ids("user", _ids(c, "owner_id")),
        "MailingStreet": c.street, "MailingCity": c.city, "MailingState": c.state,
        "MailingPostalCode": c.postal_code, "MailingCountry": c.country, "CreatedDate": c.created_at,
        "LastModifiedDate": c.modified_at, "IsDeleted": c.deleted == 1})
    out["Lead"] = pd.DataFrame({
        "Id": _sf_ids("lead", ld.id), "FirstName": ld.first_name, "LastName": ld.last_name, "Email": ld.email,
        "Phone": ld.phone, "MobilePhone": ld.mobile, "Company": ld.company, "Status": ld.status,
        "Street": ld.get("street"), "City": ld.city, "State": ld.state, "PostalCode": ld.postal_code, "Country": ld.country,
        "OwnerId": _sf_ids("user", _ids(ld, "owner_id")), "IsConverted": ld.converted == 1,
        "CreatedDate": ld.created_at, "LastModifiedDate": ld.modified_at, "IsDeleted": ld.deleted == 1})
    out["Opportunity"] = pd.DataFrame({
        "Id": _sf_ids("opportunity", o.id), "Name": o.name, "Amount": o.amount, "StageName": o.stage,
        "IsWon": o.stage == "Closed Won", "IsClosed": o.stage.isin(["Closed Won", "Closed Lost"]),
        "CloseDate": o.close_date, "AccountId": _sf_ids("account", _ids(o, "account_id")),
        "OwnerId": _sf_ids("user", _ids(o, "owner_id")), "CreatedDate": o.created_at,
        "LastModifiedDate": o.modified_at, "IsDeleted": o.deleted == 1})
    return out


def _salesforce(tables: dict[str, pd.DataFrame], spelling: str, synced: datetime) -> Shaped:
    from connectors.presets import snake

    if spelling not in SPELLINGS:
        raise ValueError(f"spelling {spelling!r}: use one of {', '.join(SPELLINGS)}")
    api = _salesforce_api(tables)
    frames, keys, entity_tables = {}, {}, {}
    for entity, (name, frame) in zip(ENTITIES, api.items(), strict=True):
        if spelling == "api":
            frames[name], keys[name] = frame, "Id"
        elif spelling == "lower":  # Heroku Connect: lowercase names, a serial id, the Salesforce id in sfid
            frame = frame.rename(columns=str.lower).rename(columns={"id": "sfid"})
            frame.insert(0, "id", np.arange(1, len(frame) + 1))
            frame["systemmodstamp"] = frame["lastmodifieddate"]
            frame["_hc_lastop"] = "SYNCED"
            name = name.lower()
            frames[name], keys[name] = frame, "id"
        else:  # Fivetran: snake_case names, plus its sync columns
            frame = frame.rename(columns=snake)
            frame["_fivetran_synced"] = synced
            frame["_fivetran_deleted"] = False
            name = name.lower()
            frames[name], keys[name] = frame, "id"
        entity_tables[entity] = name
    c = tables["contact"]
    live = _live(c)
    emails = {sf_id("contact", k): _value(e) for k, e in zip(c.loc[live, "id"], c.loc[live, "email"], strict=True)}
    return Shaped("salesforce", spelling, frames, keys, {}, _base_counts(tables), emails, entity_tables)


# ------------------------------------------------------------------------------------------ suitecrm


def suite_id(entity: str, key) -> str | None:
    """A stable UUID (SuiteCRM's char(36) ids) for a demo key."""
    if key is None or pd.isna(key):
        return None
    return str(uuid.uuid5(_NS, f"{entity}:{int(key)}"))


def _uuids(entity: str, values: pd.Series) -> list[str | None]:
    return [suite_id(entity, v) for v in values]


def _suite_person(frame: pd.DataFrame, entity: str) -> pd.DataFrame:
    return pd.DataFrame({
        "id": _uuids(entity, frame.id), "first_name": frame.first_name, "last_name": frame.last_name,
        "phone_work": frame.phone, "phone_mobile": frame.mobile, "phone_home": None, "phone_other": None,
        "primary_address_street": frame.get("street"), "primary_address_city": frame.city,
        "primary_address_state": frame.state, "primary_address_postalcode": frame.postal_code,
        "primary_address_country": frame.country, "assigned_user_id": _uuids("user", _ids(frame, "owner_id")),
        "date_entered": frame.created_at, "date_modified": frame.modified_at, "deleted": frame.deleted.astype(int)})


def _suite_emails(people: list[tuple[str, str, pd.DataFrame]]) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
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


def _suite_links(name: str, left: str, left_ids: list, right: str, right_ids: list, left_entity: str) -> pd.DataFrame:
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


def _suitecrm(tables: dict[str, pd.DataFrame]) -> Shaped:
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
        "billing_address_country": a.country, "assigned_user_id": _uuids("user", _ids(a, "owner_id")),
        "date_entered": a.created_at, "date_modified": a.modified_at, "deleted": a.deleted.astype(int)})
    contacts = _suite_person(c, "contact")
    contacts.insert(3, "title", c.title)
    frames["contacts"] = contacts
    leads = _suite_person(ld, "lead")
    leads["account_name"], leads["status"], leads["converted"] = ld.company, ld.status, ld.converted.astype(int)
    frames["leads"] = leads
    frames["opportunities"] = pd.DataFrame({
        "id": _uuids("opportunity", o.id), "name": o.name, "amount": o.amount, "sales_stage": o.stage,
        "date_closed": o.close_date, "assigned_user_id": _uuids("user", _ids(o, "owner_id")),
        "date_entered": o.created_at, "date_modified": o.modified_at, "deleted": o.deleted.astype(int)})
    addresses, rels, expected = _suite_emails([("contact", "Contacts", c), ("lead", "Leads", ld)])
    frames["email_addresses"], frames["email_addr_bean_rel"] = addresses, rels
    frames["accounts_contacts"] = _suite_links("accounts_contacts", "contact_id", list(contacts.id), "account_id",
                                               _uuids("account", _ids(c, "account_id")), "account")
    frames["accounts_opportunities"] = _suite_links(
        "accounts_opportunities", "opportunity_id", list(frames["opportunities"].id), "account_id",
        _uuids("account", _ids(o, "account_id")), "account")
    live = set(contacts.loc[contacts.deleted == 0, "id"])
    emails = {k: v for k, v in expected.items() if k in live}
    return Shaped("suitecrm", "", frames, {n: "id" for n in frames}, {}, _base_counts(tables), emails,
                  {"user": "users", "account": "accounts", "contact": "contacts", "lead": "leads",
                   "opportunity": "opportunities"})


# ------------------------------------------------------------------------------------------- hubspot

HUBSPOT_ID_BASE = 51_000_000_000


def _hub_text(values: pd.Series) -> list[str]:
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


def _hub_ids(values: pd.Series) -> list[str]:
    return ["" if pd.isna(v) else str(HUBSPOT_ID_BASE + int(v)) for v in values]


def _hubspot(tables: dict[str, pd.DataFrame]) -> Shaped:
    a, c = tables["account"], tables["contact"]
    a, c = a[_live(a)], c[_live(c)]  # an export holds live records only
    contacts = pd.DataFrame({
        "Record ID": _hub_ids(c.id), "First Name": _hub_text(c.first_name), "Last Name": _hub_text(c.last_name),
        "Email": _hub_text(c.email), "Phone Number": _hub_text(c.phone), "Mobile Phone Number": _hub_text(c.mobile),
        "Job Title": _hub_text(c.title), "Associated Company ID": _hub_ids(_ids(c, "account_id")),
        "Contact owner": _hub_text(_ids(c, "owner_id")), "Street Address": _hub_text(c.street),
        "City": _hub_text(c.city), "State/Region": _hub_text(c.state), "Postal Code": _hub_text(c.postal_code),
        "Country/Region": _hub_text(c.country), "Create Date": _hub_text(c.created_at),
        "Last Modified Date": _hub_text(c.modified_at)})
    companies = pd.DataFrame({
        "Record ID": _hub_ids(a.id), "Company name": _hub_text(a.name), "Phone Number": _hub_text(a.phone),
        "Website URL": _hub_text(a.website), "City": _hub_text(a.city), "State/Region": _hub_text(a.state),
        "Postal Code": _hub_text(a.postal_code), "Country/Region": _hub_text(a.country),
        "Company owner": _hub_text(_ids(a, "owner_id")), "Create Date": _hub_text(a.created_at),
        "Last Modified Date": _hub_text(a.modified_at)})
    emails = {k: (e or None) for k, e in zip(contacts["Record ID"], contacts["Email"], strict=True)}
    counts = {"contact": len(contacts), "account": len(companies)}
    return Shaped("hubspot", "", {"contacts": contacts, "companies": companies},
                  {"contacts": "Record ID", "companies": "Record ID"}, {}, counts, emails,
                  {"contact": "contacts", "account": "companies"})


# --------------------------------------------------------------------------------------------- public


def shape_tables(tables: dict[str, pd.DataFrame], shape: str = "demo", spelling: str = "api",
                 synced: datetime | None = None) -> Shaped:
    """The demo tables (entity → frame) in one CRM's layout."""
    if shape == "demo":
        return _demo(tables)
    if shape == "salesforce":
        return _salesforce(tables, spelling, synced or datetime(2024, 1, 1))
    if shape == "suitecrm":
        return _suitecrm(tables)
    if shape == "hubspot":
        return _hubspot(tables)
    raise ValueError(f"shape {shape!r}: use one of {', '.join(SHAPES)}")


def infer_type(values: pd.Series) -> sa.types.TypeEngine:
    """A portable column type for a frame column (strings get a length MariaDB accepts)."""
    present = [v for v in values if v is not None and not (not isinstance(v, str) and pd.isna(v))]
    if pd.api.types.is_bool_dtype(values.dtype) or present and all(isinstance(v, bool | np.bool_) for v in present):
        return sa.Boolean()
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return sa.DateTime()
    if pd.api.types.is_integer_dtype(values.dtype):
        return sa.BigInteger()
    if pd.api.types.is_float_dtype(values.dtype):
        return sa.Float()
    if present and all(isinstance(v, datetime | pd.Timestamp) for v in present):
        return sa.DateTime()
    if present and all(isinstance(v, date) for v in present):
        return sa.Date()
    if present and all(isinstance(v, int | np.integer) for v in present):
        return sa.BigInteger()
    longest = max((len(str(v)) for v in present), default=0)
    return sa.String(255) if longest <= 255 else sa.Text()


def _python_rows(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain Python values (drivers reject numpy scalars and NaN)."""
    out = frame.astype(object).where(frame.notna(), None)
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column].dtype):
            out[column] = [None if v is None else v.to_pydatetime() for v in out[column]]
    rows = out.to_dict("records")
    for row in rows:
        for k, v in row.items():
            if isinstance(v, np.generic):
                row[k] = v.item()
    return rows


def write_frames(url: str | sa.Engine, frames: dict[str, pd.DataFrame], keys: dict[str, str] | None = None,
                 types: dict[str, dict[str, sa.types.TypeEngine]] | None = None, schema: str | None = None,
                 batch: int = 5_000) -> None:
    """Create (replacing) one table per frame in any SQLAlchemy database and insert the rows."""
    engine = sa.create_engine(url) if isinstance(url, str) else url
    metadata = sa.MetaData(schema=schema)
    tables = []
    for name, frame in frames.items():
        given = (types or {}).get(name, {})
        key = (keys or {}).get(name)
        columns = [sa.Column(col, given.get(col) or infer_type(frame[col]), primary_key=col == key,
                             autoincrement=False) for col in frame.columns]
        tables.append((sa.Table(name, metadata, *columns), frame))
    try:
        metadata.drop_all(engine)
        metadata.create_all(engine)
        with engine.begin() as conn:
            for table, frame in tables:
                rows = _python_rows(frame)
                for start in range(0, len(rows), batch):
                    conn.execute(table.insert(), rows[start:start + batch])
    finally:
        if isinstance(url, str):
            engine.dispose()


def write_shape(url: str | sa.Engine, shaped: Shaped, schema: str | None = None) -> Shaped:
    """Write a shaped CRM into the database at `url` (its tables are replaced)."""
    write_frames(url, shaped.frames, shaped.keys, shaped.types, schema)
    return shaped


def write_hubspot_export(target: Path | str, shaped: Shaped, fmt: str = "csv") -> list[Path]:
    """HubSpot-style export files, every value as text.

    CSV: `contacts.csv` and `companies.csv` in the folder `target`. XLSX: one workbook with a sheet
    per table, `target` itself if it ends in .xlsx, else `target/hubspot.xlsx`.
    """
    if shaped.shape != "hubspot":
        raise ValueError("write_hubspot_export needs shape_tables(..., 'hubspot')")
    target = Path(target)
    out = target.parent if target.suffix == ".xlsx" else target
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        paths = []
        for name, frame in shaped.frames.items():
            path = out / f"{name}.csv"
            frame.to_csv(path, index=False, encoding="utf-8-sig")  # HubSpot's exports carry a BOM
            paths.append(path)
        return paths
    if fmt == "xlsx":
        path = target if target.suffix == ".xlsx" else out / "hubspot.xlsx"
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            for name, frame in shaped.frames.items():
                frame.to_excel(writer, sheet_name=name, index=False)
        return [path]
    raise ValueError(f"fmt {fmt!r}: use csv or xlsx")


def export_demo(url: str, shape: str = "demo", spelling: str = "api", contacts: int = 2000, seed: int = 42,
                as_of: datetime | None = None) -> Shaped:
    """Generate the demo CRM and write it in `shape` to `url` (a database URL, or a folder for hubspot)."""
    from checks.demo import _default_as_of, build_tables

    tables = build_tables(contacts, seed, as_of or _default_as_of()).tables
    shaped = shape_tables(tables, shape, spelling)
    if shape == "hubspot":
        write_hubspot_export(url, shaped, "xlsx" if url.endswith(".xlsx") else "csv")
    else:
        write_shape(url, shaped)
    return shaped


def main(argv: list[str] | None = None) -> None:
    """Command line: write the demo CRM in a CRM's shape into a database (or HubSpot files into a folder)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy URL to write into (its tables are replaced); "
                        "for --shape hubspot, a folder for the CSV files or a path ending in .xlsx")
    parser.add_argument("--shape", choices=SHAPES, default="demo")
    parser.add_argument("--spelling", choices=SPELLINGS, default="api", help="Salesforce: api, lower or snake")
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    shaped = export_demo(args.url, args.shape, args.spelling, args.contacts, args.seed)
    print(f"wrote {args.shape} ({', '.join(f'{k}: {len(v)} rows' for k, v in shaped.frames.items())})")


if __name__ == "__main__":
    main()
