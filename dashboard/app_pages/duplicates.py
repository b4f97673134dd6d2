"""Duplicates: clusters by tier and score, members side by side, survivor and merge plan, decisions."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from checks.app.fix_package import FORMATS
from checks.app.merge_package import make_merge_package
from connectors.errors import CleanCRMError
from dashboard import access, context, downloads, gate, logic, privacy, queries

TIERS = {"exact": "Exact", "likely": "Likely", "review": "Needs review"}
DECISIONS = {"open": "Open", "confirmed": "Confirmed duplicate", "not_duplicate": "Not a duplicate"}

ctx = context.get()
st.title("Duplicates")
run_id = context.require_run(ctx)
url, source, person = ctx.url, ctx.source, ctx.person
decided = queries.decisions(url, source)
# Decided clusters stay findable: a "not a duplicate" cluster leaves the runs' clusters, its decision stays here.
with st.expander(f"Decisions ({logic.fmt_count(len(decided))})", icon=":material/gavel:"):
    if decided.empty:
        st.caption("No decision yet. A decision on a cluster below holds for its records in every duplicate check.")
    else:
        st.dataframe(decided.assign(records=[", ".join(k) for k in decided.member_keys],
                                    decision=decided.decision.map(DECISIONS.get))
                     [["cluster_id", "entity", "decision", "records", "decided_by", "decided_at", "note"]],
                     hide_index=True, width="stretch", key="dup_decisions",
                     column_config={"cluster_id": "Cluster", "entity": "Entity", "decision": "Decision",
                                    "records": "Records", "decided_by": "By", "note": "Note",
                                    "decided_at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm")})
        if access.may(person, "decide"):
            u1, u2 = st.columns([3, 1])
            undo = u1.selectbox("Undo the decision on", decided.cluster_id.tolist(), index=None, key="dup_undo",
                                placeholder="Choose a cluster")
            if u2.button("Undo", icon=":material/undo:", disabled=undo is None, key="dup_undo_button"):
                queries.store(url).decisions.undo(source, undo)
                queries.clear()
                gate.record(ctx, person, "decision", {"cluster": undo, "decision": "undone", "run": run_id})
                st.toast(f"Decision on cluster {undo} undone; the next run judges its records afresh.")
                st.rerun()
found = queries.clusters(url, run_id)
if found.empty:
    st.info(
        f"**No duplicate clusters in run {ctx.label(run_id)}.**\n\n"
        "Clusters come from the fuzzy duplicate matching of a run. Either it found no likely duplicates, or it "
        "did not run: enable the duplication checks for contacts, accounts or leads in the config and run again. "
        "Exact duplicates (same email or phone) still show as findings on the *Records* page under "
        "the *duplication* dimension.")
    st.stop()

table = logic.cluster_status(found, queries.decisions(url, source))
c1, c2, c3, c4 = st.columns(4)
tiers = c1.multiselect("Tier", list(TIERS), default=[t for t in TIERS if t in set(table.tier)],
                       format_func=lambda t: TIERS.get(t, t), key="dup_tiers")
entities = c2.multiselect("Entity", sorted(table.entity.unique()), key="dup_entities", placeholder="All")
status = c3.selectbox("Decision", list(DECISIONS), index=None, format_func=DECISIONS.get, key="dup_status",
                      placeholder="Any")
min_score = c4.slider("Minimum score", 0.0, 1.0, 0.0, 0.01, key="dup_score")
view = table[table.tier.isin(tiers) & (table.score.fillna(0) >= min_score)]
if entities:
    view = view[view.entity.isin(entities)]
if status:
    view = view[view.decision == status]
counts = table.groupby("tier").size()
st.caption(" · ".join(f"{TIERS.get(t, t)}: {logic.fmt_count(counts.get(t, 0))}" for t in TIERS)
           + f" · decided: {logic.fmt_count((table.decision != 'open').sum())} of {logic.fmt_count(len(table))}")
if view.empty:
    st.info("No cluster matches these filters.")
    st.stop()

# A merge package holds every clustered record's values unmasked: for people who may export and see them all.
if access.may(person, "export") and access.sees_all_unmasked(person):
    with st.expander("Merge package", icon=":material/call_merge:"):
        st.caption("The clusters as merges your CRM's tools run: the values to set on each master first (with the "
                   "file that puts them back), then the merge calls. The same package as `cleancrm merges`.")
        m1, m2, m3 = st.columns([2, 1, 1])
        merge_tiers = m1.multiselect("Tiers", ["exact", "likely", "confirmed", "review"],
                                     default=["exact", "likely", "confirmed"], format_func=lambda t: TIERS.get(
                                         t, "Confirmed" if t == "confirmed" else t), key="dup_merge_tiers")
        merge_format = m2.selectbox("Format", list(FORMATS), key="dup_merge_format",
                                    index=list(FORMATS).index(ctx.cfg.preset) if ctx.cfg.preset in FORMATS else 2)
        if m3.button("Make merge package", icon=":material/call_merge:", key="dup_merge_make",
                     disabled=not merge_tiers):
            try:
                made = make_merge_package(ctx.cfg, queries.store(url), run_id, merge_format, created_by=person.name,
                                          entity=entities or None, tiers=tuple(merge_tiers))
            except CleanCRMError as exc:
                st.error(str(exc).splitlines()[0])
            else:
                st.session_state["dup_merge_package"] = {"run": run_id, "zip": made.zip_bytes(),
                                                         "manifest": made.manifest}
        kept = st.session_state.get("dup_merge_package")
        if kept and kept["run"] == run_id:
            info = kept["manifest"]["entities"]
            st.caption(" · ".join(f"{e}: {logic.fmt_count(i['clusters'])} clusters, "
                                  f"{logic.fmt_count(i['records_merged'])} records to merge, "
                                  f"{logic.fmt_count(i['masters_updated'])} masters to update first"
                                  for e, i in info.items()))
            downloads.offer(ctx, "Download merge package (zip)", kept["zip"],
                            f"{kept['manifest']['package_id']}.zip", "application/zip", key="dup_merge_zip",
                            what="merge package", records=sum(i["records_merged"] for i in info.values()),
                            detail={"package": kept["manifest"]["package_id"], "run": run_id,
                                    "format": kept["manifest"]["format"], "tiers": kept["manifest"]["tiers"]},
                            icon=":material/download:")

event = st.dataframe(
    view[["cluster_id", "entity", "tier", "score", "size", "survivor_key", "decision"]].assign(
        tier=view.tier.map(lambda t: TIERS.get(t, t)), decision=view.decision.map(DECISIONS.get)),
    hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row", key="dup_table",
    column_config={"cluster_id": "Cluster", "score": st.column_config.ProgressColumn("Score", min_value=0, max_value=1,
                                                                                    format="%.2f"),
                   "survivor_key": "Suggested survivor"})
picked = event.selection.rows if event is not None else []
if not picked:
    st.caption("Select a cluster to compare its records side by side; the first one is shown meanwhile.")
cluster = view.iloc[picked[0] if picked else 0]
cid, entity = str(cluster.cluster_id), str(cluster.entity)
members = queries.cluster_members(url, run_id, cid)
order = members.record_key.astype(str).tolist()

st.divider()
st.subheader(f"Cluster {cid} · {TIERS.get(cluster.tier, cluster.tier)} · score {cluster.score:.2f}")
owners: dict[str, str | None] = {}  # record key → owner id: whose values this person may see
if entity not in ctx.cfg.entities:
    st.info(f"`{entity}` is not mapped in the config, so the records' values cannot be read.")
else:
    try:
        records = queries.source_records(ctx.cfg, entity, tuple(order))
    except Exception as exc:  # the source may be unreachable: explain and go on with the plan
        records = None
        st.warning(f"The CRM source cannot be read right now, so the records are not shown ({exc}).")
    if records is not None:
        missing = [k for k in order if k not in records.index]
        if missing:
            st.caption(f"No longer in the CRM: {', '.join(missing)}")
        # Differences are found on the real values, then the values are masked for the person.
        side, differing = logic.side_by_side(records, order)
        owners = privacy.record_owners(records)
        side = privacy.side_by_side(person, entity, side, owners)
        survivor = str(cluster.survivor_key) if cluster.survivor_key is not None else None
        side.columns = [f"{k} ★ survivor" if k == survivor else k for k in side.columns]

        def _highlight(row: pd.Series) -> list[str]:
            return ["background-color: #FFF4D6" if row.name in differing else "" for _ in row]

        st.dataframe(side.style.apply(_highlight, axis=1), width="stretch", height=38 + 35 * len(side))
        st.caption(f"Highlighted: {len(differing)} field(s) whose values differ between the records.")

if cluster.get("matched_on"):
    st.markdown(f"**Matched on:** {cluster.matched_on}")
st.markdown("**Values to set on the master before merging**")
live_plan = None
if entity in ctx.cfg.entities:
    try:  # from the CRM as it is now, as `cleancrm merges` writes it
        worklist_rows = members.assign(record_id=members.record_key, survivor_key=cluster.survivor_key,
                                       tier=cluster.tier, matched_on=cluster.get("matched_on"), score=cluster.score)
        live_plan = queries.merge_plan(ctx.cfg, worklist_rows)
    except Exception as exc:  # the source may be unreachable: the plan the run stored stands in
        st.caption(f"The CRM cannot be read right now ({exc}); the plan below is the run's.")
if live_plan is not None:
    if not live_plan.sets:
        st.caption(f"Merge into record {live_plan.master} as it is: it holds a valid value wherever another "
                   "record has one.")
    else:
        # Masked by canonical field and by whose record each value is: the donor's, the master's.
        plan = pd.DataFrame([{"field": c.field, "keep_value": c.proposed,
                              "from_key": c.checks[0].removeprefix("merge from "), "why": c.reasons[0]}
                             for c in live_plan.sets])
        now = pd.DataFrame([{"field": c.field, "keep_value": c.current, "from_key": live_plan.master}
                            for c in live_plan.sets])
        plan = privacy.merge_plan(person, entity, plan, owners).assign(
            column=[c.column for c in live_plan.sets],
            master_value=privacy.merge_plan(person, entity, now, owners).keep_value.tolist())
        st.dataframe(plan[["column", "master_value", "keep_value", "from_key", "why"]], hide_index=True,
                     width="stretch", column_config={"column": "Column", "master_value": "Master now",
                                                     "keep_value": "Set to", "from_key": "From record", "why": "Why"})
else:
    try:
        plan = pd.DataFrame(json.loads(cluster.merge_plan or "[]"))
    except ValueError:
        plan = pd.DataFrame()
    if plan.empty:
        st.caption(f"Keep record {cluster.survivor_key} as it is; no field needs to come from another record.")
    else:
        plan = privacy.merge_plan(person, entity, plan.reindex(columns=["field", "keep_value", "from_key", "why"]),
                                  owners)
        st.dataframe(plan, hide_index=True, width="stretch",
                     column_config={"keep_value": "Keep value", "from_key": "From record", "why": "Why"})

st.markdown(f"**Decision:** {DECISIONS.get(cluster.decision, cluster.decision)}")
if not access.may(person, "decide"):
    st.info(access.refusal(person, "decide"), icon=":material/lock:")
    st.stop()
with st.form(f"decide_{cid}", clear_on_submit=False, border=False):
    note = st.text_input("Note (optional)", key="dup_note")
    st.caption(f"Recorded under your name, **{person.name}**.")
    x, y, _ = st.columns([1, 1, 3])
    confirmed = x.form_submit_button("Confirm duplicate", type="primary", icon=":material/check:")
    rejected = y.form_submit_button("Not a duplicate", icon=":material/close:")
if confirmed or rejected:
    decision = "confirmed" if confirmed else "not_duplicate"
    queries.decide(url, source, cid, entity, decision, person.name, note)
    gate.record(ctx, person, "decision", {"cluster": cid, "entity": entity, "decision": decision, "run": run_id,
                                          "note": note or None}, records=int(cluster["size"]))
    st.toast(f"Cluster {cid}: {DECISIONS[decision].lower()} — saved.")
    st.rerun()
