"""Worklists: findings filtered for a steward, grouped by owner, exported for a CRM bulk update."""

from __future__ import annotations

import streamlit as st

from dashboard import access, context, downloads, logic, people, privacy, queries

ctx = context.get()
st.title("Worklists")
run_id = context.require_run(ctx)
url = ctx.url
failing = queries.failing_checks(url, run_id)
if failing.empty:
    st.success(f"Nothing to fix in run {ctx.label(run_id)}: every check passed.")
    st.stop()

st.caption("Build a list of records to fix, then export it. Files have the record id first, one row per finding, "
           "with the reason and the suggested fix, sorted by owner: ready for a CRM bulk update.")
c1, c2, c3 = st.columns(3)
dims = c1.multiselect("Dimension", [d for d in logic.DIMENSIONS if d in set(failing.dimension)], key="wl_dims",
                      placeholder="All")
pool = failing[failing.dimension.isin(dims)] if dims else failing
checks = c2.multiselect("Check", sorted(pool.check_id.unique()), key="wl_checks", placeholder="All")
pool = pool[pool.check_id.isin(checks)] if checks else pool
entities = c3.multiselect("Entity", sorted(pool.entity.unique()), key="wl_entities", placeholder="All")
c4, c5, c6 = st.columns(3)
names = people.labels(queries.owner_directory(url, run_id))
owners = c4.multiselect("Owner", people.ordered(queries.owners(url, run_id)), key="wl_owners", placeholder="All",
                        format_func=lambda o: people.label(o, names))
severities = c5.multiselect("Severity", list(logic.SEVERITY_ORDER), key="wl_severity", placeholder="All")
lo, hi = c6.slider("Record score", 0, 100, (0, 100), key="wl_score",
                   help="Score of the whole record (100 = no finding); lower it to focus on the worst records.")

filters = {"dimension": dims or None, "check": checks or None, "entity": entities or None, "owner": owners or None,
           "severity": severities or None, "min_record_score": float(lo) if lo > 0 else None,
           "max_record_score": float(hi) if hi < 100 else None}
work = privacy.worklist(ctx.person, queries.worklist(url, run_id, filters))
if work.empty:
    st.info("No finding matches these filters; widen them (fewer checks, more owners, a wider score range).")
    st.stop()

summary = logic.owner_summary(work)
m1, m2, m3 = st.columns(3)
m1.metric("Findings", logic.fmt_count(len(work)), border=True)
m2.metric("Records", logic.fmt_count(work[["entity", "record_id"]].drop_duplicates().shape[0]), border=True)
m3.metric("Owners", logic.fmt_count(len(summary)), border=True)

stamp = f"run{run_id}"
if access.may(ctx.person, "export"):
    # What was exported is kept with the entry: the run and the filters (empty ones left out).
    detail = {"run": run_id, "filters": {k: v for k, v in filters.items() if v is not None}}
    d1, d2, _ = st.columns([1, 1, 4])
    with d1:
        downloads.offer(ctx, "Download CSV", lambda: logic.export_bytes(work, "csv"),
                        f"cleancrm-worklist-{stamp}.csv", "text/csv", key="wl_csv", what="worklist",
                        records=len(work), detail={**detail, "format": "csv"}, icon=":material/download:",
                        type="primary")
    with d2:
        downloads.offer(ctx, "Download XLSX", lambda: logic.export_bytes(work, "xlsx"),
                        f"cleancrm-worklist-{stamp}.xlsx",
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="wl_xlsx",
                        what="worklist", records=len(work), detail={**detail, "format": "xlsx"},
                        icon=":material/download:")
else:
    st.info(access.refusal(ctx.person, "export"), icon=":material/lock:")

st.subheader("By owner")
st.dataframe(summary.assign(owner=people.numbers_where_numeric(summary.owner)), hide_index=True, width="stretch",
             column_config={"owner": "Owner", "owner_name": "Name", "team": "Team", "findings": "Findings",
                            "records": "Records",
                            "worst_record_score": st.column_config.NumberColumn("Worst record score", format="%.1f")})
st.subheader("Preview")
PREVIEW = 500
preview = work.head(PREVIEW)
st.dataframe(preview.assign(record_id=people.numbers_where_numeric(preview.record_id),
                            owner=people.numbers_where_numeric(preview.owner)), hide_index=True, width="stretch",
             column_config={"record_score": st.column_config.NumberColumn("record_score", format="%.1f")})
if len(work) > PREVIEW:
    st.caption(f"First {PREVIEW} of {logic.fmt_count(len(work))} rows; the download has them all.")
