"""Annotations: interventions (a clean-up, an import) marked on trend charts and compared around."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from connectors.history import schema
from connectors.history.part import StorePart, utcnow


class Annotations(StorePart):
    """Records and lists the interventions on a source."""

    def add(self, source_name: str, name: str, date: datetime, scope: str | None = None,
            note: str | None = None) -> int:
        """Record an intervention (a clean-up, an import) to mark on trend charts."""
        with self.engine.begin() as conn:
            res = conn.execute(schema.annotations.insert().values(
                source_name=source_name, name=name, date=date, scope=scope, note=note, created_at=utcnow()))
            return int(res.inserted_primary_key[0])

    def list(self, source_name: str | None = None) -> pd.DataFrame:
        """Interventions, oldest first."""
        q = sa.select(schema.annotations).order_by(schema.annotations.c.date)
        if source_name:
            q = q.where(schema.annotations.c.source_name == source_name)
        return self._frame(q)
