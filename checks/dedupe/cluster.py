"""Clustering of linked pairs: connected components, weak-cluster splitting, tiers and ids."""

from __future__ import annotations

import hashlib

import numpy as np

from checks.dedupe.settings import DedupeSettings


def connected_components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component label (smallest member position) of every record.

    Vectorised union-find: hook each edge's larger root under its smaller root, then
    compress paths by pointer jumping, until no edge spans two roots.

    Args:
        n: Number of records.
        a: Edge endpoints.
        b: Edge endpoints.

    Returns:
        ``int64`` label per record.
    """
    parent = np.arange(n, dtype=np.int64)
    a, b = a.astype(np.int64), b.astype(np.int64)
    while len(a):
        pa, pb = parent[a], parent[b]
        differ = pa != pb
        if not differ.any():
            break
        a, b, pa, pb = a[differ], b[differ], pa[differ], pb[differ]
        np.minimum.at(parent, np.maximum(pa, pb), np.minimum(pa, pb))
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
    return parent


def _component_sizes(labels: np.ndarray) -> np.ndarray:
    return np.bincount(labels, minlength=len(labels))


def _weak_labels(labels, a, b, settings: DedupeSettings) -> np.ndarray:
    """Labels of clusters that are too big or too sparsely linked to keep whole."""
    sizes = _component_sizes(labels)
    edges = np.bincount(labels[a], minlength=len(labels))
    possible = sizes * (sizes - 1) / 2.0
    weak = (sizes >= 3) & (edges < settings.min_cluster_density * possible)
    weak |= sizes > settings.max_cluster_size
    return np.flatnonzero(weak)


def cluster_records(n: int, a, b, score, hard, settings: DedupeSettings, rounds: int = 3):
    """Link pairs into clusters, splitting weak clusters by raising the threshold.

    Args:
        n: Number of records.
        a: Pair endpoints.
        b: Pair endpoints.
        score: Match probability per pair.
        hard: Pairs linked regardless of score (exact pass).
        settings: Link threshold, density and size limits.
        rounds: How many times a weak cluster's threshold may be raised.

    Returns:
        ``(labels, linked)``: component label per record and the mask of pairs kept as links.
    """
    linked = hard | (score >= settings.link_threshold)
    labels = connected_components(n, a[linked], b[linked])
    threshold = settings.link_threshold
    for _ in range(rounds):
        weak = _weak_labels(labels, a[linked], b[linked], settings)
        if not len(weak):
            break
        threshold = 1.0 - (1.0 - threshold) / 10.0
        inside = np.isin(labels[a], weak)
        linked &= ~inside | hard | (score >= threshold)
        labels = connected_components(n, a[linked], b[linked])
    return labels, linked


def cluster_id(entity: str, keys: list[str]) -> str:
    """Stable id of a cluster: hash of the entity and the sorted member keys."""
    text = entity + "\x1f" + "\x1f".join(sorted(keys))
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def exact_only(n: int, labels: np.ndarray, ea: np.ndarray, eb: np.ndarray) -> np.ndarray:
    """Whether each record's cluster is held together by exact-pass links alone."""
    exact_labels = connected_components(n, ea, eb)
    size = _component_sizes(labels)
    exact_size = _component_sizes(exact_labels)
    return exact_size[exact_labels] == size[labels]


def _prune(prob: np.ndarray, min_support: float) -> np.ndarray:
    """Members kept after repeatedly dropping the member least supported by the others.

    Args:
        prob: Symmetric matrix of match probabilities between all members.
        min_support: Minimum mean probability of a member to the other kept members.

    Returns:
        Boolean mask of kept members.
    """
    keep = np.ones(len(prob), bool)
    while keep.sum() >= 3:
        sub = prob[np.ix_(keep, keep)]
        support = (sub.sum(axis=1) - np.diag(sub)) / (len(sub) - 1)
        worst = int(np.argmin(support))
        if support[worst] >= min_support:
            break
        keep[np.flatnonzero(keep)[worst]] = False
    return keep


def refine_clusters(labels: np.ndarray, pairs_fn, score_fn, settings: DedupeSettings) -> np.ndarray:
    """Score every pair inside clusters of three or more and eject weakly attached members.

    Connected components can chain two people together through one doubtful link. Each
    member's mean probability against all other members is checked; the least supported
    member is removed while it falls below ``settings.min_member_support``. Removed members
    are re-linked among themselves (components at the link threshold).

    Args:
        labels: Cluster label per record.
        pairs_fn: ``(rows, groups) -> (a, b)`` all pairs within groups.
        score_fn: ``(a, b) -> probability`` for arbitrary record pairs.
        settings: Thresholds.

    Returns:
        Updated labels.
    """
    sizes = np.bincount(labels, minlength=len(labels))
    rows = np.flatnonzero((sizes[labels] >= 3) & (sizes[labels] <= settings.max_cluster_size))
    if not len(rows):
        return labels
    a, b = pairs_fn(rows, labels[rows])
    prob = score_fn(a, b)
    order = np.argsort(labels[a], kind="stable")
    a, b, prob = a[order], b[order], prob[order]
    starts = np.flatnonzero(np.r_[True, labels[a][1:] != labels[a][:-1]])
    labels = labels.copy()
    ejected_a, ejected_b = [], []
    for s, e in zip(starts, np.r_[starts[1:], len(a)], strict=True):
        members = np.unique(np.r_[a[s:e], b[s:e]])
        index = {int(r): i for i, r in enumerate(members)}
        matrix = np.eye(len(members))
        ia = np.array([index[int(r)] for r in a[s:e]])
        ib = np.array([index[int(r)] for r in b[s:e]])
        matrix[ia, ib] = matrix[ib, ia] = prob[s:e]
        keep = _prune(matrix, settings.min_member_support)
        if keep.all():
            continue
        out = members[~keep]
        labels[out] = len(labels) + out  # fresh labels, distinct from every position
        strong = (~keep[ia]) & (~keep[ib]) & (prob[s:e] >= settings.link_threshold)
        ejected_a.append(a[s:e][strong])
        ejected_b.append(b[s:e][strong])
    if ejected_a:
        ea, eb = np.concatenate(ejected_a), np.concatenate(ejected_b)
        sub = connected_components(len(labels), ea, eb)
        moved = np.unique(np.r_[ea, eb])
        labels[moved] = 2 * len(labels) + sub[moved]
    return labels
