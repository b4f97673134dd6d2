"""Steward decisions on duplicate clusters: one per source and cluster, respected by later runs."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from connectors.errors import HistoryError
from connectors.history import schema
from connectors.history.part import StorePart, utcnow

DECISIONS = ("not_duplicate", "confirmed")


class Decisions(StorePart):
    """Records and reads what stewards decided about duplicate clusters."""

    def decide(self, source_name: str, cluster_id: str, entity: str, decision: str, decided_by: str | None = None,
               note: str | None = None) -> None:
        """Record (or replace) a steward's decision on a cluster: not_duplicate or confirmed."""
        if decision not in DECISIONS:
            raise HistoryError(f"decision: {decision!r} must be not_duplicate or confirmed")
        decisions = schema.cluster_decisions
        with self.engine.begin() as conn:
            conn.execute(decisions.delete().where(decisions.c.source_name == source_name,
                                                  decisions.c.cluster_id == cluster_id))
            conn.execute(decisions.insert().values(source_name=source_name, cluster_id=cluster_id, entity=entity,
                                                   decision=decision, decided_at=utcnow(), decided_by=decided_by,
                                                   note=note))

    def list(self, source_name: str) -> pd.DataFrame:
        """Steward decisions on clusters of the source."""
        decisions = schema.cluster_decisions
        return self._frame(sa.select(decisions).where(decisions.c.source_name == source_name))

    def as_mapping(self, source_name: str) -> dict[str, dict[str, str]]:
        """Entity → {cluster id: decision}, for the duplicate pipeline."""
        decisions = schema.cluster_decisions
        frame = self._frame(sa.select(decisions.c.entity, decisions.c.cluster_id, decisions.c.decision)
                            .where(decisions.c.source_name == source_name))
        out: dict[str, dict[str, str]] = {}
        for row in frame.itertuples():
            out.setdefault(row.entity, {})[row.cluster_id] = row.decision
        return out
