"""Fix package: choose the findings to fix, preview what the package would change, download it as one zip.

The package is made by `checks.app.fix_package.make_package`, the code path of `cleancrm fixes`:
it reads the records from the CRM again (read-only), so it is made only when the steward presses
Preview, and the last preview is kept for this browser session. Its files carry the records'
current values unmasked, so they are offered only to people who may export and see those records
unmasked; the others see the counts.
"""

from __future__ import annotations

import functools
import io
import re

import pandas as pd
import streamlit as st

from checks.app.export import starts_formula
from checks.app.fix_package import FORMATS, keep_package, make_package
from checks.engine.plan import plan
from checks.fixes.proposals import DEFAULT_MIN_CONFIDENCE, is_fixer
from connectors.errors import CleanCRMError
from dashboard import access, context, downloads, logic, privacy, queries

STATE = "fix_preview"
SAMPLE = 20  # changes shown per destination; reasons.csv in the package has them all
FORMAT_LABELS = {"salesforce": "Salesforce (Data Loader)", "hubspot": "HubSpot import", "csv": "CSV (any import tool)",
                 "sql": "SQL (UPDATE scripts for a DBA)"}
# Whitespace a fix removes or replaces is invisible in a table: these marks show where it is, as a
# word processor's formatting marks do.
_MARKS = {" ": "·", "\t": "→", "\n": "↵", "\r": "↵"}
_SPECIAL_SPACE = re.compile(r"[^\S \t\n\r]")  # no-break, thin, ideographic … spaces
_EDGE_OR_RUN = re.compile(r"^\s+|\s+$|\s{2,}|[\t\n\r]")


def fixer_checks(cfg) -> set[str]:
    """The ids of the checks whose suggestions are values a package may write (the others give advice)."""
    return {p.check.id for p in plan(cfg) if is_fixer(p)}


def grant_filters(person) -> dict:
    """The worklist filters that keep a package to the records `person` sees unmasked (none for full access)."""
    if access.sees_all_unmasked(person):
        return {}
    return {"entity": sorted(person.entities) or None, "owner": sorted(person.owners) or None}


def shown_value(value):
    """A value as the preview shows it: as read from the CRM, with invisible whitespace marked; None when empty."""
    if not isinstance(value, str) or value == "":
        return None
    # reasons.csv is a file for spreadsheets: a value that would start a formula got a leading `'`
    # there; the preview shows the value itself.
    if value.startswith("'") and starts_formula(value[1:]):
        value = value[1:]
    value = _SPECIAL_SPACE.sub("°", value)
    return _EDGE_OR_RUN.sub(lambda m: "".join(_MARKS.get(c, c) for c in m.group()), value)


def one_line(exc: Exception) -> str:
    """An error's first line, with how many more problems it lists."""
    lines = [line for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
    more = len(lines) - 1
    return lines[0] + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


def changes(reasons: pd.DataFrame, destination: str, person, owners: dict) -> tuple[pd.DataFrame, int]:
    """The first changes of reasons.csv going to `destination` (apply or review), shaped and masked; and their count."""
    rows = reasons[reasons.destination == destination]
    head = rows.head(SAMPLE).copy()
    head["owner"] = [owners.get((e, r)) for e, r in zip(head.entity, head.record_id, strict=True)]
    for column in ("current_value", "proposed_value"):
        head[column] = head[column].map(shown_value)
    head["confidence"] = pd.to_numeric(head.confidence, errors="coerce")
    # The same masking rule as every page, should a record outside the person's grants be here.
    named = {"current_value": "value", "proposed_value": "suggestion"}
    head = privacy.findings(person, head.rename(columns=named)).rename(columns={v: k for k, v in named.items()})
    why = ["review_reason"] if destination == "review" else []  # what a reviewer reads first
    columns = ["entity", "record_id", "field", "column", "current_value", "proposed_value", *why, "reasons",
               "confidence", "checks"]
    return head[columns], len(rows)


CHANGE_COLUMNS = {
    "entity": "Entity", "record_id": "Record", "field": "Field", "column": "Column",
    "current_value": st.column_config.TextColumn("Current value in the CRM", help="Read from the CRM when the "
                                                 "package was made"),
    "proposed_value": "Proposed value", "reasons": "Reason",
    "confidence": st.column_config.NumberColumn("Confidence", format="%.2f"), "checks": "Checks",
    "review_reason": st.column_config.TextColumn("Why review", width="large"),
}
OUTCOME_COLUMNS = {
    "check_id": "Check", "entity": "Entity", "records": "Records", "apply": "Apply", "review": "Review",
    "fixed since the run": st.column_config.NumberColumn("Fixed since", help="The record passes the check now"),
    "no value to propose": st.column_config.NumberColumn("No fix", help="The check found no value to propose"),
    "advice only": st.column_config.NumberColumn("Advice only", help="The check's suggestion is for a person"),
    "applicable share": st.column_config.NumberColumn("Share to apply", format="percent"),
}

ctx = context.get()
st.title("Fix package")
run_id = context.require_run(ctx)
url, person = ctx.url, ctx.person
st.caption("Choose the findings to fix and press **Preview**: cleancrm reads their records from the CRM again "
           "(read-only) and proposes the values to write. The package holds import files for the CRM's own import "
           "tool, the rollback files that undo them, the changes left for review, and the reasons for each change.")

may_download = access.may(person, "export")
# A package carries current values unmasked: someone who downloads it gets only the records they see unmasked.
grants = grant_filters(person) if may_download else {}
base = queries.worklist(url, run_id, grants)
if base.empty:
    if grants:
        st.info(f"None of the records your role grants you has a finding in run {ctx.label(run_id)}.")
    else:
        st.success(f"Nothing to fix in run {ctx.label(run_id)}: every check passed.")
    st.stop()

# -- choices ------------------------------------------------------------------------------------
try:
    fixers = fixer_checks(ctx.cfg)
except CleanCRMError as exc:  # a check's parameters the config gets wrong: the runs fail on it too
    st.error(one_line(exc))
    st.stop()
records = base.drop_duplicates(["check_id", "entity", "record_id"]).groupby("check_id").size()
options = sorted(records.index, key=lambda c: (c not in fixers, c))
c1, c2, c3 = st.columns([2, 1, 1])
checks = c1.multiselect(
    "Checks", options, key="fix_checks", placeholder="All checks",
    format_func=lambda c: f"{c} · {'proposes values' if c in fixers else 'advice only'} · "
                          f"{logic.fmt_count(records[c])} records",
    help="Checks that propose values come first; the findings of the others (merge, follow up) are advice for a "
         "person: the package counts them but writes nothing for them.")
pool = base[base.check_id.isin(checks)] if checks else base
entities = c2.multiselect("Entities", sorted(pool.entity.unique()), key="fix_entities", placeholder="All entities")
owner_options = queries.owners(url, run_id)
if grants.get("owner"):
    owner_options = [o for o in owner_options if o in set(grants["owner"])]
owners = c3.multiselect("Owners", owner_options, key="fix_owners", placeholder="All owners")
c4, c5, _ = st.columns([1, 1, 2])
min_confidence = c4.slider("Minimum confidence", 0.0, 1.0, DEFAULT_MIN_CONFIDENCE, 0.05, key="fix_confidence",
                           help="Fixes at least this sure go into the apply file; the others into the review file.")
formats = list(FORMATS)
fmt = c5.selectbox("Format", formats, index=formats.index(ctx.cfg.preset if ctx.cfg.preset in FORMATS else "csv"),
                   key="fix_format", format_func=FORMAT_LABELS.get)
st.caption(f"{FORMAT_LABELS[fmt]}: {FORMATS[fmt].how_to_apply}")
advice = [c for c in options if c not in fixers]
if checks and not set(checks) & fixers:
    st.info("None of the chosen checks proposes values: the package would only count their findings. Add a check "
            "marked *proposes values* to get changes to apply.")
elif advice and not checks:
    st.caption(f"{len(options) - len(advice)} of the {len(options)} checks with findings propose values.")
if grants:
    granted = [f"entities {', '.join(grants['entity'])}" if grants.get("entity") else "",
               f"owners {', '.join(grants['owner'])}" if grants.get("owner") else ""]
    st.caption(f"Your role grants you the records of {' and '.join(g for g in granted if g)}: the package is made "
               "from those records only, because it carries their current values unmasked.")

filters = {"check": checks or None, "entity": entities or grants.get("entity"),
           "owner": owners or (owner_options if grants.get("owner") else None)}
key = (run_id, tuple(checks), tuple(entities), tuple(owners), float(min_confidence), fmt)
made_for = (person.name, may_download)
previous = st.session_state.get(STATE)
if previous is not None and previous["for"] != made_for:
    # Made for someone else in this browser (signed out since): never shown, never offered.
    st.session_state.pop(STATE)
    previous = None

if st.button("Preview", type="primary", icon=":material/preview:", key="fix_preview_button",
             help="Reads the chosen findings' records from the CRM (read-only) and makes the package."):
    st.session_state.pop(STATE, None)
    try:
        with st.spinner("Reading the records from the CRM and proposing fixes …"):
            package = make_package(ctx.cfg, queries.store(url), run_id, fmt, created_by=person.name,
                                   min_confidence=float(min_confidence),
                                   audit={"via": "dashboard", **({} if may_download else {"counts_only": True})},
                                   keep=False, **filters)
    except CleanCRMError as exc:
        st.error(one_line(exc))
    except Exception as exc:  # the CRM may be down or moved: say so in one line and keep the page
        st.error(f"The CRM source cannot be read right now: {one_line(exc)}")
    else:
        preview = {"key": key, "for": made_for, "manifest": package.manifest, "outcomes": package.outcomes}
        if may_download:
            reasons = pd.read_csv(io.BytesIO(package.files["reasons.csv"]), encoding="utf-8-sig", dtype=str,
                                  keep_default_na=False)
            record_owners = {(str(r.entity), str(r.record_id)): privacy.owner_text(r.owner)
                             for r in base[["entity", "record_id", "owner"]].drop_duplicates().itertuples()}
            preview["apply"] = changes(reasons, "apply", person, record_owners)
            preview["review"] = changes(reasons, "review", person, record_owners)
            preview["zip"] = package.zip_bytes()
            preview["package"] = package  # kept in the history when it is downloaded, not before
        st.session_state[STATE] = preview
        previous = preview

if previous is None:
    st.stop()
if previous["key"] != key:
    st.info("The choices changed since the last preview: press **Preview** to see the package for them.")
    st.stop()

# -- the preview --------------------------------------------------------------------------------
manifest, outcomes = previous["manifest"], previous["outcomes"]
ents = manifest["entities"]
st.divider()
st.caption(f"Package `{manifest['package_id']}` · {FORMAT_LABELS[manifest['format']]} · run "
           f"{ctx.label(run_id)} · minimum confidence {manifest['min_confidence']:.2f} · current values read "
           f"{logic.fmt_when(manifest['created_at'])}")
if manifest.get("config_changed_since_run"):
    st.warning("The configuration has changed since this run: the package judged the records with the "
               "configuration as it is now, so its counts can differ from the run's findings. A new run brings "
               "them together.")
m1, m2, m3, m4 = st.columns(4)
m1.metric("Records to update", logic.fmt_count(sum(e["apply_records"] for e in ents.values())), border=True)
m2.metric("Values to change", logic.fmt_count(sum(e["apply_changes"] for e in ents.values())), border=True)
m3.metric("Changes for review", logic.fmt_count(sum(e["review_changes"] for e in ents.values())), border=True)
m4.metric("Findings without a fix", logic.fmt_count(int(outcomes["no value to propose"].sum()
                                                        + outcomes["advice only"].sum())), border=True,
          help="No value to propose, or the check's suggestion is advice for a person.")

if may_download:
    downloads.offer(ctx, "Download fix package (zip)", previous["zip"], f"{manifest['package_id']}.zip",
                    "application/zip", key="fix_zip", what="fix package",
                    records=sum(e["apply_records"] for e in ents.values()),
                    detail={"package": manifest["package_id"], "run": run_id, "format": manifest["format"],
                            "min_confidence": manifest["min_confidence"], "filters": manifest["filters"]},
                    then=functools.partial(keep_package, queries.store(url), ctx.source, previous["package"],
                                           person.name),
                    icon=":material/download:", type="primary")
else:
    st.info(access.refusal(person, "export") + " A fix package carries the records' current values from the CRM "
            "unmasked, so this page shows you its counts only.", icon=":material/lock:")

st.subheader("By check")
table = outcomes.assign(_advice=outcomes["advice only"] == outcomes.records)
table = table.sort_values(["_advice", "apply", "check_id", "entity"], ascending=[True, False, True, True])
st.dataframe(table.drop(columns="_advice"), hide_index=True, width="stretch", column_config=OUTCOME_COLUMNS,
             height=min(38 + 35 * len(table), 600))
st.subheader("By entity")
by_entity = pd.DataFrame([{"entity": name, "table": e["table"], "apply_records": e["apply_records"],
                           "apply_changes": e["apply_changes"], "review_changes": e["review_changes"],
                           "files": ", ".join(e["files"]) or "none"} for name, e in ents.items()])
st.dataframe(by_entity, hide_index=True, width="stretch", column_config={
    "entity": "Entity", "table": "Table", "apply_records": "Records to update", "apply_changes": "Values to change",
    "review_changes": "Changes for review", "files": st.column_config.TextColumn("Files", width="large")})

if not may_download:
    st.stop()
for destination, title in (("apply", "Changes to apply"), ("review", "Changes for review")):
    rows, total = previous[destination]
    st.subheader(title)
    if not total:
        st.caption("None." if destination == "review" else "None: no chosen finding got a value sure enough to apply.")
        continue
    st.dataframe(rows, hide_index=True, width="stretch", column_config=CHANGE_COLUMNS,
                 height=38 + 35 * len(rows))
    st.caption((f"First {len(rows)} of {logic.fmt_count(total)} changes; " if total > len(rows) else "")
               + "reasons.csv in the package has every change. Where spaces stand out (at either end, or several "
               "in a row), · marks a space, ° a no-break space, → a tab and ↵ a line break.")
