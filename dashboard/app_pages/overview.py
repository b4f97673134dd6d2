"""Overview: the scores, how they moved, what is worst, what could be filled in, and when data were last measured."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, context, links, logic, queries

ctx = context.get()
st.title("Data quality overview")
run_id = context.require_run(ctx)
url, source = ctx.url, ctx.source
row = ctx.run_row()
completed = ctx.completed

# -- as of / next run ---------------------------------------------------------------------------
nxt = None
try:
    nxt = logic.next_scheduled(ctx.cfg.schedule, queries.heartbeat(url, source))
except (ValueError, KeyError) as exc:  # a bad cron expression: say so, do not fail the page
    st.warning(f"The schedule in the config cannot be read ({exc}); fix `schedule:` to see the next run.")
info = [f"Data as of run **#{run_id}**, measured **{logic.fmt_when(row.as_of)}**"]
if nxt is None:
    info.append("no run is scheduled (add a `schedule:` to the config and start `cleancrm schedule`)")
elif nxt["origin"] == "scheduler":
    info.append(f"next scheduled run **{logic.fmt_when(nxt['when'])}** ({nxt['name']}, from the running scheduler)")
else:
    info.append(f"next scheduled run **{logic.fmt_when(nxt['when'])}** ({nxt['name']}, from the config's cron; "
                "no scheduler heartbeat seen)")
st.markdown(" · ".join(info))

# Deltas compare with complete runs (a run limited by --only scores part of the checks).
full = completed[completed.only.fillna("").eq("") | (completed.id == run_id)]
prev_id = logic.previous_run(full, run_id)
since = st.segmented_control("Change since", logic.BASELINES, default=logic.BASELINES[0], key="ov_since",
                             help="What the changes beside each score are measured from.") or logic.BASELINES[0]
base_id = logic.baseline_run(full, run_id, since)
# The second figure under each score: 30 days when the first is the previous run, else the previous run.
other_name, other_id = (("30 days", logic.run_days_before(full, run_id, 30)) if since == "previous run"
                        else ("previous run", prev_id))

wanted = tuple(i for i in (run_id, base_id, other_id) if i is not None)
scores = queries.run_scores(url, wanted)
affected = queries.affected_records(url, run_id)
# -- headline scores ----------------------------------------------------------------------------
head = logic.headline(scores, run_id, base_id, other_id)
ent = logic.entity_table(scores, run_id, base_id, other_id)
clean_now = logic.clean_share(affected)
clean_base = None if base_id is None else logic.clean_share(queries.affected_records(url, base_id))
low = logic.weakest(head, ent)
top = st.columns(4)
dims_row = st.columns(max(1, len(head) - 1))


def score_metric(col, h) -> None:
    """One score with its change since the chosen run, the other change below, and a link to its records."""
    with col:
        delta = None if h.vs_previous is None else logic.fmt_delta(h.vs_previous)
        flat = delta is not None and delta.startswith("±")
        st.metric(h.name.capitalize(), logic.fmt_score(h.score), delta,
                  delta_color="off" if flat else "normal", delta_arrow="off" if flat else "auto",
                  help=f"Change since the {since}" + ("" if base_id else " (no such run: the history is too short)"),
                  border=True)
        st.caption(f"{other_name}: {logic.fmt_delta(h.vs_30_days)}" if other_id
                   else f"{other_name}: history too short")
        links.records_link("Open records", run_id, dimension=None if h.name == "overall" else h.name,
                           help="The failing records" + ("" if h.name == "overall" else f" of {h.name}"))


for position, h in enumerate(head.itertuples()):
    score_metric(top[0] if h.name == "overall" else dims_row[position - 1], h)
with top[1]:
    clean_delta = (None if clean_now is None or clean_base is None
                   else logic.fmt_delta(100 * (clean_now - clean_base), " pts"))
    st.metric("Clean records", logic.fmt_percent(clean_now), clean_delta, border=True,
              delta_color="off" if clean_delta is None or clean_delta.startswith("±") else "normal",
              help="Share of the records checked that have no finding at all: a score can stay near 100 "
                   "while many records each fail one check.")
    st.caption(f"{logic.fmt_count(int(affected.affected.sum()))} of "
               f"{logic.plural(int(affected.checked.sum()), 'record')} have a finding")
    links.records_link("Open records", run_id, help="Every failing record")
for col, what in ((top[2], "dimension"), (top[3], "entity")):
    if low[what] is None:
        continue
    name, score = low[what]
    with col:
        st.metric(f"Weakest {what}", name.capitalize(), f"score {logic.fmt_score(score)}", delta_color="off",
                  delta_arrow="off", border=True, help=f"The {what} with the lowest score in this run: start here.")
        st.caption("lowest score of this run")
        links.records_link("Open records", run_id, **{what: name})

# -- trend --------------------------------------------------------------------------------------
st.subheader("Trend")
series = queries.score_series(url, source, "dimension")
notes = queries.annotations(url, source)
plot = logic.downsample(logic.with_expected_ranges(series.rename(columns={"dimension": "series", "score": "value"})))
if plot.empty:
    st.info("The trend appears once runs have scores.")
else:
    st.plotly_chart(charts.trend_chart(plot, notes, selected=row.as_of, selected_label=f"run #{run_id}"),
                    width="stretch", key="overview_trend")
    st.caption(f"{logic.plural(len(completed), 'completed run')}"
               + (f"; dashed lines mark {logic.plural(len(notes), 'intervention')}" if len(notes) else
                  "; no intervention recorded yet (`cleancrm annotate` adds one)")
               + f"; the dotted line is run #{run_id}, the one shown"
               + (f"; red rings mark {logic.plural(int(plot.anomaly.sum()), 'point')} outside the range learned "
                  "from the runs before them" if plot.anomaly.any() else ""))

# -- per entity ---------------------------------------------------------------------------------
st.subheader("By entity")
ent = ent.merge(affected, on="entity", how="left").fillna({"affected": 0, "checked": 0})
if ent.empty:
    st.info("No entity scores in this run.")
else:
    clean = 1 - ent.affected / ent.checked.where(ent.checked > 0)
    shown = ent.assign(
        score=ent.score.map(logic.fmt_score), clean=clean.map(logic.fmt_percent),
        vs_previous=ent.vs_previous.map(logic.fmt_delta), vs_30_days=ent.vs_30_days.map(logic.fmt_delta),
        affected=[f"{logic.fmt_count(a)} of {logic.fmt_count(c)}" for a, c in zip(ent.affected, ent.checked, strict=True)],
        **{d: ent[d].map(logic.fmt_score) for d in logic.DIMENSIONS})
    order = ["entity", "score", "clean", "vs_previous", "vs_30_days", "affected", *logic.DIMENSIONS]
    links.records_table(
        shown[order], "ov_entities", run_id,
        lambda r, column: {"entity": r.entity, "dimension": column if column in logic.DIMENSIONS else None},
        column_config={"entity": "Entity", "score": "Score", "clean": "Clean records",
                       "vs_previous": f"Δ {since}", "vs_30_days": f"Δ {other_name}",
                       "affected": st.column_config.TextColumn("Records affected",
                                                               help="Records with at least one finding"),
                       **{d: d.capitalize() for d in logic.DIMENSIONS}})
    st.caption("Click any cell to open its records: a dimension's cell opens that dimension's findings of the "
               "entity.")
total_bad, total = int(affected.affected.sum()), int(affected.checked.sum())
st.markdown(f"**{logic.fmt_count(total_bad)}** of {logic.plural(total, 'record')} checked "
            f"({logic.fmt_percent(total_bad / total if total else None)}) have at least one finding.")

# -- worst --------------------------------------------------------------------------------------
results = queries.check_results(url, (run_id,))


def points_lost(frame):
    """The frame with its points lost shown as a change of the overall score (`-0.42 pts`)."""
    return frame.assign(score=frame.score.map(logic.fmt_score), impact=frame.impact.map(lambda v: logic.fmt_delta(-v)))


IMPACT = st.column_config.TextColumn("Overall impact", help="Points of the overall score it costs")
st.subheader("Worst checks")
by = st.segmented_control("Rank by", list(logic.WORST_BY), default="score", format_func=logic.WORST_BY.get,
                          key="ov_worst_by") or "score"
worst = logic.worst_checks(results, by=by, scoring=ctx.cfg.scoring)
if worst.empty:
    st.success("No check fails in this run.")
else:
    links.records_table(
        points_lost(worst).assign(failed=worst.failed.map(logic.fmt_count),
                                  applicable=worst.applicable.map(logic.fmt_count)),
        "ov_worst", run_id, lambda r, _: {"check": r.check_id, "entity": r.entity},
        column_config={"check_id": "Check", "entity": "Entity", "dimension": "Dimension", "severity": "Severity",
                       "failed": "Failing", "applicable": "Checked", "score": "Score", "impact": IMPACT})
    st.caption("Click a row to open its failing records.")
left, right = st.columns([2, 3])
with left:
    st.subheader("Worst fields")
    fields_by = st.segmented_control("Rank fields by", ["score", "impact"], default="score", key="ov_fields_by",
                                     format_func={"score": "Lowest score", "impact": "Most points lost"}.get) or "score"
    fields = logic.worst_fields(scores, run_id, results=results, scoring=ctx.cfg.scoring, by=fields_by)
    if fields.empty:
        st.info("No field scores in this run.")
    else:
        links.records_table(points_lost(fields), "ov_fields", run_id,
                            lambda r, _: {"entity": r.entity, "field": r.field},
                            column_config={"entity": "Entity", "field": "Field", "score": "Score", "impact": IMPACT})
        st.caption("Click a row to open the field's findings.")

# -- enrichment ---------------------------------------------------------------------------------
with right:
    st.subheader("Enrichment opportunities")
    chances = logic.enrichment_table(queries.enrichment_opportunities(url, run_id))
    if chances.empty:
        st.info("No empty field in this run that the record's other values could fill in.")
    else:
        st.dataframe(chances.assign(records=chances.records.map(logic.fmt_count)), hide_index=True, width="stretch",
                     column_config={"entity": "Entity", "field": "Field", "source": "Derived by", "records": "Records"})
    st.caption("Empty fields (and functions or seniorities at odds with the title) whose value the record's other "
               "fields give: the country from a phone's country code or the postal code, the state from the postal "
               "code, first and last name from a full name, function and seniority from the title, the website from "
               "a business email. They weigh nothing in the scores. `cleancrm fixes` or the Fix package page turns "
               "them into an import file, with the reason for each value.")
    st.page_link("app_pages/fix.py", label="Make a fix package →", icon=":material/build:")
