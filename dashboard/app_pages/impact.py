"""Impact: what an intervention (or any two runs) changed — scores, records fixed and broken."""

from __future__ import annotations

from datetime import datetime, time

import pandas as pd
import streamlit as st

from checks.engine.fix_tracking import status_tables
from dashboard import access, charts, context, downloads, gate, links, logic, people, privacy, queries

STATUS_LABELS = {"fixed": "Fixed", "still_failing": "Still failing", "newly_failing": "Newly failing"}

ctx = context.get()
st.title("Impact of an intervention")
context.require_run(ctx)
url, source = ctx.url, ctx.source

if access.may(ctx.person, "annotate"):
    with st.expander("Record an intervention", icon=":material/edit_note:"):
        with st.form("annotate", clear_on_submit=True, border=False):
            a1, a2, a3 = st.columns([2, 1, 1])
            ann_name = a1.text_input("What was done", placeholder="Phone clean-up", key="ann_name")
            ann_date = a2.date_input("On", key="ann_date")
            ann_scope = a3.text_input("Scope (optional)", placeholder="entity, dimension or check",
                                      key="ann_scope")
            ann_note = st.text_input("Note (optional)", key="ann_note")
            added = st.form_submit_button("Record", icon=":material/add:")
        if added and not ann_name.strip():
            st.warning("Name the intervention, e.g. *Phone clean-up*.")
        elif added:
            when = datetime.combine(ann_date, time())
            ann_id = queries.annotate(url, source, ann_name.strip(), when, ann_scope.strip(), ann_note.strip())
            gate.record(ctx, ctx.person, "annotation", {"id": ann_id, "name": ann_name.strip(),
                                                        "date": when.date().isoformat(),
                                                        "scope": ann_scope.strip() or None})
            st.toast(f"Intervention “{ann_name.strip()}” recorded.")
completed = ctx.completed
if len(completed) < 2:
    st.info("A comparison needs two completed runs; only one exists so far. Run the checks again after a clean-up.")
    st.stop()

notes = queries.annotations(url, source)
modes = ["An intervention", "Two runs"] if not notes.empty else ["Two runs"]
mode = st.radio("Compare", modes, horizontal=True, key="impact_mode")
highlight = None
ids = completed.id.tolist()[::-1]
labels = {int(r.id): logic.run_label(r.id, r.as_of) for r in completed.itertuples()}
if notes.empty:
    st.caption("No intervention is recorded yet; `cleancrm annotate` marks one (a clean-up, an import) on the charts.")
if mode == "An intervention":
    options = notes.id.tolist()[::-1]
    names = {int(r.id): f"{r.name} · {logic.fmt_when(r.date, with_time=False)}" for r in notes.itertuples()}
    chosen = st.selectbox("Intervention", options, format_func=names.get, key="impact_note")
    note = notes[notes.id == chosen].iloc[0]
    highlight = int(chosen)
    run_a, run_b = logic.runs_around(completed, note.date)
    if note.note:
        st.caption(f"{note.note}" + (f" · scope: {note.scope}" if note.scope else ""))
    if run_a is None or run_b is None:
        side = "before" if run_a is None else "after"
        st.info(f"No completed run {side} this intervention's date yet, so there is nothing to compare. "
                "Run the checks after the intervention, or compare two runs instead.")
        st.stop()
    st.markdown(f"Before: run **{labels[run_a]}** · after: run **{labels[run_b]}** (the runs either side of the date)")
else:
    a, b = st.columns(2)
    run_b = b.selectbox("After", ids, index=0, format_func=labels.get, key="impact_after")
    run_a = a.selectbox("Before", ids, index=min(1, len(ids) - 1), format_func=labels.get, key="impact_before")
    if run_a == run_b:
        st.info("Pick two different runs.")
        st.stop()
    if completed.set_index("id").as_of[run_a] > completed.set_index("id").as_of[run_b]:
        st.caption("Note: the “before” run is newer than the “after” run, so changes read backwards.")

scores = queries.run_scores(url, (run_a, run_b))
dims = logic.dimension_before_after(scores, run_a, run_b)
compared = queries.compare(url, run_a, run_b)
totals = logic.impact_totals(compared)

cols = st.columns(4)
overall = dims[dims.dimension == "overall"]
if not overall.empty:
    o = overall.iloc[0]
    cols[0].metric("Overall score", logic.fmt_score(o.after), logic.fmt_delta(o.change), border=True)
cols[1].metric("Records fixed", logic.fmt_count(totals["fixed"]), help="Failing a check before, passing it after",
               border=True)
cols[2].metric("Still failing", logic.fmt_count(totals["still_failing"]), border=True)
cols[3].metric("Newly failing", logic.fmt_count(totals["newly_failing"]), help="Passing before, failing after",
               border=True, delta=None)

left, right = st.columns(2)
with left:
    st.subheader("Per dimension")
    per_dim = dims[dims.dimension != "overall"]
    if per_dim.empty:
        st.info("Neither run has dimension scores.")
    else:
        st.plotly_chart(charts.before_after_bars(per_dim.fillna({"before": 0, "after": 0})), width="stretch",
                        key="impact_bars")
with right:
    st.subheader("Trend")
    series = queries.score_series(url, source, "dimension")
    lo, hi = completed.set_index("id").as_of[[run_a, run_b]].sort_values()
    window = series[(series.as_of >= lo - (hi - lo) * 2) & (series.as_of <= hi + (hi - lo) * 2)]
    plot = window.rename(columns={"dimension": "series", "score": "value"})
    st.plotly_chart(charts.trend_chart(logic.downsample(plot), notes, highlight=highlight), width="stretch",
                    key="impact_trend")

st.subheader("Per check")
results = queries.check_results(url, (run_a, run_b))
table = logic.comparison_table(compared, results[results.run_id == run_a], results[results.run_id == run_b])
if table.empty:
    st.info("No check changed between these runs.")
else:
    picked_check = st.dataframe(table, hide_index=True, width="stretch", key="impact_checks", on_select="rerun",
                 selection_mode=["single-row", "single-cell"],
                 column_config={"check_id": "Check", "dimension": "Dimension", "entity": "Entity",
                                "score_before": st.column_config.NumberColumn("Score before", format="%.1f"),
                                "score_after": st.column_config.NumberColumn("Score after", format="%.1f"),
                                "score_change": st.column_config.NumberColumn("Change", format="%+.2f"),
                                "fixed": st.column_config.NumberColumn("Fixed", format="%d"),
                                "still_failing": st.column_config.NumberColumn("Still failing", format="%d"),
                                "newly_failing": st.column_config.NumberColumn("Newly failing", format="%d")})

# -- the records behind the counts --------------------------------------------------------------
st.subheader("Records behind the counts")
cell = None if table.empty else links.picked_cell(picked_check)
check_sel = None if cell is None else (str(table.check_id.iat[cell[0]]), str(table.entity.iat[cell[0]]))
# A click on a Fixed / Still failing / Newly failing cell shows those records (once per click).
if cell is not None and cell[1] in STATUS_LABELS and st.session_state.get("_impact_cell") != cell:
    st.session_state["impact_status"] = cell[1]
st.session_state["_impact_cell"] = cell
status = st.segmented_control("Records", list(STATUS_LABELS), format_func=lambda s: STATUS_LABELS[s],
                              default="newly_failing", key="impact_status") or "newly_failing"
behind = queries.compared_records(url, int(run_a), int(run_b), status, *(check_sel or (None, None)))
st.caption(f"{logic.plural(len(behind), 'record')} {STATUS_LABELS[status].lower()}"
           + (f" on {check_sel[0]} ({check_sel[1]})" if check_sel else " over every check")
           + (" · pick a row of the table above for one check, or one of its counts." if not check_sel else "."))
if len(behind):
    shown = privacy.findings(ctx.person, behind, values=("value_before", "value_after"))
    names = people.labels(queries.owner_directory(url, int(run_b)))
    view = shown.assign(owner=shown.owner.map(lambda o: people.label(o, names)),
                        record_key=people.numbers_where_numeric(shown.record_key))
    st.dataframe(view.head(500), hide_index=True, width="stretch", key="impact_behind",
                 column_config={"check_id": "Check", "entity": "Entity", "record_key": "Record", "status": None,
                                "owner": "Owner", "field": "Field", "value_before": "Value before",
                                "value_after": "Value after", "reason": "Reason"})
    if len(behind) > 500:
        st.caption(f"First 500 of {logic.fmt_count(len(behind))}; the download has them all.")
    if status != "fixed" and check_sel:
        links.records_link(f"Open them in Records (run #{run_b})", int(run_b), check=check_sel[0],
                           entity=check_sel[1])
    if access.may(ctx.person, "export"):
        downloads.offer(ctx, f"Download these {logic.plural(len(shown), 'record')} (CSV)",
                        lambda: logic.export_bytes(shown, "csv"),
                        f"cleancrm-{status}-{run_a}-{run_b}.csv", "text/csv", key=f"impact_behind_csv_{status}",
                        what=f"impact records ({status})", records=len(shown),
                        detail={"run_before": int(run_a), "run_after": int(run_b), "status": status,
                                "check": check_sel[0] if check_sel else None}, icon=":material/download:")

fix_values, fix_records = status_tables(queries.store(url).fix_packages.status(int(run_b)))
if len(fix_values) or len(fix_records):
    st.subheader("Fix packages")
    st.caption(f"What run {labels[run_b]} found of each fix package made before it: the findings it targeted, "
               "and each change read back from the CRM.")
    st.dataframe(fix_records, hide_index=True, width="stretch", key="impact_fix_records",
                 column_config={"package_id": "Package", "entity": "Entity"})
    st.dataframe(fix_values, hide_index=True, width="stretch", key="impact_fix_values",
                 column_config={"package_id": "Package", "entity": "Entity", "field": "Field"})
export = dims.assign(check_id="(all)", entity="(all)").rename(
    columns={"before": "score_before", "after": "score_after", "change": "score_change"})
export = export.reindex(columns=table.columns.tolist() or export.columns.tolist())
full = pd.concat([export, table], ignore_index=True) if not table.empty else export
full.insert(0, "run_after", run_b)
full.insert(0, "run_before", run_a)
if access.may(ctx.person, "export"):
    detail = {"run_before": int(run_a), "run_after": int(run_b)}
    d1, d2 = st.columns([1, 5])
    with d1:
        downloads.offer(ctx, "Export CSV", logic.export_bytes(full, "csv"), f"cleancrm-impact-{run_a}-{run_b}.csv",
                        "text/csv", key="impact_csv", what="impact",
                        detail={**detail, "format": "csv"}, icon=":material/download:")
    with d2:
        downloads.offer(ctx, "Export XLSX", lambda: logic.export_bytes(full, "xlsx"),
                        f"cleancrm-impact-{run_a}-{run_b}.xlsx",
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="impact_xlsx",
                        what="impact", detail={**detail, "format": "xlsx"},
                        icon=":material/download:")
else:
    st.caption(access.refusal(ctx.person, "export"))
