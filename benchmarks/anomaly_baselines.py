"""Learned baselines for run metrics: precision and recall of `checks.baselines` on synthetic histories.

    python benchmarks/anomaly_baselines.py [--series 300] [--seed 7]

Generates `--series` metric histories shaped like what cleancrm stores per run, with known anomalies,
runs `expected_ranges_by` (the per-group form of `expected_ranges`, default settings) over all of
them at once, and prints precision and recall per anomaly kind, a breakdown by metric shape and by
cadence, and the time taken.

The histories:

- cadence: daily (45 %; a run missed now and then), weekly (25 %; same weekday, a few missed) or
  irregular (30 %; gaps of 1 to 14 days, now and then a month without a run);
- shape: a score near 99 with small noise (clipped at 100), a fill rate in % (some with a slow genuine
  trend, some lower at weekends), a row count that grows (the sum of daily additions, fewer at
  weekends, so its noise is a random walk), a failing count (Poisson, fewer at weekends) or a
  freshness lag in days (skewed noise, higher on Mondays after a weekend without syncs). The weekly
  rhythm lives in the underlying day, so daily runs see it, weekly runs do not, irregular runs partly.
- anomalies (none in 30 % of the series): spikes and drops of 5 to 12 noise standard deviations at a
  single run, and slow drifts of 0.3 to 1 noise standard deviation per run over 10 to 20 runs, after
  which the metric stays where the drift took it. The noise unit of a row count is the standard
  deviation of its per-run additions. Scores only fall; failing counts and freshness lags only fall
  where the fall leaves them positive (spikes otherwise). Anomalies are placed after the first 35 runs
  (a baseline needs history: the detector judges no point before `min_history` usable runs, nor before
  its weekday has come up `weekday_min` times), at least 8 runs apart, and not in a drift or in the
  `window + drift_window` runs after it.

How it counts:

- an injected spike or drop is found if that very point is flagged with that kind; every other flag
  of kind spike or drop on a point that is not part of a drift is a false positive of its kind;
- an injected drift is found if any point from its first run to 3 runs after its last is flagged
  "drift", or "spike"/"drop" in the drift's direction. Flags of those kinds from its first run to
  `window + drift_window` runs after its last (the time the reference level needs to catch up with
  where the metric now is) are attributed to the drift: neither found nor false;
- drift precision counts episodes, not points: consecutive points flagged "drift" are one alert. An
  episode is true if any of its points is attributed to an injected drift, false otherwise;
- overall precision: true alerts (found spikes and drops, spike/drop flags attributed to a drift, true
  drift episodes) over all alerts (every spike/drop flag, every drift episode); overall recall: found
  anomalies over injected ones.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checks.baselines import BaselineSettings, expected_ranges_by  # noqa: E402

SHAPES = ("score", "fill_rate", "row_count", "failing", "freshness")
CADENCES = ("daily", "weekly", "irregular")
START = pd.Timestamp("2024-01-01 02:00")


@dataclass
class Series:
    """One synthetic metric history and what was injected into it."""

    sid: int
    shape: str
    cadence: str
    when: pd.DatetimeIndex
    value: np.ndarray
    sd: float  # the noise standard deviation per run (of the additions, for a row count)
    points: dict = field(default_factory=dict)  # index → "spike" | "drop"
    drift: tuple | None = None  # (first, last, direction)


# -- the histories ---------------------------------------------------------------------------------

def run_days(rng, cadence: str) -> np.ndarray:
    """Day numbers (from START) of the runs."""
    offset = int(rng.integers(0, 30))
    if cadence == "daily":
        days = np.arange(int(rng.integers(150, 400)))
        days = days[rng.random(len(days)) > 0.02]
    elif cadence == "weekly":
        days = 7 * np.arange(int(rng.integers(60, 160)))
        days = days[rng.random(len(days)) > 0.03]
    else:
        gaps = rng.choice([1, 2, 3, 4, 5, 7, 10, 14], p=[0.3, 0.2, 0.15, 0.1, 0.08, 0.1, 0.05, 0.02],
                          size=int(rng.integers(80, 260)))
        gaps[rng.random(len(gaps)) < 0.01] = 30
        days = np.concatenate([[0], np.cumsum(gaps)[:-1]])
    return days + offset


def weekday(days: np.ndarray) -> np.ndarray:
    return (START.day_of_week + days) % 7  # START is a Monday: 0


def clean_series(rng, shape: str, days: np.ndarray):
    """The metric without anomalies, its noise standard deviation per run, and its bounds."""
    n = len(days)
    wd = weekday(days)
    weekend = wd >= 5
    if shape == "score":
        sd = rng.uniform(0.03, 0.25)
        return rng.uniform(97, 99.7) + rng.normal(0, sd, n), sd, (0.0, 100.0)
    if shape == "fill_rate":
        sd = rng.uniform(0.1, 0.8)
        level = rng.uniform(50, 97) + (rng.random() < 0.3) * rng.uniform(-0.02, 0.02) * sd * days
        level = level - (rng.random() < 0.5) * weekend * rng.uniform(0, 2) * sd
        return level + rng.normal(0, sd, n), sd, (0.0, 100.0)
    if shape == "row_count":
        base = np.exp(rng.uniform(np.log(2e3), np.log(2e6)))
        per_day = base * rng.uniform(0.0005, 0.004)
        cv, quiet = rng.uniform(0.15, 0.4), rng.uniform(0.1, 0.5)
        every = np.arange(days[-1] + 1)
        mean = per_day * np.where(weekday(every) >= 5, quiet, 1.0)
        adds = rng.normal(mean, cv * mean)
        total = base + np.cumsum(adds)[days]
        expected = base + np.cumsum(mean)[days]
        sd = float(np.std(np.diff(total - expected)))
        return total, sd, (0.0, np.inf)
    if shape == "failing":
        lam = np.exp(rng.uniform(np.log(5), np.log(400)))
        quiet = rng.uniform(0.5, 1.0)
        rate = lam * np.where(weekend, quiet, 1.0)
        return rng.poisson(rate).astype(float), float(np.sqrt(lam)), (0.0, np.inf)
    base, sd = rng.uniform(0.3, 2.0), rng.uniform(0.03, 0.3)
    monday = (wd == 0) * rng.uniform(0.5, 2.0)
    noise = rng.gamma(4.0, sd / 2, n) - 2 * sd  # shape 4, scale sd/2: mean 2 sd, standard deviation sd
    return base + monday + noise, sd, (0.0, np.inf)


def make_series(rng, sid: int) -> Series:
    cadence = rng.choice(CADENCES, p=[0.45, 0.25, 0.30])
    shape = SHAPES[sid % len(SHAPES)]
    days = run_days(rng, cadence)
    value, sd, (low, high) = clean_series(rng, shape, days)
    n = len(value)
    s = Series(sid, shape, str(cadence), pd.DatetimeIndex(START + pd.to_timedelta(days, unit="D")), value, sd)
    if rng.random() >= 0.30:
        window = BaselineSettings().window + BaselineSettings().drift_window
        taken = np.zeros(n, bool)
        if rng.random() < 0.5:
            length = int(rng.integers(10, 21))
            first = int(rng.integers(40, max(41, n - length - 5)))
            last = first + length - 1
            if last + 4 < n:
                if shape == "score":
                    direction = -1
                elif shape in ("failing", "freshness"):
                    direction = 1 if rng.random() < 0.8 else -1
                else:
                    direction = 1 if rng.random() < 0.5 else -1
                step = rng.uniform(0.3, 1.0) * sd
                offset = np.minimum(np.arange(n) - first + 1, length).clip(0) * step * direction
                trial = value + offset
                if trial.min() >= low + sd and trial.max() <= high - sd:  # the drift must fit
                    s.value, s.drift = trial, (first, last, direction)
                    taken[max(0, first - 8): last + window + 1] = True
        for _ in range(int(rng.choice([0, 1, 2, 3], p=[0.2, 0.35, 0.3, 0.15])) if s.drift else
                       int(rng.choice([1, 2, 3], p=[0.45, 0.35, 0.2]))):
            free = np.flatnonzero(~taken[35: n - 1]) + 35
            if not len(free):
                break
            i = int(rng.choice(free))
            size = rng.uniform(5, 12) * sd
            kind = "drop" if shape == "score" else ("spike" if rng.random() < 0.5 else "drop")
            if kind == "spike" and s.value[i] + size > high:
                kind = "drop"
            if kind == "drop" and s.value[i] - size < low + 0.5 * sd:
                kind = "spike"
            if kind == "spike" and s.value[i] + size > high:
                continue
            s.value[i] += size if kind == "spike" else -size
            s.points[i] = kind
            taken[max(0, i - 8): i + 9] = True
    s.value = np.clip(s.value, low, high)
    if shape in ("row_count", "failing"):
        s.value = np.round(s.value)
    return s


# -- counting --------------------------------------------------------------------------------------

@dataclass
class Tally:
    """Injected and found anomalies of one kind, and the alerts raised as that kind (true and all)."""

    injected: int = 0
    found: int = 0
    flags: int = 0
    true: int = 0

    def add(self, other: Tally) -> None:
        """Count another tally in."""
        self.injected += other.injected
        self.found += other.found
        self.flags += other.flags
        self.true += other.true

    def row(self, name: str) -> str:
        """One line of the table."""
        recall = self.found / self.injected if self.injected else float("nan")
        precision = self.true / self.flags if self.flags else float("nan")
        return (f"{name:<9} {self.injected:>8} {self.found:>6} {recall:>7.3f} {self.flags:>6} {self.true:>6} "
                f"{self.flags - self.true:>6} {precision:>9.3f}")


HEADER = (f"{'kind':<9} {'injected':>8} {'found':>6} {'recall':>7} {'alerts':>6} {'true':>6} {'false':>6} "
          f"{'precision':>9}")


def score(series: list[Series], result: pd.DataFrame, settle: int):
    """Tallies per kind, per (shape or cadence) group, and the spike/drop flags attributed to drifts."""
    tally = {k: Tally() for k in ("spike", "drop", "drift")}
    groups: dict[tuple[str, str], dict[str, int]] = {}
    attributed = 0
    kinds = dict(tuple(pair) for pair in result.groupby("sid")["kind"])
    for s in series:
        kind = kinds[s.sid].to_numpy()
        mine = [groups.setdefault(g, {"points": 0, "points found": 0, "drifts": 0, "drifts found": 0,
                                      "false alerts": 0})
                for g in (("shape", s.shape), ("cadence", s.cadence))]
        zone = np.zeros(len(kind), bool)
        same = None
        if s.drift:
            first, last, direction = s.drift
            zone[first: last + settle + 1] = True
            same = "spike" if direction > 0 else "drop"
            hits = np.flatnonzero((kind == "drift") | (kind == same))
            found = bool(np.any((hits >= first) & (hits <= last + 3)))
            tally["drift"].injected += 1
            tally["drift"].found += found
            for g in mine:
                g["drifts"] += 1
                g["drifts found"] += found
        for i, k in s.points.items():
            tally[k].injected += 1
            tally[k].found += kind[i] == k
            for g in mine:
                g["points"] += 1
                g["points found"] += kind[i] == k
        for i in np.flatnonzero(np.isin(kind, ["spike", "drop"])):
            k = kind[i]
            if zone[i] and k == same:
                attributed += 1
                continue
            tally[k].flags += 1
            good = s.points.get(i) == k
            tally[k].true += good
            for g in mine:
                g["false alerts"] += not good
        drifting = kind == "drift"
        starts = np.flatnonzero(drifting & ~np.r_[False, drifting[:-1]])
        ends = np.flatnonzero(drifting & ~np.r_[drifting[1:], False])
        for a, b in zip(starts, ends, strict=True):
            good = bool(zone[a: b + 1].any())
            tally["drift"].flags += 1
            tally["drift"].true += good
            for g in mine:
                g["false alerts"] += not good
    return tally, groups, attributed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    series = [make_series(rng, i) for i in range(args.series)]
    frame = pd.concat([pd.DataFrame({"sid": s.sid, "as_of": s.when, "value": s.value}) for s in series],
                      ignore_index=True)
    settings = BaselineSettings()
    expected_ranges_by(frame.head(500), "sid")  # warm-up
    began = time.perf_counter()
    result = expected_ranges_by(frame, "sid", settings=settings)
    seconds = time.perf_counter() - began
    tally, groups, attributed = score(series, result, settings.window + settings.drift_window)

    total = Tally()
    for t in tally.values():
        total.add(t)
    total.flags += attributed
    total.true += attributed
    clean = sum(1 for s in series if not s.points and not s.drift)
    print(f"{len(series)} series ({clean} clean), {len(frame)} points, seed {args.seed}, default settings:")
    print(f"  {settings}")
    print()
    print(HEADER)
    for k, t in tally.items():
        print(t.row(k))
    print(total.row("overall"))
    print(f"(overall counts as true alerts also the {attributed} spike/drop flags that went with a drift)")
    print()
    print(f"{'group':<20} {'spikes+drops found':>18} {'recall':>7} {'drifts found':>13} {'recall':>7} "
          f"{'false alerts':>12}")
    for (kind, name), g in sorted(groups.items()):
        points = g["points found"] / g["points"] if g["points"] else float("nan")
        drifts = g["drifts found"] / g["drifts"] if g["drifts"] else float("nan")
        found_points = f"{g['points found']} / {g['points']}"
        found_drifts = f"{g['drifts found']} / {g['drifts']}"
        print(f"{kind + ' ' + name:<20} {found_points:>18} {points:>7.3f} {found_drifts:>13} {drifts:>7.3f} "
              f"{g['false alerts']:>12}")
    print()
    print(f"expected_ranges_by: {seconds:.3f} s for {len(frame)} points in {len(series)} series "
          f"({len(frame) / seconds / 1e3:.0f} k points/s)")


if __name__ == "__main__":
    main()
