"""Duplication: records sharing a normalised key, and leads that duplicate an existing contact.

These are exact passes on normalised keys; fuzzy duplicates (typos, nicknames, swapped names)
come from `checks.dedupe` and plug into the same registry.
"""

from __future__ import annotations

import pandas as pd

from checks import values as V
from checks.base import PEOPLE, Check, Outcome, failures, register
from checks.dedupe.normalise import normalise_phone
from checks.fields import countries, dates, email_view
from connectors.mapping import KEY


def _survivors(frame: pd.DataFrame, groups: pd.Series, created: pd.Series | None) -> pd.Series:
    """Per record, the key of its group's suggested survivor: the oldest record, then the lowest key."""
    order = pd.DataFrame({"g": groups, "k": frame[KEY].astype(str),
                          "c": created if created is not None else pd.NaT})
    order["num"] = pd.to_numeric(order.k, errors="coerce")
    order = order.sort_values(["g", "c", "num", "k"], na_position="last")
    first = order.groupby("g", sort=False)["k"].first()
    return groups.map(first)


def duplicate_outcome(frame: pd.DataFrame, key: pd.Series, fc, created, what: str,
                      applicable: pd.Series | None = None) -> Outcome:
    """Failures for every record that shares `key` with an older one, pointing at the survivor.

    `applicable` defaults to the records that have a key.
    """
    applicable = key.notna() if applicable is None else applicable
    dup = applicable & key.notna() & key.duplicated(keep=False)
    if not dup.any():
        return Outcome(int(applicable.sum()), failures(frame, dup, fc, None, ""))
    survivor = pd.Series(None, index=frame.index, dtype=object)
    survivor[dup] = _survivors(frame[dup], key[dup], created[dup] if created is not None else None)
    redundant = dup & (survivor != frame[KEY].astype(str))
    reason = f"same {what} as record " + survivor.fillna("")
    suggestion = "merge into " + survivor.fillna("")
    return Outcome(int(applicable.sum()), failures(frame, redundant, fc, key, reason, suggestion))


class _Exact(Check):
    dimension, scope, severity = "duplication", "entity", "high"


@register
class ExactEmail(_Exact):
    """Records of one entity sharing an email address once normalised.

    Normalised: lowercased, `+tags` dropped, googlemail → gmail; placeholder and role addresses
    are not used as keys. Fails when: the record shares its key with another record; every record
    but the suggested survivor (the oldest) fails.
    Example: `John.Smith@Acme.com` and `john.smith@acme.com`.
    """

    id, entities, fields = "duplication.exact_email", PEOPLE, ("email",)
    extra_fields = ("created_at",)

    def evaluate(self, frame, ctx):  # noqa: D102
        fc = ctx.cols("email")[0]
        view = email_view(frame, fc)
        key = V.normalized_email(frame[fc.label], (view.local, view.domain)).where(view.syntax_ok)
        return duplicate_outcome(frame, key, fc, dates(frame, ctx, "created_at"), "email")


@register
class ExactPhone(_Exact):
    """Records of one entity sharing a phone number once in E.164, across all phone columns.

    Numbers are normalised as by the duplicate pipeline; placeholders are not used as keys. Fails when: the record shares a number with another
    record; every record but the suggested survivor fails. Example: `(415) 555-0132` and `+1 415-555-0132`.
    """

    id, entities, fields = "duplication.exact_phone", (*PEOPLE, "account"), ("phone",)
    extra_fields = ("created_at", "country")

    def evaluate(self, frame, ctx):  # noqa: D102
        parts = []
        has_phone = pd.Series(False, index=frame.index)
        regions = countries(frame, ctx)
        for fc in ctx.cols("phone"):
            raw = V.text(frame[fc.label])
            usable = ~V.is_missing(raw) & ~V.is_placeholder_phone(raw)
            pairs = pd.Series(list(zip(raw, regions, strict=True)), index=frame.index).where(usable)
            # The duplicate pipeline's E.164 normalisation: one definition of "the same number".
            e164 = V.map_distinct(pairs, lambda p: normalise_phone(p[0], p[1]))
            has_phone |= e164.notna()
            parts.append(pd.DataFrame({"row": frame.index, "e164": e164}))
        long = pd.concat(parts).dropna().drop_duplicates()
        shared = long[long.e164.duplicated(keep=False)]
        # A record's group: the smallest E.164 it shares with another record (one finding per record).
        group = shared.groupby("row").e164.min().reindex(frame.index)
        return duplicate_outcome(frame, group, ctx.cols("phone")[0], dates(frame, ctx, "created_at"), "phone",
                                 applicable=has_phone)


@register
class ExactName(_Exact):
    """People with the same first and last name at the same account or company; accounts with the same name.

    Names are case-folded and trimmed; company legal suffixes are stripped (cleanco), so
    `Acme Inc.` and `ACME LLC` share a key. Fails when: the record shares its key with another
    record; every record but the suggested survivor fails.
    Example: two contacts `Jane Doe` at account 42.
    """

    id, entities, fields, any_field = "duplication.exact_name", ("contact", "lead", "account"), (
        "first_name", "last_name", "account_id", "company", "name"), True
    extra_fields = ("created_at", "country")

    def applies_to(self, entity, mapped):  # noqa: D102
        mapped = set(mapped)
        need = {"contact": {"first_name", "last_name", "account_id"}, "lead": {"first_name", "last_name", "company"},
                "account": {"name"}}
        return entity in need and need[entity] <= mapped

    def evaluate(self, frame, ctx):  # noqa: D102
        def norm(field):
            s = V.text(frame[ctx.cols(field)[0].label])
            return V.map_distinct(s.where(~V.is_missing(s)), lambda v: V.normalize_whitespace(v).casefold())

        if ctx.entity == "account":
            fc = ctx.cols("name")[0]
            key = V.map_distinct(norm("name"), V.company_core)
            if ctx.cols("country"):  # Brown Ltd (GB) and Brown Inc. (US) are different companies
                key = key + "|" + countries(frame, ctx).fillna("")
        else:
            fc = ctx.cols("last_name")[0]
            other = "account_id" if ctx.entity == "contact" else "company"
            org = norm(other)
            if other == "company":
                org = V.map_distinct(org, V.company_core)
            key = norm("first_name") + "|" + norm("last_name") + "|" + org
        what = "name" if ctx.entity == "account" else "name and company"
        return duplicate_outcome(frame, key, fc, dates(frame, ctx, "created_at"), what)


@register
class LeadDuplicatesContact(Check):
    """Leads whose person is already a contact: sales works them twice.

    Fails when: the lead's normalised email (as in duplication.exact_email) belongs to a live
    contact. Suggests converting the lead into that contact. Example: lead `ann@acme.com` while
    contact 1021 has `Ann@acme.com`.
    """

    id, dimension, entities, fields, severity = "duplication.lead_contact", "duplication", ("lead",), ("email",), "high"

    def evaluate(self, frame, ctx):  # noqa: D102
        contacts = ctx.shared["contact_emails"]()
        if contacts is None:
            return Outcome.empty()
        fc = ctx.cols("email")[0]
        key = V.normalized_email(frame[fc.label]).where(email_view(frame, fc).syntax_ok)
        match = key.map(contacts)
        applicable = key.notna()
        bad = applicable & match.notna()
        return Outcome(int(applicable.sum()), failures(frame, bad, fc, frame[fc.label],
                                                       "lead duplicates contact " + match.fillna(""),
                                                       "convert into contact " + match.fillna("")))
