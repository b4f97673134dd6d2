"""Links between pages: any number opens the records behind it, and the URL carries the filters.

A link is the Records page with query parameters (`records?run=14&check=accuracy.email_syntax&entity=contact`),
so a manager can send it and the person who opens it sees the same records. The page reads the
parameters into its filters when the URL changed since it last wrote it (a link was followed, or
typed), and writes its filters back to the URL on every rerun.
"""

from __future__ import annotations

import streamlit as st

RECORDS_PAGE = "app_pages/records.py"
# URL parameter → the Records page's widget key.
RECORD_FILTERS = {"dimension": "rec_dimension", "check": "rec_check", "entity": "rec_entity",
                  "field": "rec_field", "owner": "rec_owner", "severity": "rec_severity", "team": "rec_team"}
RUN_PARAM = "run"
_SEEN = "_links_url_seen"
_RUN_SEEN = "_links_run_seen"


def records_params(run_id: int | None, **filters) -> dict[str, str]:
    """The query parameters of a Records link: the run and the filters that are set."""
    unknown = set(filters) - set(RECORD_FILTERS)
    if unknown:
        raise ValueError(f"not a Records filter: {', '.join(sorted(unknown))}")
    params = {RUN_PARAM: str(int(run_id))} if run_id is not None else {}
    params.update({k: str(v) for k, v in filters.items() if v not in (None, "")})
    return params


def open_records(run_id: int | None, **filters) -> None:
    """Go to the Records page with these filters (ends this script run)."""
    st.switch_page(RECORDS_PAGE, query_params=records_params(run_id, **filters))


def records_link(label: str, run_id: int | None, help: str | None = None, **filters) -> None:
    """A link to the Records page with these filters."""
    st.page_link(RECORDS_PAGE, label=label, icon=":material/table_rows:", help=help,
                 query_params=records_params(run_id, **filters))


def _url() -> dict[str, str]:
    return {k: st.query_params.get(k) for k in st.query_params}


def take_run(run_ids: set[int], state_key: str) -> None:
    """Select the run a followed link names (once per link, so that the sidebar picker stays free)."""
    wanted = st.query_params.get(RUN_PARAM)
    if wanted is None or st.session_state.get(_RUN_SEEN) == wanted:
        return
    st.session_state[_RUN_SEEN] = wanted
    if wanted.isdigit() and int(wanted) in run_ids:
        st.session_state[state_key] = int(wanted)


def take_filters(filters: dict[str, str]) -> bool:
    """Copy a followed link's filters into the widgets' state; True when it did.

    `filters` maps URL parameter → widget key. A filter the link leaves out is cleared, as a link
    shows exactly what it names.
    """
    url = _url()
    if st.session_state.get(_SEEN) == url:
        return False
    st.session_state[_SEEN] = url
    for param, key in filters.items():
        st.session_state[key] = url.get(param)
    return True


def keep_valid(key: str, options) -> None:
    """Forget a widget's value that is not among its options (a stale link, another run)."""
    if st.session_state.get(key) is not None and st.session_state[key] not in list(options):
        st.session_state[key] = None


def write_filters(run_id: int | None, **filters) -> None:
    """Put the page's run and filters in the URL, so that it can be sent as a link."""
    params = records_params(run_id, **filters)
    if _url() != params:
        st.query_params.from_dict(params)
    st.session_state[_SEEN] = params
    st.session_state[_RUN_SEEN] = params.get(RUN_PARAM)


def picked_cell(event) -> tuple[int, str | None] | None:
    """The (row position, column) a click picked in a `st.dataframe` with cell and row selection."""
    if event is None:
        return None
    selection = event.selection
    if selection.cells:
        row, column = selection.cells[0]
        return int(row), column
    if selection.rows:
        return int(selection.rows[0]), None
    return None


def records_table(frame, key: str, run_id: int | None, filters, **table) -> None:
    """A `st.dataframe` whose click (a cell or a row) opens Records with `filters(row, column)`.

    `filters` gets the clicked row of `frame` (a Series) and the clicked column (None for a row)
    and returns the Records filters to set.
    """
    event = st.dataframe(frame, key=key, on_select="rerun", selection_mode=["single-cell", "single-row"],
                         hide_index=True, width="stretch", **table)
    cell = picked_cell(event)
    if cell is not None:
        open_records(run_id, **filters(frame.iloc[cell[0]], cell[1]))
