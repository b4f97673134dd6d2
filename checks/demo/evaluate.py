"""Precision and recall of each check against the demo's ground truth.

Used by the accuracy tests and `benchmarks/ground_truth.py`; run it on a stored run or a fresh
measurement. A defect kind is matched against the findings of the check that targets it, by
record key; exact-duplicate groups are matched by their members (flagged records plus the
survivor each points at).
"""

from __future__ import annotations

import pandas as pd

KIND_TO_CHECK: dict[str, str] = {
    "email_invalid_syntax": "accuracy.email_syntax",
    "email_placeholder": "accuracy.email_placeholder",
    "email_role": "accuracy.email_role",
    "email_disposable": "accuracy.email_disposable",
    "email_domain_typo": "accuracy.email_domain_typo",
    "email_case": "consistency.email_case",
    "phone_wrong_digits": "accuracy.phone_valid",
    "phone_placeholder": "accuracy.phone_placeholder",
    "phone_not_e164": "consistency.phone_e164",
    "phone_country_mismatch": "consistency.phone_country",
    "country_not_iso": "consistency.country_iso",
    "postal_code_invalid": "accuracy.postal_format",
    "state_postal_mismatch": "accuracy.state_postal",
    "name_casing": "consistency.name_casing",
    "whitespace": "consistency.whitespace",
    "junk_name": "accuracy.junk_name",
    "swapped_names": "accuracy.swapped_names",
    "mojibake": "accuracy.mojibake",
    "null_token": "completeness.required",
    "no_contact_method": "completeness.contactability",
    "owner_missing": "completeness.owner_missing",
    "owner_inactive": "consistency.owner_inactive",
    "impossible_dates": "accuracy.impossible_dates",
    "stale": "freshness.staleness",
    "mass_update": "freshness.mass_update",
    "orphan_reference": "consistency.orphans",
    "required_missing": "completeness.required",
    "lead_untouched": "freshness.stale_leads",
    "lead_duplicates_contact": "duplication.lead_contact",
    "won_without_amount": "accuracy.won_without_amount",
    "close_before_created": "accuracy.close_before_created",
    "deal_past_close": "freshness.stale_pipeline",
    "country_from_phone": "enrichment.country_from_phone",
    "country_from_postal": "enrichment.country_from_postal",
    "state_from_postal": "enrichment.state_from_postal",
    "name_split": "enrichment.name_split",
    "title_function": "enrichment.title_function",
    "website_domain": "enrichment.website_domain",
}
GROUP_TO_CHECK = {"email": "duplication.exact_email", "phone": "duplication.exact_phone",
                  "name_company": "duplication.exact_name", "name": "duplication.exact_name"}


def _row(kind, check, entity, truth: set, found: set) -> dict:
    tp = len(truth & found)
    return {"kind": kind, "check": check, "entity": entity, "truth": len(truth), "found": len(found), "tp": tp,
            "precision": tp / len(found) if found else (1.0 if not truth else 0.0),
            "recall": tp / len(truth) if truth else 1.0}


def evaluate(findings: pd.DataFrame, ground_truth: dict) -> pd.DataFrame:
    """One row per defect kind (and exact-duplicate key): truth, found, tp, precision, recall."""
    rows = []
    keys_by = findings.groupby(["check_id", "entity"]).record_key.apply(lambda s: set(map(str, s))).to_dict()
    for kind, spec in ground_truth["defects"].items():
        check = KIND_TO_CHECK.get(kind)
        if check is None:
            continue
        rows.append(_row(kind, check, spec["entity"], set(spec["keys"]), keys_by.get((check, spec["entity"]), set())))
    for entity, groups in ground_truth.get("exact_duplicate_groups", {}).items():
        for key, clusters in groups.items():
            check = GROUP_TO_CHECK[key]
            truth = {k for c in clusters for k in c}
            sub = findings[(findings.check_id == check) & (findings.entity == entity)]
            survivors = sub.suggestion.dropna().str.removeprefix("merge into ")
            found = set(sub.record_key.astype(str)) | set(survivors)
            rows.append(_row(f"duplicate_{key}", check, entity, truth, found))
    return pd.DataFrame(rows)


def soft_deleted_hits(findings: pd.DataFrame, ground_truth: dict) -> int:
    """How many findings point at soft-deleted records (must be zero)."""
    hits = 0
    for entity, keys in ground_truth.get("soft_deleted", {}).items():
        sub = findings[findings.entity == entity]
        hits += int(sub.record_key.astype(str).isin(set(keys)).sum())
    return hits
