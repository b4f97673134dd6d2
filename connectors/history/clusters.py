"""Duplicate clusters: the clusters of a run, their members, and the merge worklist with decisions."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from connectors.history import schema
from connectors.history.part import StorePart


class Clusters(StorePart):
    """Reads the duplicate clusters runs found."""

    def of_run(self, run_id: int) -> pd.DataFrame:
        """Duplicate clusters of a run, best score first."""
        clusters = schema.duplicate_clusters
        return self._frame(sa.select(clusters).where(clusters.c.run_id == run_id)
                           .order_by(clusters.c.score.desc(), clusters.c.cluster_id))

    def members(self, run_id: int, cluster_id: str) -> pd.DataFrame:
        """Members of one cluster, survivor first."""
        members = schema.cluster_members
        q = (sa.select(members).where(members.c.run_id == run_id, members.c.cluster_id == cluster_id)
             .order_by(members.c.is_survivor.desc(), members.c.record_key))
        return self._frame(q)

    def worklist(self, run_id: int) -> pd.DataFrame:
        """The merge worklist rows of a run: one per cluster member, survivor first, with the merge plan.

        A steward's decision on the cluster ('not_duplicate', 'confirmed') is shown beside it.
        """
        clusters, members = schema.duplicate_clusters, schema.cluster_members
        decisions, runs = schema.cluster_decisions, schema.runs
        q = (sa.select(clusters.c.cluster_id, clusters.c.entity, clusters.c.tier, clusters.c.score, clusters.c.size,
                       members.c.record_key.label("record_id"), members.c.is_survivor, members.c.match_score,
                       clusters.c.survivor_key, clusters.c.merge_plan, clusters.c.matched_on, decisions.c.decision)
             .join(members, (members.c.run_id == clusters.c.run_id) & (members.c.cluster_id == clusters.c.cluster_id))
             .join(runs, runs.c.id == clusters.c.run_id)
             .outerjoin(decisions, (decisions.c.cluster_id == clusters.c.cluster_id)
                        & (decisions.c.source_name == runs.c.source_name))
             .where(clusters.c.run_id == run_id)
             .order_by(clusters.c.score.desc(), clusters.c.cluster_id, members.c.is_survivor.desc(),
                       members.c.record_key))
        return self._frame(q)
