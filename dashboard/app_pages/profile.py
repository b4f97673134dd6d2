"""Profile: what each column of an entity holds, its fill rates over time, and the entity's rules.

The profile is read from a sample of the source table (read-only, like `cleancrm profile`); the
top values of columns holding personal data are masked for those who may not see every record.
The rules listed are the config's; those marked `suggested: true` were written by `cleancrm init`
from a profile of the data, for the team to keep (remove the mark) or drop (delete the rule).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from checks.masking import mask_text
from checks.profiling.columns import is_personal
from connectors.history import FindingFilter
from connectors.mapping import plain_columns
from dashboard import access, charts, context, logic, queries

ctx = context.get()
st.title("Profile")
entities = list(ctx.cfg.entities)
if not entities:
    st.info("No entity is mapped in the config.")
    st.stop()
entity = st.selectbox("Entity", entities, key="profile_entity")
ent = ctx.cfg.entities[entity]

st.subheader("Fill rate of each field over the runs")
rates = queries.fill_rates(ctx.url, ctx.source, entity)
if rates.empty:
    st.caption("No run has measured fill rates yet (completeness.expected keeps them from the next run on).")
else:
    plot = rates.assign(series=rates.field, value=rates.fill_rate * 100)
    st.plotly_chart(charts.trend_chart(plot, y_title="Filled, % of records", height=320), width="stretch",
                    key="profile_fill")
    newest = rates[rates.as_of == rates.as_of.max()].sort_values("fill_rate")
    said = {**{f: " (expected)" for f in ent.expected}, **{f: " (required)" for f in ent.required}}
    st.caption("Newest run, least filled first: " + ", ".join(f"{r.field} {r.fill_rate:.1%}{said.get(r.field, '')}"
                                                              for r in newest.head(8).itertuples())
               + (" …" if len(newest) > 8 else ""))

st.subheader(f"Columns of table {ent.table}")
prof = queries.table_profile(ctx.cfg.source_url(), ctx.cfg.source.schema_, min(ctx.cfg.source.statement_timeout_s, 60),
                             ent.table)
unmasked = access.sees_all_unmasked(ctx.person)
by_column = {c: f for f, m in ent.mapped().items() for c in plain_columns(m)}
rows = []
for col in prof.columns.values():
    personal = is_personal(col) and not unmasked
    shown = mask_text if personal else str
    rows.append({"column": col.column, "field": by_column.get(col.column, ""), "holds": col.meaning,
                 "filled %": round(col.fill_rate * 100, 1), "distinct": col.distinct,
                 "top values": ", ".join(f"{shown(v)[:24]} ({n:,})" for v, n in col.top[:5]),
                 "shapes": ", ".join(s for s, _ in col.shapes[:3]),
                 "min": shown(col.minimum or ""), "max": shown(col.maximum or "")})
st.caption(f"{prof.row_count:,} rows in the table; {prof.sampled:,} sampled."
           + ("" if unmasked else " Values of columns holding personal data are masked."))
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
             column_config={"filled %": st.column_config.ProgressColumn("filled %", min_value=0, max_value=100,
                                                                         format="%.1f")})

st.subheader("Schema and volume changes")
shapes = queries.metrics_series(ctx.url, ctx.source, "consistency.schema_change", entity)
if shapes.empty:
    st.caption("No run has recorded this table's columns and row count yet.")
else:
    rows_over_runs = shapes.assign(series="live rows", value=[m.get("rows") for m in shapes.metrics])
    if len(rows_over_runs) > 1:  # one point makes no trend (and plotly would stretch its axis to fractions of a second)
        st.plotly_chart(charts.trend_chart(rows_over_runs, y_title="Live rows", height=240), width="stretch",
                        key="profile_rows")
    else:
        st.caption(f"First recorded: {int(rows_over_runs.value.iloc[0]):,} live rows.")
    changes = pd.DataFrame()
    if ctx.run_id is not None:
        found = queries.findings_page(ctx.url, ctx.run_id, FindingFilter(check_id="consistency.schema_change",
                                                                           entity=entity), 200, 0)
        changes = found[["column_name", "reason", "suggestion"]].fillna({"column_name": "(rows)"}) if len(found) else changes
    if changes.empty:
        st.caption(f"No column added, removed or retyped and no jump in rows in run #{ctx.run_id} "
                   f"against the run before it ({len(shapes.metrics.iloc[-1].get('columns', {}))} columns).")
    else:
        shown = changes.rename(columns={"column_name": "column", "reason": "change", "suggestion": "what to do"})
        st.dataframe(shown, hide_index=True, width="stretch", column_config=logic.headers(shown.columns))

st.subheader("Rules")
if not ent.rules:
    st.caption(f"No rule of your own on {entity}; `cleancrm init` suggests some from a profile of the data, "
               "and cleancrm.example.yml shows every kind.")
else:
    run_id = ctx.run_id
    scores = pd.DataFrame()
    if run_id is not None:
        results = queries.check_results(ctx.url, (run_id,))
        scores = results[results.entity == entity].set_index("check_id")
    table = pd.DataFrame([{
        "rule": f"rule.{r.id}", "kind": r.kind, "field": r.field or ", ".join(r.fields or []),
        "what it wants": r.description or "", "suggested": "suggested by init" if r.suggested else "",
        "score": scores.score.get(f"rule.{r.id}") if "score" in scores else None,
        "failing": scores.failed.get(f"rule.{r.id}") if "failed" in scores else None,
        "enabled": r.enabled} for r in ent.rules])
    st.dataframe(table, hide_index=True, width="stretch", column_config=logic.headers(table.columns))
    if any(r.suggested for r in ent.rules):
        st.caption("Suggested rules run like the others. To keep one, remove its `suggested: true` in the config; "
                   "to drop one, delete it (or set `enabled: false`).")
