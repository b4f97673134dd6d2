"""The cleancrm dashboard: `cleancrm dashboard --config cleancrm.yml`.

It runs as `streamlit run dashboard/streamlit_app.py -- --config FILE` (or with $CLEANCRM_CONFIG).
This entry only loads the config and the run list, asks who is signed in, draws the sidebar and
routes to the pages that person's role may see (the sign-in page until someone signs in).
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import dashboard  # noqa: F401
except ImportError:  # started from a checkout that is not installed: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import os

import streamlit as st

from dashboard import access, context, gate, links, logic, queries
from dashboard.logic import run_label

st.set_page_config(page_title="cleancrm", page_icon="🧹", layout="wide")

path = st.session_state.get(context.STATE_KEY) or context.config_path_from(sys.argv[1:], os.environ)
ctx = context.build(path)
st.session_state["_cleancrm_ctx"] = ctx
ctx.person = person = gate.current(ctx)

PAGES = Path(__file__).with_name("app_pages")
if person is None:
    st.navigation([st.Page(PAGES / "sign_in.py", title="Sign in", icon=":material/login:", default=True)],
                  position="hidden").run()
    st.stop()

operate = [st.Page(PAGES / "runs.py", title="Runs", icon=":material/history:"),
           st.Page(PAGES / "incidents.py", title="Incidents", icon=":material/crisis_alert:", url_path="incidents")]
if access.may(person, "configuration"):
    operate.append(st.Page(PAGES / "configuration.py", title="Configuration", icon=":material/settings:"))
if access.may(person, "audit"):
    operate.append(st.Page(PAGES / "audit.py", title="Audit log", icon=":material/policy:"))
pages = {
    "Monitor": [
        st.Page(PAGES / "overview.py", title="Overview", icon=":material/monitoring:", default=True),
        st.Page(PAGES / "trends.py", title="Trends", icon=":material/show_chart:"),
        st.Page(PAGES / "impact.py", title="Impact", icon=":material/compare_arrows:"),
        st.Page(PAGES / "profile.py", title="Profile", icon=":material/analytics:"),
    ],
    "Fix": [
        st.Page(PAGES / "records.py", title="Records", icon=":material/table_rows:"),
        st.Page(PAGES / "duplicates.py", title="Duplicates", icon=":material/join:"),
        st.Page(PAGES / "worklists.py", title="Worklists", icon=":material/checklist:"),
        st.Page(PAGES / "fix.py", title="Fix package", icon=":material/build:"),
    ],
    "Operate": operate,
}
nav = st.navigation(pages)
# A table's own "Download as CSV" happens in the browser, where the audit log cannot see it: exports
# go through the pages' download buttons, which record them (and are offered only to those who may export).
st.html('<style>[data-testid="stElementToolbarButton"]:has(button[aria-label="Download as CSV"])'
        "{display: none;}</style>")

# A followed link names its run: show that one (once; the sidebar picker stays free afterwards).
links.take_run(set(int(i) for i in ctx.completed.id), context.RUN_KEY)

with st.sidebar:
    st.markdown(f"### cleancrm\nSource **{ctx.source}**")
    if ctx.completed.empty:
        st.caption("No completed run yet.")
    else:
        ids = ctx.completed.id.tolist()[::-1]
        labels = {int(r.id): run_label(r.id, r.as_of) for r in ctx.completed.itertuples()}
        current = ctx.run_id
        st.selectbox("Run shown", ids, index=ids.index(current), format_func=labels.get, key=context.RUN_KEY,
                     help="Pages show this run; the newest completed run by default.")
        latest = ids[0]
        if current != latest:
            st.caption(f"Not the newest run: the newest is #{latest}.")
    st.caption(f"Config: `{ctx.config_path}`")
    st.divider()
    st.caption(gate.session_caption(ctx, person))
    gate.sign_out_button(ctx, person)

# A run that failed after the last good one is shown on every page, open: the pages show older data.
failure = logic.newest_failure(queries.runs(ctx.url, ctx.source))
if failure is not None:
    shown = f"run #{ctx.run_id}, the last completed one" if ctx.run_id is not None else "no run yet"
    st.error(f"**The newest run #{int(failure.id)} failed** ({logic.fmt_when(failure.started_at)}, "
             f"{failure.trigger}); the pages show {shown}.\n\n```\n{failure.error or 'no error recorded'}\n```\n\n"
             f"Fix the cause, then run again: `cleancrm run --config {ctx.config_path}` or **Run now** on Runs.",
             icon=":material/error:")

nav.run()
