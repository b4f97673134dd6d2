"""Duplication: records sharing a normalised key, and leads that duplicate an existing contact.

These are exact passes on normalised keys; fuzzy duplicates (typos, nicknames, swapped names)
come from `checks.dedupe` and plug into the same registry.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain

import numpy as np
import pandas as pd

from checks.base import PEOPLE, Check, Outcome, failures, keys_of, register
from checks.fields import countries, dates, email_view, per_distinct, phone_view, shown, usable
from checks.normalise import fold_or_none, normalise_company, normalise_whitespace
from checks.phones import normalise_phone
from checks.settled import email_key_sql
from checks.values import email_keys, map_distinct, text
from connectors.history.decisions import pair
from connectors.mapping import KEY


def _ordered(frame: pd.DataFrame, groups: pd.Series, created: pd.Series | None) -> pd.DataFrame:
    """Records by group, in the order survivors are chosen: the oldest record, then the lowest key."""
    order = pd.DataFrame({"g": groups, "k": frame[KEY].astype(str),
                          "c": created if created is not None else pd.NaT})
    order["num"] = pd.to_numeric(order.k, errors="coerce")
    return order.sort_values(["g", "c", "num", "k"], na_position="last")


def _survivors(frame: pd.DataFrame, groups: pd.Series, created: pd.Series | None) -> pd.Series:
    """Per record, the key of its group's suggested survivor: the oldest record, then the lowest key."""
    first = _ordered(frame, groups, created).groupby("g", sort=False)["k"].first()
    return groups.map(first)


def not_duplicates(ctx) -> frozenset[tuple[str, str]]:
    """The record pairs of the entity that stewards said are not duplicates (`Decisions.not_duplicate_pairs`)."""
    return ctx.shared.get("not_duplicates", {}).get(ctx.entity, frozenset())


def _kept_apart(frame: pd.DataFrame, groups: pd.Series, created, survivor: pd.Series,
                apart: frozenset[tuple[str, str]]) -> pd.Series:
    """Survivors again in the groups that hold a pair decided not duplicate.

    Each record's survivor is the first member it may be merged with: itself when there is none,
    and then it is no duplicate.
    """
    group_of = dict(zip(frame[KEY].astype(str), groups, strict=True))
    touched = {group_of[a] for a, b in apart if a in group_of and b in group_of and group_of[a] == group_of[b]}
    if not touched:
        return survivor
    order = _ordered(frame, groups, created)
    order = order[order.g.isin(touched)]
    chosen = {}
    for _, members in order.groupby("g", sort=False):
        keys = members.k.tolist()
        for r in keys:
            chosen[r] = next(s for s in keys if s == r or pair(r, s) not in apart)
    out = survivor.copy()
    keys = frame[KEY].astype(str)
    hit = keys.isin(chosen.keys())
    out[hit] = keys[hit].map(chosen)
    return out


def duplicate_outcome(frame: pd.DataFrame, key: pd.Series, fc, created, what: str,
                      applicable: pd.Series | None = None,
                      apart: frozenset[tuple[str, str]] = frozenset(),
                      held: Callable[[pd.Series], pd.Series] | None = None) -> Outcome:
    """Failures for every record that shares `key` with an older one, pointing at the survivor.

    `applicable` defaults to the records that have a key. Records of a pair in `apart` (decided
    not duplicates) are never merged into each other. A finding shows `held(rows)`, what the CRM holds
    (the address as written, not its normalised key); by default the values of `fc`.
    """
    applicable = key.notna() if applicable is None else applicable
    dup = applicable & key.notna() & key.duplicated(keep=False)
    if not dup.any():
        return Outcome(int(applicable.sum()), failures(frame, dup, fc, None, ""))
    survivor = _survivors(frame[dup], key[dup], created[dup] if created is not None else None)
    if apart:
        survivor = _kept_apart(frame[dup], key[dup], created[dup] if created is not None else None, survivor, apart)
    redundant = (survivor != frame.loc[dup, KEY].astype(str)).reindex(frame.index, fill_value=False)
    reason = (f"same {what} as record " + survivor).reindex(frame.index)
    suggestion = ("merge into " + survivor).reindex(frame.index)
    # Only the redundant records' values are made into text: most records have no duplicate.
    shown_values = (held or (lambda rows: shown(frame, fc, rows)))(redundant).reindex(frame.index)
    return Outcome(int(applicable.sum()), failures(frame, redundant, fc, shown_values, reason, suggestion))


def email_key(frame: pd.DataFrame, fc) -> pd.Series:
    """The duplicate key of an email column: the normalised address of a valid, personal one, else None.

    One definition for exact email duplicates, leads duplicating contacts and the contact look-up.
    """
    view = email_view(frame, fc)
    return email_keys(frame[fc.label], (view.local, view.domain), view.syntax_ok)


class _Exact(Check):
    dimension = "duplication"
    scope = "entity"
    severity = "high"
    entity_fields = ("created_at",)  # the survivor is the oldest record


@register
class ExactEmail(_Exact):
    """Records of one entity sharing an email address once normalised.

    Normalised as the fuzzy pipeline does (`checks.normalise.email_key_of`): lowercased, `+tags`
    dropped, googlemail → gmail and dots ignored where Gmail ignores them; placeholder and role
    addresses are not used as keys. Fails when: the record shares its key with another record; every record
    but the suggested survivor (the oldest) fails.
    Example: `John.Smith@Acme.com` and `john.smith@acme.com`.
    """

    id = "duplication.exact_email"
    entities = PEOPLE
    fields = ("email",)
    extra_fields = ("created_at",)
    entity_fields = ("created_at", "email")  # a finding shows the address as the CRM holds it

    def settled_key(self, ctx):  # noqa: D102
        return email_key_sql(ctx.cols("email")[0].label)

    def chunk_keys(self, frame, ctx):  # noqa: D102
        return email_key(frame, ctx.cols("email")[0])

    def evaluate(self, frame, ctx):  # noqa: D102
        key = keys_of(self, frame, ctx)
        return duplicate_outcome(frame, key, ctx.cols("email")[0], dates(frame, ctx, "created_at"), "email",
                                 apart=not_duplicates(ctx))


@register
class ExactPhone(_Exact):
    """Records of one entity sharing a phone number once in E.164, across all phone columns.

    A valid number is keyed by its E.164 form as phonenumbers writes it (the one accuracy.phone_valid
    finds), any other by the duplicate pipeline's normalisation; placeholders are not used as keys.
    Fails when: the record shares a number with another record; every record but the suggested
    survivor fails. Example: `(415) 555-0132` and `+1 415-555-0132`.
    """

    id = "duplication.exact_phone"
    entities = (*PEOPLE, "account")
    fields = ("phone",)
    extra_fields = ("created_at", "country")
    entity_fields = ("created_at", "phone")  # a finding shows the number as the CRM holds it

    def chunk_keys(self, frame, ctx):  # noqa: D102
        # Per record, a tuple of the E.164 forms of its usable numbers, one slot per phone column
        # (None in a slot without a number or repeating an earlier slot), or None when it has none.
        # A valid number's E.164 comes from the validity check's view (phonenumbers' canonical
        # form); the duplicate pipeline's normalisation covers the rest. Both agree on valid
        # numbers but for two rewriting rules (tests/checks/test_phones.py).
        regions = countries(frame, ctx)
        slots = []
        for fc in ctx.cols("phone"):
            view = phone_view(frame, fc, ctx)
            e164 = view.e164.where(view.valid, None).astype(object)
            rest = view.present & ~view.placeholder & ~view.valid
            if rest.any():
                pairs = pd.Series(list(zip(text(frame.loc[rest, fc.label]), regions[rest], strict=True)),
                                  index=frame.index[rest])
                e164[rest] = map_distinct(pairs, lambda p: normalise_phone(p[0], p[1]))
            numbers = e164.to_numpy(dtype=object).copy()
            numbers[pd.isna(numbers)] = None
            for earlier in slots:  # the same number in two columns is one number
                numbers[numbers == earlier] = None
            slots.append(numbers)
        nothing = (None,) * len(slots)
        return pd.Series([k if k != nothing else None for k in zip(*slots, strict=True)], index=frame.index,
                         dtype=object)

    def evaluate(self, frame, ctx):  # noqa: D102
        keys = keys_of(self, frame, ctx)
        has_phone = keys.notna()
        per_record = [k if isinstance(k, tuple) else () for k in keys.to_numpy(dtype=object)]
        numbers = pd.Series(np.fromiter(chain.from_iterable(per_record), dtype=object), dtype=object).dropna()
        shared = set(numbers[numbers.duplicated(keep=False)])  # numbers of more than one record
        # A record's group: the smallest E.164 it shares with another record (one finding per record).
        group = pd.Series([min((n for n in k if n in shared), default=None) for k in per_record],
                          index=frame.index, dtype=object)
        # Shown: the number as the CRM holds it, from the column (phone, mobile …) holding the shared one.
        cols = ctx.cols("phone")

        def held(rows: pd.Series) -> pd.Series:
            at = np.flatnonzero(rows.to_numpy(dtype=bool))
            raw = [text(frame[fc.label].iloc[at]).to_numpy(dtype=object) for fc in cols]
            return pd.Series([next((raw[i][j] for i, n in enumerate(per_record[row]) if n == group.iat[row]), None)
                              for j, row in enumerate(at)], index=frame.index[at], dtype=object)

        return duplicate_outcome(frame, group, cols[0], dates(frame, ctx, "created_at"), "phone",
                                 applicable=has_phone, apart=not_duplicates(ctx), held=held)


@register
class ExactName(_Exact):
    """People with the same first and last name at the same account or company; accounts with the same name.

    Names fold accents, case and punctuation as in the fuzzy pipeline; company legal suffixes are
    stripped (cleanco), so `Acme Inc.` and `ACME LLC` share a key. Fails when: the record shares its key with another
    record; every record but the suggested survivor fails.
    Example: two contacts `Jane Doe` at account 42.
    """

    id = "duplication.exact_name"
    entities = ("contact", "lead", "account")
    fields = ("first_name", "last_name", "account_id", "company", "name")
    any_field = True
    extra_fields = ("created_at", "country")
    entity_fields = ("created_at", "first_name", "last_name", "name")  # findings show the names as written

    def applies_to(self, entity, mapped):  # noqa: D102
        mapped = set(mapped)
        need = {"contact": {"first_name", "last_name", "account_id"}, "lead": {"first_name", "last_name", "company"},
                "account": {"name"}}
        return entity in need and need[entity] <= mapped

    def chunk_keys(self, frame, ctx):  # noqa: D102
        def norm(field, normal_form):
            # Names fold as in the fuzzy pipeline, companies lose their legal suffix, ids stay as written.
            fc = ctx.cols(field)[0]
            normal = per_distinct(frame, fc, f"normal:{normal_form.__name__}",
                                  lambda values: [normal_form(v) for v in values])
            return normal.where(usable(frame, fc), None)

        if ctx.entity == "account":
            key = norm("name", normalise_company)
            if ctx.cols("country"):  # Brown Ltd (GB) and Brown Inc. (US) are different companies
                key = key + "|" + countries(frame, ctx).fillna("")
        else:
            org = norm("account_id", normalise_whitespace) if ctx.entity == "contact" else norm("company",
                                                                                                 normalise_company)
            key = norm("first_name", fold_or_none) + "|" + norm("last_name", fold_or_none) + "|" + org
        return key.astype(object)

    def evaluate(self, frame, ctx):  # noqa: D102
        fc = ctx.cols("name" if ctx.entity == "account" else "last_name")[0]
        what = "name" if ctx.entity == "account" else "name and company"
        held = None
        if ctx.entity != "account":  # the person's name as written, not its folded key
            def held(rows: pd.Series) -> pd.Series:
                first = text(frame.loc[rows.to_numpy(dtype=bool), ctx.cols("first_name")[0].label]).fillna("")
                last = text(frame.loc[rows.to_numpy(dtype=bool), fc.label]).fillna("")
                return (first.str.strip() + " " + last.str.strip()).str.strip()
        return duplicate_outcome(frame, keys_of(self, frame, ctx), fc, dates(frame, ctx, "created_at"), what,
                                 apart=not_duplicates(ctx), held=held)


@register
class LeadDuplicatesContact(Check):
    """Leads whose person is already a contact: sales works them twice.

    Fails when: the lead's normalised email (as in duplication.exact_email) belongs to a live
    contact. Suggests converting the lead into that contact. Example: lead `ann@acme.com` while
    contact 1021 has `Ann@acme.com`.
    """

    id = "duplication.lead_contact"
    dimension = "duplication"
    entities = ("lead",)
    fields = ("email",)
    severity = "high"
    lookups = ("contact_emails",)

    def evaluate(self, frame, ctx):  # noqa: D102
        contacts = ctx.lookup("contact_emails")()
        if contacts is None:
            return Outcome.empty()
        fc = ctx.cols("email")[0]
        key = email_key(frame, fc)
        # dict.get per lead: Series.map would turn the whole contact dict into a Series per chunk.
        match = pd.Series([contacts.get(k) for k in key.to_numpy(dtype=object)], index=key.index, dtype=object)
        applicable = key.notna()
        bad = applicable & match.notna()
        return Outcome(int(applicable.sum()), failures(frame, bad, fc, shown(frame, fc, bad),
                                                       "lead duplicates contact " + match[bad],
                                                       "convert into contact " + match[bad]))
