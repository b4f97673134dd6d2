"""``find_duplicates``: normalise, block, compare, score, cluster, pick survivors, explain."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from checks.dedupe.blocking import pairs_within_groups
from checks.dedupe.cluster import (
    cluster_id,
    cluster_records,
    connected_components,
    exact_only,
    refine_clusters,
)
from checks.dedupe.explain import agreeing_fields, near_key_of, pair_explanations, pattern_fields, same_key_of
from checks.dedupe.prepare import Prepared, prepare
from checks.dedupe.scoring import Scored, score, score_pairs
from checks.dedupe.settings import DedupeSettings
from checks.dedupe.survivor import MergePlanner, pick_survivors, rule_scores

CLUSTER_COLUMNS = ["cluster_id", "entity", "tier", "score", "size", "survivor_key", "merge_plan", "matched_on"]
MEMBER_COLUMNS = ["cluster_id", "key", "is_survivor", "match_score"]
PAIR_COLUMNS = ["key_a", "key_b", "probability", "match_weight", "tier", "cluster_id", "explanation"]


@dataclass
class DedupeResult:
    """Output of :func:`find_duplicates`.

    Attributes:
        clusters: One row per duplicate cluster (``CLUSTER_COLUMNS``); ``merge_plan`` is a JSON
            list of ``{field, keep_value, from_key, why}``.
        members: One row per clustered record (``MEMBER_COLUMNS``).
        pairs: Linked pairs and near misses (``PAIR_COLUMNS``); ``explanation`` is JSON.
        stats: Stage timings, candidate pair and block counts, model parameters.
        dismissed: Clusters a steward marked ``not_duplicate`` whose members are unchanged.
        candidates: ``(a, b)`` record positions of every candidate pair, only when
            ``settings.return_candidates``.
    """

    clusters: pd.DataFrame
    members: pd.DataFrame
    pairs: pd.DataFrame
    stats: dict
    dismissed: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CLUSTER_COLUMNS))
    candidates: tuple[np.ndarray, np.ndarray] | None = None


def _empty_result(stats: dict) -> DedupeResult:
    return DedupeResult(pd.DataFrame(columns=CLUSTER_COLUMNS), pd.DataFrame(columns=MEMBER_COLUMNS),
                        pd.DataFrame(columns=PAIR_COLUMNS), stats)


def _edge_scores(scored: Scored, linked: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linked edges with their score (exact-pass links count as certain)."""
    a, b = scored.cands.a[linked], scored.cands.b[linked]
    return a, b, np.where(scored.hard[linked], 1.0, scored.prob[linked])


def _cluster_frame(prep, scored, labels, linked, settings, decisions):
    """Members and clusters frames (before decisions are applied)."""
    n = prep.n
    sizes = np.bincount(labels, minlength=n)
    rows = np.flatnonzero(sizes[labels] >= 2)
    rows = rows[np.lexsort((prep.keys[rows], labels[rows]))]
    if not len(rows):
        return pd.DataFrame(columns=CLUSTER_COLUMNS), pd.DataFrame(columns=MEMBER_COLUMNS), {}
    member_labels = labels[rows]
    a, b, edge = _edge_scores(scored, linked)
    best = np.zeros(n)
    np.maximum.at(best, a, edge)
    np.maximum.at(best, b, edge)
    total = np.bincount(labels[a], weights=edge, minlength=n)
    count = np.bincount(labels[a], minlength=n)
    hard = scored.hard & linked
    is_exact = exact_only(n, labels, scored.cands.a[hard], scored.cands.b[hard])
    scores = rule_scores(prep, settings.survivor_rules)
    survivor_mask, reasons = pick_survivors(rows, member_labels, scores, settings.survivor_rules, prep.keys)
    recency = scores.get("most_recent_activity")
    planner = MergePlanner(prep, recency if recency is not None else np.zeros(n))
    starts = np.flatnonzero(np.r_[True, member_labels[1:] != member_labels[:-1]])
    bounds = np.r_[starts, len(rows)]
    cluster_rows, ids = [], np.empty(len(rows), dtype=object)
    for s, e in zip(bounds[:-1], bounds[1:], strict=True):
        group, label = rows[s:e], member_labels[s]
        cid = cluster_id(prep.entity, prep.keys[group].tolist())
        ids[s:e] = cid
        surv = int(group[survivor_mask[s:e]][0])
        mean = total[label] / max(count[label], 1)
        # "exact" is a key shared as written; nicknames and legal suffixes the exact pass also links are not.
        same_key = same_key_of(prep, group) if is_exact[group[0]] else None
        tier = _tier(same_key is not None, mean, settings, decisions.get(cid))
        matched_on = same_key or (near_key_of(prep, group) if is_exact[group[0]] else None)
        cluster_rows.append((cid, prep.entity, tier, round(float(mean), 4), int(e - s), str(prep.keys[surv]),
                             planner.plan(group, surv, reasons[label]), matched_on))
    clusters = pd.DataFrame(cluster_rows, columns=CLUSTER_COLUMNS)
    members = pd.DataFrame({"cluster_id": ids, "key": prep.keys[rows], "is_survivor": survivor_mask,
                            "match_score": np.round(best[rows], 4)})
    label_to_id = dict(zip(member_labels[starts].tolist(), ids[starts].tolist(), strict=True))
    return clusters, members, label_to_id


def _tier(exact: bool, mean: float, settings: DedupeSettings, decision: str | None) -> str:
    if decision == "confirmed":
        return "confirmed"
    if exact:
        return "exact"
    return "likely" if mean >= settings.likely_cutoff else "review"


def _pair_frame(prep: Prepared, scored: Scored, labels, linked, settings, label_to_id) -> pd.DataFrame:
    """Linked pairs plus unlinked pairs above the review threshold, with explanations."""
    keep = np.flatnonzero(linked | (scored.prob >= settings.review_threshold))
    a, b = scored.cands.a[keep], scored.cands.b[keep]
    tier = np.where(scored.hard[keep], "exact", np.where(linked[keep], "likely", "review"))
    same = labels[a] == labels[b]
    cids = np.array([label_to_id.get(lab) if s else None for lab, s in zip(labels[a].tolist(), same.tolist(),
                                                                           strict=True)], dtype=object)
    fields_json = pattern_fields(scored.comps, scored.model, scored.patterns)
    explanation = pair_explanations(fields_json, scored.pattern_idx[keep], scored.weight[keep], scored.tf[keep],
                                    scored.hard[keep])
    return pd.DataFrame({"key_a": prep.keys[a], "key_b": prep.keys[b], "probability": np.round(scored.prob[keep], 6),
                         "match_weight": np.round(scored.weight[keep], 3), "tier": tier, "cluster_id": cids,
                         "explanation": explanation}, columns=PAIR_COLUMNS)


def _apply_dismissals(result: DedupeResult, decisions: Mapping[str, str]) -> DedupeResult:
    """Drop clusters a steward dismissed as not duplicates (they are kept in ``dismissed``)."""
    gone = {cid for cid, d in decisions.items() if d == "not_duplicate"}
    hit = result.clusters["cluster_id"].isin(gone)
    if not hit.any():
        return result
    result.dismissed = result.clusters[hit].assign(tier="dismissed").reset_index(drop=True)
    result.clusters = result.clusters[~hit].reset_index(drop=True)
    result.members = result.members[~result.members["cluster_id"].isin(gone)].reset_index(drop=True)
    result.pairs = result.pairs[~result.pairs["cluster_id"].isin(gone)].reset_index(drop=True)
    return result


def _fields_agreeing(clusters: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Clusters not matched on a key: which fields of their strongest pair agreed, and how closely."""
    open_ = clusters.matched_on.isna()
    if not open_.any() or not len(pairs):
        return clusters
    best = pairs.dropna(subset=["cluster_id"]).sort_values("probability", ascending=False)
    best = best.drop_duplicates("cluster_id").set_index("cluster_id").explanation
    entity = str(clusters.entity.iloc[0]) if len(clusters) else ""
    said = clusters.cluster_id.map(best).map(lambda e: agreeing_fields(e, entity), na_action="ignore")
    return clusters.assign(matched_on=clusters.matched_on.where(~open_, said))


def _split_apart(labels: np.ndarray, keys: np.ndarray, scored: Scored, linked: np.ndarray,
                 apart: frozenset[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """Split the clusters that still join a pair decided apart (through a third record).

    Members join, strongest link first, the part they are most linked to among those holding no
    record they were decided apart from; links between parts are dropped. Each part's label is its
    smallest member position, as `connected_components` labels.
    """
    position = {str(k): i for i, k in enumerate(keys.tolist())}
    decided = [(position[x], position[y]) for x, y in apart if x in position and y in position]
    touched = {int(labels[i]) for i, j in decided if labels[i] == labels[j]}
    if not touched:
        return labels, linked
    enemies: dict[int, set[int]] = {}
    for i, j in decided:
        enemies.setdefault(i, set()).add(j)
        enemies.setdefault(j, set()).add(i)
    a, b, weight = _edge_scores(scored, linked)
    labels = labels.copy()
    for label in touched:
        members = np.flatnonzero(labels == label)
        inside = np.isin(a, members) & np.isin(b, members)
        strength: dict[int, dict[int, float]] = {int(m): {} for m in members}
        for x, y, w in zip(a[inside].tolist(), b[inside].tolist(), weight[inside].tolist(), strict=True):
            strength[x][y] = max(strength[x].get(y, 0.0), w)
            strength[y][x] = max(strength[y].get(x, 0.0), w)
        parts: list[set[int]] = []
        for m in sorted(strength, key=lambda k: (-max(strength[k].values(), default=0.0), k)):
            fits = [part for part in parts if not part & enemies.get(m, set())]
            best = max(fits, key=lambda part: max((strength[m].get(o, 0.0) for o in part), default=0.0), default=None)
            if best is not None and any(o in strength[m] for o in best):
                best.add(m)
            else:
                parts.append({m})
        for part in parts:
            labels[list(part)] = min(part)
    return labels, linked & (labels[scored.cands.a] == labels[scored.cands.b])


def _decided_apart(left: np.ndarray, right: np.ndarray, apart: frozenset[tuple[str, str]]) -> np.ndarray:
    """Per pair of record keys (`left[i]`, `right[i]`): whether a steward decided them apart."""
    return np.fromiter(((str(x), str(y)) in apart or (str(y), str(x)) in apart
                        for x, y in zip(left.tolist(), right.tolist(), strict=True)), dtype=bool, count=len(left))


def _model_stats(scored: Scored) -> dict:
    model = scored.model
    return {
        "lambda": round(model.lam, 6),
        "em_iterations": model.iterations,
        "em_collapsed": model.collapsed,
        "em_reset_fields": model.reset_fields,
        "weights": {c.name: [round(float(w), 2) for w in ws]
                    for c, ws in zip(scored.comps, model.weights(), strict=True)},
    }


def find_duplicates(records: pd.DataFrame, entity: str, settings: DedupeSettings | None = None,
                    decisions: Mapping[str, str] | None = None,
                    apart: frozenset[tuple[str, str]] = frozenset()) -> DedupeResult:
    """Find fuzzy duplicate records of one entity.

    Args:
        records: Frame with a string ``key`` column and any canonical columns (see the package
            docstring). Soft-deleted rows must already be excluded.
        entity: ``contact``, ``lead`` or ``account``.
        settings: Thresholds and limits; defaults when ``None``.
        decisions: Steward decisions by cluster id: ``not_duplicate`` hides an unchanged
            cluster (moved to ``dismissed``), ``confirmed`` sets its tier to ``confirmed``.
        apart: Record pairs (smaller key first) stewards said are not duplicates: never linked
            to each other, whatever cluster they would form now.

    Returns:
        Clusters, members, pairs and stats.
    """
    settings = settings or DedupeSettings()
    decisions = dict(decisions or {})
    start = time.perf_counter()
    prep = prepare(records, entity, settings)
    stats: dict = {"records": prep.n, "timings": {"normalise": round(time.perf_counter() - start, 3)}}
    if prep.n < 2:
        return _empty_result(stats)
    scored = score(prep, settings)
    stats["timings"].update(scored.timings)
    stats.update(scored.cands.stats)
    stats.update(_model_stats(scored))
    t = time.perf_counter()
    labels, linked = cluster_records(prep.n, scored.cands.a, scored.cands.b, scored.prob, scored.hard, settings)
    labels = refine_clusters(labels, pairs_within_groups, lambda a, b: score_pairs(prep, scored, a, b, settings),
                             settings)
    # Exact-pass links are never undone; other links across the refined clusters are dropped.
    together = labels[scored.cands.a] == labels[scored.cands.b]
    linked &= together | scored.hard
    if apart:  # a steward's "not a duplicate" on a pair outweighs any score, an exact key's too
        decided = _decided_apart(prep.keys[scored.cands.a], prep.keys[scored.cands.b], apart)
        linked &= ~decided
    labels = connected_components(prep.n, scored.cands.a[linked], scored.cands.b[linked])
    if apart:
        labels, linked = _split_apart(labels, prep.keys, scored, linked, apart)
    stats["timings"]["cluster"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    clusters, members, label_to_id = _cluster_frame(prep, scored, labels, linked, settings, decisions)
    stats["timings"]["survivor"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    pairs = _pair_frame(prep, scored, labels, linked, settings, label_to_id)
    clusters = _fields_agreeing(clusters, pairs)
    if apart:
        pairs = pairs[~_decided_apart(pairs.key_a.to_numpy(), pairs.key_b.to_numpy(), apart)]
        pairs = pairs.reset_index(drop=True)
    stats["timings"]["explain"] = round(time.perf_counter() - t, 3)
    stats["timings"]["total"] = round(time.perf_counter() - start, 3)
    stats["clusters"] = len(clusters)
    result = DedupeResult(clusters, members, pairs, stats)
    if settings.return_candidates:
        result.candidates = (scored.cands.a, scored.cands.b)
    return _apply_dismissals(result, decisions)
