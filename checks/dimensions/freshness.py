"""Freshness: records not touched for too long, stale pipeline, bulk updates, table recency.

"Now" is the run's `as_of` (`cleancrm run --now`), never the wall clock, so runs are repeatable.
Table-wide figures (newest update, age distribution) come from one SQL aggregate per table.
"""

from __future__ import annotations

import pandas as pd
from pydantic import NonNegativeInt, PositiveInt

from checks.base import Check, Outcome, failures, register
from checks.fields import dates, shown, truthy
from checks.reference import OPEN_LEAD_STATUSES
from checks.values import text
from connectors.source.predicates import NotBefore

AGE_BUCKETS = ((30, "< 30 days"), (90, "30–90 days"), (365, "90 days–1 year"), (730, "1–2 years"))
OLDEST_BUCKET = "> 2 years"
RECORD_ENTITIES = ("contact", "account", "lead", "opportunity")


@register
class Staleness(Check):
    """Records not modified for `days` days (default 730; config `params.days`).

    Fails when: the last modification is older than the limit. The check's metrics hold the age
    distribution (share of records by age since last update), computed in SQL.
    Example: a contact last modified 2022-05-01, checked on 2026-11-23.
    """

    id = "freshness.staleness"
    dimension = "freshness"
    entities = RECORD_ENTITIES
    fields = ("modified_at",)
    params = {"days": NonNegativeInt}

    def settled(self, ctx):  # noqa: D102
        # Modified at or after now minus `days` days: an age of at most `days` whole days.
        bound = pd.Timestamp(ctx.now) - pd.Timedelta(days=int(ctx.param("days", 730)))
        return NotBefore(ctx.cols("modified_at")[0].label, bound.to_pydatetime()), 1

    def evaluate(self, frame, ctx):  # noqa: D102
        modified = dates(frame, ctx, "modified_at")
        days = int(ctx.param("days", 730))
        applicable = modified.notna()
        age = (pd.Timestamp(ctx.now) - modified).dt.days
        bad = applicable & (age > days)
        fc = ctx.cols("modified_at")[0]
        reason = "not modified for " + age[bad].astype(int).astype(str) + " days"  # failing rows only
        out = Outcome(int(applicable.sum()), failures(frame, bad, fc, shown(frame, fc, bad), reason,
                                                      "review or archive"))
        aggregates = ctx.shared.get("aggregates", {}).get(ctx.entity)
        if aggregates:
            out.metrics = {"age_buckets": aggregates["buckets"], "newest_update": aggregates["newest"],
                           "stale_days": days}
        return out


@register
class NewestUpdate(Check):
    """The newest modification in a table is recent: a sync or integration that stopped shows here.

    Fails when: no record of the entity was modified in the last `days` days (default 7).
    Applicable once per table. Example: the newest `LastModifiedDate` in Contact is 40 days old.
    """

    id = "freshness.newest_update"
    advice = "check that the CRM's sync or imports still run"
    dimension = "freshness"
    entities = RECORD_ENTITIES
    fields = ("modified_at",)
    scope = "entity"
    reads_records = False  # the newest update comes from the table's aggregate
    params = {"days": NonNegativeInt}

    def evaluate(self, frame, ctx):  # noqa: D102
        aggregates = ctx.shared.get("aggregates", {}).get(ctx.entity)
        if not aggregates or aggregates["newest"] is None:
            return Outcome.empty()
        newest = pd.Timestamp(aggregates["newest"])
        days = int(ctx.param("days", 7))
        age = (pd.Timestamp(ctx.now) - newest).days
        failing = pd.DataFrame(columns=["record_key", "field", "column_name", "value", "reason", "suggestion"])
        if age > days:
            failing.loc[0] = [f"(table {ctx.entity})", "modified_at", ctx.cols("modified_at")[0].column,
                              str(newest), f"newest update is {age} days old", "check the sync or integration"]
        return Outcome(1, failing, {"newest_update": str(newest), "age_days": age})


@register
class StalePipeline(Check):
    """Open deals whose close date has passed: the forecast counts them, nobody closes them.

    Fails when: the opportunity is not closed and its close date is before today.
    Example: stage `Negotiation`, close date three weeks ago.
    """

    id = "freshness.stale_pipeline"
    dimension = "freshness"
    entities = ("opportunity",)
    fields = ("close_date", "is_closed")

    def evaluate(self, frame, ctx):  # noqa: D102
        open_ = ~truthy(frame[ctx.cols("is_closed")[0].label])
        close = dates(frame, ctx, "close_date")
        applicable = open_ & close.notna()
        bad = applicable & (close < pd.Timestamp(ctx.now).normalize())
        fc = ctx.cols("close_date")[0]
        return Outcome(int(applicable.sum()), failures(frame, bad, fc, shown(frame, fc, bad),
                                                       "open deal past its close date", "update stage or close date"))


@register
class StaleLeads(Check):
    """Open leads nobody has touched for `days` days (default 30).

    Fails when: the lead's status is open (New, Working, Open …; config `params.open_statuses`),
    it is not converted, and it was last modified more than `days` days ago.
    Example: a `New` lead last modified 45 days ago.
    """

    id = "freshness.stale_leads"
    dimension = "freshness"
    entities = ("lead",)
    fields = ("status", "modified_at")
    extra_fields = ("converted",)
    params = {"days": NonNegativeInt, "open_statuses": list[str]}

    def evaluate(self, frame, ctx):  # noqa: D102
        statuses = {s.lower() for s in ctx.param("open_statuses", OPEN_LEAD_STATUSES)}
        status = text(frame[ctx.cols("status")[0].label]).str.strip().str.lower()
        open_ = status.isin(statuses)
        if ctx.cols("converted"):
            open_ &= ~truthy(frame[ctx.cols("converted")[0].label])
        modified = dates(frame, ctx, "modified_at")
        days = int(ctx.param("days", 30))
        applicable = open_ & modified.notna()
        age = (pd.Timestamp(ctx.now) - modified).dt.days
        bad = applicable & (age > days)
        fc = ctx.cols("modified_at")[0]
        reason = "open lead untouched for " + age[bad].astype(int).astype(str) + " days"  # failing rows only
        return Outcome(int(applicable.sum()), failures(frame, bad, fc, shown(frame, fc, bad), reason,
                                                       "follow up or disqualify"))


@register
class MassUpdate(Check):
    """Bulk updates: many records sharing one exact modification time (an import or a script).

    Fails when: at least `min_rows` records (default 50) carry the same modification timestamp;
    their "last modified" no longer says when a person last touched them. Example: 4,000 contacts
    modified at 2026-11-13 02:00:00.
    """

    id = "freshness.mass_update"
    advice = "check the bulk update that touched these records at once"
    dimension = "freshness"
    entities = RECORD_ENTITIES
    fields = ("modified_at",)
    scope = "entity"
    severity = "low"
    params = {"min_rows": PositiveInt}

    def evaluate(self, frame, ctx):  # noqa: D102
        modified = dates(frame, ctx, "modified_at")
        counts = modified.map(modified.value_counts())
        min_rows = int(ctx.param("min_rows", 50))
        bad = modified.notna() & (counts >= min_rows)
        fc = ctx.cols("modified_at")[0]
        reason = "one of " + counts[bad].astype(int).astype(str) + " records modified at the same instant"
        return Outcome(int(modified.notna().sum()), failures(frame, bad, fc, shown(frame, fc, bad), reason))
