"""The fuzzy duplicate check: the `checks.dedupe` pipeline plugged into the registry.

Its clusters (tier, score, survivor, merge plan, members) are stored with the run; a steward's
decision on a cluster ("not_duplicate", "confirmed", kept in the history) is passed to the
pipeline, so a dismissed cluster whose members are unchanged is not reported again.
"""

from __future__ import annotations

from typing import Annotated

import pandas as pd

from checks.base import Check, Outcome, failures, register
from checks.dedupe import DedupeSettings
from checks.dimensions.duplication import not_duplicates
from checks.values import as_keys, text, to_datetime
from connectors.mapping import KEY

PERSON_FIELDS = ("first_name", "last_name", "email", "phone", "street", "city", "state", "postal_code", "country",
                 "created_at", "modified_at")
ACCOUNT_FIELDS = ("name", "website", "phone", "street", "city", "state", "postal_code", "country", "created_at",
                  "modified_at")
# Characters of a value the pipeline compares: no name, address or email is longer, and string
# similarity on a megabyte of text takes seconds a pair, so one such value would stall the run.
LONGEST_VALUE = 500


def _compared_text(series: pd.Series) -> pd.Series:
    """A column as text for the pipeline, each value cut to `LONGEST_VALUE` characters."""
    values = text(series)
    long = values.str.len() > LONGEST_VALUE
    return values.where(~long, values.str.slice(0, LONGEST_VALUE)) if long.any() else values


def dedupe_records(frame: pd.DataFrame, ctx) -> pd.DataFrame:
    """The pipeline's input: `key` and canonical columns (first two phone columns as phone, mobile)."""
    records = pd.DataFrame({"key": frame[KEY].astype(object)})
    names = ACCOUNT_FIELDS if ctx.entity == "account" else PERSON_FIELDS
    for field in names:
        cols = ctx.cols(field)
        if not cols:
            continue
        if field == "phone":
            for target, fc in zip(("phone", "mobile"), cols, strict=False):
                records[target] = _compared_text(frame[fc.label])
        elif field.endswith("_at"):
            records[field] = to_datetime(frame[cols[0].label])
        else:
            records[field] = _compared_text(frame[cols[0].label])
    if ctx.entity == "lead" and ctx.cols("company"):
        records["company"] = _compared_text(frame[ctx.cols("company")[0].label])
    if ctx.entity == "contact" and ctx.cols("account_id"):
        # Same account, same company: the account key stands in for the company name.
        records["company"] = as_keys(frame[ctx.cols("account_id")[0].label])
    return records


@register
class FuzzyDuplicates(Check):
    """Likely duplicates that exact keys miss: typos, nicknames, swapped names, reformatted phones.

    Normalise → block → compare → Fellegi–Sunter scores learned by EM → clusters with a suggested
    survivor and a field-by-field merge plan (see `checks.dedupe`). Fails when: a record belongs to
    a cluster and is not its suggested survivor. Clusters a steward marked "not a duplicate" are not
    reported while their members are unchanged. Example: `Bob Smith` and `Robert Smith` at the
    same account, same postal code.
    """

    id = "duplication.fuzzy"
    dimension = "duplication"
    entities = ("contact", "lead", "account")
    fields = ("first_name", "last_name", "name", "email", "phone")
    any_field = True
    scope = "entity"
    severity = "high"
    # Its parameters are the dedupe pipeline's settings, with their types and bounds.
    params = {name: Annotated[info.annotation, info] for name, info in DedupeSettings.model_fields.items()}
    extra_fields = ("company", "account_id", "street", "city", "state", "postal_code", "country", "website",
                    "created_at", "modified_at")

    def applies_to(self, entity, mapped):  # noqa: D102
        mapped = set(mapped)
        need = {"name"} if entity == "account" else {"last_name"}
        return entity in self.entities and need <= mapped

    def evaluate(self, frame, ctx):  # noqa: D102
        from checks.dedupe import find_duplicates


        decisions = ctx.shared.get("decisions", {}).get(ctx.entity, {})
        settings = DedupeSettings(**{k: v for k, v in ctx.params.items() if not k.startswith("_")})
        result = find_duplicates(dedupe_records(frame, ctx), ctx.entity, settings, decisions, not_duplicates(ctx))
        members = result.members.merge(result.clusters[["cluster_id", "tier", "score", "survivor_key"]],
                                       on="cluster_id")
        redundant = members[~members.is_survivor.astype(bool)].set_index("key")
        keys = frame[KEY].astype(object)
        mask = keys.isin(redundant.index)
        picked = keys[mask]  # reasons for the redundant records only
        survivor = picked.map(redundant.survivor_key).astype(object)
        tier = picked.map(redundant.tier).astype(object)
        score = picked.map(redundant.score).astype(float).round(4).astype(str).astype(object)
        reason = "likely duplicate of record " + survivor + " (" + tier + ", match " + score + ")"
        out = Outcome(len(frame), failures(frame, mask, None, None, reason, "merge into " + survivor))
        clusters = result.clusters.assign(entity=ctx.entity)
        cluster_members = result.members.rename(columns={"key": "record_key"}).assign(entity=ctx.entity)
        out.clusters = (clusters, cluster_members)
        out.metrics = {"clusters": len(clusters), "dismissed": len(result.dismissed),
                       "candidate_pairs": result.stats.get("candidate_pairs")}
        return out
