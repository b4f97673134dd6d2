"""Overview: the scores, how they moved, what is worst, what could be filled in, and when data were last measured."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, context, logic, queries

ctx = context.get()
st.title("Data quality overview")
run_id = context.require_run(ctx)
url, source = ctx.url, ctx.source
row = ctx.run_row()
completed = ctx.completed
# Deltas compare with complete runs (a run limited by --only scores part of the checks).
full = completed[completed.only.fillna("").eq("") | (completed.id == run_id)]
prev_id = logic.previous_run(full, run_id)
month_id = logic.run_days_before(full, run_id, 30)

wanted = tuple(i for i in (run_id, prev_id, month_id) if i is not None)
scores = queries.run_scores(url, wanted)

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

# -- headline scores ----------------------------------------------------------------------------
head = logic.headline(scores, run_id, prev_id, month_id)
cols = st.columns(len(head) or 1)
for col, h in zip(cols, head.itertuples(), strict=False):
    with col:
        delta = None if h.vs_previous is None else logic.fmt_delta(h.vs_previous)
        st.metric(h.name.capitalize(), logic.fmt_score(h.score), delta,
                  delta_color="off" if delta is not None and delta.startswith("±") else "normal",
                  delta_arrow="off" if delta is not None and delta.startswith("±") else "auto",
                  help="Change since the previous run" + ("" if prev_id else " (this is the first run)"),
                  border=True)
        st.caption(f"30 days: {logic.fmt_delta(h.vs_30_days)}" if month_id else "30 days: history too short")

# -- trend --------------------------------------------------------------------------------------
st.subheader("Trend")
series = queries.score_series(url, source, "dimension")
notes = queries.annotations(url, source)
plot = logic.downsample(series.rename(columns={"dimension": "series", "score": "value"}))
if plot.empty:
    st.info("The trend appears once runs have scores.")
else:
    st.plotly_chart(charts.trend_chart(plot, notes), width="stretch", key="overview_trend")
    st.caption(f"{logic.fmt_count(len(completed))} completed runs"
               + (f"; dashed lines mark {len(notes)} intervention(s)" if len(notes) else
                  "; no intervention recorded yet (`cleancrm annotate` adds one)"))

# -- per entity ---------------------------------------------------------------------------------
st.subheader("By entity")
ent = logic.entity_table(scores, run_id, prev_id, month_id)
affected = queries.affected_records(url, run_id)
ent = ent.merge(affected, on="entity", how="left").fillna({"affected": 0, "checked": 0})
if ent.empty:
    st.info("No entity scores in this run.")
else:
    shown = ent.assign(
        score=ent.score.map(logic.fmt_score), vs_previous=ent.vs_previous.map(logic.fmt_delta),
        vs_30_days=ent.vs_30_days.map(logic.fmt_delta),
        affected=[f"{logic.fmt_count(a)} of {logic.fmt_count(c)}" for a, c in zip(ent.affected, ent.checked, strict=True)],
        **{d: ent[d].map(logic.fmt_score) for d in logic.DIMENSIONS})
    st.dataframe(shown[["entity", "score", "vs_previous", "vs_30_days", "affected", *logic.DIMENSIONS]],
                 hide_index=True, width="stretch",
                 column_config={"entity": "Entity", "score": "Score", "vs_previous": "Δ previous run",
                                "vs_30_days": "Δ 30 days",
                                "affected": st.column_config.TextColumn("Records affected",
                                                                        help="Records with at least one finding"),
                                **{d: d.capitalize() for d in logic.DIMENSIONS}})
total_bad, total = int(affected.affected.sum()), int(affected.checked.sum())
st.markdown(f"**{logic.fmt_count(total_bad)}** of {logic.fmt_count(total)} records checked "
            f"({logic.fmt_percent(total_bad / total if total else None)}) have at least one finding.")

# -- worst --------------------------------------------------------------------------------------
left, right = st.columns([3, 2])
with left:
    st.subheader("Worst checks")
    worst = logic.worst_checks(queries.check_results(url, (run_id,)))
    if worst.empty:
        st.success("No check fails in this run.")
    else:
        st.dataframe(worst.assign(score=worst.score.map(logic.fmt_score), failed=worst.failed.map(logic.fmt_count),
                                  applicable=worst.applicable.map(logic.fmt_count)),
                     hide_index=True, width="stretch",
                     column_config={"check_id": "Check", "entity": "Entity", "dimension": "Dimension",
                                    "severity": "Severity", "failed": "Failing", "applicable": "Checked",
                                    "score": "Score"})
        st.page_link("app_pages/records.py", label="Drill into the failing records →", icon=":material/table_rows:")
with right:
    st.subheader("Worst fields")
    fields = logic.worst_fields(scores, run_id)
    if fields.empty:
        st.info("No field scores in this run.")
    else:
        st.dataframe(fields.assign(score=fields.score.map(logic.fmt_score)), hide_index=True, width="stretch",
                     column_config={"entity": "Entity", "field": "Field", "score": "Score"})

# -- enrichment ---------------------------------------------------------------------------------
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
