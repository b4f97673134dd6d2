"""Download buttons for people who may export, each click recorded in the audit log.

Streamlit cannot tell when the browser saves a file, so the export is recorded when the file is
handed out: `st.download_button`'s `on_click` callback runs on the click, before the rerun.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from dashboard import access, queries


def _record_export(url: str, source: str, actor: str, detail: dict, records: int | None, then=None) -> None:
    queries.audit(url, source, actor, "export", detail, records)
    if then is not None:
        then()


def offer(ctx, label: str, data, file_name: str, mime: str, key: str, what: str, records: int | None = None,
          detail: dict | None = None, then: Callable[[], None] | None = None, **button) -> bool:
    """A download button when the signed-in person may export (False, and no button, when not).

    `what` names the export in the audit log (worklist, impact, audit log); `detail` adds its filters;
    `then` runs after the download is recorded (a fix package is kept in the history then).
    """
    person = ctx.person
    if not access.may(person, "export"):
        return False
    entry = {"what": what, "file": file_name, **(detail or {})}
    st.download_button(label, data, file_name, mime, key=key, on_click=_record_export,
                       kwargs={"url": ctx.url, "source": ctx.source, "actor": person.name, "detail": entry,
                               "records": records, "then": then}, **button)
    return True
