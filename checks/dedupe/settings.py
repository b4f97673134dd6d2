"""Tunable settings for duplicate detection."""

from __future__ import annotations

from pydantic import BaseModel, Field

#: Survivor rules understood by :mod:`checks.dedupe.survivor`, in default priority order.
DEFAULT_SURVIVOR_RULES = [
    "valid_email",
    "valid_phone",
    "most_complete",
    "most_recent_activity",
    "oldest_created",
]


class DedupeSettings(BaseModel):
    """Thresholds, tiers, blocking limits and survivor rules of the dedupe pipeline.

    Attributes:
        link_threshold: Pair match probability at or above which two records are linked.
        likely_cutoff: Mean within-cluster probability at or above which a cluster is "likely";
            clusters below it (but linked) are "review".
        review_threshold: Pairs scoring at or above this are returned in ``pairs`` even when
            they do not link records, so a steward can inspect near misses.
        max_block_size: Blocks larger than this are split with further keys (never dropped).
        full_block_size: Blocks up to this size are compared in full; larger ones (often
            same-name people in a B2C CRM) only by ``block_window`` windows in a few sort
            orders, so pairs per key stay linear in the records.
        block_window: Window of the sorted-neighbourhood passes inside large blocks.
        sn_window: Window of the sorted-neighbourhood pass (records compared to the next
            ``sn_window - 1`` records in sort order).
        min_cluster_density: Share of possible within-cluster pairs that must be linked for a
            cluster of three or more to be kept whole; sparser ("weak") clusters are split.
        max_cluster_size: Clusters larger than this are split by raising the threshold.
        max_email_share: An e-mail address found on more records than this is treated as a
            placeholder (missing).
        min_member_support: In clusters of three or more every pair is scored; a member whose
            mean probability against the others stays below this is ejected.
        chunk_pairs: Candidate pairs compared and scored per chunk (bounds memory).
        u_sample_pairs: Random record pairs used to estimate the u probabilities.
        em_max_iter: Maximum EM iterations.
        tf_adjust: Apply term-frequency adjustment to exact name/city agreements.
        exact_link_keys: Exact-pass keys whose matches are linked whatever the score.
        survivor_rules: Ordered survivor rules (first rule wins, later rules break ties).
        workers: Worker threads for rapidfuzz (``-1`` = all cores).
        phone_fast_path: Convert common phone shapes to E.164 with metadata from
            ``phonenumbers`` instead of a full parse (same output; the full parse is used for
            everything else).
        return_candidates: Keep the candidate pair index arrays in ``DedupeResult.candidates``
            (benchmarks use it for blocking recall).
    """

    link_threshold: float = Field(0.999, ge=0.0, le=1.0)
    likely_cutoff: float = Field(0.9999, ge=0.0, le=1.0)
    review_threshold: float = Field(0.9, ge=0.0, le=1.0)
    max_block_size: int = Field(300, ge=2)
    full_block_size: int = Field(20, ge=2)
    block_window: int = Field(6, ge=2)
    sn_window: int = Field(3, ge=2)
    min_cluster_density: float = Field(0.34, ge=0.0, le=1.0)
    max_cluster_size: int = Field(30, ge=2)
    max_email_share: int = Field(5, ge=2)
    min_member_support: float = Field(0.5, ge=0.0, le=1.0)
    chunk_pairs: int = Field(2_000_000, ge=1000)
    u_sample_pairs: int = Field(150_000, ge=1000)
    em_max_iter: int = Field(60, ge=1)
    tf_adjust: bool = True
    exact_link_keys: list[str] = Field(
        default_factory=lambda: ["email", "name_phone", "name_company", "name_city", "website"]
    )
    survivor_rules: list[str] = Field(default_factory=lambda: list(DEFAULT_SURVIVOR_RULES))
    workers: int = -1
    phone_fast_path: bool = True
    return_candidates: bool = False
    seed: int = 7
