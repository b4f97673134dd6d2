"""Records: dimension → check → the offending records; one record's findings and current values."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from connectors.history import FindingFilter
from dashboard import access, context, links, logic, people, privacy, queries

PAGE_SIZES = (50, 100, 250)

ctx = context.get()
st.title("Records to fix")
run_id = context.require_run(ctx)
url, person = ctx.url, ctx.person
failing = queries.failing_checks(url, run_id)
if failing.empty:
    st.success(f"No finding in run {ctx.label(run_id)}: every check passed.")
    st.stop()

# -- filters (a followed link sets them; the URL always carries them, to be sent as a link) ------
links.take_filters(links.RECORD_FILTERS)
dims = [d for d in logic.DIMENSIONS if d in set(failing.dimension)]
links.keep_valid("rec_dimension", dims)
c1, c2, c3 = st.columns(3)
dimension = c1.selectbox("Dimension", dims, index=None, placeholder="All dimensions", key="rec_dimension")
checks = failing if dimension is None else failing[failing.dimension == dimension]
check_counts = checks.groupby("check_id").failed.sum().sort_values(ascending=False)
links.keep_valid("rec_check", check_counts.index)
check = c2.selectbox("Check", check_counts.index.tolist(), index=None, placeholder="All checks", key="rec_check",
                     format_func=lambda c: f"{c} ({logic.plural(check_counts[c], 'failing', 'failing')})")
entities = sorted((checks if check is None else checks[checks.check_id == check]).entity.unique())
links.keep_valid("rec_entity", entities)
entity = c3.selectbox("Entity", entities, index=None, placeholder="All entities", key="rec_entity")
directory = queries.owner_directory(url, run_id)
names = people.labels(directory)
team_list = people.teams(directory)
c4, c5, c6, c7 = st.columns(4)
owners = people.ordered(queries.owners(url, run_id))
links.keep_valid("rec_owner", owners)
owner = c4.selectbox("Owner", owners, index=None, placeholder="Any owner", key="rec_owner",
                     format_func=lambda o: people.label(o, names))
links.keep_valid("rec_severity", logic.SEVERITY_ORDER)
severity = c5.selectbox("Severity", list(logic.SEVERITY_ORDER), index=None, placeholder="Any severity",
                        key="rec_severity")
fields = queries.finding_fields(url, run_id, entity)
links.keep_valid("rec_field", fields)
field = c6.selectbox("Field", fields, index=None, placeholder="Any field", key="rec_field")
# A search matches stored values: on masked records it would tell what the masks hide.
searchable = access.sees_all_unmasked(person)
search = c7.text_input("Search", placeholder="record id, value, reason or owner", key="rec_search",
                       disabled=not searchable,
                       help=None if searchable else "Searching by value is for people who see every record "
                       "unmasked; filter by check, entity, owner or severity instead.")
team, mine = None, False
if team_list or person.owners:
    t1, t2, _ = st.columns([1, 1, 2])
    links.keep_valid("rec_team", team_list)
    team = t1.selectbox("Team", team_list, index=None, placeholder="Any team", key="rec_team",
                        disabled=not team_list, help="The owners' team, as the CRM's users table says.")
    if person.owners:  # a steward granted some owners: their own records, in one click
        t2.markdown("<div style='padding-top:2rem'></div>", unsafe_allow_html=True)
        mine = t2.toggle("Only my records", key="rec_mine",
                         help="Records of the owners you are granted: " + ", ".join(
                             people.label(o, names) for o in sorted(person.owners)))
links.write_filters(run_id, dimension=dimension, check=check, entity=entity, field=field, owner=owner,
                    severity=severity, team=team)
# One owner, or the owners of a team, or mine: each narrows the others.
chosen = None if owner is None else {owner}
for group in ((set(people.team_owners(directory, team)) if team else None), (set(person.owners) if mine else None)):
    if group is not None:
        chosen = group if chosen is None else chosen & group
flt = FindingFilter(dimension=dimension, check_id=check, entity=entity,
                    owner=None if chosen is None else tuple(sorted(chosen)), severity=severity,
                    field=field, search=(search.strip() or None) if searchable else None)

total = queries.findings_count(url, run_id, flt)
if total == 0:
    st.info("No finding matches these filters. Clear the search or pick another check.")
    st.stop()

# -- the page of findings (paginated in SQL) ------------------------------------------------------
p1, p2, p3 = st.columns([1, 1, 3])
size = p1.selectbox("Rows per page", PAGE_SIZES, key="rec_page_size")
pages = max(1, -(-total // size))
page = p2.number_input(f"Page (of {logic.fmt_count(pages)})", min_value=1, max_value=pages, value=1, step=1,
                       key="rec_page")
p3.markdown(f"<div style='padding-top:2rem'><b>{logic.plural(total, 'finding')}</b> "
            f"{'matches' if total == 1 else 'match'} · showing "
            f"{logic.fmt_count((page - 1) * size + 1)}–{logic.fmt_count(min(page * size, total))}</div>",
            unsafe_allow_html=True)
rows = privacy.findings(person, queries.findings_page(url, run_id, flt, size, (page - 1) * size))
# Names, not ids; ids as numbers where they are, so that a click on the header sorts 2 before 10.
shown = rows.assign(owner=rows.owner.map(lambda o: people.label(o, names)),
                    record_key=people.numbers_where_numeric(rows.record_key))[
    ["record_key", "entity", "check_id", "field", "value", "reason", "suggestion", "owner", "severity", "dimension",
     "column_name"]]
event = st.dataframe(
    shown, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row", key="rec_table",
    height=min(38 + 35 * len(shown), 600),
    column_config={"record_key": "Record", "entity": "Entity", "check_id": "Check", "field": "Field",
                   "value": "Value seen", "reason": "Reason", "suggestion": "Suggested fix", "owner": "Owner",
                   "severity": "Severity", "dimension": "Dimension", "column_name": "Column"})
st.caption("Select a row to see all of that record's findings and its current values in the CRM."
           + ("" if searchable else " Personal data (emails, phones, names, streets) is masked (•••) on the records "
              "your role does not grant you."))

selected = event.selection.rows if event is not None else []
if not selected:
    st.stop()
rec = rows.iloc[selected[0]]
entity_sel, key = str(rec.entity), str(rec.record_key)
st.divider()
st.subheader(f"{entity_sel.capitalize()} {key}")
score = queries.record_score(url, run_id, entity_sel, key)
if score:
    st.markdown(f"Record score **{logic.fmt_score(score['score'])}** · fails **{score['failed_checks']}** check(s) · "
                f"owner **{people.label(score.get('owner'), names) if score.get('owner') else 'none'}**")
left, right = st.columns([3, 2])
with left:
    st.markdown("**All findings of this record**")
    allf = privacy.findings(person, queries.record_findings(url, run_id, entity_sel, key), entity_sel, rec.owner)
    st.dataframe(allf[["dimension", "check_id", "field", "value", "reason", "suggestion", "severity"]],
                 hide_index=True, width="stretch",
                 column_config=logic.headers(allf.columns, value="Value seen", suggestion="Suggested fix"))
with right:
    st.markdown("**Current values in the CRM** (read-only)")
    if entity_sel not in ctx.cfg.entities:
        st.info(f"`{entity_sel}` is no longer mapped in the config, so its values cannot be read.")
    else:
        try:
            current = queries.source_records(ctx.cfg, entity_sel, (key,))
        except Exception as exc:  # the source may be down or moved: explain, keep the page
            st.warning(f"The CRM source cannot be read right now, so current values are not shown ({exc}).")
        else:
            if current.empty:
                st.info("This record is no longer in the CRM (deleted, or filtered out by the config).")
            else:
                values = current.iloc[0]
                flagged = set(allf.field.dropna())
                table = pd.DataFrame({"field": values.index, "value": [logic.fmt_value(v) for v in values.to_numpy()]})
                table["flagged"] = table.field.str.split(":").str[0].isin(flagged).map({True: "⚠️", False: ""})
                table = privacy.record_values(person, entity_sel, rec.owner, table)
                st.dataframe(table, hide_index=True, width="stretch",
                             column_config={**logic.headers(table.columns),
                                            "flagged": st.column_config.TextColumn("", width="small")})
