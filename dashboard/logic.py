"""Plain functions behind the pages: formatting, score deltas, schedules, worklists, comparisons.

Nothing here imports streamlit, so every function is unit-tested on its own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pandas as pd

from checks.app.export import (  # noqa: F401 - re-exported for the pages
    WORKLIST_COLUMNS,
    build_worklist,
    export_bytes,
    owner_summary,
    write_export,
)
from checks.base import (
    DIMENSIONS,  # noqa: F401 - the pages read it from here
    ENRICHMENT_PREFIX,
    is_enrichment,
)
from checks.scoring import points_lost as check_impact  # the weighting rules live with the scores

SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
PERIODS = {"30 days": 30, "90 days": 90, "1 year": 365, "All": None}

# -- formatting ---------------------------------------------------------------------------------
def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT


def fmt_score(value) -> str:
    """`87.3`, or an en dash when there is no score."""
    return "–" if _missing(value) else f"{float(value):.1f}"


def fmt_delta(value, unit: str = " pts") -> str:
    """`+1.2 pts`, `-0.4 pts`; a small change keeps the decimals that show it (`+0.04 pts`, `-0.003 pts`).

    Scores near 100 move by hundredths when a few hundred records break: one decimal would say
    `±0.0` and hide it. `±0.0` means no change to three decimals; an en dash means unknown. An
    ASCII minus, so that `st.metric` reads the sign of the delta.
    """
    if _missing(value):
        return "–"
    v = float(value)
    for decimals in (1, 2, 3):
        if round(abs(v), decimals) >= 10 ** -decimals:
            return f"{'+' if v > 0 else '-'}{abs(v):.{decimals}f}{unit}"
    return f"±0.0{unit}"


def plural(count, one: str, many: str | None = None) -> str:
    """`1 finding`, `1,204 findings` (`many` when the plural is not `one` + s)."""
    n = 0 if _missing(count) else int(count)
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def headers(columns, **named) -> dict[str, str]:
    """Column headers in one case, for a `st.dataframe`'s column_config.

    `check_id` → `Check`, `what it wants` → `What it wants`; `named` gives a column another header.
    """
    out = {}
    for column in columns:
        text = str(column).removesuffix("_id").replace("_", " ").strip()
        out[str(column)] = named.get(str(column), text[:1].upper() + text[1:])
    return out


def fmt_count(value) -> str:
    """`12,345`."""
    return "–" if _missing(value) else f"{int(value):,}"


def fmt_when(value, with_time: bool = True) -> str:
    """`2025-11-23 06:00 UTC` (stored times are naive UTC)."""
    if _missing(value):
        return "–"
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.strftime("%Y-%m-%d %H:%M UTC") if with_time else ts.strftime("%Y-%m-%d")


def fmt_duration(seconds) -> str:
    """`42 s`, `3 min 5 s`, `1 h 2 min`."""
    if _missing(seconds):
        return "–"
    s = int(round(float(seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def fmt_percent(share) -> str:
    """`12.5 %` from a 0-1 share."""
    return "–" if _missing(share) else f"{100 * float(share):.1f} %"


def run_label(run_id: int, as_of) -> str:
    """How a run is named in pickers: `#12 · 2025-11-23 06:00 UTC`."""
    return f"#{int(run_id)} · {fmt_when(as_of)}"


# -- runs and deltas ----------------------------------------------------------------------------
def newest_failure(runs: pd.DataFrame) -> pd.Series | None:
    """The newest run (`runs` is newest first) when it failed: what every page must show."""
    if runs.empty or runs.status.iat[0] != "failed":
        return None
    return runs.iloc[0]


def previous_run(completed: pd.DataFrame, run_id: int) -> int | None:
    """The completed run just before `run_id` (completed has id, as_of, oldest first)."""
    ordered = completed.sort_values(["as_of", "id"]).reset_index(drop=True)
    pos = ordered.index[ordered.id == run_id]
    if not len(pos) or pos[0] == 0:
        return None
    return int(ordered.id.iat[pos[0] - 1])


def run_days_before(completed: pd.DataFrame, run_id: int, days: int = 30) -> int | None:
    """The newest completed run at least `days` days older than `run_id`; None if history is shorter."""
    row = completed[completed.id == run_id]
    if row.empty:
        return None
    cutoff = row.as_of.iat[0] - pd.Timedelta(days=days)
    older = completed[completed.as_of <= cutoff].sort_values(["as_of", "id"])
    return None if older.empty else int(older.id.iat[-1])


def score_lookup(scores: pd.DataFrame, run_id: int | None, scope: str, entity: str | None = None,
                 dimension: str | None = None) -> float | None:
    """One score of a run from a scores frame (None when absent)."""
    if run_id is None or scores.empty:
        return None
    m = (scores.run_id == run_id) & (scores.scope == scope)
    m &= scores.entity.isna() if entity is None else scores.entity == entity
    m &= scores.dimension.isna() if dimension is None else scores.dimension == dimension
    values = scores.loc[m, "score"].dropna()
    return None if values.empty else float(values.iat[0])


def _diff(a, b):
    return None if a is None or b is None else a - b


def headline(scores: pd.DataFrame, run_id: int, prev_id: int | None, month_id: int | None) -> pd.DataFrame:
    """Overall and per-dimension score with its change since the previous run and since 30 days ago."""
    rows = []
    for name in ("overall", *DIMENSIONS):
        scope, dim = ("overall", None) if name == "overall" else ("dimension", name)
        now = score_lookup(scores, run_id, scope, dimension=dim)
        if now is None and name != "overall":
            continue
        rows.append({"name": name, "score": now,
                     "vs_previous": _diff(now, score_lookup(scores, prev_id, scope, dimension=dim)),
                     "vs_30_days": _diff(now, score_lookup(scores, month_id, scope, dimension=dim))})
    return pd.DataFrame(rows, columns=["name", "score", "vs_previous", "vs_30_days"])


def entity_table(scores: pd.DataFrame, run_id: int, prev_id: int | None, month_id: int | None) -> pd.DataFrame:
    """Per entity: its score, changes since the previous run and 30 days ago, and each dimension's score."""
    ents = sorted(scores.loc[(scores.run_id == run_id) & (scores.scope == "entity"), "entity"].dropna().unique())
    rows = []
    for ent in ents:
        now = score_lookup(scores, run_id, "entity", entity=ent)
        row = {"entity": ent, "score": now,
               "vs_previous": _diff(now, score_lookup(scores, prev_id, "entity", entity=ent)),
               "vs_30_days": _diff(now, score_lookup(scores, month_id, "entity", entity=ent))}
        for dim in DIMENSIONS:
            row[dim] = score_lookup(scores, run_id, "entity_dimension", entity=ent, dimension=dim)
        rows.append(row)
    return pd.DataFrame(rows, columns=["entity", "score", "vs_previous", "vs_30_days", *DIMENSIONS])


WORST_BY = {"score": "Lowest score", "impact": "Most points lost overall", "failed": "Most failing"}


def worst_checks(results: pd.DataFrame, n: int = 10, by: str = "score", scoring=None) -> pd.DataFrame:
    """Failing checks, worst first: by score, by impact on the overall score, or by failing count.

    Impact is the points of the overall score a check costs, which weighs its severity and its
    share of its dimension (`checks.scoring.points_lost`). Enrichment opportunities are no
    failures and are left out; ties go to the higher severity.
    """
    from checks.config import ScoringConfig

    cols = ["check_id", "entity", "dimension", "severity", "failed", "applicable", "score", "impact"]
    bad = results.assign(impact=check_impact(results, scoring or ScoringConfig()))
    bad = bad[(bad.failed > 0) & ~bad.check_id.map(is_enrichment).astype(bool)].copy()
    bad["severity_rank"] = bad.severity.map(SEVERITY_ORDER).fillna(9)
    order = {"score": (["score", "severity_rank", "failed"], [True, True, False]),
             "impact": (["impact", "score", "severity_rank"], [False, True, True]),
             "failed": (["failed", "score", "severity_rank"], [False, True, True])}[by]
    bad = bad.sort_values(order[0], ascending=order[1], kind="stable")
    return bad.head(n)[cols].reset_index(drop=True)


def weakest(head: pd.DataFrame, entities: pd.DataFrame) -> dict[str, tuple[str, float] | None]:
    """The lowest-scoring dimension and entity of a run: {"dimension": (name, score), "entity": …}."""
    dims = head[(head.name != "overall") & head.score.notna()]
    ents = entities[entities.score.notna()]
    low = {"dimension": None, "entity": None}
    if len(dims):
        d = dims.loc[dims.score.idxmin()]
        low["dimension"] = (str(d["name"]), float(d.score))
    if len(ents):
        e = ents.loc[ents.score.idxmin()]
        low["entity"] = (str(e.entity), float(e.score))
    return low


def clean_share(affected: pd.DataFrame) -> float | None:
    """The share of checked records with no finding (`affected`: entity, affected, checked)."""
    checked = int(affected.checked.sum()) if len(affected) else 0
    return None if not checked else 1 - int(affected.affected.sum()) / checked


BASELINES = ("previous run", "7 days ago", "30 days ago", "90 days ago", "first run")


def baseline_run(completed: pd.DataFrame, run_id: int, baseline: str) -> int | None:
    """The run a change is measured from: the previous one, the newest N days older, or the first."""
    if baseline == "previous run":
        return previous_run(completed, run_id)
    if baseline == "first run":
        first = completed.sort_values(["as_of", "id"]).id
        return None if first.empty or int(first.iat[0]) == run_id else int(first.iat[0])
    return run_days_before(completed, run_id, int(baseline.split()[0]))


def enrichment_table(opportunities: pd.DataFrame) -> pd.DataFrame:
    """Enrichment opportunities as the Overview lists them: entity, field, where the value comes from, records.

    `opportunities` is `queries.enrichment_opportunities`; `source` is the check's name without its
    `enrichment.` prefix (country_from_phone).
    """
    cols = ["entity", "field", "source", "records"]
    if opportunities.empty:
        return pd.DataFrame(columns=cols)
    out = opportunities.assign(source=opportunities.check_id.str.removeprefix(ENRICHMENT_PREFIX),
                               records=opportunities.records.astype(int))
    return out.sort_values(["entity", "field", "records"], ascending=[True, True, False])[cols].reset_index(drop=True)


def worst_fields(scores: pd.DataFrame, run_id: int, n: int = 10, results: pd.DataFrame | None = None,
                 scoring=None, by: str = "score") -> pd.DataFrame:
    """Fields of a run, worst first: by lowest score, or by impact on the overall score.

    A field's impact is the points of the overall score its checks cost (`points_lost`, each check
    counted for every field it reads); it needs the run's check `results`.
    """
    from checks.config import ScoringConfig

    f = scores[(scores.run_id == run_id) & (scores.scope == "field") & scores.score.notna()]
    f = f[["entity", "field", "score"]].assign(impact=0.0)
    if results is not None and len(results):
        lost = results.assign(impact=check_impact(results, scoring or ScoringConfig()),
                              field=results.fields.fillna("").str.split(",")).explode("field")
        per_field = lost[lost.field != ""].groupby(["entity", "field"]).impact.sum()
        f = f.assign(impact=[float(per_field.get((e, fld), 0.0)) for e, fld in zip(f.entity, f.field, strict=True)])
    order = (["impact", "score"], [False, True]) if by == "impact" else (["score", "impact"], [True, False])
    return f.sort_values(order[0], ascending=order[1], kind="stable").head(n).reset_index(drop=True)


def period_start(period: str, latest: datetime | pd.Timestamp | None) -> pd.Timestamp | None:
    """The first day a period covers, counted back from the latest run; None for all history."""
    days = PERIODS.get(period)
    if days is None or latest is None:
        return None
    return pd.Timestamp(latest) - pd.Timedelta(days=days)


def in_period(frame: pd.DataFrame, start: pd.Timestamp | None, column: str = "as_of") -> pd.DataFrame:
    """Rows on or after `start` (all rows when start is None)."""
    return frame if start is None else frame[frame[column] >= start]


def with_expected_ranges(series: pd.DataFrame, higher_is_better: bool = True) -> pd.DataFrame:
    """A chart's series (as_of, series, value) with each point's learned range and whether it is an anomaly.

    The range of a point comes from the runs before it only (`checks.baselines`), so the chart shows
    what an `anomaly` alert would have said on the day. Only a move for the worse is an anomaly (a
    score below its range, a failing count above it): a clean-up that lifts a score is the Impact
    page's news, not an incident. Adds expected, low, high, anomaly, kind.
    """
    from checks.baselines import expected_ranges_by

    if series.empty:
        return series.assign(expected=pd.Series(dtype=float), low=pd.Series(dtype=float),
                             high=pd.Series(dtype=float), anomaly=pd.Series(dtype=bool), kind=pd.Series(dtype=str))
    judged = expected_ranges_by(series, "series", value="value", when="as_of")
    worse = judged.deviation < 0 if higher_is_better else judged.deviation > 0
    return series.assign(**{c: judged[c] for c in ("expected", "low", "high", "kind")},
                         anomaly=judged.anomaly.astype(bool) & worse.fillna(False))


def downsample(series: pd.DataFrame, max_points: int = 400) -> pd.DataFrame:
    """Keep at most `max_points` runs per series (evenly spaced, always the newest) for fast charts."""
    runs = series.run_id.drop_duplicates() if "run_id" in series else None
    if runs is None or len(runs) <= max_points:
        return series
    step = math.ceil(len(runs) / max_points)
    keep = set(runs.iloc[::-1].iloc[::step])
    return series[series.run_id.isin(keep)]


# -- schedules ----------------------------------------------------------------------------------
def next_scheduled(schedule: Iterable, heartbeat: dict | None, now: datetime | None = None,
                   stale_after: timedelta = timedelta(minutes=15)) -> dict | None:
    """When the next scheduled run is due: {when (aware UTC), name, origin}.

    A scheduler's fresh heartbeat wins (origin `scheduler`); otherwise the next fire time is computed
    from the config's cron entries (origin `config`). None when nothing is scheduled.
    """
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if heartbeat and heartbeat.get("next_runs"):
        beat = pd.Timestamp(heartbeat["beat_at"])
        beat = beat.tz_localize("UTC") if beat.tzinfo is None else beat
        if now - beat.to_pydatetime() <= stale_after:
            upcoming = []
            for name, when in heartbeat["next_runs"].items():
                ts = pd.Timestamp(when)
                ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
                upcoming.append((ts.to_pydatetime(), name))
            if upcoming:
                when, name = min(upcoming)
                return {"when": when, "name": name, "origin": "scheduler"}
    from checks.app.schedule import cron_trigger  # the scheduler's own cron reading (Sunday = 0, DST-safe)

    upcoming = []
    for entry in schedule:
        fire = cron_trigger(entry).get_next_fire_time(None, now)
        if fire is not None:
            upcoming.append((fire.astimezone(UTC), entry.name))
    if not upcoming:
        return None
    when, name = min(upcoming)
    return {"when": when, "name": name, "origin": "config"}


# -- impact -------------------------------------------------------------------------------------
def runs_around(completed: pd.DataFrame, date) -> tuple[int | None, int | None]:
    """The last completed run before `date` and the first one on or after it."""
    ts = pd.Timestamp(date)
    before = completed[completed.as_of < ts].sort_values(["as_of", "id"])
    after = completed[completed.as_of >= ts].sort_values(["as_of", "id"])
    return (None if before.empty else int(before.id.iat[-1]), None if after.empty else int(after.id.iat[0]))


def dimension_before_after(scores: pd.DataFrame, run_a: int, run_b: int) -> pd.DataFrame:
    """Overall and per-dimension score in run A and run B, and the change."""
    rows = []
    for name in ("overall", *DIMENSIONS):
        scope, dim = ("overall", None) if name == "overall" else ("dimension", name)
        a, b = score_lookup(scores, run_a, scope, dimension=dim), score_lookup(scores, run_b, scope, dimension=dim)
        if a is None and b is None:
            continue
        rows.append({"dimension": name, "before": a, "after": b, "change": _diff(b, a)})
    return pd.DataFrame(rows, columns=["dimension", "before", "after", "change"])


def comparison_table(compared: pd.DataFrame, results_a: pd.DataFrame, results_b: pd.DataFrame) -> pd.DataFrame:
    """Per check and entity: dimension, score before/after, and records fixed / still / newly failing."""
    keys = ["check_id", "entity"]
    a = results_a[[*keys, "dimension", "score"]].rename(columns={"score": "score_before"})
    b = results_b[[*keys, "dimension", "score"]].rename(columns={"score": "score_after", "dimension": "dim_b"})
    out = a.merge(b, on=keys, how="outer")
    out["dimension"] = out.dimension.fillna(out.dim_b)
    out = out.drop(columns="dim_b").merge(compared, on=keys, how="left")
    for col in ("fixed", "still_failing", "newly_failing"):
        out[col] = out[col].fillna(0).astype(int) if col in out else 0
    out["score_change"] = out.score_after - out.score_before
    out = out[(out.fixed + out.still_failing + out.newly_failing > 0) | (out.score_change.fillna(0) != 0)]
    cols = ["dimension", "check_id", "entity", "score_before", "score_after", "score_change", "fixed",
            "still_failing", "newly_failing"]
    return out[cols].sort_values(["fixed", "newly_failing"], ascending=False).reset_index(drop=True)


def impact_totals(compared: pd.DataFrame) -> dict[str, int]:
    """Records fixed, still failing and newly failing, summed over checks."""
    return {c: int(compared[c].sum()) if c in compared else 0 for c in ("fixed", "still_failing", "newly_failing")}


# -- duplicates ---------------------------------------------------------------------------------
def side_by_side(records: pd.DataFrame, order: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Members as columns, fields as rows; and the fields whose values differ between members."""
    present = [k for k in order if k in records.index]
    table = records.loc[present].T.astype(object)
    table.columns = [str(c) for c in table.columns]
    normalised = table.map(lambda v: None if _missing(v) else str(v).strip().lower())
    differing = [idx for idx, row in normalised.iterrows() if row.nunique(dropna=False) > 1]
    return table.map(lambda v: "" if _missing(v) else str(v)), differing


def cluster_status(clusters: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """Clusters with the steward's decision (`open` when none)."""
    out = clusters.copy()
    decided = decisions.set_index("cluster_id").decision if not decisions.empty else pd.Series(dtype=object)
    out["decision"] = out.cluster_id.map(decided).astype(object).fillna("open")
    return out


# Worklists and exports live in checks.app.export, shared with the CLI.
def fmt_value(value) -> str:
    """A CRM value as text: empty for missing, integers without `.0`."""
    if _missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
