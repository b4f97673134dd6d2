"""Candidate pair generation: exact pass, multi-key blocking and sorted neighbourhood.

Pairs are held as two ``int32`` arrays of record positions with ``a < b``. Every blocking
key is a list of integer-coded parts; records missing any part are not blocked by that key.
A block larger than ``max_block_size`` is split with further keys; any block still larger
than ``full_block_size`` is compared by sorted-neighbourhood windows inside it
(:mod:`checks.dedupe.neighbourhood`): it is never dropped, and no key yields more than
``pair_bound(settings)`` pairs per record, however often names repeat.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from checks.dedupe.neighbourhood import (
    InnerOrders,
    capped_pairs,
    ordered,
    pair_bound,
    pairs_within_groups,
    sort_position,
)
from checks.dedupe.prepare import Column, Prepared, derive, encode
from checks.dedupe.settings import DedupeSettings


@dataclass
class KeySpec:
    """One blocking (or exact) key.

    Attributes:
        name: Key name used in stats.
        parts: Column names combined into the key; a tuple of names inside means "any of"
            (a multi-valued part, e.g. phone or mobile).
        refine: Column names appended, in turn, to split oversized blocks.
        unordered: Treat the first two parts as an unordered pair (swapped names).
    """

    name: str
    parts: list
    refine: list[str] = field(default_factory=list)
    unordered: bool = False


PERSON_EXACT = [
    KeySpec("email", ["email"]),
    KeySpec("name_phone", ["first_root", "last_name", ("phone", "mobile")]),
    KeySpec("name_company", ["first_root", "last_name", "company"]),
]
PERSON_KEYS = [
    KeySpec("name_postal", ["first_initial", "last_sdx", "postal3"], ["first_root", "street3"]),
    KeySpec("name_city", ["first_root", "last_sdx", "city"], ["street3"]),
    # Colleagues share a company and a mail domain, so those keys also need a name part.
    KeySpec("company", ["company", "last_sdx"], ["first_initial"]),
    KeySpec("phone_prefix", [("phone_pre", "mobile_pre")], ["last_sdx"]),
    KeySpec("work_domain", ["work_domain", "first_root"], ["last_sdx"]),
    KeySpec("work_domain_last", ["work_domain", "last_sdx"], ["first_initial"]),
    KeySpec("email_local", ["email_local"], ["first_initial"]),
    KeySpec("swapped", ["first_name", "last_name"], ["postal3", "city"], unordered=True),
    KeySpec("swapped_sound", ["first_sdx", "last_sdx", "postal3"], ["city"], unordered=True),
    KeySpec("birth_date", ["birth_date"], ["first_initial", "last_sdx"]),
    KeySpec("dob_last", ["birth_year", "last_sdx"], ["first_initial", "postal3"]),
    KeySpec("postal_street", ["postal_code", "street3"], ["first_initial"]),
    KeySpec("street_postal", ["street_name", "postal_code"], ["first_initial", "last_sdx"]),
    KeySpec("street_city", ["street_name", "city"], ["first_initial", "last_sdx"]),
]
ACCOUNT_EXACT = [
    KeySpec("name_city", ["name", "city"]),
    KeySpec("website", ["website"]),
]
ACCOUNT_KEYS = [
    KeySpec("name_prefix", ["name6"], ["postal3", "city"]),
    KeySpec("name_sdx", ["name_sdx", "postal3"], ["city"]),
    KeySpec("phone_prefix", [("phone_pre",)], []),
    KeySpec("website", ["website"], ["name6"]),
]

#: Order of the global sorted-neighbourhood pass.
NAME_ORDER = ("last_name", "first_name", "name", "postal_code")

_DERIVED = {
    "first_initial": ("first_root", lambda v: v[0]),
    "postal3": ("postal_code", lambda v: v[:3]),
    "street3": ("street", lambda v: v[:3]),
    "street_name": ("street", lambda v: next((t[:4] for t in v.split() if not t[0].isdigit()), None)),
    "name6": ("name", lambda v: v[:6]),
    "birth_year": ("birth_date", lambda v: v[:4]),
}


@dataclass
class Candidates:
    """Candidate pairs and how they were found.

    Attributes:
        a: First record position of each pair (``a < b``).
        b: Second record position.
        exact_a: Pairs linked by the exact pass (subset of the candidates).
        exact_b: Second positions of the exact pairs.
        stats: Pairs per key, oversized blocks, sorted-neighbourhood fallbacks.
    """

    a: np.ndarray
    b: np.ndarray
    exact_a: np.ndarray
    exact_b: np.ndarray
    stats: dict


def ensure_derived(prep: Prepared) -> None:
    """Add the prefix / initial columns blocking keys use (once per prepared view)."""
    for name, (source, func) in _DERIVED.items():
        if name not in prep.cols and prep.has(source):
            prep.cols[name] = derive(prep.cols[source], func)
    phones = [c for c in ("phone", "mobile") if c in prep.cols]
    if phones and "phone_pre" not in prep.cols:
        # Phone and mobile prefixes share one vocabulary so they can block against each other.
        vocab = np.array([v[:-2] for v in prep.cols[phones[0]].values] + [None], dtype=object)
        for name, col in zip(phones, encode(*[vocab[prep.cols[c].codes] for c in phones]), strict=True):
            prep.cols[f"{name}_pre"] = col
    if prep.has("name") and "name_sdx" not in prep.cols:
        from checks.dedupe.phonetic import soundex

        prep.cols["name_sdx"] = derive(prep.cols["name"], soundex)


def _combine(codes: list[np.ndarray]) -> np.ndarray:
    """Combine aligned code arrays into one ``int64`` group code (-1 if any part missing)."""
    group = codes[0].astype(np.int64)
    for part in codes[1:]:
        missing = (group < 0) | (part < 0)
        group = group * (int(part.max(initial=0)) + 1) + part
        group[missing] = -1
        group = pd.factorize(group, use_na_sentinel=True)[0].astype(np.int64)
        group[missing] = -1
    return group


def _part_codes(prep: Prepared, part, n: int) -> list[np.ndarray] | None:
    """Codes of one key part; several arrays for a multi-valued part."""
    names = part if isinstance(part, tuple) else (part,)
    arrays = [prep.cols[p].codes for p in names if p in prep.cols]
    return arrays or None


def _key_rows(prep: Prepared, spec: KeySpec) -> tuple[np.ndarray, np.ndarray] | None:
    """Record positions and group codes of a key (a record appears once per value)."""
    n = prep.n
    parts = [_part_codes(prep, p, n) for p in spec.parts]
    if any(p is None for p in parts):
        return None
    if spec.unordered:
        x, y = parts[0][0], parts[1][0]
        parts = [[np.minimum(x, y)], [np.maximum(x, y)]] + parts[2:]
        parts[0][0][(x < 0) | (y < 0)] = -1
    variants = max(len(p) for p in parts)
    # Stack the variants (phone, mobile, ...) first so equal values get equal group codes.
    stacked = [np.concatenate([p[min(k, len(p) - 1)] for k in range(variants)]) for p in parts]
    group = _combine(stacked)
    keep = group >= 0
    rows = np.tile(np.arange(n, dtype=np.int64), variants)[keep]
    groups = pd.factorize(group[keep])[0].astype(np.int64)
    return rows, groups


def _split_oversized(prep, rows, groups, spec, settings, stats):
    """Split blocks above ``max_block_size`` with the key's refinement columns.

    Returns:
        ``(rows, groups, overflow_rows, overflow_groups)``: the blocks now small enough, and
        the entries of blocks still too large after every refinement.
    """
    limit = settings.max_block_size
    for refine in spec.refine + [None]:
        sizes = np.bincount(groups)
        big = sizes[groups] > limit
        if not big.any():
            return rows, groups, rows[:0], groups[:0]
        stats["oversized_blocks"] = stats.get("oversized_blocks", 0) + int((sizes > limit).sum())
        if refine is None or refine not in prep.cols:
            continue
        # A missing refinement value becomes its own value (code 0) so no record is dropped.
        extra = prep.cols[refine].codes[rows[big]].astype(np.int64) + 1
        refined = groups[big] * (int(extra.max(initial=0)) + 1) + extra
        groups = groups.copy()
        groups[big] = pd.factorize(refined)[0] + groups.max() + 1
        groups = pd.factorize(groups)[0].astype(np.int64)
    return rows[~big], groups[~big], rows[big], groups[big]


def _block_key(prep, spec, settings, stats, orders: InnerOrders | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of one blocking key: refined blocks, capped by sorted-neighbourhood windows."""
    found = _key_rows(prep, spec)
    if found is None:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    rows, groups, over_rows, over_groups = _split_oversized(prep, *found, spec, settings, stats)
    if len(over_rows):
        # Still oversized after every refinement: only windows inside it, like any large block.
        stats["sn_fallback_records"] = stats.get("sn_fallback_records", 0) + len(over_rows)
    # Kept and oversized entries come from one factorisation, so their group codes differ.
    rows, groups = np.concatenate([rows, over_rows]), np.concatenate([groups, over_groups])
    return capped_pairs(rows, groups, orders or InnerOrders(prep), settings, stats)


def exact_pairs(prep: Prepared, specs: list[KeySpec]) -> tuple[np.ndarray, np.ndarray, dict]:
    """Star edges (each record to the first of its group) for every exact key."""
    out_a, out_b, counts = [], [], {}
    for spec in specs:
        found = _key_rows(prep, spec)
        if found is None:
            continue
        rows, groups = found
        first = np.full(int(groups.max(initial=-1)) + 1, -1, np.int64)
        first[groups[::-1]] = rows[::-1]
        a, b = ordered([first[groups]], [rows])
        counts[spec.name] = len(a)
        out_a.append(a)
        out_b.append(b)
    a, b = ordered(out_a, out_b)
    return (*unique_pairs(a, b, prep.n), counts)


def unique_pairs(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """De-duplicate pairs; returned sorted by ``(a, b)`` as ``int32``."""
    return unique_codes(a.astype(np.int64) * n + b, n)


def unique_codes(code: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """De-duplicate pair codes ``a * n + b``; returned as sorted ``int32`` pairs."""
    code = np.sort(code)
    # Sort-based de-duplication: numpy's hash-based unique is several times slower here.
    code = code[np.r_[True, code[1:] != code[:-1]]] if len(code) else code
    return (code // n).astype(np.int32), (code % n).astype(np.int32)


def candidate_pairs(prep: Prepared, settings: DedupeSettings) -> Candidates:
    """Run the exact pass, every blocking key and the sorted-neighbourhood pass.

    Args:
        prep: Prepared records.
        settings: Pipeline settings (block size limit, window).

    Returns:
        The de-duplicated candidate pairs, exact pairs included.
    """
    ensure_derived(prep)
    person = "first_name" in prep.cols
    exact_specs = [s for s in (PERSON_EXACT if person else ACCOUNT_EXACT) if s.name in settings.exact_link_keys]
    ex_a, ex_b, exact_counts = exact_pairs(prep, exact_specs)
    stats: dict = {"exact_pairs": int(len(ex_a)), "exact_by_key": exact_counts, "pairs_by_key": {},
                   "capped_blocks": 0, "capped_records": 0, "skipped_pairs": 0}
    n = np.int64(prep.n)
    orders = InnerOrders(prep)
    # Pairs are kept as one int64 code each (half the memory of two arrays) until merged.
    codes = [ex_a.astype(np.int64) * n + ex_b]
    for spec in PERSON_KEYS if person else ACCOUNT_KEYS:
        a, b = _block_key(prep, spec, settings, stats, orders)
        stats["pairs_by_key"][spec.name] = int(len(a))
        codes.append(a * n + b)
    order = np.argsort(sort_position(prep, NAME_ORDER), kind="stable")
    sn_a, sn_b = pairs_within_groups(order, np.zeros(prep.n, np.int64), settings.sn_window)
    stats["pairs_by_key"]["sorted_neighbourhood"] = int(len(sn_a))
    codes.append(sn_a * n + sn_b)
    a, b = unique_codes(np.concatenate(codes), prep.n)
    stats["candidate_pairs"] = int(len(a))
    stats["pair_bound_per_key"] = pair_bound(settings)
    return Candidates(a, b, ex_a, ex_b, stats)


__all__ = ["Candidates", "Column", "KeySpec", "candidate_pairs", "exact_pairs", "pairs_within_groups"]
