"""A synthetic run history, written through `HistoryStore`, for tests, screenshots and benchmarks.

It does not measure anything: it invents plausible check results whose failure rates drift run
after run and drop after an annotated clean-up, scores them with the real scoring code, and
writes findings on real record keys (and the records' real values when a source frame is
given), so that drill-downs, worklists and before/after comparisons have something true to show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace

import numpy as np
import pandas as pd

from checks.config import ScoringConfig
from checks.scoring import record_scores, score_table
from checks.values import as_keys
from connectors.history import HistoryStore

AGE_LABELS = ("< 30 days", "30–90 days", "90 days–1 year", "1–2 years", "> 2 years")


@dataclass(frozen=True)
class FakeCheck:
    """A check as the synthetic history reports it."""

    id: str
    dimension: str
    entities: tuple[str, ...]
    fields: tuple[str, ...]
    severity: str
    rate: float
    reason: str
    suggestion: str


CATALOG: tuple[FakeCheck, ...] = (
    FakeCheck("accuracy.email_syntax", "accuracy", ("contact", "lead", "user"), ("email",), "high", 0.020,
              "email is not a valid address", "correct the address or clear it"),
    FakeCheck("accuracy.phone_valid", "accuracy", ("contact", "lead", "account"), ("phone",), "high", 0.035,
              "phone number is not valid for its country", "re-enter the number in +<country> format"),
    FakeCheck("accuracy.postal_format", "accuracy", ("contact", "account", "lead"), ("postal_code", "country"),
              "medium", 0.025, "postal code does not match the country's format", "check the postal code"),
    FakeCheck("accuracy.junk_name", "accuracy", ("contact", "lead"), ("first_name", "last_name"), "high", 0.008,
              "name looks like test or junk data", "replace with the real name or delete the record"),
    FakeCheck("completeness.required", "completeness", ("contact", "account", "lead", "opportunity"), ("country",),
              "high", 0.045, "required field is empty", "fill in the missing value"),
    FakeCheck("completeness.contactability", "completeness", ("contact", "lead"), ("email", "phone"), "high", 0.030,
              "neither email nor phone is filled", "add an email address or a phone number"),
    FakeCheck("completeness.owner_missing", "completeness", ("contact", "account", "opportunity"), ("owner_id",),
              "medium", 0.015, "record has no owner", "assign an owner"),
    FakeCheck("consistency.phone_e164", "consistency", ("contact", "account", "lead"), ("phone",), "low", 0.080,
              "phone is not in international format", "rewrite as +<country><number>"),
    FakeCheck("consistency.country_iso", "consistency", ("contact", "account", "lead"), ("country",), "low", 0.060,
              "country is not an ISO code", "use the two-letter ISO code"),
    FakeCheck("consistency.name_casing", "consistency", ("contact", "lead"), ("first_name", "last_name"), "low",
              0.050, "name is not in title case", "capitalise the name"),
    FakeCheck("consistency.orphans", "consistency", ("contact", "opportunity"), ("account_id",), "high", 0.010,
              "linked account does not exist", "link an existing account"),
    FakeCheck("duplication.exact_email", "duplication", ("contact", "lead"), ("email",), "high", 0.012,
              "same email as another record", "merge with the duplicate"),
    FakeCheck("duplication.exact_name", "duplication", ("contact", "account"), ("first_name", "last_name"), "high",
              0.009, "same name as another record", "review and merge"),
    FakeCheck("freshness.staleness", "freshness", ("contact", "account", "lead", "opportunity"), ("modified_at",),
              "medium", 0.110, "not modified for over two years", "review the record or archive it"),
    FakeCheck("freshness.stale_pipeline", "freshness", ("opportunity",), ("close_date",), "medium", 0.070,
              "open deal past its close date", "update stage or close date"),
)


@dataclass
class SyntheticSpec:
    """What to synthesise."""

    source_name: str
    keys: dict[str, list[str]]
    runs: int = 12
    every: timedelta = timedelta(days=7)
    end: datetime | None = None
    cleanup_run: int | None = None
    cleanup_scope: tuple[str, ...] = ("consistency", "accuracy")
    cleanup_name: str = "Phone and country clean-up"
    findings_runs: int | None = None
    values: dict[str, pd.DataFrame] = field(default_factory=dict)
    owners: dict[str, pd.Series] = field(default_factory=dict)
    clusters: int = 6
    failed_run: bool = True
    seed: int = 7


def _rates(spec: SyntheticSpec, check: FakeCheck, entity: str, rng: np.random.Generator) -> np.ndarray:
    """Failure rate of one check per run: slow drift, noise, and a drop after the clean-up."""
    n = spec.runs
    base = check.rate * (0.6 + 0.8 * rng.random())
    drift = np.linspace(0.0, 0.25, n) * base
    noise = rng.normal(0, 0.04 * base, n)
    rates = base + drift + noise
    if spec.cleanup_run is not None and (check.dimension in spec.cleanup_scope or check.id in spec.cleanup_scope):
        rates[spec.cleanup_run:] *= 0.3
        rates[: spec.cleanup_run] *= 1.6
    return np.clip(rates, 0.0, 0.9)


def _age_buckets(applicable: int, stale_share: float, i: int, n: int) -> dict[str, int]:
    fresh = 0.30 - 0.08 * i / max(n - 1, 1)
    shares = np.array([fresh, 0.22, 0.25, max(1 - fresh - 0.47 - stale_share, 0.01), stale_share])
    shares = shares / shares.sum()
    counts = np.floor(shares * applicable).astype(int)
    counts[0] += applicable - counts.sum()
    return dict(zip(AGE_LABELS, (int(c) for c in counts), strict=True))


def _value(spec: SyntheticSpec, entity: str, keys: list[str], fld: str) -> list[str | None]:
    frame = spec.values.get(entity)
    if frame is None or fld not in frame.columns:
        return [f"{fld}-{k}" for k in keys]
    return [None if pd.isna(v) else str(v) for v in frame[fld].reindex(keys).tolist()]


def synthesize_history(store: HistoryStore, spec: SyntheticSpec, scoring: ScoringConfig | None = None) -> list[int]:
    """Write `spec.runs` completed runs (plus one failed run) and the clean-up annotation; their ids."""
    scoring = scoring or ScoringConfig()
    rng = np.random.default_rng(spec.seed)
    end = spec.end or datetime.now().replace(minute=0, second=0, microsecond=0)
    n = spec.runs
    plans = []
    for check in CATALOG:
        for entity in check.entities:
            keys = spec.keys.get(entity)
            if not keys:
                continue
            order = np.asarray(keys, dtype=object)[rng.permutation(len(keys))]
            plans.append((check, entity, order, _rates(spec, check, entity, rng)))
    owner_maps = {e: s for e, s in spec.owners.items()}
    run_ids = []
    for i in range(n):
        as_of = end - spec.every * (n - 1 - i)
        if spec.failed_run and i == n // 2 and n > 2:
            failed = store.runs.start(spec.source_name, as_of - timedelta(hours=1), "schedule",
                                      started_at=as_of - timedelta(hours=1))
            # stamped with the synthetic clock, not the real one
            store.runs.fail(failed, "source.url: cannot connect to sqlite:///crm.db (database is locked); "
                                    "check host, port, user and that the server runs",
                            finished_at=as_of - timedelta(minutes=59))
        with_findings = spec.findings_runs is None or i >= n - spec.findings_runs
        results, parts = [], []
        for check, entity, order, rates in plans:
            applicable = len(order)
            failed = int(round(rates[i] * applicable))
            metrics: dict = {}
            if check.id == "freshness.staleness":
                metrics = {"age_buckets": _age_buckets(applicable, rates[i], i, n),
                           "newest_update": str(as_of - timedelta(hours=3))}
            results.append({"check_id": check.id, "entity": entity, "dimension": check.dimension,
                            "fields": ",".join(check.fields), "severity": check.severity, "weight": 1.0,
                            "applicable": applicable, "failed": failed,
                            "score": round(100 * (1 - failed / applicable), 4) if applicable else None,
                            "metrics": json.dumps(metrics)})
            if with_findings and failed:
                start = (i * max(1, applicable // 150)) % applicable
                idx = (start + np.arange(failed)) % applicable
                keys = order[idx].tolist()
                fld = check.fields[0]
                parts.append(pd.DataFrame({
                    "record_key": keys, "field": fld, "column_name": fld, "value": _value(spec, entity, keys, fld),
                    "reason": check.reason, "suggestion": check.suggestion, "check_id": check.id,
                    "entity": entity, "severity": check.severity}))
        check_results = pd.DataFrame(results)
        findings = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
            columns=["record_key", "field", "column_name", "value", "reason", "suggestion", "check_id", "entity",
                     "severity"])
        findings["owner"] = None
        for entity, series in owner_maps.items():
            mask = findings.entity == entity
            if mask.any():
                findings.loc[mask, "owner"] = findings.loc[mask, "record_key"].map(series)
        scores, overall = score_table(check_results, scoring)
        recs = record_scores(findings, check_results, scoring, owner_maps)
        clusters = members = None
        if i == n - 1 and spec.clusters and spec.keys.get("contact"):
            clusters, members = _clusters(spec, rng)
        result = SimpleNamespace(check_results=check_results, scores=scores, findings=findings,
                                 record_scores=recs, overall=overall, clusters=clusters, cluster_members=members)
        run_id = store.runs.start(spec.source_name, as_of, "schedule" if i % 3 else "cli", "synthetic", "0.1.0",
                                  started_at=as_of)
        store.runs.complete(run_id, result, "synthetic", finished_at=as_of + timedelta(seconds=40 + i % 17))
        run_ids.append(run_id)
    if spec.cleanup_run is not None and 0 < spec.cleanup_run < n:
        date = end - spec.every * (n - 1 - spec.cleanup_run) - spec.every / 2
        store.annotations.add(spec.source_name, spec.cleanup_name, date, ",".join(spec.cleanup_scope),
                              "Bulk-normalised phone numbers and country codes")
    return run_ids


def _clusters(spec: SyntheticSpec, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    keys = spec.keys["contact"]
    tiers = ("exact", "likely", "review")
    rows, members = [], []
    pos = 0
    for c in range(spec.clusters):
        size = 2 + (c % 2)
        group = keys[pos:pos + size]
        pos += size
        if len(group) < 2:
            break
        tier = tiers[c % 3]
        score = {"exact": 0.99, "likely": 0.9, "review": 0.72}[tier] - 0.01 * c
        cid = f"contact-{c + 1:04d}"
        plan = [{"field": "email", "keep_value": None, "from_key": group[0], "why": "most recently modified"},
                {"field": "phone", "keep_value": None, "from_key": group[-1], "why": "only valid number"}]
        values = spec.values.get("contact")
        if values is not None:
            for step in plan:
                if step["field"] in values.columns and step["from_key"] in values.index:
                    v = values.at[step["from_key"], step["field"]]
                    step["keep_value"] = None if pd.isna(v) else str(v)
        rows.append({"cluster_id": cid, "entity": "contact", "tier": tier, "score": round(score, 3), "size": len(group),
                     "survivor_key": group[0], "merge_plan": json.dumps(plan)})
        for j, k in enumerate(group):
            members.append({"cluster_id": cid, "record_key": k, "entity": "contact", "is_survivor": int(j == 0),
                            "match_score": None if j == 0 else round(score - 0.02 * j, 3)})
    return pd.DataFrame(rows), pd.DataFrame(members)


def spec_from_source(cfg, runs: int = 12, **kwargs) -> SyntheticSpec:
    """A spec whose findings name the real records (and values) of the config's source."""
    from connectors.mapping import KEY, EntityQuery
    from connectors.source import open_source

    source = open_source(cfg.source_url(), schema=cfg.source.schema_)
    keys, values, owners = {}, {}, {}
    try:
        for entity, ent in cfg.entities.items():
            fields = [f for f in ent.fields if f != "phone"] + (["phone"] if "phone" in ent.fields else [])
            sql, cols = EntityQuery(source, entity, ent).select(fields)
            frame = source.read_frame(sql)
            frame[KEY] = as_keys(frame[KEY])
            frame = frame.drop_duplicates(KEY).set_index(KEY)
            # A field read from several columns (phone, mobile) shows its first one.
            for fc in cols:
                if fc.label != fc.field and fc.field not in frame.columns:
                    frame[fc.field] = frame[fc.label]
            keys[entity] = frame.index.tolist()
            values[entity] = frame
            if "owner_id" in frame.columns:
                owners[entity] = as_keys(frame["owner_id"])
    finally:
        source.close()
    return SyntheticSpec(source_name=cfg.name, keys=keys, runs=runs, values=values, owners=owners, **kwargs)


def demo_with_history(root, contacts: int = 1500, runs: int = 12, cleanup_run: int | None = 8, seed: int = 11):
    """Generate the demo CRM into `root` and give it a synthetic history; (config path, store, run ids)."""
    import warnings

    from checks.config import load_config
    from checks.demo import generate_demo

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        demo = generate_demo(root, contacts=contacts, seed=seed)
    cfg = load_config(demo.config_path)
    store = HistoryStore(cfg.history_url())
    ids = synthesize_history(store, spec_from_source(cfg, runs=runs, cleanup_run=cleanup_run))
    return demo.config_path, store, ids
