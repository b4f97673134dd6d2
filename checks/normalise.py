"""Normal forms, one of each: missing values, text, emails, countries, names, companies, addresses.

Every scalar normaliser takes one raw value and returns a normalised string or ``None`` (missing).
The checks (through `checks.values`), the exact-duplicate keys and the fuzzy duplicate pipeline
all use these, so "the same email", "the same company" and "no value" mean one thing everywhere.
:func:`map_unique` applies one to a column once per distinct value, which is what keeps
normalisation of a million records affordable. Phone numbers have their own module,
`checks.phones`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable

import numpy as np
import pandas as pd
import pycountry

from checks.phones import normalise_phone
from checks.reference import (
    COUNTRY_ALIASES,
    DOTS_IGNORED_DOMAINS,
    MAIL_DOMAIN_ALIASES,
    NULL_TOKENS,
    PLACEHOLDER_DOMAINS,
    PLACEHOLDER_LOCALS,
    ROLE_LOCALS,
    STREET_ABBREVIATIONS,
)

_WHITESPACE = re.compile(r"\s+")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_NON_DIGIT = re.compile(r"\D+")
BLANK_OR_NULL = frozenset({"", *NULL_TOKENS})  # a text that holds no value, once stripped and lower-cased


# -- missing values and text ----------------------------------------------------------------------
def is_null(value: object) -> bool:
    """Whether a raw cell is a null of any kind: None, NaN, NaT, pandas' NA (never raises)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(value != value)  # NaN, NaT of numpy, Decimal('NaN')
    except (TypeError, ValueError, ArithmeticError):  # an object that cannot compare itself is a value
        return False


def as_text(value: object) -> str:
    """A raw non-null cell as text: valid Unicode whatever the driver returned.

    Bytes (a BLOB in a text column) are read as UTF-8, and what is not UTF-8 becomes U+FFFD, the
    replacement character a decoder leaves; so do lone surrogates (undecodable bytes a driver
    passed on), which no UTF-8 store or display could take. Other values are written as `str` does.
    """
    if type(value) is str:
        return value if value.isascii() else _valid_unicode(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    return _valid_unicode(str(value))


_SURROGATE = re.compile("[\ud800-\udfff]")


def _valid_unicode(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", value)
    return value


def is_missing(value: object) -> bool:
    """Whether a raw cell holds no value: None, NaN, NaT, blank, or a null token ('Unknown', '-', 'TBD')."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and value.strip().lower() in BLANK_OR_NULL


def missing_mask(values: pd.Series) -> np.ndarray:
    """Vectorised :func:`is_missing` over a column (checked once per distinct value)."""
    codes, uniques = factorize(values)
    blank = np.array([is_missing(u) for u in uniques] + [True], dtype=bool)
    return blank[codes]


def normalise_whitespace(value: str) -> str:
    """Trimmed, single-spaced, NBSP and tabs replaced."""
    return _WHITESPACE.sub(" ", value.replace("\u00a0", " ")).strip()


def fold(value: str) -> str:
    """Fold accents and case, turn punctuation into single spaces: the normal form of names.

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


# -- emails -----------------------------------------------------------------------------------------
def split_email(value: object) -> tuple[str, str]:
    """(local part without its +tag, domain), lowercased; ("", "") when missing, ("", text) without an @."""
    if type(value) is not str:  # the common case, a str, skips the function calls below
        if is_null(value):
            return "", ""
        value = as_text(value)
    elif not value.isascii():
        value = as_text(value)
    local, _, domain = value.strip().strip("<>").lower().rpartition("@")
    return local.split("+", 1)[0], domain


def is_placeholder_address(local: str, domain: str) -> bool:
    """test@…, noemail@…, …@example.com, and an address whose local part repeats the domain (x@x.com)."""
    if local in PLACEHOLDER_LOCALS or domain in PLACEHOLDER_DOMAINS:
        return True
    return bool(local) and local == domain.partition(".")[0]


def is_role_address(local: str) -> bool:
    """info@, sales@, noreply@ …: a team's mailbox, not a person's."""
    return local in ROLE_LOCALS


def email_key_of(local: str, domain: str) -> str | None:
    """The address that identifies a person, from an address's parts; None for a role or placeholder.

    Domains that deliver under another name are mapped (googlemail → gmail) and dots are dropped
    where the provider ignores them (Gmail), so every spelling of one mailbox gets one key.
    """
    domain = MAIL_DOMAIN_ALIASES.get(domain, domain)
    if domain in DOTS_IGNORED_DOMAINS:
        local = local.replace(".", "")
    if not local or not domain or is_role_address(local) or is_placeholder_address(local, domain):
        return None
    return f"{local}@{domain}"


def email_domain(email: str) -> str:
    """Domain part of a normalised address."""
    return email.rpartition("@")[2]


def email_local(email: str) -> str:
    """Local part of a normalised address."""
    return email.rpartition("@")[0]


# -- countries --------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)
def country_code(value: str) -> str | None:
    """ISO 3166 alpha-2 for a country as people write it (a code, a name, a common variant), or None."""
    text = normalise_whitespace(value)
    if is_missing(text):
        return None
    alias = COUNTRY_ALIASES.get(text.lower())
    if alias:
        return alias
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        return None


# -- companies, addresses, dates ------------------------------------------------------------------
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


# -- first names ------------------------------------------------------------------------------------
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


# -- whole columns ----------------------------------------------------------------------------------
def map_unique(values: pd.Series | np.ndarray, func: Callable[[str], str | None]) -> np.ndarray:
    """Apply a scalar normaliser once per distinct value.

    Args:
        values: Raw column.
        func: Normaliser taking a non-missing raw value.

    Returns:
        Object array, row-aligned with ``values``, holding normalised strings or ``None``.
    """
    codes, uniques = factorize(values)
    mapped = np.array([None if is_missing(u) else func(as_text(u)) for u in uniques] + [None], dtype=object)
    return mapped[codes]


def factorize(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code of each row, the distinct non-null values) of a raw column; nulls get code -1.

    A value that cannot be hashed (a bytearray or memoryview from a driver, a JSON list or
    object) is taken as its text, so that such a column is grouped instead of failing.
    """
    raw = pd.Series(values, dtype=object).to_numpy(dtype=object)
    try:
        return pd.factorize(raw, use_na_sentinel=True)
    except TypeError:  # unhashable values: rare, so the common path pays nothing for them
        hashable = np.fromiter((_hashable(v) for v in raw), dtype=object, count=len(raw))
        return pd.factorize(hashable, use_na_sentinel=True)


def _hashable(value: object) -> object:
    try:
        hash(value)
    except TypeError:
        return as_text(value)
    return value


def map_unique_with_region(values: pd.Series, regions: np.ndarray, fast: bool = True) -> np.ndarray:
    """Normalise phones once per distinct (value, region) pair.

    Args:
        values: Raw phone column.
        regions: Row-aligned ISO-2 regions (or ``None``).
        fast: See :func:`checks.phones.normalise_phone`.

    Returns:
        Object array of E.164 strings or ``None``.
    """
    raw = pd.Series(values, dtype=object)
    present = ~missing_mask(raw)
    out = np.full(len(raw), None, dtype=object)
    if not present.any():
        return out
    text = np.array([as_text(v) for v in raw[present]], dtype=object)
    region = pd.Series(regions[present], dtype=object).fillna("").to_numpy(dtype=object)
    codes, uniques = pd.factorize(pd.Series(text + "\x1f" + region, dtype=object))
    mapped = []
    for joined in uniques:
        value, _, reg = joined.rpartition("\x1f")
        mapped.append(normalise_phone(value, reg or None, fast))
    out[present] = np.asarray(mapped, dtype=object)[codes]
    return out
