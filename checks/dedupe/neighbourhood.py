"""Pairs inside blocks, with a hard cap: sorted-neighbourhood windows inside large blocks.

All pairs of a block grow with the square of its size. Where people share a few thousand
first/last-name pairs (any large B2C customer base) name keys form blocks of hundreds of
different people, so a block above ``settings.full_block_size`` is instead sorted by a few
discriminating orders (address, then contact details) and each record is paired only with
the next ``settings.block_window - 1`` records of its block in each order. A record then
yields at most ``pair_bound(settings)`` pairs per key whatever the name distribution.
"""

from __future__ import annotations

import numpy as np

from checks.dedupe.prepare import Prepared
from checks.dedupe.settings import DedupeSettings

#: Sort orders inside a capped block; each gives every record its own window (columns absent
#: from the prepared view are skipped). A true duplicate in a same-name block agrees on its
#: address or on its phone / e-mail, so one of the orders puts it next to its twin, even with
#: a typo late in the street. Names come last: they order blocks whose key has no name part.
INNER_ORDERS = [
    ("postal_code", "street", "last_name", "first_name", "name"),
    ("phone", "email", "website", "last_name", "first_name", "name"),
]
#: Columns whose equal values need only be adjacent (a near-miss phone or e-mail address is
#: no better a neighbour than any other): their codes serve as ranks, which spares sorting
#: vocabularies as large as the records.
BY_CODE = frozenset({"phone", "email", "website"})


def pairs_within_groups(rows: np.ndarray, groups: np.ndarray, window: int | None = None):
    """All pairs of records sharing a group (or only those within ``window`` in group order).

    Args:
        rows: Record position per entry.
        groups: Group code per entry (same length).
        window: If given, pair each entry only with the next ``window - 1`` entries.

    Returns:
        Arrays ``(a, b)`` with ``a < b``, self pairs removed (duplicates possible).
    """
    order = np.argsort(groups, kind="stable")
    g, r = groups[order], rows[order]
    idx = np.arange(len(g) - 1)
    out_a, out_b, d = [], [], 1
    while len(idx) and (window is None or d < window):
        idx = idx[idx + d < len(g)]
        idx = idx[g[idx + d] == g[idx]]
        out_a.append(r[idx])
        out_b.append(r[idx + d])
        d += 1
    return ordered(out_a, out_b)


def ordered(out_a: list, out_b: list) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated pair lists as ``(min, max)`` arrays, self pairs removed."""
    a = np.concatenate(out_a) if out_a else np.empty(0, np.int64)
    b = np.concatenate(out_b) if out_b else np.empty(0, np.int64)
    keep = a != b
    a, b = a[keep], b[keep]
    return np.minimum(a, b), np.maximum(a, b)


def _ranks(prep: Prepared, names, rows: np.ndarray | None, by_code: frozenset) -> list[np.ndarray]:
    """Per column (those present), the rank of each record's value (missing values last).

    With ``rows``, only those records' values are ranked, which spares sorting a whole
    vocabulary for a few records. Columns in ``by_code`` rank by code: equal values
    together, in no particular order between them.
    """
    ranks = []
    for name in names:
        if not prep.has(name):
            continue
        col = prep.cols[name]
        codes = col.codes if rows is None else col.codes[rows]
        used = np.arange(len(col.values)) if rows is None else np.unique(codes[codes >= 0])
        rank = np.full(len(col.values) + 1, len(used), np.int64)
        if name in by_code:
            rank[used] = np.arange(len(used))
        else:
            rank[used[np.argsort(col.values[used].astype(str), kind="stable")]] = np.arange(len(used))
        ranks.append(rank[codes])
    return ranks


def sort_position(prep: Prepared, names, rows: np.ndarray | None = None, by_code: frozenset = frozenset()):
    """Position of every record (or of each of ``rows``) in the order of the given columns."""
    ranks = _ranks(prep, names, rows, by_code)
    size = prep.n if rows is None else len(rows)
    order = np.lexsort(ranks[::-1]) if ranks else np.arange(size)
    position = np.empty(size, np.int64)
    position[order] = np.arange(size)
    return position


class InnerOrders:
    """Sort keys of block entries in each of the :data:`INNER_ORDERS`.

    Positions of all records are made on first need and shared by all keys of one run; a
    few entries (capped blocks are rare on most data) are ranked among themselves instead.
    """

    def __init__(self, prep: Prepared):
        self.prep = prep
        self._positions: list[np.ndarray] | None = None

    def keys(self, rows: np.ndarray) -> list[np.ndarray]:
        """One sort key per entry of ``rows`` for each inner order."""
        if self._positions is None and len(rows) * 8 < self.prep.n:
            return [sort_position(self.prep, names, rows, BY_CODE) for names in INNER_ORDERS]
        if self._positions is None:
            self._positions = [sort_position(self.prep, names, by_code=BY_CODE) for names in INNER_ORDERS]
        return [position[rows] for position in self._positions]


def full_limit(settings: DedupeSettings) -> int:
    """Largest block compared in full (never above ``max_block_size``)."""
    return min(settings.full_block_size, settings.max_block_size)


def pair_bound(settings: DedupeSettings) -> float:
    """Most pairs one block entry can produce for one key (the linear bound per key)."""
    return max((full_limit(settings) - 1) / 2, len(INNER_ORDERS) * (settings.block_window - 1))


def capped_pairs(rows: np.ndarray, groups: np.ndarray, orders: InnerOrders, settings: DedupeSettings,
                 stats: dict) -> tuple[np.ndarray, np.ndarray]:
    """Pairs within groups: all of them in small groups, sorted-neighbourhood windows in large ones.

    Args:
        rows: Record position per entry.
        groups: Group code per entry.
        orders: Sort positions of the records in each inner order.
        settings: ``full_block_size`` (``max_block_size`` if smaller) and ``block_window``.
        stats: Counters ``capped_blocks``, ``capped_records`` and ``skipped_pairs`` are added to.

    Returns:
        Arrays ``(a, b)`` with ``a < b`` (duplicates possible).
    """
    if not len(rows):
        return rows[:0], rows[:0]
    sizes, limit = np.bincount(groups), full_limit(settings)
    size = sizes[groups]
    big = size > limit
    a, b = pairs_within_groups(rows[~big], groups[~big])
    if not big.any():
        return a, b
    stats["capped_blocks"] = stats.get("capped_blocks", 0) + int((sizes > limit).sum())
    stats["capped_records"] = stats.get("capped_records", 0) + int(big.sum())
    mid = big & (size <= settings.max_block_size)
    ma, mb = _windows(rows[mid], groups[mid], orders, settings.block_window)
    # The model's match share is fitted over the candidates; the pairs of these blocks that
    # no window compared, nearly all non-matches, still count towards it (see
    # fellegi_sunter.fit_em). Blocks above max_block_size were never compared in full.
    s = sizes[(sizes > limit) & (sizes <= settings.max_block_size)].astype(np.int64)
    compared = _distinct(ma * (int(rows.max()) + 1) + mb)
    stats["skipped_pairs"] = stats.get("skipped_pairs", 0) + int((s * (s - 1) // 2).sum()) - compared
    oa, ob = _windows(rows[big & ~mid], groups[big & ~mid], orders, settings.block_window)
    return np.concatenate([a, ma, oa]), np.concatenate([b, mb, ob])


def _distinct(code: np.ndarray) -> int:
    """Number of distinct values (sort-based: numpy's hash-based unique is several times slower)."""
    code = np.sort(code)
    return int(len(code) and 1 + np.count_nonzero(code[1:] != code[:-1]))


def _windows(rows, groups, orders: InnerOrders, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Window pairs inside each group, once per sort order."""
    out_a, out_b = [], []
    for key in orders.keys(rows) if len(rows) else []:
        # Stable group sort inside pairs_within_groups keeps this order within each block.
        order = np.argsort(key, kind="stable")
        wa, wb = pairs_within_groups(rows[order], groups[order], window)
        out_a.append(wa)
        out_b.append(wb)
    return ordered(out_a, out_b)
