import numpy as np
import pandas as pd

from checks.dedupe import DedupeSettings, find_duplicates
from checks.dedupe.fellegi_sunter import FSModel, _guard, aggregate, fit_em, match_weight, prior_m

from .conftest import filler

NAMES = ["first_name", "last_name", "email", "phone"]
TRUE_M = [np.array([0.05, 0.15, 0.8]), np.array([0.1, 0.1, 0.8]), np.array([0.2, 0.1, 0.7]), np.array([0.1, 0.05, 0.85])]
TRUE_U = [np.array([0.9, 0.08, 0.02]), np.array([0.95, 0.04, 0.01]), np.array([0.98, 0.015, 0.005]),
          np.array([0.97, 0.02, 0.01])]


def _sample(n: int, share: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    is_match = rng.random(n) < share
    levels = np.empty((n, len(NAMES)), np.int8)
    for k in range(len(NAMES)):
        levels[is_match, k] = rng.choice(3, is_match.sum(), p=TRUE_M[k])
        levels[~is_match, k] = rng.choice(3, (~is_match).sum(), p=TRUE_U[k])
    return levels


def test_em_recovers_m_and_lambda():
    levels = _sample(200_000, 0.1)
    patterns, counts, _ = aggregate(levels)
    model = fit_em(patterns, counts, TRUE_U, NAMES, sessions=[["first_name", "last_name"], ["email"], ["phone"]])
    assert not model.collapsed
    assert abs(model.lam - 0.1) < 0.02
    for m, true in zip(model.m, TRUE_M, strict=True):
        assert np.abs(m - true).max() < 0.06


def test_em_without_matches_does_not_invent_them():
    levels = _sample(50_000, 0.0)
    patterns, counts, inverse = aggregate(levels)
    model = fit_em(patterns, counts, TRUE_U, NAMES, sessions=[["first_name", "last_name"], ["email"]])
    prob = 1 / (1 + np.exp2(-match_weight(model, patterns)[inverse]))
    assert model.lam < 0.01 or model.collapsed
    assert (prob > 0.5).mean() < 0.01
    assert all(np.all(np.diff(w) >= 0) for w in model.weights())


def test_guard_resets_field_whose_top_level_is_not_evidence():
    u = [np.array([0.5, 0.5]), np.array([0.9, 0.1])]
    model = FSModel(["x", "y"], [np.array([0.6, 0.4]), np.array([0.2, 0.8])], u, 0.2)
    guarded = _guard(model)
    assert guarded.reset_fields == ["x"]
    assert np.allclose(guarded.m[0], prior_m(2))
    assert _guard(FSModel(["y"], [np.array([0.2, 0.8])], [u[1]], 0.995)).collapsed


def test_common_name_weighs_less_than_rare_name():
    base = filler(300)
    common = pd.DataFrame({"key": [f"js{i}" for i in range(40)], "first_name": "John", "last_name": "Smith",
                           "city": [f"Town{i % 25}" for i in range(40)], "country": "US"})
    pairs = pd.DataFrame({"key": ["r1", "r2"], "first_name": "Ingrid", "last_name": "Okafor", "city": "Town3",
                          "country": "US"})
    frame = pd.concat([base, common, pairs], ignore_index=True)
    frame.loc[frame["key"].isin(["js0", "js25"]), "city"] = "Town0"
    result = find_duplicates(frame, "contact", DedupeSettings(review_threshold=0.0, link_threshold=1.0))
    got = result.pairs.set_index(["key_a", "key_b"])
    rare = got.loc[("r1", "r2")]
    common_pair = got.loc[("js0", "js25")] if ("js0", "js25") in got.index else got.loc[("js25", "js0")]
    assert '"tf_adjustment": -' in common_pair["explanation"]
    assert rare["match_weight"] > common_pair["match_weight"] + 3
