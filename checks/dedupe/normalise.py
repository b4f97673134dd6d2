"""Value normalisers: emails, phones, names, companies, countries and free text.

Every scalar normaliser takes one raw value and returns a normalised string or ``None``
(missing). :func:`map_unique` applies one to a column once per distinct value, which is
what keeps normalisation of a million records affordable.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable

import numpy as np
import pandas as pd
import phonenumbers
import pycountry
from phonenumbers import PhoneMetadata

ROLE_LOCALS = frozenset(
    "info sales support admin noreply no-reply contact billing marketing hello office team hr jobs"
    " donotreply do-not-reply postmaster webmaster".split()
)
PLACEHOLDER_LOCALS = frozenset(
    "noemail no-email no.email nomail none test na unknown dummy null no email nobody xxx xx x asdf abc".split()
)
PLACEHOLDER_DOMAINS = frozenset(
    "test.com none.com noemail.com nomail.com example.com example.org example.net invalid.com".split()
)
FREE_DOMAINS = frozenset(
    "gmail.com yahoo.com hotmail.com outlook.com aol.com icloud.com me.com mac.com live.com msn.com"
    " gmx.de gmx.net web.de yahoo.co.uk hotmail.co.uk btinternet.com orange.fr free.fr proton.me"
    " protonmail.com mail.com yandex.ru comcast.net verizon.net att.net sbcglobal.net".split()
)
COUNTRY_ALIASES = {
    "usa": "US", "us": "US", "u.s.": "US", "u.s.a.": "US", "united states": "US", "america": "US",
    "uk": "GB", "u.k.": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "great britain": "GB",
    "britain": "GB", "deutschland": "DE", "germany": "DE", "allemagne": "DE", "frankreich": "FR",
    "españa": "ES", "espana": "ES", "italia": "IT", "nederland": "NL", "holland": "NL",
    "the netherlands": "NL", "schweiz": "CH", "suisse": "CH", "österreich": "AT", "osterreich": "AT",
    "brasil": "BR", "méxico": "MX", "mexico": "MX", "russia": "RU", "south korea": "KR",
    "korea": "KR", "uae": "AE", "türkiye": "TR", "turkey": "TR",
}
STREET_ABBREVIATIONS = {
    "street": "st", "str": "st", "avenue": "ave", "av": "ave", "road": "rd", "drive": "dr",
    "lane": "ln", "boulevard": "blvd", "place": "pl", "court": "ct", "square": "sq",
    "highway": "hwy", "suite": "ste", "apartment": "apt", "north": "n", "south": "s",
    "east": "e", "west": "w", "strasse": "str", "straße": "str",
}
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_NON_DIGIT = re.compile(r"\D+")
_DROP_NON_DIGITS = {c: None for c in range(128) if not chr(c).isdigit()}
_PHONE_EXTENSION = re.compile(r"[a-wyzA-WYZ]|ext|x\s*\d", re.IGNORECASE)


def is_missing(value: object) -> bool:
    """Whether a raw cell is missing (None, NaN, NaT or blank)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and not value.strip()


def missing_mask(values: pd.Series) -> np.ndarray:
    """Vectorised :func:`is_missing` over a column (checked once per distinct value)."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    blank = np.array([is_missing(u) for u in uniques] + [True], dtype=bool)
    return blank[codes]


def fold(value: str) -> str:
    """Fold accents and case, turn punctuation into single spaces.

    Args:
        value: Raw text.

    Returns:
        Lower-case ASCII-ish text with words separated by single spaces.
    """
    if not value.isascii():
        value = "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))
        value = value.replace("ß", "ss").replace("ø", "o").replace("æ", "ae").replace("ł", "l")
    return _NON_ALNUM.sub(" ", value.casefold()).strip()


def fold_or_none(value: str) -> str | None:
    """:func:`fold`, with empty results as missing."""
    out = fold(value)
    return out or None


def normalise_email(value: str) -> str | None:
    """Normalise an e-mail address for matching.

    Lower-cases, drops ``+tags``, maps googlemail to gmail (where dots in the local part are
    also ignored, as Gmail does) and treats role, placeholder and malformed addresses as
    missing: two contacts sharing ``info@acme.com`` are not evidence of one person.

    Args:
        value: Raw address.

    Returns:
        The normalised address, or ``None``.
    """
    email = value.strip().strip("<>").lower()
    local, sep, domain = email.rpartition("@")
    if not sep or not local or "." not in domain or " " in email:
        return None
    domain = domain.strip(".")
    local = local.split("+", 1)[0]
    if domain == "googlemail.com":
        domain = "gmail.com"
    if domain == "gmail.com":
        local = local.replace(".", "")
    if not local or local in ROLE_LOCALS or local in PLACEHOLDER_LOCALS or domain in PLACEHOLDER_DOMAINS:
        return None
    if domain.split(".")[0] == local:  # test@test.com, email@email.com, none@none.com
        return None
    return f"{local}@{domain}"


def email_domain(email: str) -> str:
    """Domain part of a normalised address."""
    return email.rpartition("@")[2]


def email_local(email: str) -> str:
    """Local part of a normalised address."""
    return email.rpartition("@")[0]


@functools.cache
def _region_rule(region: str) -> tuple[str, str, tuple[str, ...]] | None:
    """Calling code and trunk prefix of a region whose national numbers are simple to convert.

    A region is simple when its trunk prefix is parsed literally (no regex rules), so
    "drop the trunk prefix, prepend the calling code" is exactly what ``phonenumbers`` does.
    """
    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None:
        return None
    prefix, parsing = meta.national_prefix, meta.national_prefix_for_parsing
    # "0|180020" (GB) is fine: literal alternatives, of which the trunk prefix is the first.
    if parsing is not None and (parsing.split("|")[0] != prefix or not parsing.replace("|", "").isdigit()):
        return None
    others = tuple(parsing.split("|")[1:]) if parsing else ()
    return str(meta.country_code), prefix or "", others


def _fast_e164(raw: str, region: str | None) -> str | None:
    """E.164 for the common shapes of a phone number, ``None`` when a full parse is needed."""
    if not raw.isascii() or _PHONE_EXTENSION.search(raw):
        return None
    digits = raw.translate(_DROP_NON_DIGITS)
    if raw.lstrip().startswith("+"):
        return "+" + digits if 8 <= len(digits) <= 15 else None
    rule = _region_rule(region) if region else None
    if rule is None or digits.startswith("00"):
        return None
    code, trunk, others = rule
    if others and digits.startswith(others):
        return None
    if code == "1":
        if len(digits) == 11 and digits[0] == "1":
            digits = digits[1:]
        return "+1" + digits if len(digits) == 10 and digits[0] not in "01" else None
    if trunk and digits.startswith(trunk):
        digits = digits[len(trunk) :]
    elif trunk:
        return None
    return f"+{code}{digits}" if 6 <= len(digits) <= 12 else None


def normalise_phone(value: str, region: str | None, fast: bool = True) -> str | None:
    """Convert a phone number to E.164 with the record's country as the default region.

    Args:
        value: Raw number in any format.
        region: ISO-2 region used when the number has no ``+`` country code.
        fast: Try the metadata-based conversion of common shapes before a full parse.

    Returns:
        The E.164 string, or ``None`` when the number cannot be a phone number.
    """
    if fast:
        quick = _fast_e164(value, region)
        if quick is not None:
            return quick
    try:
        parsed = phonenumbers.parse(value, region or "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalise_country(value: str) -> str | None:
    """ISO-2 code for a country written as a code, an English name or a common variant."""
    text = value.strip().lower()
    if text in COUNTRY_ALIASES:
        return COUNTRY_ALIASES[text]
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        return None


@functools.cache
def _legal_terms() -> frozenset[tuple[str, ...]]:
    """Legal-form terms (Inc, LLC, GmbH, ...) from cleanco, folded like company names."""
    from cleanco.clean import prepare_default_terms

    return frozenset(tuple(fold(" ".join(parts)).split()) for _, parts in prepare_default_terms())


def _join_initials(tokens: list[str]) -> list[str]:
    """Runs of single letters become one token: "L.L.C." folds to l l c, and is matched as llc."""
    out: list[str] = []
    run = ""
    for token in tokens:
        if len(token) == 1 and token.isalpha():
            run += token
            continue
        if run:
            out.append(run)
            run = ""
        out.append(token)
    if run:
        out.append(run)
    return out


def normalise_company(value: str) -> str | None:
    """Fold a company name and strip legal suffixes, so "Acme Inc." equals "ACME LLC".

    Uses cleanco's term list, matched on folded tokens (several trailing terms are removed,
    e.g. "Acme Holdings GmbH & Co. KG" keeps "acme holdings"), and always keeps one token.
    """
    tokens = _join_initials(fold(value.replace("&", " and ")).split())
    if tokens and tokens[0] == "the":
        tokens = tokens[1:]
    terms = _legal_terms()
    changed = True
    while changed and len(tokens) > 1:
        changed = False
        for size in (3, 2, 1):
            tail = tuple(tokens[-size:])
            if len(tokens) > size and tail in terms:
                tokens = tokens[:-size]
                changed = True
                break
        if not changed and tokens[-1] in ("and", "co"):
            tokens, changed = tokens[:-1], True
    return " ".join(tokens) or None


def normalise_street(value: str) -> str | None:
    """Fold a street address and abbreviate common street words ("Street" -> "st")."""
    tokens = fold(value).split()
    return " ".join(STREET_ABBREVIATIONS.get(t, t) for t in tokens) or None


def house_number(street: str) -> str | None:
    """First token of a normalised street that contains a digit (the house number)."""
    return next((t for t in street.split() if any(c.isdigit() for c in t)), None)


def normalise_postal(value: str) -> str | None:
    """Fold a postal code and remove its spaces ("SW1A 1AA" -> "sw1a1aa")."""
    return fold(value).replace(" ", "") or None


def normalise_website(value: str) -> str | None:
    """Registered host of a website: scheme, ``www.`` and path removed."""
    host = value.strip().lower()
    host = re.sub(r"^[a-z]+://", "", host).split("/", 1)[0].split(":", 1)[0]
    host = host.removeprefix("www.")
    return host if "." in host else None


def normalise_date(value: object) -> str | None:
    """Dates (birth dates) as ``YYYYMMDD`` strings so that typo distances work on digits."""
    if isinstance(value, str):
        digits = _NON_DIGIT.sub("", value)
        return digits or None
    try:
        return pd.Timestamp(value).strftime("%Y%m%d")
    except (ValueError, TypeError):
        return None


@functools.cache
def _nicknamer():
    from nicknames import NickNamer

    return NickNamer()


@functools.cache
def nickname_root(name: str) -> str:
    """One representative of a first name's nickname family (Bob, Rob, Robert -> robert).

    Among the name and its canonical forms, the hub of the family is taken: the one with the
    most nicknames (Robert, not Roberto), then the longest, then alphabetical order, so the
    choice is deterministic.
    """
    namer = _nicknamer()
    options = {name} | {c.lower() for c in namer.canonicals_of(name)}
    return min(options, key=lambda n: (-len(namer.nicknames_of(n)), -len(n), n))


def first_name_root(value: str) -> str | None:
    """Folded first name reduced to its nickname root; only the first token is used."""
    tokens = fold(value).split()
    return nickname_root(tokens[0]) if tokens else None


def map_unique(values: pd.Series | np.ndarray, func: Callable[[str], str | None]) -> np.ndarray:
    """Apply a scalar normaliser once per distinct value.

    Args:
        values: Raw column.
        func: Normaliser taking a non-missing raw value.

    Returns:
        Object array, row-aligned with ``values``, holding normalised strings or ``None``.
    """
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    mapped = np.array([None if is_missing(u) else func(str(u) if not isinstance(u, str) else u)
                       for u in uniques] + [None], dtype=object)
    return mapped[codes]


def map_unique_with_region(values: pd.Series, regions: np.ndarray, fast: bool = True) -> np.ndarray:
    """Normalise phones once per distinct (value, region) pair.

    Args:
        values: Raw phone column.
        regions: Row-aligned ISO-2 regions (or ``None``).
        fast: See :func:`normalise_phone`.

    Returns:
        Object array of E.164 strings or ``None``.
    """
    raw = pd.Series(values, dtype=object)
    present = ~missing_mask(raw)
    out = np.full(len(raw), None, dtype=object)
    if not present.any():
        return out
    text = raw[present].astype(str).to_numpy(dtype=object)
    region = pd.Series(regions[present], dtype=object).fillna("").to_numpy(dtype=object)
    codes, uniques = pd.factorize(pd.Series(text + "\x1f" + region, dtype=object))
    mapped = []
    for joined in uniques:
        value, _, reg = joined.rpartition("\x1f")
        mapped.append(normalise_phone(value, reg or None, fast))
    out[present] = np.asarray(mapped, dtype=object)[codes]
    return out
