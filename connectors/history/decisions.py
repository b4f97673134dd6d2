"""Steward decisions on duplicate clusters: one per source and cluster, respected by later runs.

A decision keeps the cluster's members as they were when it was made. "Not a duplicate" then holds
for every pair of them, in every duplicate check (exact email, phone and name, fuzzy) and in every
merge package, even when the cluster later gains a member and its id changes. A decision can be
undone; the audit log keeps who decided and who undid.
"""

from __future__ import annotations

import json
from itertools import combinations

import pandas as pd
import sqlalchemy as sa

from connectors.errors import HistoryError
from connectors.history import schema
from connectors.history.part import StorePart, utcnow

DECISIONS = ("not_duplicate", "confirmed")


def pair(a: str, b: str) -> tuple[str, str]:
    """Two record keys as one unordered pair (the smaller first)."""
    return (a, b) if a <= b else (b, a)


class Decisions(StorePart):
    """Records and reads what stewards decided about duplicate clusters."""

    def decide(self, source_name: str, cluster_id: str, entity: str, decision: str, decided_by: str | None = None,
               note: str | None = None, member_keys: list[str] | None = None) -> None:
        """Record (or replace) a steward's decision on a cluster: not_duplicate or confirmed.

        `member_keys` default to the cluster's members in the newest run that found it.
        """
        if decision not in DECISIONS:
            raise HistoryError(f"decision: {decision!r} must be not_duplicate or confirmed")
        members = [str(k) for k in member_keys] if member_keys is not None else self._members(source_name, cluster_id)
        decisions = schema.cluster_decisions
        with self.engine.begin() as conn:
            conn.execute(decisions.delete().where(decisions.c.source_name == source_name,
                                                  decisions.c.cluster_id == cluster_id))
            conn.execute(decisions.insert().values(source_name=source_name, cluster_id=cluster_id, entity=entity,
                                                   decision=decision, decided_at=utcnow(), decided_by=decided_by,
                                                   note=note, member_keys=json.dumps(sorted(members))))

    def undo(self, source_name: str, cluster_id: str) -> bool:
        """Take a decision back; whether there was one. The next run judges the cluster afresh."""
        decisions = schema.cluster_decisions
        with self.engine.begin() as conn:
            gone = conn.execute(decisions.delete().where(decisions.c.source_name == source_name,
                                                         decisions.c.cluster_id == cluster_id))
        return bool(gone.rowcount)

    def _members(self, source_name: str, cluster_id: str) -> list[str]:
        """The cluster's members in the newest run of the source that found it."""
        members, runs = schema.cluster_members, schema.runs
        newest = (sa.select(sa.func.max(members.c.run_id)).join(runs, runs.c.id == members.c.run_id)
                  .where(members.c.cluster_id == cluster_id, runs.c.source_name == source_name).scalar_subquery())
        frame = self._frame(sa.select(members.c.record_key)
                            .where(members.c.cluster_id == cluster_id, members.c.run_id == newest))
        return sorted(str(k) for k in frame.record_key)

    def list(self, source_name: str) -> pd.DataFrame:
        """Steward decisions on clusters of the source, newest first, with their members as a list."""
        decisions = schema.cluster_decisions
        frame = self._frame(sa.select(decisions).where(decisions.c.source_name == source_name)
                            .order_by(decisions.c.decided_at.desc()))
        frame["member_keys"] = [json.loads(v) if isinstance(v, str) else [] for v in frame.member_keys]
        return frame

    def as_mapping(self, source_name: str) -> dict[str, dict[str, str]]:
        """Entity → {cluster id: decision}, for the duplicate pipeline."""
        decisions = schema.cluster_decisions
        frame = self._frame(sa.select(decisions.c.entity, decisions.c.cluster_id, decisions.c.decision)
                            .where(decisions.c.source_name == source_name))
        out: dict[str, dict[str, str]] = {}
        for row in frame.itertuples():
            out.setdefault(row.entity, {})[row.cluster_id] = row.decision
        return out

    def not_duplicate_pairs(self, source_name: str) -> dict[str, frozenset[tuple[str, str]]]:
        """Entity → the record pairs stewards said are not duplicates (every pair of a dismissed cluster)."""
        decisions = schema.cluster_decisions
        frame = self._frame(sa.select(decisions.c.entity, decisions.c.member_keys)
                            .where(decisions.c.source_name == source_name, decisions.c.decision == "not_duplicate"))
        out: dict[str, set[tuple[str, str]]] = {}
        for entity, keys in zip(frame.entity, frame.member_keys, strict=True):
            members = json.loads(keys) if isinstance(keys, str) else []
            out.setdefault(entity, set()).update(pair(a, b) for a, b in combinations(sorted(set(members)), 2))
        return {entity: frozenset(pairs) for entity, pairs in out.items()}
