"""Merge packages on the demo: one row per cluster, merge calls within each tool's limits, master updates first.

The test plays the admin on a copy of the demo CRM (cleancrm never writes to it): it sets the
masters' values from the package, then merges as the CRM does (the merged records go, their
related records move to the master). The next run finds none of those duplicates and nothing new.
"""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3

import pandas as pd
import pytest

from checks.app.merge_package import CALLS_PER_SCRIPT, apex_scripts
from checks.config import load_config
from checks.demo import generate_demo
from checks.fixes.merges import MergePlan
from connectors.history import HistoryStore
from tests.support.commands import cli

AS_OF = "2026-11-23"


def rows(path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))


def latest(folder):
    cfg = load_config(folder / "cleancrm.yml")
    store = HistoryStore(cfg.history_url())
    return store, store.runs.resolve("latest", cfg.name)


def findings(folder) -> set[tuple[str, str, str]]:
    store, run = latest(folder)
    keys = store.findings.failing_keys(run)
    return set(zip(keys.check_id, keys.entity, keys.record_key.astype(str), strict=True))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("merges")
    generate_demo(folder, contacts=800, seed=12, as_of=pd.Timestamp(AS_OF).to_pydatetime())
    cli("run", "--config", folder / "cleancrm.yml", "--now", AS_OF)
    return folder


def clusters_of(folder, tiers=("exact", "likely", "confirmed")) -> dict[str, tuple[str, list[str]]]:
    store, run = latest(folder)
    work = store.clusters.worklist(run)
    work = work[work.tier.isin(tiers)]
    return {cid: (str(g[g.is_survivor == 1].record_id.iloc[0]), sorted(str(k) for k in g.record_id))
            for cid, g in work.groupby("cluster_id")}


def test_one_row_per_cluster_and_merge_calls_within_each_tools_limits(demo, tmp_path):
    clusters = clusters_of(demo)
    cli("merges", "--config", demo / "cleancrm.yml", "--out", tmp_path / "sf", "--format", "salesforce")
    cli("merges", "--config", demo / "cleancrm.yml", "--out", tmp_path / "hs", "--format", "hubspot")
    listed = {}
    for entity in ("contact", "account"):
        for r in rows(tmp_path / "sf" / f"{entity}.merges.csv"):
            listed[r["cluster_id"]] = (r["master_id"], sorted([r["master_id"], *r["merged_ids"].split("; ")]))
            assert r["matched_on"]
    assert listed == clusters  # every cluster once, master and members as the run found them
    covered: dict[str, set[str]] = {}
    for entity in ("contact", "account"):
        for call in rows(tmp_path / "sf" / f"{entity}.merge_calls.csv"):
            dups = [d for d in (call["DuplicateId1"], call["DuplicateId2"]) if d]
            assert 1 <= len(dups) <= 2 and call["MasterRecordId"] not in dups
            covered.setdefault(call["MasterRecordId"], set()).update(dups)
        for pair in rows(tmp_path / "hs" / f"{entity}.merge_pairs.csv"):
            assert set(pair) == {"primary_record_id", "record_id_to_merge"}
    assert covered == {m: set(keys) - {m} for m, keys in clusters.values()}
    assert not list((tmp_path / "sf").glob("*.apex"))  # the demo's ids are not Salesforce ids


def test_apex_scripts_merge_at_most_two_per_call_and_a_hundred_calls_per_script():
    plans = [MergePlan("contact", f"c{i}", "exact", "same email", 1.0, f"003{i:015d}",
                       [f"003{i + 1000:015d}", f"003{i + 2000:015d}", f"003{i + 3000:015d}"]) for i in range(120)]
    scripts = apex_scripts(plans, "Contact")
    calls = [line for s in scripts for line in s.splitlines() if line.startswith("Database.merge(")]
    assert len(calls) == 240 and len(scripts) == 3
    assert all(s.count("Database.merge(") <= CALLS_PER_SCRIPT for s in scripts)
    assert calls[0] == ("Database.merge(new Contact(Id='003000000000000000'), "
                        "new List<Id>{'003000000000001000', '003000000000002000'});")
    assert calls[1] == "Database.merge(new Contact(Id='003000000000000000'), new List<Id>{'003000000000003000'});"


@pytest.fixture(scope="module")
def gapped(demo, tmp_path_factory):
    """A copy of the demo whose first two-record contact cluster's master lost its title and has a broken email."""
    folder = tmp_path_factory.mktemp("gapped") / "crm"
    shutil.copytree(demo, folder)
    store, run = latest(folder)
    work = store.clusters.worklist(run)
    contact = work[(work.entity == "contact") & (work["size"] == 2) & work.tier.isin(["exact", "likely"])]
    cid = contact.cluster_id.iloc[0]
    members = contact[contact.cluster_id == cid]
    master = str(members[members.is_survivor == 1].record_id.iloc[0])
    other = str(members[members.is_survivor == 0].record_id.iloc[0])
    con = sqlite3.connect(folder / "crm.db")
    with con:
        con.execute("UPDATE contacts SET title = NULL, email = 'not-an-address' WHERE id = ?", (int(master),))
        con.execute("UPDATE contacts SET title = 'VP Sales', email = 'kept.address@example.org', "
                    "modified_at = '2026-11-20 00:00:00' WHERE id = ?", (int(other),))
    con.close()
    return folder, cid, master, other


def test_the_master_takes_the_best_value_and_unchanged_fields_are_left_out(gapped, tmp_path):
    folder, cid, master, other = gapped
    out = tmp_path / "m"
    cli("merges", "--config", folder / "cleancrm.yml", "--out", out, "--format", "csv")
    plan = [r for r in rows(out / "merge_plan.csv") if r["cluster_id"] == cid]
    by_column = {r["column"]: r for r in plan}
    assert by_column["title"]["value_to_set"] == "VP Sales" and by_column["title"]["taken_from"] == other
    assert by_column["title"]["why"].startswith("the master has no title")
    assert by_column["email"]["value_to_set"] == "kept.address@example.org"
    assert by_column["email"]["why"].startswith("the master's email is not valid")
    assert all(r["master_value"] != r["value_to_set"] for r in rows(out / "merge_plan.csv"))
    assert "first_name" not in by_column and "last_name" not in by_column  # the same in both: not listed
    summary = next(r for r in rows(out / "contact.merges.csv") if r["cluster_id"] == cid)
    assert "title from " + other in summary["values_to_set"]
    updates = {r["id"]: r for r in rows(out / "contact.master_updates.csv")}
    assert updates[master]["title"] == "VP Sales"
    rollback = {r["id"]: r for r in rows(out / "contact.master_rollback.csv")}
    assert rollback[master]["email"] == "not-an-address"


def apply_updates(db, table: str, path) -> None:
    data = rows(path)
    con = sqlite3.connect(db)
    with con:
        for r in data:
            key = next(iter(r))
            for column, value in r.items():
                if column != key and value != "":
                    con.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE id = ?', (value, r[key]))
    con.close()


def test_merging_as_the_package_says_leaves_no_duplicate_and_nothing_new(demo, tmp_path):
    folder = tmp_path / "crm"
    shutil.copytree(demo, folder)
    out = tmp_path / "m"
    cli("merges", "--config", folder / "cleancrm.yml", "--out", out, "--format", "csv")
    before = findings(folder)
    tables = {"contact": "contacts", "account": "accounts"}
    for entity, table in tables.items():
        if (out / f"{entity}.master_updates.csv").exists():
            apply_updates(folder / "crm.db", table, out / f"{entity}.master_updates.csv")
    con = sqlite3.connect(folder / "crm.db")
    masters = set()
    with con:  # the CRM's merge: related records move to the master, the merged records go
        for entity, table in tables.items():
            for pair in rows(out / f"{entity}.merge_pairs.csv"):
                master, merged = int(pair["master_id"]), int(pair["merged_id"])
                masters.add((entity, str(master)))
                if entity == "account":
                    for child in ("contacts", "opportunities"):
                        con.execute(f"UPDATE {child} SET account_id = ? WHERE account_id = ?", (master, merged))
                con.execute(f"DELETE FROM {table} WHERE id = ?", (merged,))
    con.close()
    cli("run", "--config", folder / "cleancrm.yml", "--now", AS_OF)
    after = findings(folder)
    assert not {(c, e, k) for c, e, k in after if c.startswith("duplication.") and (e, k) in masters}
    new = after - before
    assert not new, sorted(new)[:10]
    store, run = latest(folder)
    left = store.clusters.worklist(run)
    assert not left[left.tier.isin(["exact", "likely"])].record_id.astype(str).isin({k for _, k in masters}).any()
