"""Merge plans: a run's duplicate clusters as merges an admin can run, and the values to set on the master first.

The members of each cluster are read again from the CRM, read-only. The master is the cluster's
suggested survivor; the others are merged into it. Before the merge, the master takes, column by
column, the best value any member holds: it keeps its own when that is valid; when it has none, or
an email or phone that is not valid, it takes the valid value of the most recently modified
member that has one, and the plan says why. Columns whose value does not change on the master
are left out. Decided "not a duplicate" pairs never reach a plan: the run's clusters keep them
apart already.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from checks.config import Config
from checks.engine.keyed import read_by_keys
from checks.fixes.proposals import Change, EntityFixes
from checks.normalise import country_code, is_missing
from checks.phones import normalise_phone
from checks.values import email_ok, value_text
from connectors.mapping import KEY, EntityQuery, plain_columns
from connectors.source import Source

# Fields a merge never sets on the master: when records were made and changed, and flags derived from others.
NOT_MERGED = frozenset({"created_at", "modified_at", "is_won", "is_closed"})
DEFAULT_TIERS = ("exact", "likely", "confirmed")  # "review" clusters need a person before any merge


@dataclass
class MergePlan:
    """One cluster: the master, the records merged into it, and the values to set on the master first."""

    entity: str
    cluster_id: str
    tier: str
    matched_on: str | None
    score: float | None
    master: str
    others: list[str]
    sets: list[Change] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # members no longer live in the CRM


def _valid(field_name: str, value, country) -> bool:
    """Whether a member's value is one worth keeping: present, and for an email or a phone, valid."""
    if is_missing(value):
        return False
    text = value_text(value).strip()
    if field_name == "email":
        return email_ok(text)
    if field_name == "phone":
        region = country_code(value_text(country)) if not is_missing(country) else None
        return normalise_phone(text, region) is not None
    return True


def plan_merges(cfg: Config, source: Source, clusters: pd.DataFrame) -> list[MergePlan]:
    """Merge plans for the clusters of `clusters` (rows of the merge worklist: one per member)."""
    plans = []
    for entity, rows in clusters.groupby("entity", sort=True):
        if entity not in cfg.entities:
            continue
        plans += _EntityMerges(cfg, source, str(entity)).plan(rows)
    return plans


class _EntityMerges:
    def __init__(self, cfg: Config, source: Source, entity: str):
        self.entity, self.source = entity, source
        self.ent = cfg.entities[entity]
        self.query = EntityQuery(source, entity, self.ent)
        mapped = {**self.ent.fields, **self.ent.custom_fields}
        # Only columns of the entity's own table can be set on the master.
        self.fields = [f for f, m in mapped.items() if f not in NOT_MERGED and plain_columns(m)]

    def _read(self, keys: list[str]) -> tuple[pd.DataFrame, list]:
        wanted = sorted({*self.fields, *({"modified_at", "country"} & set(self.ent.mapped()))})
        frame, cols = read_by_keys(self.source, self.query, wanted, keys)
        return frame.set_index(KEY, drop=False), cols

    def plan(self, rows: pd.DataFrame) -> list[MergePlan]:
        records, cols = self._read(sorted({str(k) for k in rows.record_id}))
        modified = next((fc.label for fc in cols if fc.field == "modified_at"), None)
        country = next((fc.label for fc in cols if fc.field == "country"), None)
        writable = [fc for fc in cols if fc.field in self.fields]
        plans = []
        for cid, members in rows.groupby("cluster_id", sort=False):
            first = members.iloc[0]
            master = str(first.survivor_key)
            keys = [str(k) for k in members.record_id]
            live = [k for k in keys if k in records.index]
            plan = MergePlan(self.entity, str(cid), str(first.tier), first.get("matched_on"), first.get("score"),
                             master, [k for k in keys if k != master], missing=[k for k in keys if k not in live])
            if master in records.index:
                # The others by recency: the most recently modified member's value is the most current.
                others = [k for k in live if k != master]
                if modified:
                    others.sort(key=lambda k: pd.Timestamp(records.at[k, modified]) if not is_missing(
                        records.at[k, modified]) else pd.Timestamp.min, reverse=True)
                plan.sets = self._sets(records, master, others, writable, country)
            plans.append(plan)
        return plans

    def _sets(self, records: pd.DataFrame, master: str, others: list[str], writable, country) -> list[Change]:
        out = []
        for fc in writable:
            own = records.at[master, fc.label]
            region = records.at[master, country] if country else None
            if _valid(fc.field, own, region):
                continue
            donor = next((k for k in others if _valid(fc.field, records.at[k, fc.label],
                                                      records.at[k, country] if country else None)), None)
            if donor is None:
                continue
            value = records.at[donor, fc.label]
            why = (f"the master has no {fc.field}" if is_missing(own) else f"the master's {fc.field} is not valid") + \
                f"; from record {donor}, the most recently modified member with a valid one"
            if value_text(value) == value_text(own):
                continue
            out.append(Change(self.entity, master, fc.field, fc.column, own, value, [f"merge from {donor}"], [why]))
        return out


def as_entity_fixes(plans: list[MergePlan], tables: dict[str, tuple[str, str]]) -> list[EntityFixes]:
    """The master updates of the plans per entity, in the shape the fix package files are written from."""
    out = []
    for entity, (table, key) in tables.items():
        changes = [c for p in plans if p.entity == entity for c in p.sets]
        out.append(EntityFixes(entity, table, key, changes, pd.DataFrame(columns=["check_id", "record_key", "outcome"])))
    return out
