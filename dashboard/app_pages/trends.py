"""Trends: any dimension, check or field over time, and how old the records are."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, context, logic, queries

ctx = context.get()
st.title("Trends")
context.require_run(ctx)
url, source = ctx.url, ctx.source
latest = ctx.completed.as_of.max()

c1, c2 = st.columns([2, 3])
with c1:
    period = st.segmented_control("Period", list(logic.PERIODS), default="90 days", key="trend_period")
with c2:
    kind = st.segmented_control("Show", ["Dimensions", "Check", "Field"], default="Dimensions", key="trend_kind")
start = logic.period_start(period or "All", latest)
notes = logic.in_period(queries.annotations(url, source), start, "date")

shown_run = ctx.run_row()


def draw(plot, key: str, higher_is_better: bool = True, **layout) -> None:
    """A trend with each point's learned range (a band for one line), anomalies ringed, the shown run marked."""
    judged = logic.downsample(logic.with_expected_ranges(plot, higher_is_better))
    st.plotly_chart(charts.trend_chart(judged, notes, selected=shown_run.as_of, selected_label=f"run #{ctx.run_id}",
                                       **layout), width="stretch", key=key)
    if judged.anomaly.any():
        st.caption(f"Red rings: {logic.plural(int(judged.anomaly.sum()), 'point')} outside the range learned from "
                   "the runs before them (an `anomaly` alert rule fires on such a point).")


if kind == "Check":
    catalog = queries.check_catalog(url, source)
    if catalog.empty:
        st.info("No checks were measured in the newest run.")
        st.stop()
    a, b = st.columns(2)
    check = a.selectbox("Check", sorted(catalog.check_id.unique()), key="trend_check")
    entities = sorted(catalog.loc[catalog.check_id == check, "entity"].unique())
    entity = b.selectbox("Entity", entities, key="trend_check_entity")
    data = logic.in_period(queries.check_series(url, source, check, entity), start)
    if data.empty:
        st.info("This check has no result in the chosen period; pick a longer period.")
    else:
        plot = data.assign(series=f"{check} ({entity})", value=data.score)
        draw(plot, "trend_chart")
        failing = data.assign(series="failing records", value=data.failed)
        draw(failing, "trend_failed", higher_is_better=False, y_title="Failing records", height=260)
        last = data.iloc[-1]
        st.caption(f"Newest: score {logic.fmt_score(last.score)}, {logic.fmt_count(last.failed)} failing of "
                   f"{logic.fmt_count(last.applicable)} checked.")
elif kind == "Field":
    fields = queries.score_series(url, source, "field")
    if fields.empty:
        st.info("No field scores recorded yet.")
        st.stop()
    fields = fields.assign(name=fields.entity + "." + fields.field)
    chosen = st.multiselect("Fields", sorted(fields.name.unique()), default=sorted(fields.name.unique())[:3],
                            key="trend_fields", max_selections=8)
    data = logic.in_period(fields[fields.name.isin(chosen)], start)
    if not chosen:
        st.info("Pick one or more fields.")
    elif data.empty:
        st.info("No score for these fields in the chosen period; pick a longer period.")
    else:
        plot = data.assign(series=data.name, value=data.score)
        draw(plot, "trend_chart")
else:
    series = queries.score_series(url, source, "dimension")
    names = ["overall", *[d for d in logic.DIMENSIONS if d in set(series.dimension)]]
    chosen = st.pills("Dimensions", names, selection_mode="multi", default=names, key="trend_dims")
    data = logic.in_period(series[series.dimension.isin(chosen or [])], start)
    if data.empty:
        st.info("Nothing to draw: pick a dimension, or a longer period.")
    else:
        plot = data.rename(columns={"dimension": "series", "score": "value"})
        draw(plot, "trend_chart")

# -- decay --------------------------------------------------------------------------------------
st.subheader("Decay: how long since records were last updated")
ages_entities = [e for e in ctx.cfg.entities if "modified_at" in ctx.cfg.entities[e].fields]
if not ages_entities:
    st.info("No entity maps a `modified_at` field, so record ages cannot be measured.")
else:
    entity = st.selectbox("Entity", ages_entities, key="decay_entity")
    ages = logic.in_period(queries.freshness_metrics(url, source, entity), start)
    if ages.empty:
        st.info(f"No age distribution for {entity} in this period: the freshness check "
                "(`freshness.staleness`) did not run on it, or ran before age buckets were recorded.")
    else:
        st.plotly_chart(charts.decay_chart(ages), width="stretch", key="decay_chart")
        newest = ages[ages.as_of == ages.as_of.max()]
        st.caption("Newest run: " + ", ".join(f"{b} {logic.fmt_percent(s)}" for b, s in zip(newest.bucket, newest.share, strict=True)))
