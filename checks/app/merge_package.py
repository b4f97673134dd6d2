"""Merge packages: a run's duplicate clusters as merges a CRM admin can run, master updates first, with rollback.

Per entity:
- `<entity>.merges.csv`: one row per cluster: how its records matched, the master, the records
  merged into it, and the values to set on the master first (with the record each comes from);
- the merge calls in the tool's own terms: for Salesforce `<entity>.merge_calls.csv` (a master and
  at most two others per row, the limit of one `merge()` call) and Apex scripts of at most 100
  calls each (a transaction allows 150 DML statements); for HubSpot `<entity>.merge_pairs.csv`
  (primary and secondary, as its merge takes two records); otherwise master/merged pairs;
- `<entity>.master_updates.csv` and `<entity>.master_rollback.csv` (or `.sql`): the values to set
  on the masters before merging, as a fix package writes them, and the values read from the CRM
  now to put back;
and `merge_plan.csv` (every value to set and why), `manifest.json` and `README.txt`.

A merge itself cannot be undone by an import: the rollback files restore the masters' values;
merged records are restored from the CRM's recycle bin (Salesforce keeps them 15 days).
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime

import pandas as pd

from checks.app.export import duplicate_worklist, export_bytes
from checks.app.fix_package import FORMATS, Package, guard_formulas, import_csv, sha256, update_script
from checks.config import Config
from checks.engine.run import open_checked_source
from checks.fixes.merges import DEFAULT_TIERS, MergePlan, as_entity_fixes, plan_merges
from connectors.errors import CleanCRMError
from connectors.source import Source

SALESFORCE_MERGEABLE = {"account", "contact", "lead"}  # the objects Salesforce's merge() takes
SALESFORCE_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
CALLS_PER_SCRIPT = 100
PLAN_COLUMNS = ["cluster_id", "entity", "master_id", "field", "column", "master_value", "value_to_set", "taken_from",
                "why"]


def chunks(others: list[str], size: int) -> list[list[str]]:
    """The records merged into a master, `size` at a time."""
    return [others[i:i + size] for i in range(0, len(others), size)]




def _plain_csv(frame: pd.DataFrame) -> bytes:
    """A file for an import or a script runner: UTF-8 without BOM, CRLF lines, no index."""
    return frame.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def clusters_frame(plans: list[MergePlan]) -> pd.DataFrame:
    """One row per cluster, for people: how it matched, master, merged records, values to set on the master."""
    return pd.DataFrame([{
        "cluster_id": p.cluster_id, "entity": p.entity, "tier": p.tier, "matched_on": p.matched_on, "score": p.score,
        "master_id": p.master, "merged_ids": "; ".join(p.others),
        "values_to_set": "; ".join(f"{c.column} from {c.checks[0].removeprefix('merge from ')}" for c in p.sets
                                   if not c.review),
        "not_in_crm": "; ".join(p.missing)} for p in plans],
        columns=["cluster_id", "entity", "tier", "matched_on", "score", "master_id", "merged_ids", "values_to_set",
                 "not_in_crm"])


def plan_frame(plans: list[MergePlan]) -> pd.DataFrame:
    """Every value to set on a master: from what, to what, taken from which record, and why."""
    return pd.DataFrame([{"cluster_id": p.cluster_id, "entity": p.entity, "master_id": p.master, "field": c.field,
                          "column": c.column, "master_value": c.current, "value_to_set": c.proposed,
                          "taken_from": c.checks[0].removeprefix("merge from "),
                          "why": c.review or c.reasons[0]} for p in plans for c in p.sets],
                        columns=PLAN_COLUMNS)


def merge_calls(plans: list[MergePlan], fmt: str) -> pd.DataFrame:
    """The merge calls in the tool's terms: Salesforce master + at most two; HubSpot and others pairs."""
    if fmt == "salesforce":
        rows = [{"MasterRecordId": p.master, "DuplicateId1": c[0], "DuplicateId2": c[1] if len(c) > 1 else ""}
                for p in plans for c in chunks(p.others, 2)]
        return pd.DataFrame(rows, columns=["MasterRecordId", "DuplicateId1", "DuplicateId2"])
    names = ("primary_record_id", "record_id_to_merge") if fmt == "hubspot" else ("master_id", "merged_id")
    return pd.DataFrame([{names[0]: p.master, names[1]: o} for p in plans for o in p.others], columns=list(names))


def apex_scripts(plans: list[MergePlan], sobject: str) -> list[str]:
    """Anonymous Apex running the merges, at most CALLS_PER_SCRIPT per script (one transaction each)."""
    calls = [(p.master, c) for p in plans for c in chunks(p.others, 2)]
    scripts = []
    for n, part in enumerate(chunks(calls, CALLS_PER_SCRIPT), 1):
        lines = [f"// cleancrm merge package, {sobject} part {n}: run in Execute Anonymous. Each call merges at most",
                 "// two records into the master; set the master's values first (master_updates.csv)."]
        lines += [f"Database.merge(new {sobject}(Id='{master}'), new List<Id>{{{', '.join(repr(o) for o in others)}}});"
                  for master, others in part]
        scripts.append("\n".join(lines) + "\n")
    return scripts


def make_merge_package(cfg: Config, store, run_id: int, fmt: str, *, created_by: str,
                       entity: list[str] | None = None, tiers: tuple[str, ...] = DEFAULT_TIERS) -> Package:
    """The merge package of a run's duplicate clusters of the given tiers; reads the CRM (read-only)."""
    if fmt not in FORMATS:
        raise CleanCRMError(f"--format: {fmt!r} is not a package format; use {', '.join(FORMATS)}")
    work = duplicate_worklist(store, run_id)
    work = work[work.tier.isin(tiers) & (work.decision.fillna("") != "not_duplicate")]
    if entity:
        work = work[work.entity.isin(entity)]
    if not len(work):
        raise CleanCRMError(f"--run {run_id}: no duplicate cluster of tier {', '.join(tiers)} to merge; "
                            "`cleancrm duplicates` lists the clusters")
    run = store.runs.list(cfg.name).set_index("id").loc[run_id]
    source = open_checked_source(cfg)
    try:
        plans = plan_merges(cfg, source, work)
        files, entities = _files(cfg, source, plans, fmt, run_id)
    finally:
        source.close()
    created = datetime.now(UTC).replace(microsecond=0)
    package_id = f"{cfg.name}-merges-run{run_id}-{created.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"
    files["README.txt"] = _readme(package_id, fmt, entities).encode("utf-8")
    manifest = {"package_id": package_id, "kind": "merges", "created_at": created.isoformat(),
                "created_by": created_by, "format": fmt,
                "run": {"id": run_id, "as_of": str(run["as_of"]), "config_hash": run["config_hash"] or ""},
                "config": {"name": cfg.name, "hash": cfg.fingerprint()}, "tiers": list(tiers),
                "entities": entities, "files": {name: sha256(data) for name, data in sorted(files.items())}}
    files["manifest.json"] = (json.dumps(manifest, indent=1, ensure_ascii=False, default=str) + "\n").encode("utf-8")
    store.audit.record(cfg.name, created_by, "fix_package", {"package": package_id, "kind": "merges", "run": run_id,
                                                             "format": fmt, "tiers": list(tiers)},
                       records=sum(e["clusters"] for e in entities.values()))
    outcomes = pd.DataFrame([{"entity": e, **{k: v for k, v in info.items() if k != "files"}}
                             for e, info in entities.items()])
    return Package(files, manifest, outcomes, pd.DataFrame())


def _files(cfg: Config, source: Source, plans: list[MergePlan], fmt: str, run_id: int):
    tables = {e: (cfg.entities[e].table, cfg.entities[e].key) for e in sorted({p.entity for p in plans})}
    fixes = as_entity_fixes(plans, tables)
    guard_formulas(fixes)  # a master value that would start a formula is set by hand, not imported
    files: dict[str, bytes] = {}
    entities = {}
    style = FORMATS[fmt]
    for ent in fixes:
        mine = [p for p in plans if p.entity == ent.entity]
        names = [f"{ent.entity}.merges.csv"]
        files[names[0]] = export_bytes(clusters_frame(mine), "csv")
        calls = merge_calls(mine, fmt)
        calls_name = f"{ent.entity}.merge_calls.csv" if fmt == "salesforce" else f"{ent.entity}.merge_pairs.csv"
        files[calls_name] = _plain_csv(calls)
        names.append(calls_name)
        if fmt == "salesforce" and ent.entity in SALESFORCE_MERGEABLE and all(
                SALESFORCE_ID.match(k) for p in mine for k in (p.master, *p.others)):
            for n, script in enumerate(apex_scripts(mine, ent.table), 1):
                files[f"{ent.entity}.merge_{n:02d}.apex"] = script.encode("utf-8")
                names.append(f"{ent.entity}.merge_{n:02d}.apex")
        updates = [c for c in ent.changes if not c.review]
        if updates:
            if fmt == "sql":
                pairs = ((f"{ent.entity}.master_updates.sql", True), (f"{ent.entity}.master_rollback.sql", False))
                for name, new in pairs:
                    files[name] = update_script(ent, updates, source, new, f"merges of run {run_id}")
            else:
                pairs = ((f"{ent.entity}.master_updates.csv", True), (f"{ent.entity}.master_rollback.csv", False))
                for name, new in pairs:
                    files[name] = import_csv(ent, updates, style, new)
            names += [name for name, _ in pairs]
        entities[ent.entity] = {"table": ent.table, "key": ent.key_column, "clusters": len(mine),
                                "records_merged": sum(len(p.others) for p in mine), "merge_calls": len(calls),
                                "masters_updated": len({c.record_key for c in updates}),
                                "values_to_set": len(updates), "files": names}
    files["merge_plan.csv"] = export_bytes(plan_frame(plans), "csv")
    return files, entities


def _readme(package_id: str, fmt: str, entities: dict) -> str:
    how = {"salesforce": "Update the masters with Data Loader (operation Update, <entity>.master_updates.csv), then run "
                         "the merges: the Apex scripts in Execute Anonymous, one after the other, or merge_calls.csv "
                         "with the tool you merge with (a master and at most two records per merge).",
           "hubspot": "Import <entity>.master_updates.csv (update existing records by Record ID), then merge each "
                      "pair of merge_pairs.csv (the secondary into the primary).",
           "csv": "Update the masters with <entity>.master_updates.csv, then merge each pair of merge_pairs.csv "
                  "(the merged record into the master) with the CRM's own merge.",
           "sql": "A DBA runs <entity>.master_updates.sql; the merges (merge_pairs.csv) need the CRM's own merge, "
                  "which moves related records to the master: cleancrm writes no DELETE."}[fmt]
    lines = [f"cleancrm merge package {package_id} ({fmt})", "", "How to apply: " + how, "",
             "How to undo: apply <entity>.master_rollback the same way to put the masters' values back; merged records "
             "come back from the CRM's recycle bin.", "", "Files:"]
    for entity, info in entities.items():
        lines.append(f"- {entity} (table {info['table']}): {info['clusters']} clusters, {info['records_merged']} "
                     f"records to merge in {info['merge_calls']} calls, {info['masters_updated']} masters to update: "
                     f"{', '.join(info['files'])}")
    lines += ["- merge_plan.csv: every value to set on a master, the record it comes from and why",
              "- manifest.json: package id, run, config hash, counts and the SHA-256 of every file"]
    return "\n".join(lines) + "\n"
