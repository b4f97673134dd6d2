"""Survivor selection and field-by-field merge plans for duplicate clusters."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from checks.dedupe.prepare import Prepared
from checks.normalise import missing_mask

PERSON_FIELDS = ["first_name", "last_name", "email", "phone", "mobile", "company", "title", "street",
                 "city", "state", "postal_code", "country"]
ACCOUNT_FIELDS = ["name", "website", "phone", "street", "city", "state", "postal_code", "country"]
_VALIDATED = {"email": "email", "phone": "phone", "mobile": "mobile", "website": "website"}

RULE_REASONS = {
    "valid_email": "has a valid e-mail",
    "valid_phone": "has a valid phone",
    "most_complete": "most complete record",
    "most_recent_activity": "most recent activity",
    "oldest_created": "oldest record",
}


def _dates(prep: Prepared, column: str) -> np.ndarray:
    """A datetime column as int64 nanoseconds (missing = NaN as float)."""
    if column not in prep.records.columns:
        return np.full(prep.n, np.nan)
    values = pd.to_datetime(prep.records[column], errors="coerce", utc=True)
    return np.where(values.isna(), np.nan, values.astype("int64").astype(float))


def _present(prep: Prepared, column: str) -> np.ndarray:
    """Records with a value in ``column`` (from the normalised codes when there are some)."""
    if column in prep.cols:
        return prep.cols[column].present
    return ~missing_mask(prep.records[column])


def rule_scores(prep: Prepared, rules: list[str]) -> dict[str, np.ndarray]:
    """Per record, a score per survivor rule where higher is better.

    Args:
        prep: Prepared records.
        rules: Rule names (see ``RULE_REASONS``).

    Returns:
        Rule name -> float score array.
    """
    present = {c: _present(prep, c) for c in prep.records.columns if c not in ("key", "created_at", "modified_at")}
    scores: dict[str, np.ndarray] = {}
    for rule in rules:
        if rule == "valid_email":
            scores[rule] = prep.cols["email"].present.astype(float) if "email" in prep.cols else np.zeros(prep.n)
        elif rule == "valid_phone":
            phones = [prep.cols[c].present for c in ("phone", "mobile") if c in prep.cols]
            scores[rule] = np.any(phones, axis=0).astype(float) if phones else np.zeros(prep.n)
        elif rule == "most_complete":
            scores[rule] = np.sum(list(present.values()), axis=0).astype(float) if present else np.zeros(prep.n)
        elif rule == "most_recent_activity":
            scores[rule] = np.nan_to_num(_dates(prep, "modified_at"), nan=-np.inf)
        elif rule == "oldest_created":
            scores[rule] = -np.nan_to_num(_dates(prep, "created_at"), nan=np.inf)
        else:
            raise ValueError(f"unknown survivor rule {rule!r}")
    return scores


def pick_survivors(members: np.ndarray, labels: np.ndarray, scores: dict[str, np.ndarray],
                   rules: list[str], keys: np.ndarray) -> tuple[np.ndarray, dict]:
    """Best member of each cluster by the rules in order (key breaks final ties).

    Args:
        members: Record positions of clustered records.
        labels: Cluster label of each member (aligned with ``members``).
        scores: From :func:`rule_scores`.
        rules: Rule order.
        keys: Record keys of all records.

    Returns:
        ``(is_survivor mask aligned with members, label -> deciding rule)``.
    """
    sort_keys = [keys[members]] + [-scores[r][members] for r in reversed(rules)] + [labels]
    order = np.lexsort(sort_keys)
    first = np.ones(len(order), bool)
    first[1:] = labels[order][1:] != labels[order][:-1]
    is_survivor = np.zeros(len(members), bool)
    is_survivor[order[first]] = True
    return is_survivor, _deciding_rules(order, first, labels, members, scores, rules)


def _deciding_rules(order, first, labels, members, scores, rules) -> dict:
    """Which rule separated each survivor from the runner-up (for the explanation)."""
    out = {}
    winners = np.flatnonzero(first)
    for pos in winners:
        nxt = pos + 1
        label = labels[order[pos]]
        reason = "tie, lowest key"
        if nxt < len(order) and labels[order[nxt]] == label:
            w, r = members[order[pos]], members[order[nxt]]
            for rule in rules:
                if scores[rule][w] != scores[rule][r]:
                    reason = RULE_REASONS[rule]
                    break
        out[label] = reason
    return out


class MergePlanner:
    """Builds merge plans; holds the record columns as arrays so each plan is cheap.

    Args:
        prep: Prepared records.
        recency: Modified-at score per record (higher = more recent).
    """

    def __init__(self, prep: Prepared, recency: np.ndarray):
        fields = ACCOUNT_FIELDS if prep.entity == "account" else PERSON_FIELDS
        self.keys = prep.keys
        self.entity = prep.entity
        self.recency = recency
        self.values: dict[str, np.ndarray] = {}
        self.usable: dict[str, np.ndarray] = {}
        for name in fields:
            if name not in prep.records.columns:
                continue
            raw = prep.records[name]
            # An e-mail or phone that normalisation rejected is not worth keeping (codes < 0).
            ok = _present(prep, name)
            self.values[name] = raw.to_numpy(object)
            self.usable[name] = ok

    def plan(self, rows: np.ndarray, survivor: int, reason: str) -> str:
        """Field-by-field plan: which value to keep, from which record, and why (JSON).

        Args:
            rows: Record positions of the cluster.
            survivor: Record position of the survivor.
            reason: Why the survivor was chosen.

        Returns:
            JSON list of ``{field, keep_value, from_key, why}``.
        """
        others = sorted((int(r) for r in rows if r != survivor), key=lambda r: -self.recency[r])
        plan = []
        for name, values in self.values.items():
            usable = self.usable[name]
            if usable[survivor]:
                src, why = survivor, f"survivor ({reason})"
            else:
                src = next((r for r in others if usable[r]), None)
                if src is None:
                    continue
                why = "survivor has no valid value; taken from the most recently modified record with one"
            if src == survivor and len({str(values[r]) for r in rows if usable[r]}) == 1:
                why = "same in all records" if usable[rows].all() else "same in every record that has one"
            # A contact's "company" is its account key (fuzzy.dedupe_records): say which field it is.
            shown = "account_id" if name == "company" and self.entity == "contact" else name
            plan.append({"field": shown, "keep_value": str(values[src]), "from_key": str(self.keys[src]),
                         "why": why})
        return json.dumps(plan, ensure_ascii=False)
