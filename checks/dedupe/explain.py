"""Pair explanations: which fields agreed, at what level, and what each contributed."""

from __future__ import annotations

import json

import numpy as np

from checks.dedupe.compare import Comparison
from checks.dedupe.fellegi_sunter import FSModel
from checks.dedupe.prepare import Prepared


def pattern_fields(comps: list[Comparison], model: FSModel, patterns: np.ndarray) -> list[str]:
    """JSON object (as text) of per-field level and weight for every distinct pattern.

    Built once per pattern rather than per pair: a million pairs share a few hundred
    patterns.
    """
    weights = model.weights()
    out = []
    for row in patterns:
        fields = {}
        for k, comp in enumerate(comps):
            level = int(row[k])
            if level < 0:
                fields[comp.name] = {"level": "missing", "weight": 0.0}
            else:
                fields[comp.name] = {"level": comp.levels[level], "weight": round(float(weights[k][level]), 2)}
        out.append(json.dumps(fields, ensure_ascii=False))
    return out


def pair_explanations(pattern_json: list[str], pattern_idx: np.ndarray, weight: np.ndarray,
                      tf_adjust: np.ndarray, exact: np.ndarray) -> list[str]:
    """One JSON explanation per pair.

    Args:
        pattern_json: From :func:`pattern_fields`.
        pattern_idx: Pattern index of each pair.
        weight: Total match weight of each pair.
        tf_adjust: Term-frequency adjustment included in ``weight``.
        exact: Whether the exact pass linked the pair.

    Returns:
        JSON strings ``{"match_weight", "tf_adjustment", "exact_pass", "fields"}``.
    """
    return [
        f'{{"match_weight": {w:.2f}, "tf_adjustment": {t:.2f}, "exact_pass": {"true" if e else "false"}, '
        f'"fields": {pattern_json[p]}}}'
        for p, w, t, e in zip(pattern_idx.tolist(), weight.tolist(), tf_adjust.tolist(), exact.tolist(),
                              strict=True)
    ]


# The exact pass's keys, as a steward reads them (checks.dedupe.blocking PERSON_EXACT, ACCOUNT_EXACT).
_SAID = {"email": "same email", "name_phone": "same first and last name and phone",
         "name_company": "same first and last name and company", "name_city": "same name and city",
         "website": "same website"}


def _folded(prep: Prepared, name: str, rows: np.ndarray) -> list | None:
    """The values of a column as written, folded for case and spaces; None when the column is missing."""
    if name not in prep.records.columns:
        return None
    return [None if v is None or v != v or not str(v).strip() else " ".join(str(v).split()).casefold()
            for v in prep.records[name].to_numpy(dtype=object)[rows]]


def _one(values: list | None) -> bool:
    return values is not None and values[0] is not None and len(set(values)) == 1


def _codes_one(prep: Prepared, name: str, rows: np.ndarray) -> bool:
    """All rows share one normalised value of the column (an address or a number in its normal form)."""
    return name in prep.cols and bool((prep.cols[name].codes[rows] >= 0).all()) and len(
        set(prep.cols[name].codes[rows].tolist())) == 1


def _shared_phone(prep: Prepared, rows: np.ndarray) -> bool:
    numbers = [{int(prep.cols[c].codes[r]) for c in ("phone", "mobile") if c in prep.cols and prep.cols[c].codes[r] >= 0}
               for r in rows]
    return bool(numbers) and bool(set.intersection(*numbers))


def same_key_of(prep: Prepared, rows: np.ndarray) -> str | None:
    """How a cluster's records share an exact key as written (`same email`), or None when none is shared.

    Emails and phones compare in their normal form (case, `+tags`, formatting), names and
    companies as written but for case and spaces: a nickname or a legal suffix is not the same key.
    """
    if prep.entity == "account":
        if _one(_folded(prep, "name", rows)) and _one(_folded(prep, "city", rows)):
            return _SAID["name_city"]
        return _SAID["website"] if _codes_one(prep, "website", rows) else None
    if _codes_one(prep, "email", rows):
        return _SAID["email"]
    names = _one(_folded(prep, "first_name", rows)) and _one(_folded(prep, "last_name", rows))
    if names and _shared_phone(prep, rows):
        return _SAID["name_phone"]
    if names and _one(_folded(prep, "company", rows)):
        return _SAID["name_company"].replace("company", "account") if prep.entity == "contact" else _SAID["name_company"]
    return None


def near_key_of(prep: Prepared, rows: np.ndarray) -> str:
    """Why the exact pass linked records that share no key as written: what differs, and how."""
    if prep.entity == "account":
        return "same name once legal suffixes (Inc., Ltd, GmbH …) are set aside"
    firsts = _folded(prep, "first_name", rows) or []
    said = []
    if len(set(firsts)) > 1:
        shown = sorted({str(v) for v in prep.records["first_name"].to_numpy(dtype=object)[rows] if v is not None})
        said.append(f"first names {' / '.join(shown)} are one name (nickname)")
    companies = _folded(prep, "company", rows)
    if companies is not None and len(set(companies)) > 1:
        said.append("companies differ only in their legal suffix")
    return "same name and company or phone once " + ("; ".join(said) if said else "normalised")


def agreeing_fields(explanation: str, entity: str = "") -> str | None:
    """The fields a pair agreed on and how closely (`first_name: nickname, last_name: exact`), from its explanation."""
    try:
        fields = json.loads(explanation)["fields"]
    except (ValueError, KeyError, TypeError):
        return None
    # A contact's "company" is its account: that is what the pipeline compares (fuzzy.dedupe_records).
    said = {"company": "account"} if entity == "contact" else {}
    agreed = [f"{said.get(name, name)}: {info['level']}" for name, info in fields.items()
              if info.get("level") not in ("missing", None) and info.get("weight", 0) > 0]
    return "agreeing: " + ", ".join(agreed) if agreed else None
