"""Completeness: required fields filled, people reachable, records filled in, owners assigned."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from pydantic import Field

from checks.base import Check, Outcome, failures, register
from checks.fields import email_view, filled_field, phone_view, shown, usable
from checks.settled import filled_text
from checks.values import is_missing
from connectors.source.predicates import All

ALL_ENTITIES = ("contact", "account", "lead", "opportunity", "user")


def missing_cases(frame: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """The failure cases (column, index) of the required columns: NULL, blank or a null token.

    pandera takes about half a second to import, so it is loaded by the first run that validates.
    """
    import pandera.pandas as pa

    filled = pa.Check(lambda s: ~is_missing(s), name="filled", error="blank or a null token")
    schema = pa.DataFrameSchema({label: pa.Column(nullable=False, checks=filled, required=True, coerce=False)
                                 for label in labels}, strict=False)
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return exc.failure_cases
    return pd.DataFrame(columns=["column", "index"])


@register
class RequiredFields(Check):
    """Each required field (config `entities.<e>.required`) is filled.

    Fails when: the value is NULL, blank, or a null token stored as data ('Unknown', '-', 'TBD').
    Validated with a pandera schema per entity (lazy, failure cases with their index).
    Example: a lead with company `NULL` or `Unknown`.
    """

    id = "completeness.required"
    advice = "fill in the field"
    dimension = "completeness"
    entities = ALL_ENTITIES
    fields = ()
    any_field = True
    severity = "high"

    def applies_to(self, entity, mapped):  # noqa: D102
        return entity in self.entities

    def needed_fields(self, mapped):  # noqa: D102
        return []  # the engine adds the entity's required fields

    def reported_fields(self, mapped, params):  # noqa: D102
        return list(params.get("_required", []))

    def read_fields(self, mapped, params):  # noqa: D102
        return [f for f in params.get("_required", []) if f in set(mapped)]

    def settled(self, ctx):  # noqa: D102
        cols = [fc for f in ctx.param("_required", []) for fc in ctx.cols(f)]
        return All(tuple(p for fc in cols for p in filled_text(fc.label))), len(cols)

    def evaluate(self, frame, ctx):  # noqa: D102
        required = ctx.param("_required", [])
        cols = [fc for f in required for fc in ctx.cols(f)]
        if not cols:
            return Outcome.empty()
        if frame.empty:  # every record settled by the database: nothing for the schema to see
            return Outcome(0, pd.DataFrame())
        cases = missing_cases(frame, [fc.label for fc in cols])
        if cases.empty:
            return Outcome(len(frame) * len(cols), pd.DataFrame())
        cases = cases[cases["index"].notna() & cases["column"].notna()]
        by_label = {fc.label: fc for fc in cols}
        parts = []
        for label, group in cases.groupby("column"):
            fc = by_label[label]
            mask = frame.index.isin(group["index"].astype(int))
            mask = pd.Series(mask, index=frame.index)
            reason = f"required {fc.field} is missing"
            parts.append(failures(frame, mask, fc, shown(frame, fc, mask), reason))
        return Outcome(len(frame) * len(cols), pd.concat(parts, ignore_index=True) if parts else pd.DataFrame())


@register
class Contactability(Check):
    """People with no usable way to reach them.

    Fails when: no valid, non-placeholder email and no usable (non-placeholder) phone in any phone
    column. Example: a contact with email NULL and phone NULL; or `test@test.com` and no phone.
    """

    id = "completeness.contactability"
    advice = "add an email address or a phone number"
    dimension = "completeness"
    entities = ("contact", "lead")
    fields = ("email", "phone")
    any_field = True
    severity = "high"
    extra_fields = ("country",)

    def evaluate(self, frame, ctx):  # noqa: D102
        reachable = pd.Series(False, index=frame.index)
        for fc in ctx.cols("email"):
            view = email_view(frame, fc)
            reachable |= view.syntax_ok & ~view.placeholder
        for fc in ctx.cols("phone"):
            view = phone_view(frame, fc, ctx)
            reachable |= view.present & ~view.placeholder
        fc = (ctx.cols("email") or ctx.cols("phone"))[0]
        return Outcome(len(frame), failures(frame, ~reachable, fc, None, "no usable email or phone"))


@register
class RecordCompleteness(Check):
    """Share of a record's mapped fields (canonical and custom) that are filled.

    Fails when: fewer than `min_percent` (default 50) % of the entity's mapped fields hold a value.
    The percentage of every record is also kept in the check's metrics (mean). Example: a contact
    with only a last name and a country filled out of 12 mapped fields.
    """

    id = "completeness.record"
    advice = "fill in the record's missing fields"
    dimension = "completeness"
    entities = ALL_ENTITIES
    fields = ()
    any_field = True
    severity = "low"
    params = {"min_percent": Annotated[float, Field(ge=0, le=100)]}

    def applies_to(self, entity, mapped):  # noqa: D102
        return entity in self.entities

    def needed_fields(self, mapped):  # noqa: D102
        return list(mapped)

    def evaluate(self, frame, ctx):  # noqa: D102
        fields = list(ctx.columns)
        if not fields:
            return Outcome.empty()
        filled = pd.DataFrame({f: filled_field(frame, ctx, f) for f in fields})
        percent = filled.mean(axis=1) * 100
        threshold = float(ctx.param("min_percent", 50))
        bad = percent < threshold
        reason = "only " + percent[bad].round(0).astype(int).astype(str) + "% of fields filled"  # failing rows only
        out = Outcome(len(frame), failures(frame, bad, None, percent.round(1), reason))
        out.metrics = {"sum_percent": float(percent.sum()), "sum_records": len(frame)}
        return out


@register
class ExpectedFields(Check):
    """Fields that should be filled, without being required (config `entities.<e>.expected`); fill rates.

    Fails when: an expected field is empty (NULL, blank or a null token), one low-severity finding
    per record and field, so "contacts without email" is a worklist. The fill rate of every mapped
    field is kept in the metrics (`sum_filled:<field>` of `sum_records`) whether expected or not,
    for its trend. Example: `expected: [phone]` and a contact with no phone.
    """

    id = "completeness.expected"
    advice = "fill in the field"
    dimension = "completeness"
    entities = ALL_ENTITIES
    fields = ()
    any_field = True
    severity = "low"

    def applies_to(self, entity, mapped):  # noqa: D102
        return entity in self.entities

    def needed_fields(self, mapped):  # noqa: D102
        return list(mapped)

    def reported_fields(self, mapped, params):  # noqa: D102
        mapped = set(mapped)
        return [f for f in params.get("_expected", []) if f in mapped]

    def evaluate(self, frame, ctx):  # noqa: D102
        filled = {f: filled_field(frame, ctx, f) for f in ctx.columns if ctx.cols(f)}
        expected = [f for f in ctx.param("_expected", []) if f in filled]
        parts = []
        for f in expected:
            fc = ctx.cols(f)[0]
            parts.append(Outcome(len(frame), failures(frame, ~filled[f], fc, None, f"expected {f} is missing")))
        out = Outcome.combine(parts) if parts else Outcome.empty()
        out.metrics = {f"sum_filled:{f}": int(mask.sum()) for f, mask in filled.items()}
        out.metrics["sum_records"] = len(frame)
        return out


@register
class OwnerMissing(Check):
    """Records nobody owns: nobody will fix or follow them up.

    Fails when: the owner field is empty. Example: a contact with owner_id NULL.
    """

    id = "completeness.owner_missing"
    advice = "assign an owner"
    dimension = "completeness"
    entities = ("contact", "account", "lead", "opportunity")
    fields = ("owner_id",)

    def evaluate(self, frame, ctx):  # noqa: D102
        fc = ctx.cols("owner_id")[0]
        missing = ~usable(frame, fc)
        return Outcome(len(frame), failures(frame, missing, fc, shown(frame, fc, missing), "no owner"))
