"""Heartbeats: one row per scheduler, rewritten at every beat, read by alerts and the dashboard."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from connectors.history import schema
from connectors.history.part import StorePart, dumps


@dataclass(frozen=True)
class Heartbeat:
    """A scheduler's beat: who beat, for which source, when (naive UTC), and its next runs.

    `next_runs` maps a schedule name to the ISO time of its next run; empty after a clean stop.
    """

    scheduler_id: str
    source_name: str
    beat_at: datetime
    next_runs: dict[str, str]


class Heartbeats(StorePart):
    """Writes a scheduler's beats and reads the newest one of a source."""

    def beat(self, scheduler_id: str, source_name: str, beat_at: datetime, next_runs: dict[str, str]) -> None:
        """Write the scheduler's row (`beat_at` naive UTC): updated, or inserted at its first beat."""
        beats = schema.heartbeats
        values = {"source_name": source_name, "beat_at": beat_at, "next_runs": dumps(next_runs)}
        with self.engine.begin() as conn:
            res = conn.execute(beats.update().where(beats.c.scheduler_id == scheduler_id).values(**values))
            if not res.rowcount:
                conn.execute(beats.insert().values(scheduler_id=scheduler_id, **values))

    def newest(self, source_name: str) -> Heartbeat | None:
        """The newest beat of any scheduler of the source, if one has beaten."""
        beats = schema.heartbeats
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(beats).where(beats.c.source_name == source_name)
                               .order_by(beats.c.beat_at.desc()).limit(1)).first()
        if row is None:
            return None
        try:
            next_runs = json.loads(row.next_runs or "{}")
        except ValueError:
            next_runs = {}
        return Heartbeat(row.scheduler_id, row.source_name, row.beat_at, next_runs)

    def list(self, source_name: str | None = None) -> pd.DataFrame:
        """Every scheduler's row as stored (`next_runs` as JSON text), by scheduler id."""
        beats = schema.heartbeats
        q = sa.select(beats).order_by(beats.c.scheduler_id)
        if source_name:
            q = q.where(beats.c.source_name == source_name)
        return self._frame(q)
