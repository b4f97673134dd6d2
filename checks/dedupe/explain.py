"""Pair explanations: which fields agreed, at what level, and what each contributed."""

from __future__ import annotations

import json

import numpy as np

from checks.dedupe.compare import Comparison
from checks.dedupe.fellegi_sunter import FSModel


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
