"""Field comparisons: each candidate pair gets an agreement level per field.

Levels are small integers: ``-1`` = a value is missing (no evidence), ``0`` = disagree and
higher = stronger agreement. String similarities are computed with rapidfuzz once per
*distinct* value pair of a chunk (``process.cpdist`` with worker threads), then mapped back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, JaroWinkler

from checks.dedupe.prepare import Column, Prepared

MISSING = -1


@dataclass
class Comparison:
    """One compared field.

    Attributes:
        name: Field name shown in explanations.
        levels: Level labels; index = level, 0 = disagree.
        compute: ``(prep, a, b, workers) -> int8 levels``.
        tf_column: Column whose value frequency adjusts the top level (None = no TF).
    """

    name: str
    levels: list[str]
    compute: Callable[[Prepared, np.ndarray, np.ndarray, int], np.ndarray]
    tf_column: str | None = None


def similarity(col: Column, ca: np.ndarray, cb: np.ndarray, scorer, workers: int,
               cutoff: float | None = None) -> np.ndarray:
    """Scorer value per pair of codes, computed once per distinct unordered code pair.

    Args:
        col: Column whose vocabulary the codes index.
        ca: Codes of the left records (all >= 0).
        cb: Codes of the right records (all >= 0).
        scorer: A rapidfuzz scorer.
        workers: rapidfuzz worker threads.
        cutoff: rapidfuzz ``score_cutoff`` (lets it stop early on clearly different values).

    Returns:
        ``float32`` score per pair.
    """
    if len(ca) == 0:
        return np.empty(0, np.float32)
    lo, hi = np.minimum(ca, cb).astype(np.int64), np.maximum(ca, cb).astype(np.int64)
    inverse, pair_code = pd.factorize(lo * len(col.values) + hi)
    pair_code = np.asarray(pair_code, np.int64)
    left = col.values[pair_code // len(col.values)].tolist()
    right = col.values[pair_code % len(col.values)].tolist()
    scores = process.cpdist(left, right, scorer=scorer, workers=workers, dtype=np.float32, score_cutoff=cutoff)
    return scores[inverse]


def graded(col: Column, ca, cb, scorer, cuts: list[float], workers: int, higher_is_better=True):
    """Levels from exact equality plus similarity cut-offs.

    ``cuts`` are listed from the strongest partial level down; the exact level is
    ``len(cuts) + 1``. For distances (``higher_is_better=False``) a pair passes a cut when
    the distance is at most the cut.
    """
    levels = np.full(len(ca), MISSING, np.int8)
    both = (ca >= 0) & (cb >= 0)
    levels[both] = 0
    equal = both & (ca == cb)
    levels[equal] = len(cuts) + 1
    rest = np.flatnonzero(both & ~equal)
    if len(rest) and cuts:
        score = similarity(col, ca[rest], cb[rest], scorer, workers, min(cuts) if higher_is_better else max(cuts))
        sub = np.zeros(len(rest), np.int8)
        for rank, cut in enumerate(reversed(cuts), start=1):
            sub[(score >= cut) if higher_is_better else (score <= cut)] = rank
        levels[rest] = sub
    return levels


def simple(column: str, scorer=None, cuts=(), higher_is_better=True):
    """A comparison function over one column with optional similarity cut-offs."""

    def compute(prep: Prepared, a, b, workers):
        col = prep.cols[column]
        return graded(col, col.codes[a], col.codes[b], scorer, list(cuts), workers, higher_is_better)

    return compute


def _pair_jw(col: Column, ca, cb, workers) -> np.ndarray:
    """Jaro-Winkler per pair, 1.0 for equal codes, 0.0 when a value is missing."""
    out = np.zeros(len(ca), np.float32)
    both = (ca >= 0) & (cb >= 0)
    out[both & (ca == cb)] = 1.0
    rest = np.flatnonzero(both & (ca != cb))
    out[rest] = similarity(col, ca[rest], cb[rest], JaroWinkler.normalized_similarity, workers)
    return out


def name_levels(prep: Prepared, a, b, workers) -> tuple[np.ndarray, np.ndarray]:
    """First- and last-name levels, taking the swapped orientation when it fits better.

    First name: 4 exact, 3 same nickname family, 2 JW >= 0.92, 1 JW >= 0.80.
    Last name: 3 exact, 2 JW >= 0.92, 1 JW >= 0.80.
    """
    first, last, root = prep.cols["first_name"], prep.cols["last_name"], prep.cols["first_root"]
    fa, fb, la, lb = first.codes[a], first.codes[b], last.codes[a], last.codes[b]
    jf, jl = _pair_jw(first, fa, fb, workers), _pair_jw(first, la, lb, workers)
    # Only pairs whose names look swapped by sound are worth the two extra comparisons.
    fs, ls = prep.cols["first_sdx"].codes, prep.cols["last_sdx"].codes
    cross = ((fs[a] == ls[b]) & (fs[a] >= 0)) | ((ls[a] == fs[b]) & (ls[a] >= 0))
    maybe = np.flatnonzero((jf + jl < 1.8) & cross)
    sf = _pair_jw(first, fa[maybe], lb[maybe], workers)
    sl = _pair_jw(first, la[maybe], fb[maybe], workers)
    swap = maybe[(sf + sl) > (jf[maybe] + jl[maybe]) + 0.1]
    swapped = np.isin(maybe, swap)
    jf[swap], jl[swap] = sf[swapped], sl[swapped]
    f_levels = _cut(jf, [0.92, 0.80])
    nick = (root.codes[a] == root.codes[b]) & (root.codes[a] >= 0) & (f_levels < 3)
    f_levels[nick] = 3
    f_levels[jf >= 1.0] = 4
    l_levels = _cut(jl, [0.92, 0.80])
    l_levels[jl >= 1.0] = 3
    f_levels[(fa < 0) | (fb < 0)] = MISSING
    l_levels[(la < 0) | (lb < 0)] = MISSING
    return f_levels, l_levels


def _cut(score: np.ndarray, cuts: list[float]) -> np.ndarray:
    levels = np.zeros(len(score), np.int8)
    for rank, cut in enumerate(reversed(cuts), start=1):
        levels[score >= cut] = rank
    return levels


def phone_levels(prep: Prepared, a, b, workers) -> np.ndarray:
    """2 = a shared number (phone or mobile, either way round), 1 = one digit edit apart."""
    cols = [prep.cols[c] for c in ("phone", "mobile") if c in prep.cols]
    levels = np.full(len(a), MISSING, np.int8)
    best = np.full(len(a), 99, np.int16)
    for x in cols:
        for y in cols:
            ca, cb = x.codes[a], y.codes[b]
            both = (ca >= 0) & (cb >= 0)
            levels[both] = np.maximum(levels[both], 0)
            best[both & (ca == cb)] = 0
            if x is not y:
                continue  # a typo is only looked for phone-to-phone and mobile-to-mobile
            rest = np.flatnonzero(both & (ca != cb) & (best > 1))
            dist = similarity(x, ca[rest], cb[rest], OSA.distance, workers, 2)
            best[rest] = np.minimum(best[rest], dist.astype(np.int16))
    levels[(levels >= 0) & (best <= 1)] = 1
    levels[(levels >= 0) & (best == 0)] = 2
    return levels


def email_levels(prep: Prepared, a, b, workers) -> np.ndarray:
    """2 exact address, 1 same local part or local parts with JW >= 0.92, 0 otherwise."""
    email, local = prep.cols["email"], prep.cols["email_local"]
    levels = graded(local, local.codes[a], local.codes[b], JaroWinkler.normalized_similarity,
                    [0.92], workers)
    levels[levels == 2] = 1
    levels[(email.codes[a] == email.codes[b]) & (email.codes[a] >= 0)] = 2
    _drop_name_locals(prep, a, levels)
    return levels


def _letters(text: str) -> str:
    return "".join(c for c in text if c.isalpha())


def _drop_name_locals(prep: Prepared, a, levels: np.ndarray) -> None:
    """Treat "same local part" as no evidence when the local part is just the person's name.

    ``rodney.landry@outlook.com`` vs ``rodney.landry@acme.com`` only repeats the name
    agreement already counted; scoring it again (Fellegi-Sunter assumes independent
    fields) would link namesakes.
    """
    rows = np.flatnonzero(levels == 1)
    if not len(rows) or "first_name" not in prep.cols:
        return
    first, last, local = prep.cols["first_name"], prep.cols["last_name"], prep.cols["email_local"]
    names = first.values
    derived = []
    for f, l_, e in zip(first.codes[a[rows]].tolist(), last.codes[a[rows]].tolist(),
                        local.codes[a[rows]].tolist(), strict=True):
        fn = _letters(names[f]) if f >= 0 else ""
        ln = _letters(names[l_]) if l_ >= 0 else ""
        forms = {fn + ln, ln + fn, fn[:1] + ln, fn + ln[:1], fn, ln} - {""}
        derived.append(_letters(local.values[e]) in forms)
    levels[rows[np.asarray(derived, bool)]] = MISSING


def person_comparisons(prep: Prepared) -> list[Comparison]:
    """Comparisons for contacts and leads, limited to the columns present."""
    out: list[Comparison] = []
    if prep.has("first_name") or prep.has("last_name"):
        cache: dict = {}

        def names(k):
            def compute(prep, a, b, workers):
                # First and last name are scored together (swap detection); the second call
                # for the same chunk reuses the first call's result.
                if cache.get("a") is not a or cache.get("b") is not b:
                    cache.update(a=a, b=b, levels=name_levels(prep, a, b, workers))
                return cache["levels"][k]
            return compute

        out.append(Comparison("first_name", ["different", "similar", "very similar", "nickname", "exact"],
                              names(0), "first_name"))
        out.append(Comparison("last_name", ["different", "similar", "very similar", "exact"],
                              names(1), "last_name"))
    if prep.has("email"):
        out.append(Comparison("email", ["different", "same local part", "exact"], email_levels))
    if prep.has("phone") or prep.has("mobile"):
        out.append(Comparison("phone", ["different", "one digit apart", "exact"], phone_levels))
    if prep.has("company"):
        out.append(Comparison("company", ["different", "similar", "exact"],
                              simple("company", fuzz.token_set_ratio, [90]), "company"))
    if prep.has("birth_date"):
        out.append(Comparison("birth_date", ["different", "two edits", "one edit", "exact"],
                              simple("birth_date", OSA.distance, [1, 2], False)))
    return out + address_comparisons(prep)


def street_levels(prep: Prepared, a, b, workers) -> np.ndarray:
    """3 exact, 2 ratio >= 90, 1 ratio >= 75; different house numbers cap the level at 1.

    "21 Duffy St" and "24 Duffy St" are 93% alike as text but are different addresses.
    """
    levels = simple("street", fuzz.ratio, [90, 75])(prep, a, b, workers)
    if "street_no" in prep.cols:
        no = prep.cols["street_no"].codes
        differ = (no[a] >= 0) & (no[b] >= 0) & (no[a] != no[b])
        levels[differ & (levels > 1)] = 1
    return levels


def address_comparisons(prep: Prepared) -> list[Comparison]:
    """Street, city, postal code, state and country comparisons for any entity."""
    specs = [
        ("street", ["different", "similar", "very similar", "exact"], fuzz.ratio, [90, 75], True,
         None),
        ("address_2", ["different", "similar", "exact"], fuzz.token_set_ratio, [80], True, None),
        ("city", ["different", "similar", "exact"], JaroWinkler.normalized_similarity, [0.9], True, "city"),
        ("postal_code", ["different", "one edit", "exact"], OSA.distance, [1], False, None),
        ("state", ["different", "exact"], None, [], True, None),
        ("country", ["different", "exact"], None, [], True, None),
    ]
    out = [Comparison(name, labels, simple(name, scorer, cuts, hib), tf)
           for name, labels, scorer, cuts, hib, tf in specs if prep.has(name)]
    if out and out[0].name == "street":
        out[0].compute = street_levels
    return out


def account_comparisons(prep: Prepared) -> list[Comparison]:
    """Comparisons for accounts: name (legal suffix stripped), website, phone, address."""
    out = [Comparison("name", ["different", "similar", "very similar", "exact"],
                      simple("name", fuzz.token_set_ratio, [92, 80]), "name")]
    if prep.has("website"):
        out.append(Comparison("website", ["different", "exact"], simple("website")))
    if prep.has("phone"):
        out.append(Comparison("phone", ["different", "one digit apart", "exact"], phone_levels))
    return out + address_comparisons(prep)


def comparisons_for(prep: Prepared) -> list[Comparison]:
    """Comparisons suited to the prepared entity."""
    return account_comparisons(prep) if "name" in prep.cols else person_comparisons(prep)


def compare_chunk(prep: Prepared, comps: list[Comparison], a, b, workers: int) -> np.ndarray:
    """Level matrix (pairs x comparisons, ``int8``) for one chunk of pairs."""
    out = np.empty((len(a), len(comps)), np.int8)
    for k, comp in enumerate(comps):
        out[:, k] = comp.compute(prep, a, b, workers)
    return out


def compare_all(prep: Prepared, comps: list[Comparison], a, b, chunk: int, workers: int) -> np.ndarray:
    """Level matrix for all pairs, computed ``chunk`` pairs at a time to bound memory."""
    out = np.empty((len(a), len(comps)), np.int8)
    for start in range(0, len(a), chunk):
        sl = slice(start, start + chunk)
        out[sl] = compare_chunk(prep, comps, a[sl], b[sl], workers)
    return out
