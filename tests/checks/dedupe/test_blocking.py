import itertools

import numpy as np
import pandas as pd

from checks.dedupe.blocking import KeySpec, _block_key, candidate_pairs, ensure_derived, pairs_within_groups
from checks.dedupe.prepare import prepare
from checks.dedupe.settings import DedupeSettings


def test_pairs_within_groups_matches_brute_force():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 6, 40)
    rows = np.arange(40)
    a, b = pairs_within_groups(rows, groups)
    got = set(zip(a.tolist(), b.tolist(), strict=True))
    want = {(i, j) for i, j in itertools.combinations(range(40), 2) if groups[i] == groups[j]}
    assert got == want


def _same_key_people(n: int) -> pd.DataFrame:
    streets = ["Oak St", "Elm St", "Ash St", "Fir St", "Yew St", "Bay St", None]
    return pd.DataFrame({"key": [f"k{i}" for i in range(n)], "first_name": "John", "last_name": "Smith",
                         "postal_code": "60601", "street": [streets[i % 7] for i in range(n)]})


def test_oversized_block_is_split_not_dropped():
    settings = DedupeSettings(max_block_size=10)
    prep = prepare(_same_key_people(60), "contact", settings)
    ensure_derived(prep)
    stats: dict = {}
    spec = KeySpec("name_postal", ["first_initial", "last_sdx", "postal3"], refine=["street3"])
    a, b = _block_key(prep, spec, settings, stats)
    assert stats["oversized_blocks"] >= 1
    covered = set(a.tolist()) | set(b.tolist())
    assert covered == set(range(60)), "every record of an oversized block must still be compared"
    # Split by street: only same-street pairs (records without a street form their own group).
    streets = prep.records["street"].fillna("").to_numpy()
    assert all(streets[i] == streets[j] for i, j in zip(a, b, strict=True))
    assert len(a) < 60 * 59 / 2


def test_oversized_block_without_refinement_falls_back_to_window():
    settings = DedupeSettings(max_block_size=10, sn_window=2)
    prep = prepare(_same_key_people(50), "contact", settings)
    ensure_derived(prep)
    stats: dict = {}
    a, b = _block_key(prep, KeySpec("same", ["last_sdx"], refine=[]), settings, stats)
    assert stats["sn_fallback_records"] == 50
    assert set(a.tolist()) | set(b.tolist()) == set(range(50))
    assert len(a) < 50 * 49 / 2


def test_phone_blocks_against_mobile(people):
    frame = pd.concat([people, pd.DataFrame([{"key": "m1", "first_name": "Zed", "last_name": "Quark",
                                              "mobile": "415-555-2671", "country": "US"}])], ignore_index=True)
    settings = DedupeSettings()
    cands = candidate_pairs(prepare(frame, "contact", settings), settings)
    keys = frame["key"].to_numpy()
    pairs = {tuple(sorted(p)) for p in zip(keys[cands.a], keys[cands.b], strict=True)}
    assert ("a1", "m1") in pairs


def test_candidates_include_all_planted_duplicates(people):
    settings = DedupeSettings()
    cands = candidate_pairs(prepare(people, "contact", settings), settings)
    keys = people["key"].to_numpy()
    pairs = {tuple(sorted(p)) for p in zip(keys[cands.a], keys[cands.b], strict=True)}
    assert {("a1", "a2"), ("a1", "a3"), ("a2", "a3"), ("b1", "b2")} <= pairs
    assert np.all(cands.a < cands.b)
    assert cands.stats["candidate_pairs"] == len(cands.a)
