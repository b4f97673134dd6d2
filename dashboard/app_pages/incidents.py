"""Incidents: breached alert rules and anomalies as owned incidents — acknowledge, comment, resolve."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from connectors.errors import HistoryError
from dashboard import access, context, gate, logic, queries

STATUS = {"open": "🔴 open", "acknowledged": "🟠 acknowledged", "resolved": "🟢 resolved"}
PARAM = "incident"

ctx = context.get()
st.title("Incidents")
url, source, person = ctx.url, ctx.source, ctx.person
table = queries.incidents(url, source)
if table.empty:
    st.info("No incident yet. An alert rule that fires (`alerts.rules` in the config, `kind: anomaly` among them) "
            "opens one, routed to its owner by `incidents.routes`.")
    st.stop()

open_ = table[table.status != "resolved"]
m = st.columns(4)
m[0].metric("Open", logic.fmt_count((table.status == "open").sum()), border=True)
m[1].metric("Acknowledged", logic.fmt_count((table.status == "acknowledged").sum()), border=True)
m[2].metric("Median time to acknowledge", logic.fmt_duration(table.hours_to_acknowledge.median() * 3600), border=True)
m[3].metric("Median time to resolve", logic.fmt_duration(table.hours_to_resolve.median() * 3600), border=True)

shown_status = st.segmented_control("Show", ["unresolved", "all"], default="unresolved", key="inc_show") or "all"
rows = open_ if shown_status == "unresolved" else table
owners = sorted(rows.owner.dropna().unique())
owner = st.selectbox("Owner", owners, index=None, placeholder="Any owner", key="inc_owner") if owners else None
rows = rows if owner is None else rows[rows.owner == owner]
view = rows.assign(status=rows.status.map(STATUS), opened=rows.opened_at.map(logic.fmt_when),
                   to_acknowledge=(rows.hours_to_acknowledge * 3600).map(logic.fmt_duration),
                   to_resolve=(rows.hours_to_resolve * 3600).map(logic.fmt_duration))
event = st.dataframe(view[["id", "status", "rule", "kind", "scope", "owner", "opened", "to_acknowledge", "to_resolve",
                           "summary"]], hide_index=True, width="stretch", key="inc_table", on_select="rerun",
                     selection_mode=["single-row", "single-cell"],
                     column_config={"id": st.column_config.NumberColumn("Incident", format="%d"), "status": "Status",
                                    "rule": "Rule", "kind": "Kind", "scope": "Scope", "owner": "Owner",
                                    "opened": "Opened", "to_acknowledge": "Time to acknowledge",
                                    "to_resolve": "Time to resolve",
                                    "summary": st.column_config.TextColumn("What happened", width="large")})
if rows.empty:
    st.caption("None: every incident is resolved. Show **all** to see them.")

# The incident shown: the row clicked, else the one an alert's link names, else none.
picked = event.selection.cells[0][0] if event.selection.cells else (event.selection.rows or [None])[0]
chosen = int(rows.id.iat[picked]) if picked is not None and picked < len(rows) else None
linked = st.query_params.get(PARAM)
if chosen is None and linked and linked.isdigit() and int(linked) in set(table.id):
    chosen = int(linked)
if chosen is None:
    st.caption("Click an incident to see its comments and to acknowledge or resolve it.")
    st.stop()
st.query_params[PARAM] = str(chosen)  # the address of this incident, to send
inc = table[table.id == chosen].iloc[0]
st.divider()
st.subheader(f"Incident #{chosen} · {inc.rule}")
st.markdown(f"{STATUS[inc.status]} · owner **{inc.owner or 'unassigned'}** · opened "
            f"{logic.fmt_when(inc.opened_at)}" + (f" · run #{int(inc.run_id)}" if pd.notna(inc.run_id) else ""))
st.markdown(f"> {inc.summary}")
if inc.status != "open" and inc.acknowledged_by:
    st.caption(f"Acknowledged by {inc.acknowledged_by} {logic.fmt_when(inc.acknowledged_at)}")
if inc.status == "resolved":
    st.success(f"Resolved by {inc.resolved_by} {logic.fmt_when(inc.resolved_at)}: {inc.resolution}")
comments = queries.incident_comments(url, chosen)
for c in comments.itertuples():
    st.markdown(f"**{c.author}** · {logic.fmt_when(c.at)}  \n{c.text}")

if not access.may(person, "incident"):
    st.info(access.refusal(person, "incident"), icon=":material/lock:")
    st.stop()


def act(what: str, do) -> None:
    """Do an incident action under the signed-in name, record it in the audit log, draw the page again."""
    try:
        do()
    except HistoryError as exc:
        st.error(str(exc))
        return
    gate.record(ctx, person, "incident", {"incident": chosen, "action": what})
    queries.clear()
    st.rerun()


store = queries.store(url)
with st.form(f"inc_form_{chosen}", clear_on_submit=True, border=False):
    text = st.text_area("Comment, or the reason it is resolved", key=f"inc_text_{chosen}",
                        placeholder="What was found, what was done")
    b1, b2, b3, b4 = st.columns(4)
    ack = b1.form_submit_button("Acknowledge", disabled=inc.status != "open", icon=":material/front_hand:")
    comment = b2.form_submit_button("Comment", icon=":material/chat:")
    resolve = b3.form_submit_button("Resolve", disabled=inc.status == "resolved", type="primary",
                                    icon=":material/check_circle:")
    reopen = b4.form_submit_button("Reopen", disabled=inc.status != "resolved", icon=":material/undo:")
if ack:
    act("acknowledge", lambda: store.incidents.acknowledge(chosen, person.name))
if comment:
    act("comment", lambda: store.incidents.comment(chosen, person.name, text))
if resolve:
    act("resolve", lambda: store.incidents.resolve(chosen, person.name, text))
if reopen:
    act("reopen", lambda: store.incidents.reopen(chosen, person.name))
