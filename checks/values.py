"""Value-level validators and normalisers, vectorised, each run once per distinct value.

Every check calls these, so "what is a missing value", "what is a valid phone" and "what is the
E.164 form" have one definition across the run, the drill-down and the exports.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache

import numpy as np
import pandas as pd
import pycountry
from email_validator import EmailNotValidError, validate_email
from ftfy import fix_encoding

from checks.reference import (
    COUNTRY_ALIASES,
    KNOWN_MAIL_DOMAINS,
    NULL_TOKENS,
    PLACEHOLDER_DOMAINS,
    PLACEHOLDER_LOCALS,
    ROLE_LOCALS,
    TLD_TYPOS,
)

_WS = re.compile(r"\s+")
# A plain dot-atom address over an ASCII domain: email-validator accepts every one of these (a test
# checks it), so only the others need its slower, complete parse.
_PLAIN_EMAIL = (r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                r"[A-Za-z]{2,24}")
_SPECIAL_TLDS = (".test", ".local", ".localhost", ".invalid", ".onion", ".arpa", ".internal", ".home", ".lan")
PARALLEL_FROM = 40_000


def text(series: pd.Series) -> pd.Series:
    """Values as Python strings (None for nulls), whatever the driver returned."""
    values = [None if v is None or v != v else (v if type(v) is str else str(v))
              for v in series.to_numpy(dtype=object)]
    return pd.Series(values, index=series.index, dtype=object)


def is_missing(series: pd.Series) -> pd.Series:
    """Null, blank, or a null token stored as data ('Unknown', '-', 'TBD' …)."""
    s = series.astype(object)
    stripped = s.where(s.notna(), "").astype(str).str.strip().str.lower()
    return s.isna() | (stripped == "") | stripped.isin(NULL_TOKENS)


def normalize_whitespace(value: str) -> str:
    """Trimmed, single-spaced, NBSP and tabs replaced."""
    return _WS.sub(" ", value.replace("\u00a0", " ")).strip()


def map_distinct(series: pd.Series, func) -> pd.Series:
    """Apply `func` once per distinct non-null value."""
    uniq = series.dropna().unique()
    lookup = {v: func(v) for v in uniq}
    return series.map(lookup)


# -- countries ----------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def country_code(value: str) -> str | None:
    """ISO 3166 alpha-2 for a country as people write it, or None."""
    v = normalize_whitespace(value)
    if not v:
        return None
    alias = COUNTRY_ALIASES.get(v.lower())
    if alias:
        return alias
    try:
        return pycountry.countries.lookup(v).alpha_2
    except LookupError:
        return None


def is_iso_country(value: str) -> bool:
    """True for a well-formed alpha-2 code ('US', not 'us', 'USA' or 'United States')."""
    return len(value) == 2 and value.isupper() and pycountry.countries.get(alpha_2=value) is not None


def country_codes(series: pd.Series) -> pd.Series:
    """ISO codes for a column of countries (None where unknown or missing)."""
    s = series.astype(object).where(~is_missing(series), None)
    return map_distinct(s, lambda v: country_code(str(v)))


# -- emails ---------------------------------------------------------------------------------------
def email_syntax_valid(series: pd.Series) -> pd.Series:
    """Syntax validity per email-validator (no network), with a fast path for plain addresses."""
    s = series.astype(str)
    plain = s.str.fullmatch(_PLAIN_EMAIL).fillna(False).astype(bool)
    plain &= ~s.str.lower().str.endswith(_SPECIAL_TLDS).fillna(False).astype(bool)
    plain &= s.str.len() <= 254
    out = np.ones(len(series), dtype=bool)
    rest = series[~plain]
    if len(rest):
        out[(~plain).to_numpy()] = map_distinct(rest, email_ok).to_numpy(dtype=bool)
    return pd.Series(out, index=series.index)


def email_ok(value: str) -> bool:
    """True when email-validator accepts the address (no network)."""
    try:
        validate_email(value, check_deliverability=False)
        return True
    except EmailNotValidError:
        return False


def _split_email(value) -> tuple[str, str]:
    if value is None or value != value:  # None or NaN
        return "", ""
    local, _, domain = str(value).strip().lower().rpartition("@")
    return local.split("+", 1)[0], domain


def email_parts(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(local part without +tag, domain), lowercased; empty strings for missing values.

    Plain Python over the values: several times faster than chained pandas string methods.
    """
    parts = [_split_email(v) for v in series.to_numpy(dtype=object)]
    local = pd.Series([p[0] for p in parts], index=series.index, dtype=object)
    return local, pd.Series([p[1] for p in parts], index=series.index, dtype=object)


def is_placeholder_email(series: pd.Series, parts=None) -> pd.Series:
    """test@test.com, noemail@…, none@none.com and the like."""
    local, domain = parts or email_parts(series)
    return local.isin(PLACEHOLDER_LOCALS) | domain.isin(PLACEHOLDER_DOMAINS)


def is_role_email(series: pd.Series, parts=None) -> pd.Series:
    """info@, sales@, noreply@ … : a mailbox, not a person."""
    return (parts or email_parts(series))[0].isin(ROLE_LOCALS)


@lru_cache(maxsize=1)
def _disposable() -> frozenset[str]:
    from disposable_email_domains import blocklist

    return frozenset(blocklist)


def is_disposable_email(series: pd.Series, parts=None) -> pd.Series:
    """Domains of throw-away mailbox services.

    A typo of a common provider (gmial.com, listed by some as disposable) is left to the typo check.
    """
    domain = (parts or email_parts(series))[1]
    listed = domain.isin(_disposable())
    if listed.any():
        listed &= map_distinct(domain.where(listed), domain_typo_fix).isna()
    return listed


@lru_cache(maxsize=100_000)
def domain_typo_fix(domain: str) -> str | None:
    """The mail domain `domain` is probably a typo of (gmial.com → gmail.com), or None."""
    from rapidfuzz.distance import DamerauLevenshtein

    if domain in KNOWN_MAIL_DOMAINS or "." not in domain:
        return None
    name, _, tld = domain.rpartition(".")
    best, best_d = None, 99
    for known in KNOWN_MAIL_DOMAINS:
        kname, _, ktld = known.rpartition(".")
        if name == kname and tld in TLD_TYPOS:
            return known
        d = DamerauLevenshtein.distance(domain, known)
        if d < best_d:
            best, best_d = known, d
    # Two edits only on long domains, and never for a known disposable service (yopmail ≈ hotmail).
    limit = 2 if len(domain) >= 10 and domain not in _disposable() else 1
    return best if best_d <= limit and len(domain) >= 6 else None


def normalized_email(series: pd.Series, parts=None) -> pd.Series:
    """Duplicate key: lowercase, +tag dropped, googlemail → gmail; None if unusable."""
    local, domain = parts or email_parts(series)
    domain = domain.replace("googlemail.com", "gmail.com")
    key = local + "@" + domain
    bad = (is_missing(series) | local.isin(PLACEHOLDER_LOCALS) | domain.isin(PLACEHOLDER_DOMAINS)
           | local.isin(ROLE_LOCALS) | (local == "") | (domain == ""))
    return key.where(~bad, None)


def company_core(name: str) -> str:
    """`ACME, Inc.` → `acme`: legal suffix stripped (cleanco's terms), accents, spaces and case folded.

    The duplicate pipeline's normalisation, so exact and fuzzy duplicates agree on "same company".
    """
    from checks.dedupe.normalise import normalise_company

    return normalise_company(name) or normalize_whitespace(name).casefold()


# -- phones ---------------------------------------------------------------------------------------
def _phone_batch(items: list[tuple[str, str | None]]) -> list[tuple]:
    from checks.phones import check_phone

    return [check_phone(v, r) for v, r in items]


def phone_info(values: pd.Series, regions: pd.Series) -> pd.DataFrame:
    """valid, problem, e164 and region of each phone value, read with the record's country.

    Parsed once per distinct (value, country); large batches are spread over the CPU cores.
    """
    pairs = pd.DataFrame({"v": values.astype(object), "r": regions.astype(object)})
    pairs["r"] = pairs["r"].where(pairs["r"].notna(), None)
    uniq = list(dict.fromkeys(zip(pairs.v, pairs.r, strict=True)))
    uniq = [u for u in uniq if u[0] is not None]
    workers = min(os.cpu_count() or 1, 4)
    if len(uniq) >= PARALLEL_FROM and workers > 1:
        size = -(-len(uniq) // (workers * 4))
        with ProcessPoolExecutor(workers) as pool:
            results = [r for part in pool.map(_phone_batch, [uniq[i : i + size] for i in range(0, len(uniq), size)])
                       for r in part]
    else:
        results = _phone_batch(uniq)
    lookup = dict(zip(uniq, results, strict=True))
    rows = [lookup.get((v, r), (False, None, None, None)) for v, r in zip(pairs.v, pairs.r, strict=True)]
    return pd.DataFrame(rows, columns=["valid", "problem", "e164", "region"], index=values.index)


_UP, _DOWN = "0123456789" * 3, "9876543210" * 3


def _digit_run(digits: str) -> bool:
    """1234567890, 9876543210: every digit one up (or one down) from the one before, modulo 10."""
    return 7 <= len(digits) <= 20 and (digits in _UP or digits in _DOWN)


def _placeholder_digits(digits: str) -> bool:
    if len(digits) < 3 or len(set(digits[-7:])) == 1:
        return True
    # The whole number is a run; an 11+ digit number may carry a country code in front of it.
    return any(_digit_run(digits[cut:]) for cut in ((0, 1, 2) if len(digits) >= 11 else (0,)))


def is_placeholder_phone(series: pd.Series) -> pd.Series:
    """000-000-0000, 123-456-7890, 555-555-5555 and the like (not a real 212-345-6789)."""
    digits = text(series).fillna("").str.replace(r"\D", "", regex=True)
    return map_distinct(digits.where(series.notna()), _placeholder_digits).fillna(False).astype(bool)


# -- names and text -------------------------------------------------------------------------------
def is_junk_name(series: pd.Series) -> pd.Series:
    """Keyboard mashes, placeholders and names with no letters (asdf, ???, N/A, xxxx, Test)."""
    from checks.reference import JUNK_NAMES

    low = text(series).fillna("").map(normalize_whitespace).str.lower()
    repeated = low.str.fullmatch(r"([a-z])\1{2,}").fillna(False).astype(bool)
    no_letters = ~low.str.contains(r"[^\W\d_]", regex=True).fillna(False).astype(bool)
    return (low.isin(JUNK_NAMES) | repeated | no_letters) & series.notna()


def has_mojibake(series: pd.Series) -> pd.Series:
    """Text decoded with the wrong encoding (GonÃ§alves), per ftfy."""
    s = series.astype(str)
    candidates = s.str.contains("[ÃÂÅâÄÐÑ€™Ã]", regex=True).fillna(False).astype(bool) & series.notna()
    out = np.zeros(len(series), dtype=bool)
    if candidates.any():
        out[candidates.to_numpy()] = map_distinct(s[candidates], lambda v: fix_encoding(v) != v).to_numpy(dtype=bool)
    return pd.Series(out, index=series.index)


def fixed_encoding(value: str) -> str:
    """The text ftfy recovers from mojibake."""
    return fix_encoding(value)


def proper_case(value: str) -> str:
    """`SMITH` → `Smith`, `mcdonald` → `McDonald` (nameparser's capitalisation rules)."""
    from nameparser import HumanName

    name = HumanName(value)
    name.capitalize(force=True)
    out = str(name).strip()
    return out if out and out.lower() == value.lower() else value.capitalize()



# -- dates ----------------------------------------------------------------------------------------
def to_datetime(series: pd.Series) -> pd.Series:
    """Naive-UTC timestamps; unparseable values become NaT."""
    out = pd.to_datetime(series, errors="coerce", utc=True, format="mixed")
    return out.dt.tz_localize(None)


def as_keys(series: pd.Series) -> pd.Series:
    """Record keys as strings ('42', not '42.0')."""
    if pd.api.types.is_float_dtype(series):
        ints = series.dropna()
        if (ints == np.floor(ints)).all():
            return series.astype("Int64").astype(object).where(series.notna(), None).map(
                lambda v: None if v is None else str(v))
    return series.astype(object).where(series.notna(), None).map(lambda v: None if v is None else str(v))
