"""The audit log: every export, fix package, decision, run started from the dashboard and sign-in."""

from __future__ import annotations

import getpass

import pandas as pd
import sqlalchemy as sa

from connectors.history import schema
from connectors.history.part import StorePart, dumps, utcnow

ACTIONS = ("sign_in", "sign_in_failed", "sign_out", "export", "fix_package", "decision", "run", "annotation",
           "incident")


def cli_actor() -> str:
    """The actor of a command-line action: the operating-system user running it."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (containers)
        return "cli:unknown"


class Audit(StorePart):
    """Records who did what, when, on how many records; lists it for admins."""

    def record(self, source_name: str, actor: str, action: str, detail: dict | None = None,
               records: int | None = None) -> int:
        """Append one entry; `detail` is kept as JSON (filters, format, cluster, run)."""
        if action not in ACTIONS:
            raise ValueError(f"audit action {action!r}: use one of {', '.join(ACTIONS)}")
        with self.engine.begin() as conn:
            res = conn.execute(schema.audit_log.insert().values(
                source_name=source_name, at=utcnow(), actor=actor[:200], action=action,
                detail=dumps(detail or {}), records=records))
            return int(res.inserted_primary_key[0])

    def list(self, source_name: str, action: str | None = None, limit: int | None = None) -> pd.DataFrame:
        """Entries of a source, newest first."""
        t = schema.audit_log
        q = sa.select(t).where(t.c.source_name == source_name).order_by(t.c.at.desc(), t.c.id.desc())
        if action:
            q = q.where(t.c.action == action)
        if limit:
            q = q.limit(limit)
        return self._frame(q)
