"""`cleancrm demo`: a realistic SQLite CRM with defects at known records, and their ground truth.

Deterministic per seed and as-of date. Writes `crm.db`, `ground_truth.json` and a working
`cleancrm.yml` into the output folder.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from checks.demo import baseline
from checks.demo.defects import (
    Change,
    Injector,
    add_soft_deleted,
    inject_account_defects,
    inject_contact_date_defects,
    inject_contact_duplicates,
    inject_contact_value_defects,
    inject_enrichment_gaps,
    inject_lead_defects,
    inject_opportunity_defects,
)
from checks.demo.schema import create_schema

TABLES = {"user": "users", "account": "accounts", "contact": "contacts", "lead": "leads", "opportunity": "opportunities"}


@dataclass
class DemoResult:
    """What `generate_demo` wrote, and what the history backfill needs."""

    out_dir: Path
    db_path: Path
    config_path: Path
    ground_truth_path: Path
    as_of: datetime
    counts: dict[str, int]
    changes: list[Change]
    seconds: float
    started: float = 0.0
    injector: Injector | None = None


def _default_as_of() -> datetime:
    today = datetime.now(UTC).date()
    return datetime(today.year, today.month, today.day)


def _make_unique_phones(rng, frame: pd.DataFrame) -> None:
    """Redraw phone numbers that collide, across the phone and mobile columns."""
    for _ in range(20):
        values = pd.concat([frame.phone, frame.mobile]).dropna()
        dupes = set(values[values.duplicated()])
        if not dupes:
            return
        for column in ("phone", "mobile"):
            rows = np.flatnonzero(frame[column].isin(dupes).to_numpy())
            for r in rows:
                country = next(c for c in baseline.COUNTRIES if c.code == frame.country.iat[r])
                city = next((c for c in country.cities if c.name == frame.city.iat[r]), None)
                frame.iat[r, frame.columns.get_loc(column)] = baseline.valid_phones(
                    rng, country, city if column == "phone" else None, 1)[0]


def _make_unique_names(rng, frame: pd.DataFrame, pools: baseline.Pools, group: str) -> None:
    """Redraw last names so that no two people share first name, last name and `group`."""
    for _ in range(20):
        dup = frame.duplicated(["first_name", "last_name", group], keep="first").to_numpy()
        if not dup.any():
            return
        for r in np.flatnonzero(dup):
            names = pools.last[frame.country.iat[r]]
            frame.iat[r, frame.columns.get_loc("last_name")] = names[rng.integers(0, len(names))]


def _fix_emails(frame: pd.DataFrame, seen: set[str]) -> None:
    """Make emails unique against `seen` too (leads must not collide with contacts)."""
    out = []
    for e in frame.email:
        addr, k = e, 1
        while addr in seen:
            k += 1
            local, _, dom = e.partition("@")
            addr = f"{local}{k}@{dom}"
        seen.add(addr)
        out.append(addr)
    frame["email"] = out


def build_tables(contacts: int, seed: int, as_of: datetime) -> Injector:
    """The clean baseline with every defect injected."""
    rng = np.random.default_rng(seed)
    pools = baseline.build_pools(seed)
    users = baseline.users(rng, pools, 25, as_of)
    owners = users.id.to_numpy()[:-3]
    accts = baseline.accounts(rng, pools, max(30, contacts // 10), as_of, owners)
    cons = baseline.contacts(rng, pools, contacts, as_of, accts, owners)
    leads = baseline.leads(rng, pools, max(20, contacts // 4), as_of, owners)
    opps = baseline.opportunities(rng, max(20, contacts // 5), as_of, accts, owners)
    for frame in (cons, leads):
        _make_unique_phones(rng, frame)
    _make_unique_names(rng, cons, pools, "account_id")
    _make_unique_names(rng, leads, pools, "company")
    seen: set[str] = set()
    _fix_emails(cons, seen)
    _fix_emails(leads, seen)
    tables = {"user": users, "account": accts.drop(columns="domain"), "contact": cons, "lead": leads,
              "opportunity": opps}
    inj = Injector(rng, tables, as_of)
    inj.original_max = {e: int(t.id.max()) for e, t in tables.items()}
    per_kind = max(5, round(contacts * 0.01))
    add_soft_deleted(inj, "account", max(3, len(accts) // 100))
    inject_contact_value_defects(inj, per_kind)
    inject_contact_date_defects(inj, per_kind)
    inject_contact_duplicates(inj, max(3, per_kind // 2))
    inject_account_defects(inj, max(3, len(accts) // 50))
    inject_lead_defects(inj, max(5, round(len(leads) * 0.02)))
    inject_opportunity_defects(inj, max(5, round(len(opps) * 0.02)))
    inject_enrichment_gaps(inj, per_kind)
    for entity in ("contact", "lead", "opportunity"):
        add_soft_deleted(inj, entity, max(3, len(inj.tables[entity]) // 100))
    return inj


def write_database(path: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Write the tables into a new SQLite file with a typed schema."""
    if path.exists():
        path.unlink()
    engine = sa.create_engine(f"sqlite:///{path}")
    create_schema(engine)
    with engine.begin() as conn:
        for entity, frame in tables.items():
            frame = frame.copy()
            for column in frame.columns:
                if (column == "id" or column.endswith("_id")) and pd.api.types.is_float_dtype(frame[column]):
                    frame[column] = frame[column].astype("Int64")  # NULLs had turned the ids into floats
                if column.endswith("_at"):
                    frame[column] = pd.to_datetime(frame[column]).dt.strftime("%Y-%m-%d %H:%M:%S")
            frame = frame.astype(object).where(frame.notna(), None)
            conn.exec_driver_sql(
                f"INSERT INTO {TABLES[entity]} ({', '.join(frame.columns)}) VALUES ({', '.join('?' * len(frame.columns))})",
                list(frame.itertuples(index=False, name=None)),
            )
    engine.dispose()


def ground_truth(inj: Injector, seed: int, contacts: int) -> dict:
    """The ground truth document written to `ground_truth.json`."""
    return {
        "seed": seed,
        "contacts": contacts,
        "as_of": inj.as_of.isoformat(),
        "tables": TABLES,
        "counts": {e: int((t.deleted == 0).sum()) if "deleted" in t else len(t) for e, t in inj.tables.items()},
        "defects": {k: {"entity": v["entity"], "keys": sorted(set(v["keys"]), key=int)} for k, v in inj.defects.items()},
        "duplicate_clusters": inj.clusters,
        "exact_duplicate_groups": inj.exact_groups,
        "lead_contact_duplicates": inj.lead_contact,
        "soft_deleted": inj.soft_deleted,
    }


def generate_demo(out_dir: Path | str, contacts: int = 5000, seed: int = 42, as_of: date | datetime | None = None,
                  write_config: bool = True) -> DemoResult:
    """Generate the demo CRM into `out_dir`."""
    start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if as_of is None:
        as_of = _default_as_of()
    elif not isinstance(as_of, datetime):
        as_of = datetime(as_of.year, as_of.month, as_of.day)
    inj = build_tables(contacts, seed, as_of)
    db_path = out / "crm.db"
    write_database(db_path, inj.tables)
    gt_path = out / "ground_truth.json"
    gt_path.write_text(json.dumps(ground_truth(inj, seed, contacts), indent=1))
    config_path = out / "cleancrm.yml"
    if write_config:
        from connectors.presets import demo_config_yaml

        config_path.write_text(demo_config_yaml("crm.db"))
    counts = {e: len(t) for e, t in inj.tables.items()}
    return DemoResult(out, db_path, config_path, gt_path, as_of, counts, inj.changes, time.perf_counter() - start,
                      start, inj)


def build_and_write(out_dir: Path | str, contacts: int = 5000, seed: int = 42, as_of: datetime | None = None,
                    history: bool = True, progress=None) -> DemoResult:
    """`cleancrm demo`: the CRM, its ground truth and config, and (optionally) a backfilled history."""
    out = Path(out_dir)
    if history:
        for stale in (out / "cleancrm-history.db",):
            if stale.exists():
                stale.unlink()  # a new demo CRM gets a new history
    result = generate_demo(out, contacts, seed, as_of)
    if history:
        from checks.demo.backfill import backfill_history

        backfill_history(result.injector, result.config_path, progress=progress)
        result.seconds = time.perf_counter() - result.started
    return result
