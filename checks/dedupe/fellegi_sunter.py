"""Fellegi-Sunter scoring with unsupervised parameter estimation.

* ``u`` (P(level | non-match)) is estimated from random record pairs, which are almost all
  non-matches.
* ``m`` (P(level | match)) and the match share ``lambda`` are estimated by EM over the
  *aggregated* agreement patterns of the candidate pairs (one row per distinct pattern with
  its count), so EM costs the same for 10 thousand or 10 million pairs.
* Guards against EM collapse: ``u`` stays fixed, ``lambda`` is clipped, a field whose top
  level ends up no likelier among matches than non-matches is reset to its prior, and if
  EM finds no match class at all the priors are used.
* Term-frequency adjustment: an exact agreement on a value is weighted by how common that
  value is (Bayes factor ``m_top / tf(value)`` instead of ``m_top / u_top``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from checks.dedupe.compare import Comparison, compare_chunk
from checks.dedupe.prepare import Prepared

_EPS = 1e-6
M_FLOOR = 1e-3
DEFAULT_SESSIONS = [["first_name", "last_name"], ["email"], ["phone"], ["birth_date"],
                    ["street", "postal_code"], ["name"], ["website"]]


@dataclass
class FSModel:
    """A fitted Fellegi-Sunter model.

    Attributes:
        names: Comparison names.
        m: Per comparison, P(level | match), indexed by level.
        u: Per comparison, P(level | non-match).
        lam: Share of matches among candidate pairs.
        iterations: EM iterations run.
        reset_fields: Comparisons whose m was reset to the prior by a guard.
        collapsed: Whether EM found no match class and priors were used.
    """

    names: list[str]
    m: list[np.ndarray]
    u: list[np.ndarray]
    lam: float
    iterations: int = 0
    reset_fields: list[str] = field(default_factory=list)
    collapsed: bool = False

    def weights(self) -> list[np.ndarray]:
        """Match weights (log2 Bayes factors) per level, made consistent with the level order.

        A partial level whose value is rare among random pairs can get an inflated ratio; it
        is capped at the exact level's weight, disagreement is never positive evidence, and
        weights are made non-decreasing in level.
        """
        out = []
        for m, u in zip(self.m, self.u, strict=True):
            w = np.log2(m / u)
            w[:-1] = np.minimum(w[:-1], w[-1])
            w[0] = min(w[0], 0.0)
            out.append(np.maximum.accumulate(w))
        return out

    def prior_weight(self) -> float:
        """log2 prior odds of a match among candidate pairs."""
        return float(np.log2(self.lam / (1.0 - self.lam)))


def estimate_u(prep: Prepared, comps: list[Comparison], pairs: int, seed: int, workers: int):
    """Estimate u from random record pairs (Laplace-smoothed level shares)."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, prep.n, pairs)
    b = rng.integers(0, prep.n, pairs)
    keep = a != b
    a, b = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
    levels = compare_chunk(prep, comps, a, b, workers)
    out = []
    for k, comp in enumerate(comps):
        column = levels[:, k]
        counts = np.bincount(column[column >= 0], minlength=len(comp.levels)).astype(float)
        out.append((counts + 0.5) / (counts.sum() + 0.5 * len(counts)))
    return out


def prior_m(n_levels: int) -> np.ndarray:
    """Prior P(level | match): most mass on exact agreement, a little on each lower level."""
    m = np.linspace(0.02, 0.1, n_levels)
    m[-1] = 0.0
    m[-1] = 1.0 - m.sum()
    return m


def aggregate(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct agreement patterns, their counts and each pair's pattern index."""
    radix = 8
    code = np.zeros(len(levels), np.int64)
    for k in range(levels.shape[1]):
        code = code * radix + (levels[:, k].astype(np.int64) + 1)
    inverse, uniques = pd.factorize(code)
    counts = np.bincount(inverse, minlength=len(uniques)).astype(float)
    patterns = np.empty((len(uniques), levels.shape[1]), np.int8)
    rest = np.asarray(uniques, np.int64)
    for k in reversed(range(levels.shape[1])):
        patterns[:, k] = rest % radix - 1
        rest = rest // radix
    return patterns, counts, inverse


def _log_ratio(patterns, m, u, active) -> np.ndarray:
    """Log P(pattern | match) - log P(pattern | non-match) over active, non-missing fields."""
    total = np.zeros(len(patterns))
    for k in np.flatnonzero(active):
        level = patterns[:, k]
        ok = level >= 0
        total[ok] += np.log(m[k][level[ok]]) - np.log(u[k][level[ok]])
    return total


def _m_step(patterns, weight, m: list[np.ndarray], active) -> list[np.ndarray]:
    out = list(m)
    for k in np.flatnonzero(active):
        level = patterns[:, k]
        ok = level >= 0
        mass = np.bincount(level[ok], weights=weight[ok], minlength=len(m[k])) + _EPS
        # Floor every level at M_FLOOR: data where duplicates never disagree on a field would
        # otherwise make a single disagreement a -30 bit veto.
        share = np.maximum(mass / mass.sum(), M_FLOOR)
        out[k] = share / share.sum()
    return out


def run_em(patterns, counts, m, u, active, lam: float, max_iter: int, fit_m: bool = True,
           tol: float = 1e-6) -> tuple[list[np.ndarray], float, int]:
    """EM over aggregated patterns, updating lambda and (if ``fit_m``) the active fields' m.

    Returns:
        ``(m, lambda, iterations)``.
    """
    iterations = 0
    for step in range(1, max_iter + 1):
        iterations = step
        logit = np.log(lam / (1 - lam)) + _log_ratio(patterns, m, u, active)
        post = 1.0 / (1.0 + np.exp(-np.clip(logit, -50, 50)))
        weight = counts * post
        new_lam = float(np.clip(weight.sum() / counts.sum(), 1e-6, 0.999))
        new_m = _m_step(patterns, weight, m, active) if fit_m else m
        delta = max([abs(new_lam - lam)] + [float(np.abs(a - b).max()) for a, b in zip(new_m, m, strict=True)])
        m, lam = new_m, new_lam
        if delta < tol:
            break
    return m, lam, iterations


def fit_em(patterns, counts, u: list[np.ndarray], names: list[str], max_iter: int = 60,
           sessions: list[list[str]] | None = None, min_session_pairs: int = 30, skipped: int = 0) -> FSModel:
    """Estimate m by EM in "anchored" sessions, then lambda over all candidates.

    EM on all candidate pairs at once latches onto whatever the blocking keys made common
    (e.g. colleagues sharing a company), so, as Splink does, m is learnt in sessions: each
    session keeps only pairs that agree exactly on its anchor fields (name; e-mail; phone;
    birth date; street and postal code) and estimates m for the *other* fields. A field's m
    is the mean over the sessions that estimated it. Finally lambda (the match share among
    all candidates) is fitted with m and u fixed.

    Args:
        patterns: Distinct level patterns (rows) of the candidate pairs.
        counts: How many pairs show each pattern.
        u: Fixed non-match level probabilities.
        names: Comparison names.
        max_iter: Iteration cap per session.
        sessions: Anchor field lists; defaults to :data:`DEFAULT_SESSIONS`.
        min_session_pairs: Sessions with fewer pairs are skipped.
        skipped: Pairs the blocking keys put together but did not compare (capped blocks).
            Lambda is the match share among the pairs the keys define: without these (nearly
            all non-matches, since a true duplicate sits next to its twin in one of the
            windows) it would rise with every pair the cap skips, and so would every pair's
            prior, linking people who merely share a common name and a postal code. They
            enter the lambda fit as pairs disagreeing on every field.

    Returns:
        The fitted model (priors substituted where a guard fired).
    """
    prior = [prior_m(len(x)) for x in u]
    estimates: list[list[np.ndarray]] = [[] for _ in names]
    iterations = 0
    for anchors in sessions or DEFAULT_SESSIONS:
        idx = [names.index(a) for a in anchors if a in names]
        if len(idx) != len(anchors):
            continue
        rows = np.all([patterns[:, k] == len(u[k]) - 1 for k in idx], axis=0)
        if counts[rows].sum() < min_session_pairs:
            continue
        active = np.ones(len(names), bool)
        active[idx] = False
        m, _, it = run_em(patterns[rows], counts[rows], prior, u, active, 0.5, max_iter)
        iterations += it
        for k in np.flatnonzero(active):
            estimates[k].append(m[k])
    m = [np.mean(e, axis=0) if e else p for e, p in zip(estimates, prior, strict=True)]
    everything = np.ones(len(names), bool)
    if skipped > 0:
        patterns = np.vstack([patterns, np.zeros((1, len(names)), patterns.dtype)])
        counts = np.append(counts, float(skipped))
    _, lam, it = run_em(patterns, counts, m, u, everything, 0.01, max_iter, fit_m=False)
    return _guard(FSModel(names, m, u, lam, iterations + it))


def _guard(model: FSModel) -> FSModel:
    """Undo the two failure modes of unsupervised EM (see module docstring)."""
    if model.lam <= 1e-5 or model.lam >= 0.99:
        model.m = [prior_m(len(u)) for u in model.u]
        model.lam = 0.1
        model.collapsed = True
        return model
    for k, (m, u) in enumerate(zip(model.m, model.u, strict=True)):
        if m[-1] <= u[-1] or m[0] >= 0.9:
            model.m[k] = prior_m(len(u))
            model.reset_fields.append(model.names[k])
    return model


def tf_adjustment(prep: Prepared, comps: list[Comparison], model: FSModel, levels: np.ndarray,
                  a: np.ndarray) -> np.ndarray:
    """Extra log2 weight per pair for exact agreements on rare or common values.

    For an exact agreement on value ``v`` the Bayes factor becomes ``m_top / tf(v)``; the
    adjusted weight never drops below the next lower level's weight or zero, so a shared
    common name still counts as (weak) evidence.
    """
    adjust = np.zeros(len(a))
    weights = model.weights()
    for k, comp in enumerate(comps):
        if comp.tf_column is None or comp.tf_column not in prep.cols:
            continue
        col = prep.cols[comp.tf_column]
        top = len(comp.levels) - 1
        rows = np.flatnonzero(levels[:, k] == top)
        codes = col.codes[a[rows]]
        tf = np.maximum(col.frequencies()[codes], 1.0 / max(prep.n, 1))
        base = weights[k][top]
        floor = max(weights[k][top - 1] if top >= 1 else 0.0, 0.0)
        adjusted = np.maximum(np.log2(model.m[k][top] / tf), floor)
        adjust[rows] += adjusted - base
    return adjust


def match_weight(model: FSModel, patterns: np.ndarray) -> np.ndarray:
    """Total match weight of each pattern (prior included, no TF)."""
    weights = model.weights()
    total = np.full(len(patterns), model.prior_weight())
    for k in range(patterns.shape[1]):
        level = patterns[:, k]
        ok = level >= 0
        total[ok] += weights[k][level[ok]]
    return total


def probability(weight: np.ndarray) -> np.ndarray:
    """Match probability from a match weight."""
    return 1.0 / (1.0 + np.exp2(-np.clip(weight, -60, 60)))
