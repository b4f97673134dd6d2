from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from checks.baselines import COLUMNS, BaselineSettings, expected_ranges, expected_ranges_by

START = pd.Timestamp("2025-01-06 03:00")  # a Monday


def daily(n: int, start: pd.Timestamp = START) -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="D")


def weekly_seasonal(rng, n: int = 140, sd: float = 1.0) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """A daily row-count delta: about 100 on weekdays, 60 at weekends, normal noise."""
    when = daily(n)
    weekend = when.day_of_week.to_numpy() >= 5
    return 100.0 - 40.0 * weekend + rng.normal(0, sd, n), when


def flagged(out: pd.DataFrame) -> dict[int, str]:
    at = np.flatnonzero(out["anomaly"])
    return {int(i): k for i, k in zip(at, out["kind"].iloc[at], strict=True)}


def test_columns_order_and_index_follow_the_input():
    rng = np.random.default_rng(1)
    values, when = weekly_seasonal(rng, 60)
    order = rng.permutation(60)
    series = pd.Series(values[order], index=pd.Index([f"run{i}" for i in order]))
    out = expected_ranges(series, pd.Series(when[order]))
    assert list(out.columns) == COLUMNS
    assert list(out.index) == list(series.index)
    assert (out["as_of"].to_numpy() == when[order].to_numpy()).all()
    in_time = expected_ranges(values, when)
    back = out.set_index("as_of").sort_index()
    assert np.allclose(back["expected"].to_numpy(), in_time["expected"].to_numpy(), equal_nan=True)


def test_spike_and_drop_in_weekly_seasonal_series_are_flagged_and_their_neighbours_are_not():
    rng = np.random.default_rng(7)
    values, when = weekly_seasonal(rng)
    values[90] += 9.0  # a Wednesday (a weekday value far above its weekday's range)
    values[104] -= 8.0  # a Wednesday too
    values[111] -= 7.0  # a Wednesday
    out = expected_ranges(values, when)
    assert flagged(out) == {90: "spike", 104: "drop", 111: "drop"}
    # The weekday profile is learned: a Saturday's range sits around 60, not around the weekly median.
    saturday = out.iloc[96]
    assert when[96].day_of_week == 5
    assert saturday["low"] < 60 < saturday["high"] and saturday["high"] < 80
    assert out.loc[[89, 91, 103, 105, 110, 112], "kind"].eq("").all()


def test_slow_drift_is_flagged_as_drift():
    rng = np.random.default_rng(3)
    n, start, length = 160, 100, 15
    when = daily(n)
    values = 80.0 + rng.normal(0, 0.5, n)
    slide = np.clip(np.arange(n) - start + 1, 0, length) * 0.3  # 0.6 noise sd per run, then stays
    values -= slide
    out = expected_ranges(values, when)
    # Each run stays inside its range while the slide is young: the point bands alone would miss it.
    assert not out["anomaly"].iloc[:start].any()
    kinds = out["kind"].iloc[start: start + length + 3]
    assert (kinds == "drift").any()
    assert not kinds.isin(["spike"]).any()


def test_constant_series_with_float_noise_flags_nothing():
    rng = np.random.default_rng(0)
    when = daily(200)
    for level in (99.5, 0.0, 12345.0):
        values = level + rng.normal(0, 1e-12, 200)
        out = expected_ranges(values, when)
        assert not out["anomaly"].any(), level
        judged = out.dropna(subset=["expected"])
        assert (judged["high"] > judged["low"]).all()
    # … but a real step off a flat line is seen.
    values = np.full(200, 99.5)
    values[150] = 99.0
    assert flagged(expected_ranges(values, when)) == {150: "drop"}


def test_no_point_is_judged_before_min_history():
    when = pd.date_range(START, periods=40, freq="7D")  # weekly: the weekday rule is met at once
    values = np.full(40, 10.0) + np.random.default_rng(2).normal(0, 0.1, 40)
    values[3] = 500.0
    for min_history in (6, 10):
        out = expected_ranges(values, when, BaselineSettings(min_history=min_history))
        head = out.iloc[:min_history]
        assert head[["expected", "low", "high", "deviation"]].isna().all().all()
        assert not head["anomaly"].any()
        assert out["expected"].iloc[min_history + 1:].notna().all()


def test_range_at_a_point_does_not_change_when_later_points_change():
    rng = np.random.default_rng(11)
    values, when = weekly_seasonal(rng, 150)
    values[70] += 12
    first = expected_ranges(values, when)
    for cut in (60, 90, 120):
        changed = values.copy()
        changed[cut:] = changed[cut:] * rng.uniform(0.3, 2.0) + rng.normal(0, 20, 150 - cut)
        again = expected_ranges(changed, when)
        cols = ["expected", "low", "high", "anomaly", "kind", "deviation"]
        pd.testing.assert_frame_equal(first.iloc[:cut][cols], again.iloc[:cut][cols])


def test_one_past_outlier_does_not_widen_later_bands_much():
    rng = np.random.default_rng(5)
    when = pd.date_range(START, periods=160, freq="7D")
    clean = 50.0 + rng.normal(0, 1.0, 160)
    spiked = clean.copy()
    spiked[60] += 50.0
    a, b = expected_ranges(clean, when), expected_ranges(spiked, when)
    assert b["kind"].iloc[60] == "spike"
    width_a = (a["high"] - a["low"]).iloc[61:]
    width_b = (b["high"] - b["low"]).iloc[61:]
    assert (width_b / width_a).max() < 1.1
    assert flagged(b) == {**flagged(a), 60: "spike"}


def test_weekly_cadence():
    rng = np.random.default_rng(8)
    when = pd.date_range(START, periods=120, freq="7D")  # every point on a Monday
    values = 97.0 + rng.normal(0, 0.2, 120)
    values[80] -= 2.0
    out = expected_ranges(values, when)
    assert flagged(out) == {80: "drop"}
    assert out["expected"].iloc[10:].notna().all()


def test_irregular_runs_with_gaps():
    rng = np.random.default_rng(9)
    gaps = rng.choice([1, 2, 3, 5, 7, 10], size=150)
    gaps[70] = 40  # a month without runs
    when = pd.DatetimeIndex(START + pd.to_timedelta(np.cumsum(gaps), unit="D"))
    values = 70.0 + rng.normal(0, 0.5, 150)
    values[100] += 5.0
    out = expected_ranges(values, when)
    assert flagged(out) == {100: "spike"}
    assert out["expected"].iloc[71:].notna().all()  # the gap does not reset anything


def test_missing_values_are_skipped():
    rng = np.random.default_rng(4)
    values, when = weekly_seasonal(rng, 120)
    values[95] += 10
    holes = values.copy()
    gone = [5, 30, 31, 60, 95 - 7, 110]
    holes[gone] = np.nan
    out = expected_ranges(holes, when)
    assert out.loc[gone, ["expected", "low", "high", "deviation"]].isna().all().all()
    assert not out.loc[gone, "anomaly"].any()
    kept = np.setdiff1d(np.arange(120), gone)
    without = expected_ranges(values[kept], when[kept])
    pd.testing.assert_frame_equal(out.iloc[kept].reset_index(drop=True), without.reset_index(drop=True))
    assert out["kind"].iloc[95] == "spike"
    assert expected_ranges([np.nan] * 5, daily(5))["expected"].isna().all()
    assert expected_ranges([], pd.DatetimeIndex([])).empty


def test_level_shift_is_flagged_then_learned():
    rng = np.random.default_rng(6)
    when = pd.date_range(START, periods=160, freq="7D")
    values = 20.0 + rng.normal(0, 0.5, 160)
    values[100:] += 8.0  # a new normal
    out = expected_ranges(values, when, BaselineSettings(shift_after=4))
    assert (out["kind"].iloc[100:104] == "spike").all()
    assert not out["anomaly"].iloc[104:].any()
    assert abs(out["expected"].iloc[150] - 28.0) < 0.5


def test_growing_row_count_glitch_is_a_drop_and_the_next_runs_are_normal():
    rng = np.random.default_rng(12)
    when = daily(200)
    quiet = when.day_of_week.to_numpy() >= 5
    adds = rng.normal(np.where(quiet, 30, 200), np.where(quiet, 8, 40))
    values = 50_000 + np.cumsum(adds)  # a random walk with weekday growth
    values[150] -= 600  # a partial read
    out = expected_ranges(values, when)
    assert flagged(out) == {150: "drop"}
    assert (out["expected"].iloc[151] - values[151]) < 200


def test_expected_ranges_by_matches_one_series_at_a_time():
    rng = np.random.default_rng(13)
    parts = []
    for name, sd in (("a", 1.0), ("b", 5.0), ("c", 0.1)):
        values, when = weekly_seasonal(rng, 90, sd)
        values[70] += 12 * sd
        parts.append(pd.DataFrame({"metric": name, "as_of": when, "value": values}))
    frame = pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=1)
    out = expected_ranges_by(frame, keys=["metric"])
    assert list(out.columns) == ["metric", *COLUMNS]
    assert out.index.equals(frame.index)
    for name, part in frame.groupby("metric"):
        alone = expected_ranges(part["value"], part["as_of"])
        pd.testing.assert_frame_equal(out.loc[part.index, COLUMNS], alone)
        assert alone.loc[part.index[part["as_of"] == part["as_of"].min() + pd.Timedelta(days=70)], "kind"].eq(
            "spike").all(), name


@pytest.mark.parametrize("bad", [dict(min_history=2), dict(window=4), dict(k=0), dict(rel_floor=-1),
                                 dict(drift_window=2), dict(shift_after=1), dict(weekday_min=0)])
def test_settings_are_checked(bad):
    with pytest.raises(ValueError):
        BaselineSettings(**bad)
