"""Expected ranges for run metrics, learned from earlier runs only, so charts and alerts mark the abnormal.

Every run stores metrics (row counts, fill rates, failing counts, freshness lag, scores); over the runs
each is a time series. `expected_ranges(values, when)` gives every point the range its past predicts and
says whether the point is an anomaly: a *spike* or a *drop* (above or below its range) or a *drift* (the
latest runs, taken together, have slid away from what was learned before them, though each may be
inside its range). `expected_ranges_by(frame, keys)` does the same for every metric of a long frame at
once. Only the past is used: a point's range never changes when later runs are added or corrected, so
a chart drawn today shows what an alert would have said on the day.

How a point's range is learned, and why:

- **From the last `window` usable runs, with medians.** A mean is pulled by one bad run for as long as
  it stays in the window; a median is not. Runs flagged as spikes or drops are left out of every later
  baseline, so an incident does not make the next month look normal.
- **Five ways of predicting a run, chosen by their record.** (1) the window's median; (2) the same,
  extended along the window's trend (newer half against older half); (3) the level plus the weekday's
  effect, for metrics with a weekly rhythm (a CRM gets fewer updates at weekends); (4) the last run
  plus the usual growth per day, for counts that accumulate (a row count is its last value plus what
  was added, so it wanders like a random walk and no level describes it); (5) the same with the growth
  usual for that weekday. Every point's error under each way is kept, each made before the point was
  known, and a point is predicted by the way with the smallest mean absolute error over the last
  2 × `window` points, a more elaborate way having to be clearly better. So the weekday profile is
  used where it is better supported, and never for weekly runs (all on one weekday) or for irregular
  runs where it does not help.
- **The width comes from those honest errors**, not from how well the window fits itself: the root
  mean square of the chosen way's errors at the usable points (errors beyond four robust standard
  deviations left out), never narrower on one side than the errors on that side say (a freshness lag
  rises further than it falls), nor on a weekday noisier than the rest; times `k`, widened while few
  errors are known (a spread from five errors is itself uncertain), and for the growth ways by the
  square root of a longer-than-usual gap. Half width = max(that, `rel_floor` · |expected|, `abs_floor`):
  a metric constant for weeks (spread 0) must not flag float noise or a change nobody would act on.
- **Weekdays are judged once seen**: a point is judged once it has `min_history` usable past runs and
  its weekday has come up `weekday_min` times (so three weeks of daily runs; at once for weekly runs;
  the rule is dropped for runs so frequent that 2 × `window` of them span less than `weekday_min`
  weeks): before that a Sunday dip cannot be told from an anomaly. A weekday flagged again and again
  is taken for the metric's rhythm rather than left out of the baseline.
- **Runs of anomalies end.** After `shift_after` consecutive runs outside their ranges the baseline no
  longer describes the metric (its level moved, or its noise grew): it is learned afresh from the first
  of them (and, as at the start, judges again once it has `min_history` runs) instead of flagging the
  new normal for weeks.
- **Drift** is a slide too slow for any single run to leave its range: a fill rate losing 0.3 points
  per run. The median of the latest `drift_window` runs is compared with the level learned from the
  window *before* them (for the growth ways, the median of their growth errors with zero); when it is
  more than `drift_threshold` standard errors away, and beyond the floors, the point is marked "drift".
  A trend only counts as normal here if the window before showed it too (or, early in a history, if
  the record chose the trend way), so a slide that has lasted a fortnight is not taken for the metric's
  habit. Once the reference window has caught up with the new level (about `drift_window` +
  `window` / 2 runs after the slide stops) the drift flags stop.

Points without `min_history` usable past runs get no range (NaN) and are never anomalies; points whose
value is missing (NaN) or whose timestamp is missing get no range, are never anomalies and are left out
of every baseline. Everything is vectorised with numpy over all series at once (100 series of 400 runs
take about half a second); which points are flagged depends on which earlier points were, so the whole
array is judged again with the previous pass's flags until they settle, each pass recomputing only the
rows whose inputs changed.

Limits: with normal noise about one run in 3,000 is flagged for nothing; a metric with a long tail
gets more false alarms on its long side (gamma-shaped noise, like a freshness lag's: about one run in
400), as a few dozen runs cannot tell how long a tail is. A slow drift in a count that accumulates
(random-walk noise) is hard to tell from its wander, and is mostly caught only once it is large.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["COLUMNS", "BaselineSettings", "expected_ranges", "expected_ranges_by"]

COLUMNS = ["as_of", "value", "expected", "low", "high", "anomaly", "kind", "deviation"]

_MAD_SD = 1.4826  # MAD → standard deviation for normal noise
_MEDIAN_SE = 1.2533  # standard error of a median, in standard deviations × √n
_MIN_FIT = 3  # the least min_history may be
_MIN_ERRORS = 5  # past errors a way of predicting needs before it may be chosen by its record
_TREND_HALF = 7  # usable points each half of the window needs before a trend is tried
# The ways of predicting a point, and how much better than the plain level (by mean absolute error)
# the others must have done to be chosen: without a margin, luck in a record would choose a way and
# then understate its errors.
LEVEL, TREND, WEEKDAY, GROWTH, WEEKDAY_GROWTH = range(5)
_WAYS = 5
_COST = np.array([1.0, 1.18, 1.18, 1.18, 1.3])
_RECORD = 2  # the record of past errors spans this many windows
_TRIM = 4.0  # errors beyond this many robust standard deviations are left out when the spread is measured
# A spread learned from m errors is itself uncertain: the half width is × (1 + 3/m + 20/m²), a little more
# than Student's t widens a normal quantile far in the tail (×2.4 for 5 errors, ×1.2 for 20, ×1.06 for 56).
_SMALL_A, _SMALL_B = 3.0, 20.0
_MAX_PASSES = 30
_CHUNK = 8192
_DAY_NS = 86_400 * 10**9


@dataclass(frozen=True)
class BaselineSettings:
    """How expected ranges are learned. Windows count runs, not days, so they suit daily and weekly runs.

    window: past runs a point's level is learned from (4 weeks of daily runs, half a year of weekly
        ones); the record of errors that chooses the way of predicting and sets the width spans twice
        as many. Longer is steadier but follows a real change more slowly.
    min_history: usable past runs a point needs before it is judged; earlier points get no range.
    k: half width of the range in standard deviations of the past prediction errors. With 3.5, normal
        noise raises about one false alarm in 3,000 runs, long-tailed noise more (see the module).
    rel_floor: narrowest half width relative to the expected value (0.001 = 0.1 % of the level).
    abs_floor: narrowest half width in the metric's units, for levels near zero.
    weekday_min: times a point's weekday must have come up (in the last 2 × window runs) before the
        point is judged (unless runs are so frequent that those span less than this many weeks), and
        before the weekday's own profile may be used.
    drift_window: latest runs whose median is compared with what was learned before them.
    drift_threshold: standard errors that median must be away to report a drift.
    shift_after: consecutive runs outside their ranges after which the baseline restarts from the
        first of them (a level shift, or noisier data) instead of flagging the new normal.
    """

    window: int = 28
    min_history: int = 6
    k: float = 3.5
    rel_floor: float = 0.001
    abs_floor: float = 1e-6
    weekday_min: int = 3
    drift_window: int = 8
    drift_threshold: float = 4.0
    shift_after: int = 4

    def __post_init__(self):
        if self.min_history < _MIN_FIT:
            raise ValueError(f"min_history must be at least {_MIN_FIT}")
        if self.window < self.min_history:
            raise ValueError("window must be at least min_history")
        if self.drift_window < 3:
            raise ValueError("drift_window must be at least 3")
        if self.shift_after < 2:
            raise ValueError("shift_after must be at least 2")
        if min(self.k, self.drift_threshold) <= 0 or min(self.rel_floor, self.abs_floor) < 0:
            raise ValueError("k and drift_threshold must be positive, the floors not negative")
        if self.weekday_min < 1:
            raise ValueError("weekday_min must be at least 1")


def expected_ranges(values, when, settings: BaselineSettings | None = None) -> pd.DataFrame:
    """Each point's expected range, learned from the points before it in time, and whether it is an anomaly.

    `values` are one metric's values (a Series, list or array; NaN for a run that did not measure it),
    `when` their timestamps (`as_of`, naive UTC), in any order. Returns one row per input point, in the
    input's order (with the Series' index): `as_of`, `value`, `expected`, `low`, `high` (NaN until the
    point has `min_history` usable past runs, and for missing values), `anomaly`, `kind` ("spike" or
    "drop" for a point above or below its range, "drift" for an established slow slide, else "") and
    `deviation`, the signed distance from `expected` in half widths (beyond ±1 is outside the range).
    """
    index = values.index if isinstance(values, pd.Series) else None
    x = np.asarray(values, dtype=float).ravel()
    stamps = pd.DatetimeIndex(pd.to_datetime(np.asarray(when).ravel()))
    if len(stamps) != len(x):
        raise ValueError(f"{len(x)} values but {len(stamps)} timestamps")
    out = _compute(x, stamps, np.zeros(len(x), dtype=np.int64), settings or BaselineSettings())
    return _frame(out, stamps, x, index if index is not None else pd.RangeIndex(len(x)))


def expected_ranges_by(frame: pd.DataFrame, keys: Sequence[str] | str, value: str = "value",
                       when: str = "as_of", settings: BaselineSettings | None = None) -> pd.DataFrame:
    """`expected_ranges` for every group of a long frame (one row per metric and run), all groups at once.

    Returns the key columns followed by the columns of `expected_ranges`, indexed and ordered like `frame`.
    Groups are learned independently; a missing key is a group of its own.
    """
    keys = [keys] if isinstance(keys, str) else list(keys)
    x = frame[value].to_numpy(dtype=float)
    stamps = pd.DatetimeIndex(pd.to_datetime(frame[when]))
    groups = frame.groupby(keys, sort=False, dropna=False).ngroup().to_numpy(dtype=np.int64)
    out = _compute(x, stamps, groups, settings or BaselineSettings())
    result = _frame(out, stamps, x, frame.index)
    return pd.concat([frame[keys], result], axis=1)


def _frame(out: dict, stamps: pd.DatetimeIndex, x: np.ndarray, index) -> pd.DataFrame:
    kind = np.array(["", "spike", "drop", "drift"], dtype=object)[out["kind"]]
    return pd.DataFrame({"as_of": stamps, "value": x, "expected": out["expected"], "low": out["low"],
                         "high": out["high"], "anomaly": out["kind"] > 0, "kind": kind,
                         "deviation": out["deviation"]}, index=index)


# -- layout ----------------------------------------------------------------------------------------
# The valid points of every series, in time order, are laid end to end with `pad` empty slots before
# each series, so that one sliding window over the whole array never reaches into another series.

@dataclass
class _Layout:
    x: np.ndarray  # value, NaN in the pads
    t: np.ndarray  # days since the earliest timestamp
    wd: np.ndarray  # weekday, Monday 0; -1 in the pads
    valid: np.ndarray
    start: np.ndarray  # index of the first point of the series (pads: one past themselves)
    where: np.ndarray  # for each valid input point (in the original order), its slot


def _layout(x: np.ndarray, stamps: pd.DatetimeIndex, groups: np.ndarray, pad: int) -> _Layout:
    ns = stamps.as_unit("ns").asi8  # pandas 3 parses to microseconds by default
    ok = np.isfinite(x) & ~stamps.isna()
    idx = np.flatnonzero(ok)
    idx = idx[np.lexsort((ns[idx], groups[idx]))]  # stable: equal timestamps keep their input order
    g = groups[idx]
    first = np.r_[True, g[1:] != g[:-1]] if len(g) else np.zeros(0, bool)
    series = np.cumsum(first)  # 1 for the first series
    slot = np.arange(len(idx)) + pad * series
    size = (slot[-1] + 1) if len(slot) else 0
    lay = _Layout(np.full(size, np.nan), np.zeros(size), np.full(size, -1, np.int64), np.zeros(size, bool),
                  np.arange(size) + 1, np.full(len(x), -1, np.int64))
    if len(idx):
        days = ns[idx] - ns[idx].min()
        lay.x[slot] = x[idx]
        lay.t[slot] = days / _DAY_NS
        lay.wd[slot] = (ns[idx] // _DAY_NS + 3) % 7  # 1970-01-01 was a Thursday
        lay.valid[slot] = True
        lay.start[slot] = np.maximum.accumulate(np.where(first, slot, 0))
        lay.where[idx] = slot
    return lay


def _past(a: np.ndarray, w: int, fill) -> np.ndarray:
    """Row i holds a[i-w .. i-1] (a read-only view): what was known before point i."""
    return sliding_window_view(np.concatenate([np.full(w, fill, dtype=a.dtype), a]), w)[: len(a)]


def _recent(a: np.ndarray, w: int, fill) -> np.ndarray:
    """Row i holds a[i-w+1 .. i]: the latest w points up to and including point i."""
    return sliding_window_view(np.concatenate([np.full(w - 1, fill, dtype=a.dtype), a]), w)


def _median(a: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Row-wise median of the masked-in, finite cells (NaN where there are none)."""
    mask = mask & np.isfinite(a)
    n = mask.sum(axis=1)
    b = np.where(mask, a, np.inf)
    b.sort(axis=1)
    rows = np.arange(len(a))
    last = a.shape[1] - 1
    with np.errstate(invalid="ignore"):
        med = 0.5 * (b[rows, np.clip((n - 1) // 2, 0, last)] + b[rows, np.clip(n // 2, 0, last)])
    med[n == 0] = np.nan
    return med


# -- learning --------------------------------------------------------------------------------------

class _State:
    """What the latest pass learned about every slot; a pass recomputes only the rows whose inputs changed."""

    def __init__(self, size: int, w: int):
        self.usable = np.zeros((size, w), bool)  # the past points a row learns from
        self.pred, self.error = np.full((_WAYS, size), np.nan), np.full((_WAYS, size), np.nan)
        self.eligible = np.zeros((_WAYS, size), bool)
        self.level, self.fit_sd, self.gap = (np.full(size, np.nan) for _ in range(3))
        self.slope = np.zeros(size)  # the window's trend per day
        self.rate = np.full((2, size), np.nan)  # growth per day: overall, into the row's weekday
        self.typical = np.full(size, np.nan)  # the usual gap between runs, in days
        self.second_x, self.second_t = np.full(size, np.nan), np.zeros(size)  # the usable run before the last
        self.count = np.zeros(size, np.int64)  # usable points in the row's window
        self.seen = np.zeros(size, np.int64)  # runs of the row's weekday in the last _RECORD × window
        self.choice, self.learned = np.zeros(size, np.int64), np.zeros(size, np.int64)
        self.sd, self.expected, self.deviation = (np.full(size, np.nan) for _ in range(3))
        self.high, self.low = np.full(size, np.nan), np.full(size, np.nan)  # half widths above and below
        self.judged, self.side = np.zeros(size, bool), np.zeros(size, np.int8)


def _rms(size: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Root mean square of the masked errors."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(np.where(mask, size**2, 0.0).sum(axis=1) / mask.sum(axis=1))


def _wider(spread: np.ndarray, size: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The spread, or that of the masked errors where there are enough of them and it is larger."""
    return np.where(mask.sum(axis=1) >= _MIN_ERRORS, np.fmax(spread, _rms(size, mask)), spread)


def _widen(m: np.ndarray) -> np.ndarray:
    m = np.maximum(m, 1)
    return 1 + _SMALL_A / m + _SMALL_B / m**2


def _row_chunks(rows: np.ndarray):
    """The rows in chunks (bounded memory), as slices when they are contiguous (views, not copies)."""
    contiguous = len(rows) > 0 and rows[-1] - rows[0] + 1 == len(rows)
    for lo in range(0, len(rows), _CHUNK):
        part = rows[lo: lo + _CHUNK]
        yield (slice(part[0], part[-1] + 1) if contiguous else part), len(part)


def _predict(lay: _Layout, s: BaselineSettings, st: _State, rows: np.ndarray, flag: np.ndarray,
             regime: np.ndarray, admitted: np.ndarray) -> None:
    """The given rows' predictions by every way, and their errors, from the usable points of each window.

    A past point is usable unless it is missing, before the row's regime, or flagged (the points of the
    run that started the regime are usable again once it is confirmed).
    """
    w, size = s.window, len(lay.x)
    xp, tp, wdp = _past(lay.x, w, np.nan), _past(lay.t, w, 0.0), _past(lay.wd, w, -1)
    validp, jp = _past(lay.valid, w, False), _past(np.arange(size), w, -1)
    flagp, admp = _past(flag, w, False), _past(admitted, w, -2)
    cols = np.arange(w)
    for r, m in _row_chunks(rows):
        reg = regime[r, None]
        use = validp[r] & (jp[r] >= reg) & (~flagp[r] | (admp[r] == reg))
        st.usable[r] = use
        x, t, wd, tt, day = xp[r], tp[r], wdp[r], lay.t[r], lay.wd[r, None]
        at = np.arange(m)
        n = use.sum(axis=1)
        enough = n >= s.min_history
        with np.errstate(invalid="ignore", divide="ignore"):
            level = _median(x, use)
            # Trend: the newer half of the window against the older half.
            rank = np.cumsum(use, axis=1)
            half = n // 2
            older = use & (rank <= half[:, None])
            newer = use & (rank > (n - half)[:, None])
            t_old = np.where(older, t, 0.0).sum(axis=1) / half
            t_new = np.where(newer, t, 0.0).sum(axis=1) / half
            trend = enough & (half >= _TREND_HALF) & (t_new > t_old)
            slope = np.where(trend, (_median(x, newer) - _median(x, older)) / (t_new - t_old), 0.0)
            trended = _median(x + slope[:, None] * (tt[:, None] - t), use)
            # Growth: the last usable point plus the usual change per day (overall, and into this weekday).
            last = np.maximum.accumulate(np.where(use, cols, -1), axis=1)
            prev = np.concatenate([np.full((m, 1), -1), last[:, :-1]], axis=1)
            pc = np.maximum(prev, 0)
            dt = t - np.take_along_axis(t, pc, axis=1)
            has = use & (prev >= 0) & (dt > 0)
            per_day = (x - np.take_along_axis(x, pc, axis=1)) / np.where(has, dt, 1.0)
            rate = _median(per_day, has)
            same_rate = has & (wd == day)
            rate_days = same_rate.sum(axis=1)
            rate_day = np.where(rate_days >= 1, _median(per_day, same_rate), rate)
            lc = np.maximum(last[:, -1], 0)
            gap = tt - t[at, lc]
            x_last = x[at, lc]
            growth = enough & (has.sum(axis=1) >= 2)
            typical = _median(dt, has)
            st.gap[r] = np.sqrt(np.maximum(1.0, gap / typical))
            st.fit_sd[r] = _MAD_SD * _median(np.abs(x - level[:, None]), use) * np.sqrt(1 + math.pi / (2 * n))
        second = prev[at, lc]  # the usable point before the last one
        st.typical[r], st.rate[0, r], st.rate[1, r] = typical, rate, rate_day
        st.second_x[r] = np.where(second >= 0, x[at, np.maximum(second, 0)], np.nan)
        st.second_t[r] = t[at, np.maximum(second, 0)]
        st.level[r], st.slope[r], st.count[r] = np.where(enough, level, np.nan), slope, n
        st.pred[LEVEL, r] = np.where(enough, level, np.nan)
        st.pred[TREND, r] = np.where(trend, trended, np.nan)
        st.pred[GROWTH, r] = np.where(growth, x_last + rate * gap, np.nan)
        # The weekday's own growth for the usual gap only: across a missed run the days before count at
        # the overall rate.
        own = np.where(gap > typical + 0.5, rate_day * typical + rate * (gap - typical), rate_day * gap)
        st.pred[WEEKDAY_GROWTH, r] = np.where(growth, x_last + own, np.nan)
        st.eligible[LEVEL, r], st.eligible[TREND, r], st.eligible[GROWTH, r] = enough, trend, growth
        st.eligible[WEEKDAY_GROWTH, r] = growth & (rate_days >= s.weekday_min)
    # The weekday way: the level plus the weekday's effect, the median of the same weekday's residuals
    # (each run's value less its own level) over the last `_RECORD` windows; a residual counts once its
    # level came from 2 × min_history runs (a level from six runs of which three were Mondays says
    # little about Wednesdays). Until the weekday has as many such residuals as values, the median of
    # its values stands in. A weekday flagged again and again (at least twice, and at least half of its
    # runs) is the metric's rhythm, not a string of anomalies: its flagged runs count here, or a
    # weekend dip flagged once would be left out, hence never learned, hence flagged for ever.
    e = _RECORD * w
    resid = np.where(st.count >= 2 * s.min_history, lay.x - st.level, np.nan)
    xp2, rp2, wdp2 = _past(lay.x, e, np.nan), _past(resid, e, np.nan), _past(lay.wd, e, -1)
    validp2, jp2, flagp2 = _past(lay.valid, e, False), _past(np.arange(size), e, -1), _past(flag, e, False)
    for r, _ in _row_chunks(rows):
        same = validp2[r] & (jp2[r] >= regime[r, None]) & (wdp2[r] == lay.wd[r, None])
        st.seen[r] = same.sum(axis=1)
        nf = (same & flagp2[r]).sum(axis=1)
        rhythm = (nf >= 2) & (2 * nf >= st.seen[r])
        chosen = same & (~flagp2[r] | rhythm[:, None])
        days = chosen.sum(axis=1)
        mature = chosen & np.isfinite(rp2[r])
        by_resid = st.pred[LEVEL, r] + _median(rp2[r], mature)
        by_value = np.where(days >= 1, _median(xp2[r], chosen), st.pred[LEVEL, r])
        resid_enough = mature.sum(axis=1) >= np.minimum(days, s.weekday_min)
        st.pred[WEEKDAY, r] = np.where(resid_enough, by_resid, by_value)
        st.eligible[WEEKDAY, r] = st.eligible[LEVEL, r] & (days >= s.weekday_min)
    st.error[:, rows] = lay.x[rows] - st.pred[:, rows]
    st.error[GROWTH:, rows] /= st.gap[rows]


def _judge(lay: _Layout, s: BaselineSettings, st: _State, rows: np.ndarray, flag: np.ndarray,
           regime: np.ndarray) -> None:
    """Choose each row's way of predicting by its record, and say whether the row is outside its range.

    Both come from the errors of the last `_RECORD` × `window` points. The way is chosen by mean
    absolute error over all of them, flagged ones included: leaving those out would hide exactly the
    errors that tell a weekly rhythm (flagged weekend after weekend by the plain level) from noise. The
    width comes from the chosen way's errors at the usable points only, so a flagged outlier does not
    widen it: their root mean square, errors beyond `_TRIM` robust standard deviations left out (the
    early runs of a regime, predicted from a handful of points, would otherwise widen it for weeks).
    A root mean square of a few dozen errors is steadier than their median absolute deviation, whose
    jitter alone makes false alarms several times more frequent, and it sees a long tail that a median
    would not.
    """
    e = _RECORD * s.window
    validp, regp = _past(lay.valid, e, False), _past(regime, e, -1)
    flagp, wdp = _past(flag, e, False), _past(lay.wd, e, -1)
    errors = [_past(st.error[c], e, np.nan) for c in range(_WAYS)]
    choice, learned = np.zeros(len(rows), np.int64), np.zeros(len(rows), np.int64)
    sd, up, down = np.full(len(rows), np.nan), np.full(len(rows), np.nan), np.full(len(rows), np.nan)
    lo = 0
    for r, m in _row_chunks(rows):
        part = slice(lo, lo + m)
        lo += m
        # Only errors of predictions made in the row's regime: those of the run that started it were
        # made from the old level, and would widen the new ranges for weeks.
        record = validp[r] & (regp[r] == regime[r, None])
        use = record & ~flagp[r]
        score = np.full((_WAYS, m), np.inf)
        sizes = []
        for c in range(_WAYS):
            size_ = np.abs(errors[c][r])
            sizes.append(size_)
            rec = record & (size_ >= 0)  # NaN for no prediction
            seen = rec.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                mae = np.where(rec, size_, 0.0).sum(axis=1) / seen
            fit = st.eligible[c, r] & (seen >= _MIN_ERRORS) & ((use & rec).sum(axis=1) >= _MIN_ERRORS)
            score[c] = np.where(fit & np.isfinite(mae + st.pred[c, r]), mae * _COST[c], np.inf)
        ch = score.argmin(axis=0)
        tried = np.isfinite(score[ch, np.arange(m)])
        ch[~tried] = LEVEL
        size_, past_sign = sizes[LEVEL], np.sign(errors[LEVEL][r])
        for c in range(1, _WAYS):
            if (ch == c).any():
                pick = (ch == c)[:, None]
                size_ = np.where(pick, sizes[c], size_)
                past_sign = np.where(pick, np.sign(errors[c][r]), past_sign)
        ok = use & (size_ >= 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mae = np.where(ok, size_, 0.0).sum(axis=1) / ok.sum(axis=1)
            robust = np.fmax(_MAD_SD * _median(size_, ok), math.sqrt(math.pi / 2) * mae)
        ok &= size_ <= _TRIM * robust[:, None]
        spread = _rms(size_, ok)
        # Never narrower than the pooled spread, but wider where the errors say so: on the side of a long
        # tail (a freshness lag or a small count rises further than it falls), and, for a weekday way,
        # on a weekday noisier than the rest (weekend runs add fewer rows, and vary less).
        weekday = ((ch == WEEKDAY) | (ch == WEEKDAY_GROWTH))[:, None] & (wdp[r] == lay.wd[r, None])
        wider = _wider(spread, size_, ok & weekday)
        for sign, out in ((1, up), (-1, down)):
            out[part] = np.where(tried, _wider(wider, size_, ok & (past_sign == sign)), st.fit_sd[r])
        choice[part] = ch
        sd[part] = np.where(tried, spread, st.fit_sd[r])
        learned[part] = np.where(tried, ok.sum(axis=1), st.usable[r].sum(axis=1))
    expected = st.pred[choice, rows]
    n = st.usable[rows].sum(axis=1)
    x = lay.x[rows]
    with np.errstate(invalid="ignore", divide="ignore"):
        k = s.k * _widen(learned)
        floor = np.maximum(s.rel_floor * np.abs(expected), s.abs_floor)
        growth = choice >= GROWTH
        scale = k * np.where(growth, st.gap[rows], 1.0)
        high, low = np.maximum(scale * up, floor), np.maximum(scale * down, floor)
        # The weekday rule only where a record spans weeks: runs every hour could never meet it.
        weeks = ~(st.typical[rows] * _RECORD * s.window < 7 * s.weekday_min)
        judged = (lay.valid[rows] & (n >= s.min_history) & ((st.seen[rows] >= s.weekday_min) | ~weeks)
                  & np.isfinite(expected + high + low))
        deviation = np.where(judged, (x - expected) / np.where(x > expected, high, low), np.nan)
        # A growth way may also start from the previous run although it was flagged (it was the first
        # run after a bulk import, and the count carries on from there), or, when the previous run was
        # well off the other way, from the usable run before it (that one was a glitch just inside its
        # range): whichever start explains the run best.
        growth &= judged
        if growth.any():
            rate = np.where(choice == WEEKDAY_GROWTH, st.rate[1, rows], st.rate[0, rows])
            before = rows - 1
            flagged = lay.valid[before] & (before >= regime[rows]) & flag[before]
            odd = ~flagged & (st.deviation[before] * np.sign(x - expected) < -0.5)
            for x0, t0 in ((np.where(flagged, lay.x[before], np.nan), lay.t[before]),
                           (np.where(odd, st.second_x[rows], np.nan), st.second_t[rows])):
                guess = x0 + rate * (lay.t[rows] - t0)
                g = k * np.sqrt(np.maximum(1.0, (lay.t[rows] - t0) / st.typical[rows]))
                floor_g = np.maximum(s.rel_floor * np.abs(guess), s.abs_floor)
                high_g, low_g = np.maximum(g * up, floor_g), np.maximum(g * down, floor_g)
                dev_g = (x - guess) / np.where(x > guess, high_g, low_g)
                better = growth & np.isfinite(dev_g) & (np.abs(dev_g) < np.abs(deviation))
                expected, deviation = np.where(better, guess, expected), np.where(better, dev_g, deviation)
                high, low = np.where(better, high_g, high), np.where(better, low_g, low)
    st.choice[rows], st.sd[rows], st.learned[rows], st.expected[rows] = choice, sd, learned, expected
    st.high[rows], st.low[rows], st.judged[rows], st.deviation[rows] = high, low, judged, deviation
    st.side[rows] = np.where(judged & (np.abs(deviation) > 1), np.sign(deviation), 0).astype(np.int8)


def _regimes(lay: _Layout, s: BaselineSettings, side: np.ndarray):
    """Where each point's regime starts, and the points of confirmed runs (their regime's start, else -2).

    `shift_after` consecutive points outside their ranges mean the baseline no longer describes the
    metric (its level moved, or its noise grew): from the point after them, it is learned afresh from
    the first of them on.
    """
    size = len(side)
    at = np.arange(size)
    out = side != 0
    new_run = np.r_[True, out[1:] != out[:-1]] if size else np.zeros(0, bool)
    run_start = np.maximum.accumulate(np.where(new_run, at, 0))
    confirmed = np.flatnonzero(out & (at - run_start + 1 == s.shift_after))
    starts = run_start[confirmed]
    mark = np.full(size + 1, -1, np.int64)
    mark[confirmed + 1] = starts
    regime = np.maximum(lay.start, np.maximum.accumulate(mark)[:size])
    admitted = np.full(size, -2, np.int64)
    if len(starts):
        members = (starts[:, None] + np.arange(s.shift_after)).ravel()
        admitted[members] = np.repeat(starts, s.shift_after)
    return regime, admitted


def _any_before(flags: np.ndarray, w: int) -> np.ndarray:
    """Whether any of the w slots before each slot is set."""
    total = np.concatenate([[0], np.cumsum(flags)])
    at = np.arange(len(flags))
    return total[at] - total[np.maximum(at - w, 0)] > 0


def _drift(lay: _Layout, s: BaselineSettings, st: _State, regime: np.ndarray) -> np.ndarray:
    """Points where the latest `drift_window` runs, taken together, sit away from what came before them.

    The reference is the first of those runs: its prediction came from the window just before them.
    For the level ways the latest runs (less their weekday effect, for the weekday way) are compared
    with its level, extended by a trend only if the window before its own showed the same trend: a
    slide that has lasted a fortnight must not pass for the metric's habit. For the growth ways their
    growth errors are compared with zero. The median's standard error counts both sides' noise and
    is widened like the ranges while few errors are known.
    """
    size, w, q = len(lay.x), s.window, s.drift_window
    flag = st.side != 0
    at = np.arange(size)
    ref = at - q + 1
    ok = st.judged & (ref >= lay.start)
    ref = np.where(ok, ref, 0)
    ok &= st.judged[ref] & (regime[ref] == regime) & np.isfinite(st.sd[ref])
    older = ref - w
    older_ok = older >= lay.start[ref]
    older_ok &= st.eligible[TREND, np.where(older_ok, older, 0)]  # it had enough runs to see a trend
    c = st.choice[ref]
    s_ref, s_old = st.slope[ref], st.slope[np.where(older_ok, older, 0)]
    agree = np.sign(s_ref) == np.sign(s_old)
    kept = np.where(agree, np.sign(s_ref) * np.minimum(np.abs(s_ref), np.abs(s_old)), 0.0)
    # Without a window before the reference's, a trend its record chose (it predicted better) stands.
    kept = np.where(older_ok, kept, np.where(c == TREND, s_ref, 0.0))
    growth = (c >= GROWTH)[:, None]
    xr, tr = _recent(lay.x, q, np.nan), _recent(lay.t, q, 0.0)
    effect = np.nan_to_num(_recent(st.pred[WEEKDAY] - st.pred[LEVEL], q, np.nan))
    season = np.where((c == WEEKDAY)[:, None], effect, 0.0)
    step = np.where((c == GROWTH)[:, None], _recent(st.error[GROWTH], q, np.nan),
                    _recent(st.error[WEEKDAY_GROWTH], q, np.nan))
    use = _recent(lay.valid & ~flag, q, False)
    level = np.where(c == TREND, st.pred[TREND, ref], st.level[ref])
    with np.errstate(invalid="ignore", divide="ignore"):
        res = np.where(growth, step, xr - level[:, None] - kept[:, None] * (tr - lay.t[ref, None]) - season)
        shift = _median(res, use)
        n = (use & np.isfinite(res)).sum(axis=1)
        n_ref = np.where(c >= GROWTH, st.learned[ref], st.usable[ref].sum(axis=1))
        se = _MEDIAN_SE * st.sd[ref] * np.sqrt(1 / np.maximum(n, 1) + 1 / np.maximum(n_ref, 1))
        floor = np.maximum(s.rel_floor * np.abs(st.pred[c, ref]), s.abs_floor)
        big = (np.abs(shift) > s.drift_threshold * _widen(st.learned[ref]) * se) & (np.abs(shift) > floor)
    return ok & ~flag & (n >= math.ceil(0.75 * q)) & big


def _compute(x: np.ndarray, stamps: pd.DatetimeIndex, groups: np.ndarray, s: BaselineSettings) -> dict:
    lay = _layout(x, stamps, groups, max(_RECORD * s.window, s.drift_window))
    size = len(lay.x)
    n = len(x)
    out = {"expected": np.full(n, np.nan), "low": np.full(n, np.nan), "high": np.full(n, np.nan),
           "deviation": np.full(n, np.nan), "kind": np.zeros(n, np.int64)}
    if not size:
        return out
    st = _State(size, s.window)
    side = np.zeros(size, np.int8)
    regime, admitted = _regimes(lay, s, side)
    pred_rows = judge_rows = np.arange(size)  # all slots, pads too: contiguous rows are read as views
    # Which points are flagged depends on which earlier points were; instead of a loop over points, the
    # array is judged again with the previous pass's flags until they settle, each pass recomputing only
    # the rows whose window saw a change. Each pass only uses the past, so the settled flags are exactly
    # those of a point-by-point walk through time.
    for _ in range(_MAX_PASSES):
        _predict(lay, s, st, pred_rows, side != 0, regime, admitted)
        _judge(lay, s, st, judge_rows, side != 0, regime)
        new_regime, new_admitted = _regimes(lay, s, st.side)
        changed = (st.side != side) | (new_admitted != admitted)
        moved = new_regime != regime
        if not (changed.any() or moved.any()):
            break
        side, regime, admitted = st.side.copy(), new_regime, new_admitted
        dirty = moved | _any_before(changed, _RECORD * s.window)
        pred_rows = np.flatnonzero(dirty & lay.valid)
        rejudge = dirty | _any_before(changed | dirty, _RECORD * s.window)
        judge_rows = np.flatnonzero(rejudge & lay.valid)
    drift = _drift(lay, s, st, regime)
    kind = np.where(st.side > 0, 1, np.where(st.side < 0, 2, np.where(drift, 3, 0)))
    have = lay.where >= 0
    slot = lay.where[have]
    shown = st.judged[slot]
    expected = np.where(shown, st.expected[slot], np.nan)
    out["expected"][have] = expected
    out["low"][have], out["high"][have] = expected - st.low[slot], expected + st.high[slot]
    out["deviation"][have] = st.deviation[slot]
    out["kind"][have] = kind[slot]
    return out
