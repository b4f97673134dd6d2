"""Consistency: one format per field, and agreement between fields and between tables."""

from __future__ import annotations

import re
from typing import Annotated

import numpy as np
import pandas as pd
from pydantic import Field

from checks.base import PEOPLE, Check, Outcome, failures, per_column, register
from checks.fields import countries, distinct, email_view, name_view, phone_view, shown, truthy, usable
from checks.normalise import normalise_whitespace
from checks.settled import filled_text, iso_country
from checks.values import (
    as_keys,
    company_case,
    is_iso_country,
    map_distinct,
    member,
    proper_case,
    spread,
    text,
)
from connectors.source.predicates import All, InKeys


@register
class PhoneE164(Check):
    """Valid phone numbers stored in E.164 (`+14155550132`), the one format dialers and dedupe agree on.

    Fails when: a valid number is written any other way. Suggests its E.164 form.
    Example: `(415) 555-0132` → `+14155550132`; `089 4521 7730` (DE) → `+498945217730`.
    """

    id = "consistency.phone_e164"
    fix_confidence = 0.9  # the same number, parsed with the record's country
    dimension = "consistency"
    entities = (*PEOPLE, "account")
    fields = ("phone",)
    extra_fields = ("country",)
    severity = "low"

    def evaluate(self, frame, ctx):  # noqa: D102
        def build(fc):
            view = phone_view(frame, fc, ctx)
            raw = text(frame[fc.label]).fillna("").str.strip()
            bad = view.valid & (raw != view.e164)
            return view.valid, failures(frame, bad, fc, shown(frame, fc, bad), "phone not in E.164 format", view.e164)

        return per_column(ctx.cols("phone"), frame, build)


@register
class CountryIso(Check):
    """Countries stored as ISO 3166 alpha-2 codes (pycountry plus an alias map).

    Fails when: the country is a name, a variant or a lowercase code. Suggests the ISO code when
    it can be recognised. Example: `USA`, `U.S.`, `United States` → `US`; `UK`, `England` → `GB`;
    `Deutschland` → `DE`.
    """

    id = "consistency.country_iso"
    advice = "write the country as its ISO code"
    fix_confidence = 0.95  # only countries pycountry or the alias map recognise get a code
    dimension = "consistency"
    entities = ("contact", "lead", "account")
    fields = ("country",)
    severity = "low"

    def settled(self, ctx):  # noqa: D102
        return All(iso_country(ctx.cols("country")[0].label)), 1

    def evaluate(self, frame, ctx):  # noqa: D102
        fc = ctx.cols("country")[0]
        present = usable(frame, fc)
        iso = map_distinct(text(frame[fc.label]).where(present), is_iso_country).fillna(True).astype(bool)
        bad = present & ~iso
        reason = pd.Series("country not an ISO code", index=frame.index).where(countries(frame, ctx).notna(),
                                                                               "unknown country")
        return Outcome(int(present.sum()), failures(frame, bad, fc, shown(frame, fc, bad), reason,
                                                    countries(frame, ctx)))


@register
class NameCasing(Check):
    """Person names in ALL CAPS or all lowercase.

    Fails when: a name of two or more letters has no lowercase or no uppercase letter. Junk names
    are left to their own check. Suggests proper case (nameparser). Example: `SMITH` → `Smith`,
    `mcdonald` → `McDonald`.
    """

    id = "consistency.name_casing"
    fix_confidence = 0.75  # proper case is a guess for names such as McDonald or van der Berg
    dimension = "consistency"
    entities = PEOPLE
    fields = ("first_name", "last_name")
    any_field = True
    severity = "low"

    def evaluate(self, frame, ctx):  # noqa: D102
        cols = [fc for f in self.fields for fc in ctx.cols(f)]

        return per_column(cols, frame, lambda fc: casing(frame, fc, name_view(frame, fc).real, _one_case, proper_case,
                                                         "name not in proper case"))


@register
class CompanyCasing(Check):
    """Company and account names in ALL CAPS.

    Fails when: a name with five or more letters has no lowercase letter (an acronym of up to four
    letters, such as `IBM` or `BASF`, passes). Suggests title case, keeping legal forms and short
    acronyms as they are written. Example: `ACME CORPORATION` → `Acme Corporation`,
    `MÜLLER GMBH` → `Müller GmbH`.
    """

    id = "consistency.company_casing"
    fix_confidence = 0.6  # title case misses acronyms and brand spellings (IBM, eBay)
    dimension = "consistency"
    entities = ("account", "lead")
    fields = ("name", "company")
    any_field = True
    severity = "low"

    def evaluate(self, frame, ctx):  # noqa: D102
        cols = [fc for f in self.fields for fc in ctx.cols(f)]

        return per_column(cols, frame, lambda fc: casing(frame, fc, usable(frame, fc), _all_caps, company_case,
                                                         "name in all capitals"))


def _all_caps(name: str) -> bool:
    letters = _NOT_LETTER.sub("", name)
    return len(letters) >= 5 and letters == letters.upper() and letters != letters.lower()


def casing(frame, fc, applicable, wrong, fixed, reason: str):
    """(applicable, failures) of a casing check: `wrong(name)` per distinct name, `fixed(name)` its fix."""
    codes, names = distinct(frame, fc)
    stripped = [v.strip() for v in names]
    flags = [wrong(v) for v in stripped]
    fix = [fixed(v) if w else None for v, w in zip(stripped, flags, strict=True)]
    bad = applicable & spread(codes, np.array(flags, dtype=bool), False, frame.index)
    return applicable, failures(frame, bad, fc, shown(frame, fc, bad), reason, spread(codes, fix, None, frame.index))


_NOT_LETTER = re.compile(r"[^\w]|[\d_]")


def _one_case(name: str) -> bool:
    """Two or more letters, all upper or all lower case."""
    letters = _NOT_LETTER.sub("", name)
    return len(letters) >= 2 and (letters == letters.upper() or letters == letters.lower())


@register
class Whitespace(Check):
    """Leading, trailing, double or non-breaking spaces in text fields.

    Fails when: trimming and collapsing spaces changes the value. Suggests the cleaned value.
    Example: `" John"`, `"Smith "`, `"New  York"`.
    """

    id = "consistency.whitespace"
    fix_confidence = 0.99  # trimming and collapsing spaces changes nothing else
    dimension = "consistency"
    entities = (*PEOPLE, "account", "opportunity")
    fields = ("first_name", "last_name", "name", "company", "city", "street", "title")
    any_field = True
    severity = "low"

    def evaluate(self, frame, ctx):  # noqa: D102
        cols = [fc for f in self.fields for fc in ctx.cols(f)]

        def build(fc):
            codes, values = distinct(frame, fc)
            present = [v.strip() != "" for v in values]
            clean = [normalise_whitespace(v) for v in values]
            changed = [p and c != v for p, c, v in zip(present, clean, values, strict=True)]
            shown = [repr(v) if c else None for v, c in zip(values, changed, strict=True)]
            return (spread(codes, np.array(present, dtype=bool), False, frame.index),
                    failures(frame, spread(codes, np.array(changed, dtype=bool), False, frame.index), fc,
                             spread(codes, shown, None, frame.index), "extra spaces",
                             spread(codes, clean, None, frame.index)))

        return per_column(cols, frame, build)


@register
class EmailCase(Check):
    """Email addresses stored with capitals, which defeats exact matching and deduplication.

    Fails when: a valid address has uppercase letters. Suggests the lowercase address.
    Example: `John.Smith@Acme.com` → `john.smith@acme.com`.
    """

    id = "consistency.email_case"
    fix_confidence = 0.95  # mail systems treat addresses case-insensitively in practice
    dimension = "consistency"
    entities = PEOPLE
    fields = ("email",)
    severity = "low"

    def evaluate(self, frame, ctx):  # noqa: D102
        def build(fc):
            view = email_view(frame, fc)
            s = text(frame[fc.label]).fillna("").str.strip()
            applicable = view.syntax_ok & ~view.placeholder
            bad = applicable & (s != s.str.lower())
            return applicable, failures(frame, bad, fc, shown(frame, fc, bad), "email has capitals", s.str.lower())

        return per_column(ctx.cols("email"), frame, build)


@register
class PhoneCountry(Check):
    """The phone number's country differs from the address country.

    Fails when: a valid number belongs to another country than the record's address.
    Example: a contact in `DE` with phone `+14155550132` (US).
    """

    id = "consistency.phone_country"
    advice = "check the number's country code against the record's country"
    dimension = "consistency"
    entities = ("contact", "lead", "account")
    fields = ("phone", "country")
    severity = "low"

    def evaluate(self, frame, ctx):  # noqa: D102
        cc = countries(frame, ctx)

        def build(fc):
            view = phone_view(frame, fc, ctx)
            applicable = view.valid & cc.notna()
            bad = applicable & (view.region != cc)
            region = view.region[bad].fillna("?").astype(object)  # failing rows only
            reason = "phone is from " + region + ", address in " + cc[bad].fillna("?").astype(object)
            return applicable, failures(frame, bad, fc, shown(frame, fc, bad), reason)

        return per_column(ctx.cols("phone"), frame, build)


@register
class Orphans(Check):
    """References to records that do not exist or are soft-deleted (config `references`).

    Fails when: the foreign key is set but no live record of the target entity has that key; soft
    deletes count on both sides. Example: a contact whose account_id points at a deleted account.
    """

    id = "consistency.orphans"
    advice = "link it to an existing record, or clear the reference"
    dimension = "consistency"
    entities = ("contact", "lead", "opportunity", "account")
    fields = ()
    any_field = True
    severity = "high"
    lookups = ("live_keys",)

    def applies_to(self, entity, mapped):  # noqa: D102
        return entity in self.entities

    def needed_fields(self, mapped):  # noqa: D102
        return []  # the engine adds the reference fields

    def reported_fields(self, mapped, params):  # noqa: D102
        return list(dict.fromkeys(field for field, _ in params.get("_references", [])))

    def read_fields(self, mapped, params):  # noqa: D102
        return [f for f in self.reported_fields(mapped, params) if f in set(mapped)]

    def settled(self, ctx):  # noqa: D102
        parts, columns = [], 0
        for field, target in ctx.param("_references", []):
            live = frozenset(ctx.lookup("live_keys")(target))
            for fc in ctx.cols(field):
                # Filled (so the key is present) and, as text, a live key of the target.
                parts += [*filled_text(fc.label), InKeys(fc.label, f"live_keys:{target}", live)]
                columns += 1
        return All(tuple(parts)), columns  # no reference: every record settled, none applicable

    def evaluate(self, frame, ctx):  # noqa: D102
        out = Outcome.empty()
        for field, target in ctx.param("_references", []):
            live = ctx.lookup("live_keys")(target)
            for fc in ctx.cols(field):
                keys = as_keys(frame[fc.label])
                present = usable(frame, fc)
                bad = present & ~member(keys, live)
                reason = f"points at a {target} that does not exist or is deleted"
                out = out.merge(Outcome(int(present.sum()), failures(frame, bad, fc, keys, reason)))
        return out


@register
class OwnerInactive(Check):
    """Records owned by a user who is inactive (has left): nobody works them.

    Fails when: the owner is a user whose `active` field is false. Example: a contact owned by a
    deactivated sales rep.
    """

    id = "consistency.owner_inactive"
    advice = "reassign the record to an active user"
    dimension = "consistency"
    entities = ("contact", "account", "lead", "opportunity")
    fields = ("owner_id",)
    lookups = ("inactive_users",)

    def evaluate(self, frame, ctx):  # noqa: D102
        inactive = ctx.lookup("inactive_users")()
        if inactive is None:
            return Outcome.empty()
        fc = ctx.cols("owner_id")[0]
        keys = as_keys(frame[fc.label])
        present = usable(frame, fc)
        bad = present & member(keys, inactive)
        return Outcome(int(present.sum()), failures(frame, bad, fc, keys, "owner is an inactive user"))


def inactive_user_keys(users: pd.DataFrame, active_label: str) -> set[str]:
    """Keys of users whose active flag is false."""
    return set(as_keys(users.loc[~truthy(users[active_label]), "__key"]))


@register
class SchemaChange(Check):
    """The table's columns and row count against the previous run: a schema or a volume that changed.

    Fails when: a column was added, removed or changed type since the previous completed run, or
    the live row count rose or fell by more than `row_change_percent` (default 20) %. One finding
    per change, on the table; the first run records the shape only (and is not scored). Example: `Region__c` removed
    from Account; contacts down from 10,000 to 6,000 (-40%).
    """

    id = "consistency.schema_change"
    dimension = "consistency"
    entities = ("contact", "account", "lead", "opportunity", "user")
    fields = ()
    any_field = True
    scope = "entity"
    reads_records = False  # the columns come from reflection, the count from one COUNT(*)
    severity = "high"
    lookups = ("table_shape",)
    compares_previous = True
    params = {"row_change_percent": Annotated[float, Field(ge=0)]}

    def applies_to(self, entity, mapped):  # noqa: D102
        return entity in self.entities

    def evaluate(self, frame, ctx):  # noqa: D102
        shape = ctx.lookup("table_shape")(ctx.entity)
        before = (ctx.shared.get("previous") or {}).get(self.id, {}).get(ctx.entity)
        table = f"(table {ctx.entity})"
        rows = []
        if before:
            old, new = before.get("columns", {}), shape["columns"]
            rows += [(column, new[column], f"column {column} added", "map it if the team needs it")
                     for column in new if column not in old]
            rows += [(column, None, f"column {column} removed (was {old[column]})",
                      "check the mapping and the integrations writing it") for column in old if column not in new]
            rows += [(column, new[column], f"column {column} changed type from {old[column]} to {new[column]}",
                      "check the values the checks read from it")
                     for column in new if column in old and old[column] != new[column]]
            limit = float(ctx.param("row_change_percent", 20))
            was, now = int(before.get("rows") or 0), shape["rows"]
            change = (now - was) / was * 100 if was else (100.0 if now else 0.0)
            if abs(change) > limit:
                rows.append((None, str(now), f"live rows {'rose' if change > 0 else 'fell'} by {abs(change):.0f}% "
                             f"({was:,} → {now:,})", "check the imports, deletions and sync"))
        failing = pd.DataFrame([{"record_key": table, "field": None, "column_name": column, "value": value,
                                 "reason": reason, "suggestion": fix} for column, value, reason, fix in rows],
                               columns=["record_key", "field", "column_name", "value", "reason", "suggestion"])
        # Nothing is compared on the first run: the shape is recorded, and the check is not scored yet.
        compared = len(shape["columns"]) + 1 if before else 0
        return Outcome(compared, failing, {"columns": shape["columns"], "rows": shape["rows"]})
