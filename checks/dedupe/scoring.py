"""Blocking, comparison and Fellegi-Sunter scoring of one prepared entity."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from checks.dedupe.blocking import Candidates, candidate_pairs
from checks.dedupe.compare import Comparison, compare_all, compare_chunk, comparisons_for
from checks.dedupe.fellegi_sunter import (
    FSModel,
    aggregate,
    estimate_u,
    fit_em,
    match_weight,
    probability,
    tf_adjustment,
)
from checks.dedupe.prepare import Prepared
from checks.dedupe.settings import DedupeSettings


@dataclass
class Scored:
    """Scored candidate pairs.

    Attributes:
        cands: Candidate pairs (``a < b`` record positions).
        comps: Comparisons used.
        model: Fitted model.
        patterns: Distinct level patterns.
        pattern_idx: Pattern index per pair.
        weight: Match weight per pair (TF adjustment included).
        tf: TF adjustment per pair.
        prob: Match probability per pair.
        hard: Pairs linked by the exact pass.
        timings: Seconds per stage.
    """

    cands: Candidates
    comps: list[Comparison]
    model: FSModel
    patterns: np.ndarray
    pattern_idx: np.ndarray
    weight: np.ndarray
    tf: np.ndarray
    prob: np.ndarray
    hard: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)


def _member(code: np.ndarray, sorted_codes: np.ndarray) -> np.ndarray:
    """Vectorised membership of ``code`` in the sorted array ``sorted_codes``."""
    if not len(sorted_codes):
        return np.zeros(len(code), bool)
    pos = np.searchsorted(sorted_codes, code).clip(max=len(sorted_codes) - 1)
    return sorted_codes[pos] == code


def score(prep: Prepared, settings: DedupeSettings) -> Scored:
    """Generate candidate pairs, compare them, fit the model and score every pair.

    Args:
        prep: Prepared records.
        settings: Pipeline settings.

    Returns:
        The scored pairs with the fitted model and per-stage timings.
    """
    t = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        timings[name] = round(now - t, 3)
        t = now

    cands = candidate_pairs(prep, settings)
    lap("blocking")
    comps = comparisons_for(prep)
    levels = compare_all(prep, comps, cands.a, cands.b, settings.chunk_pairs, settings.workers)
    lap("compare")
    u = estimate_u(prep, comps, settings.u_sample_pairs, settings.seed, settings.workers)
    patterns, counts, pattern_idx = aggregate(levels)
    model = fit_em(patterns, counts, u, [c.name for c in comps], settings.em_max_iter,
                   skipped=cands.stats.get("skipped_pairs", 0))
    lap("em")
    tf = tf_adjustment(prep, comps, model, levels, cands.a) if settings.tf_adjust else np.zeros(len(cands.a))
    del levels
    weight = match_weight(model, patterns)[pattern_idx] + tf
    n = np.int64(prep.n)
    hard = _member(cands.a.astype(np.int64) * n + cands.b, cands.exact_a.astype(np.int64) * n + cands.exact_b)
    lap("score")
    return Scored(cands, comps, model, patterns, pattern_idx, weight, tf, probability(weight), hard, timings)


def score_pairs(prep: Prepared, scored: Scored, a: np.ndarray, b: np.ndarray, settings: DedupeSettings):
    """Match probability of arbitrary record pairs under an already fitted model."""
    if not len(a):
        return np.empty(0)
    levels = compare_chunk(prep, scored.comps, a, b, settings.workers)
    weight = match_weight(scored.model, levels)
    if settings.tf_adjust:
        weight += tf_adjustment(prep, scored.comps, scored.model, levels, a)
    return probability(weight)
