"""Audit log (admins): who exported, decided, ran, annotated or signed in, newest first; downloadable."""

from __future__ import annotations

import streamlit as st

from connectors.history.audit import ACTIONS
from dashboard import access, context, downloads, logic, queries

SHOWN = 1000  # rows drawn on the page; the download has every matching entry

ctx = context.get()
st.title("Audit log")
if not access.may(ctx.person, "audit"):  # the page is not listed for others; a stale link stops here
    st.warning(access.refusal(ctx.person, "audit"))
    st.stop()

action = st.selectbox("Action", ACTIONS, index=None, placeholder="All actions", key="audit_action",
                      format_func=lambda a: a.replace("_", " "))
log = queries.audit_log(ctx.url, ctx.source, action)
if log.empty:
    st.info("Nothing recorded yet" + (f" for “{action.replace('_', ' ')}”." if action else "."))
    st.stop()

counts = log.action.value_counts()
st.caption(" · ".join(f"{a.replace('_', ' ')}: {logic.fmt_count(n)}" for a, n in counts.items()))
shown = log.assign(at=log["at"].map(logic.fmt_when), records=log.records.map(logic.fmt_count))
st.dataframe(shown[["at", "actor", "action", "records", "detail"]].head(SHOWN), hide_index=True, width="stretch",
             column_config={"at": "When", "actor": "Who", "action": "Action", "records": "Records",
                            "detail": st.column_config.TextColumn("Detail", width="large")})
if len(log) > SHOWN:
    st.caption(f"Newest {SHOWN} of {logic.fmt_count(len(log))} entries; the download has them all.")
export = log[["at", "actor", "action", "records", "detail"]]
downloads.offer(ctx, "Download CSV", lambda: logic.export_bytes(export, "csv"),
                f"cleancrm-audit-{ctx.source}.csv", "text/csv", key="audit_csv", what="audit log",
                records=len(export), detail={"action": action}, icon=":material/download:", type="primary")
