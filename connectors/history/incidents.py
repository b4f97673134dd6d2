"""Incidents: a breached alert rule (or an anomaly) as an owned incident — open, acknowledged, resolved.

An incident is opened once per breach: while one is open or acknowledged for a rule, a new breach
of that rule adds a comment to it instead. Times to acknowledge and to resolve are computed from
the stored times, so nothing has to keep them in step.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from connectors.errors import HistoryError
from connectors.history import schema
from connectors.history.part import StorePart, utcnow

STATUSES = ("open", "acknowledged", "resolved")
SYSTEM = "cleancrm"  # the author of the comments the alerting writes


class Incidents(StorePart):
    """Opens incidents for breaches, moves them through their statuses, keeps their comments."""

    def open_for(self, source_name: str, rule: str, kind: str, scope: str | None, summary: str,
                 run_id: int | None, owner: str | None, at: datetime | None = None) -> tuple[int, bool]:
        """The incident of a breach of `rule`: (id, True) when newly opened, (id, False) when one was open."""
        t = schema.incidents
        at = at or utcnow()
        with self.engine.begin() as conn:
            current = conn.execute(sa.select(t.c.id).where(
                t.c.source_name == source_name, t.c.rule == rule, t.c.status != "resolved")
                .order_by(t.c.id.desc()).limit(1)).scalar()
            if current is not None:
                conn.execute(schema.incident_comments.insert().values(
                    incident=current, at=at, author=SYSTEM, text=f"Breached again: {summary}"[:4000]))
                return int(current), False
            res = conn.execute(t.insert().values(
                source_name=source_name, rule=rule, kind=kind, scope=scope, summary=summary[:4000], run_id=run_id,
                owner=owner, status="open", opened_at=at))
            return int(res.inserted_primary_key[0]), True

    def note_recovery(self, source_name: str, rule: str, detail: str, at: datetime | None = None) -> int | None:
        """Comment on the rule's unresolved incident that the rule recovered; its id (None when none)."""
        current = self.unresolved(source_name, rule)
        if current is not None:
            self.comment(current, SYSTEM, f"Recovered: {detail}", at)
        return current

    def unresolved(self, source_name: str, rule: str) -> int | None:
        """The open or acknowledged incident of a rule, if any."""
        t = schema.incidents
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(t.c.id).where(
                t.c.source_name == source_name, t.c.rule == rule, t.c.status != "resolved")
                .order_by(t.c.id.desc()).limit(1)).scalar()
        return None if found is None else int(found)

    def acknowledge(self, incident: int, by: str, at: datetime | None = None) -> None:
        """Mark an open incident acknowledged by `by` (a resolved one stays resolved)."""
        self._move(incident, "acknowledged", {"open"}, acknowledged_at=at or utcnow(), acknowledged_by=by[:200])

    def resolve(self, incident: int, by: str, reason: str, at: datetime | None = None) -> None:
        """Resolve an incident with the reason why; an incident never acknowledged is acknowledged then too."""
        if not reason.strip():
            raise HistoryError("an incident is resolved with a reason: say what was done or why it is no incident")
        at = at or utcnow()
        t = schema.incidents
        with self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.id == incident, t.c.acknowledged_at.is_(None)).values(
                acknowledged_at=at, acknowledged_by=by[:200]))
        self._move(incident, "resolved", {"open", "acknowledged"}, resolved_at=at, resolved_by=by[:200],
                   resolution=reason.strip()[:4000])

    def reopen(self, incident: int, by: str, at: datetime | None = None) -> None:
        """Open a resolved incident again (its resolution is kept in a comment)."""
        row = self.get(incident)
        self._move(incident, "open", {"resolved"}, resolved_at=None, resolved_by=None, resolution=None)
        self.comment(incident, by, f"Reopened (it had been resolved: {row['resolution']})", at)

    def assign(self, incident: int, owner: str, by: str) -> None:
        """Give the incident another owner, with a comment saying who did."""
        t = schema.incidents
        with self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.id == incident).values(owner=owner[:200]))
        self.comment(incident, by, f"Assigned to {owner}")

    def comment(self, incident: int, author: str, text: str, at: datetime | None = None) -> int:
        """Add a comment; its id."""
        if not text.strip():
            raise HistoryError("a comment needs text")
        with self.engine.begin() as conn:
            res = conn.execute(schema.incident_comments.insert().values(
                incident=incident, at=at or utcnow(), author=author[:200], text=text.strip()[:4000]))
            return int(res.inserted_primary_key[0])

    def _move(self, incident: int, status: str, allowed_from: set[str], **values) -> None:
        t = schema.incidents
        with self.engine.begin() as conn:
            now = conn.execute(sa.select(t.c.status).where(t.c.id == incident)).scalar()
            if now is None:
                raise HistoryError(f"incident {incident} does not exist")
            if now not in allowed_from:
                raise HistoryError(f"incident {incident} is {now}: it cannot become {status}")
            conn.execute(t.update().where(t.c.id == incident).values(status=status, **values))

    def get(self, incident: int) -> dict:
        """One incident as a dict (HistoryError when there is none)."""
        frame = self._frame(sa.select(schema.incidents).where(schema.incidents.c.id == incident))
        if frame.empty:
            raise HistoryError(f"incident {incident} does not exist")
        return frame.iloc[0].to_dict()

    def list(self, source_name: str, status: str | list[str] | None = None) -> pd.DataFrame:
        """Incidents of a source, newest first, with hours to acknowledge and to resolve."""
        t = schema.incidents
        q = sa.select(t).where(t.c.source_name == source_name).order_by(t.c.id.desc())
        if status:
            q = q.where(t.c.status.in_([status] if isinstance(status, str) else list(status)))
        frame = self._frame(q)
        for col in ("opened_at", "acknowledged_at", "resolved_at"):
            frame[col] = pd.to_datetime(frame[col])
        frame["hours_to_acknowledge"] = (frame.acknowledged_at - frame.opened_at).dt.total_seconds() / 3600
        frame["hours_to_resolve"] = (frame.resolved_at - frame.opened_at).dt.total_seconds() / 3600
        return frame

    def comments(self, incident: int) -> pd.DataFrame:
        """The comments of an incident, oldest first."""
        c = schema.incident_comments
        return self._frame(sa.select(c.c.at, c.c.author, c.c.text).where(c.c.incident == incident)
                           .order_by(c.c.at, c.c.id))
