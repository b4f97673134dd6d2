"""Runs: the history of runs with status, duration and errors, and "Run now"."""

from __future__ import annotations

import streamlit as st

from dashboard import access, context, gate, logic, queries

STATUS = {"completed": "✓ completed", "failed": "✗ failed", "running": "… running"}

ctx = context.get()
st.title("Runs")
url, source = ctx.url, ctx.source

left, right = st.columns([1, 3])
clicked = False
with left:
    if access.may(ctx.person, "run"):
        clicked = st.button("Run now", type="primary", icon=":material/play_arrow:", key="run_now",
                            help="Run every configured check on the source now (one run at a time per source).")
with right:
    st.caption("A run reads the CRM read-only and stores its results here; it can take a while on a large CRM. "
               "Only one run per source runs at a time, whoever started it (scheduler, CLI or dashboard)."
               + ("" if access.may(ctx.person, "run") else " " + access.refusal(ctx.person, "run")))
OUTCOME_KEY = "runs_last_outcome"
if clicked:
    from checks.engine import run_checks
    from connectors.errors import CleanCRMError, RunLockedError

    outcome_detail: dict = {"trigger": "dashboard"}
    with st.status("Running the checks…", expanded=True) as status:
        try:
            outcome = run_checks(ctx.cfg, trigger="dashboard")
        except RunLockedError as exc:
            outcome_detail["outcome"] = "not started: another run is in progress"
            shown = ("warning", f"**Not started: another run is in progress.** {exc}. The results will appear here "
                     "when it finishes; refresh in a moment.")
        except CleanCRMError as exc:
            outcome_detail["outcome"] = "failed"
            shown = ("error", f"**The run failed.**\n\n```\n{exc}\n```")
        except Exception as exc:  # an unexpected failure is stored as a failed run: show it, keep the page
            outcome_detail["outcome"] = "failed"
            shown = ("error", f"**The run failed unexpectedly:** {type(exc).__name__}: {exc}")
        else:
            outcome_detail.update(outcome="completed", run=outcome.run_id)
            shown = ("success", f"Run #{outcome.run_id} completed in {logic.fmt_duration(outcome.seconds)}; "
                     "the other pages now show it.")
        status.update(label="Run finished", state="complete" if shown[0] == "success" else "error")
    gate.record(ctx, ctx.person, "run", outcome_detail)
    queries.clear()
    # Draw every page element again (the sidebar's run list too), with the outcome kept open above the table.
    st.session_state[OUTCOME_KEY] = shown
    st.rerun()
if OUTCOME_KEY in st.session_state:
    kind, text = st.session_state.pop(OUTCOME_KEY)
    {"success": st.success, "warning": st.warning, "error": st.error}[kind](text)

history = queries.runs(url, source)
if history.empty:
    context.no_runs_message(ctx)
    st.stop()
counts = history.status.value_counts()
m = st.columns(4)
m[0].metric("Runs", logic.fmt_count(len(history)), border=True)
m[1].metric("Completed", logic.fmt_count(counts.get("completed", 0)), border=True)
m[2].metric("Failed", logic.fmt_count(counts.get("failed", 0)), border=True)
done = history[history.status == "completed"]
m[3].metric("Typical duration", logic.fmt_duration(done.duration_s.median() if len(done) else None), border=True)

shown = history.assign(
    status=history.status.map(lambda s: STATUS.get(s, s)), started=history.started_at.map(logic.fmt_when),
    duration=history.duration_s.map(logic.fmt_duration), score=history.overall_score.map(logic.fmt_score),
    as_of=history.as_of.map(logic.fmt_when), error=history.error.fillna(""), only=history.only.fillna(""))
st.dataframe(shown[["id", "status", "started", "duration", "trigger", "score", "as_of", "only", "error"]],
             hide_index=True, width="stretch",
             column_config={**logic.headers(shown.columns), "id": st.column_config.NumberColumn("Run", format="%d"),
                            "as_of": "Measured as of",
                            "only": "Limited to", "error": st.column_config.TextColumn("Error", width="large")})
failed = history[history.status == "failed"]
if len(failed):
    with st.expander(f"Errors of the {len(failed)} failed run(s)"):
        for r in failed.head(20).itertuples():
            st.markdown(f"**#{r.id}** · {logic.fmt_when(r.started_at)} · {r.trigger}")
            st.code(r.error or "no error recorded", language=None)
