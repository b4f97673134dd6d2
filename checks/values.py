"""Value-level validators, vectorised over columns, each run once per distinct value.

Every check calls these; they apply the one set of reference lists (`checks.reference`) and normal
forms (`checks.normalise`, `checks.phones`) that the duplicate pipeline uses too, so "what is a
missing value", "what is a valid phone" and "what is the E.164 form" have one definition across
the run, the drill-down, the exports and the matching.
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

from checks.normalise import (
    BLANK_OR_NULL,
    as_text,
    country_code,
    email_key_of,
    factorize,
    fold,
    is_null,
    is_placeholder_address,
    is_role_address,
    normalise_whitespace,
    split_email,
)
from checks.reference import (
    INDIVIDUAL_CONTRIBUTOR,
    JUNK_NAMES,
    MAIL_DOMAIN_ALIASES,
    MAIL_PROVIDERS,
    TITLE_FUNCTIONS,
    TITLE_SENIORITIES,
    TLD_TYPOS,
    name_dictionaries,
)

# A plain dot-atom address over an ASCII domain: email-validator accepts every one of these (a test
# checks it), so only the others need its slower, complete parse.
PLAIN_EMAIL = (r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                r"[A-Za-z]{2,24}")
SPECIAL_TLDS = (".test", ".local", ".localhost", ".invalid", ".onion", ".arpa", ".internal", ".home", ".lan")
PARALLEL_FROM = 40_000
LONGEST_DATE = 100  # characters
LONGEST_EMAIL = 2048  # characters; email-validator allows 254 after NFC, which composes, so a few more before
LONGEST_NAME = 256  # characters, beyond any real name
PLAIN_EMAIL_RE = re.compile(PLAIN_EMAIL)


def text(series: pd.Series) -> pd.Series:
    """Values as Python strings (None for nulls), whatever the driver returned.

    The strings are valid Unicode (`checks.normalise.as_text`): bytes are read as UTF-8, and
    what cannot be decoded shows as U+FFFD.
    """
    values = [(v if v.isascii() else as_text(v)) if type(v) is str else None if is_null(v) else as_text(v)
              for v in series.to_numpy(dtype=object)]
    return pd.Series(values, index=series.index, dtype=object)


def value_text(value) -> str | None:
    """One value as text to store or compare (a fix's old and new value): None for a null, `5` for 5.0."""
    if is_null(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if type(value) is str else as_text(value)


def code_text(series: pd.Series) -> pd.Series:
    """Codes (postal codes) as text: like `text`, a whole float as the integer it is.

    A number column with NULLs reads as floats, and `1067.0` is no postal code: `1067` is (and may
    have lost its leading zero).
    """
    values = series.to_numpy(dtype=object)
    whole = [isinstance(v, float) and v.is_integer() and abs(v) < 2**53 for v in values]
    if not any(whole):
        return text(series)
    return text(pd.Series([str(int(v)) if w else v for v, w in zip(values, whole, strict=True)],
                          index=series.index, dtype=object))


def missing_values(uniques: pd.Series) -> np.ndarray:
    """Per distinct non-null value: blank or a null token."""
    # `is_missing` on a text, inlined: this runs once per distinct value of every text column.
    return np.array([(v if type(v) is str else as_text(v)).strip().lower() in BLANK_OR_NULL for v in uniques],
                    dtype=bool)


def is_missing(series: pd.Series) -> pd.Series:
    """Null, blank, or a null token stored as data ('Unknown', '-', 'TBD' …)."""
    if not holds_text(series):
        return series.isna()  # numbers, timestamps: only a null is missing
    return on_distinct(series, missing_values, fill=True)


def holds_text(series: pd.Series) -> bool:
    """Whether a column may hold text (object or string dtype), where blanks and null tokens can hide."""
    return series.dtype == object or pd.api.types.is_string_dtype(series)


def truthy(series: pd.Series) -> pd.Series:
    """1/true/'Yes'/'t' as True (anything else, nulls and undecodable text included, as False)."""
    return text(series).str.strip().str.lower().isin({"1", "true", "t", "yes", "y", "1.0"})


def map_distinct(series: pd.Series, func) -> pd.Series:
    """Apply `func` once per distinct non-null value (None where the value is missing)."""
    codes, uniques = distinct(series)
    return spread(codes, [func(v) for v in uniques], None, series.index)


def distinct(series: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(code of each row, the distinct non-null values as an object Series); missing rows get code -1."""
    codes, uniques = factorize(series)
    return codes, pd.Series(uniques, dtype=object)


def spread(codes: np.ndarray, per_distinct, fill=None, index=None) -> pd.Series:
    """Per-distinct results back onto the rows (`fill` where the row's value is missing).

    Boolean arrays stay boolean (with a boolean fill); anything else becomes an object Series
    whose items are the results as given (tuples included).
    """
    if isinstance(per_distinct, np.ndarray) and per_distinct.dtype == bool and isinstance(fill, bool):
        result = np.append(per_distinct, fill)
    else:
        items = per_distinct.tolist() if isinstance(per_distinct, (np.ndarray, pd.Series)) else list(per_distinct)
        items.append(fill)
        result = np.fromiter(items, dtype=object, count=len(items))
    return pd.Series(result[codes], index=index, dtype=result.dtype)  # object stays object (no str inference)


def on_distinct(series: pd.Series, vectorised, fill=None) -> pd.Series:
    """Apply a vectorised `vectorised(Series) -> array` to the distinct non-null values only.

    CRM columns repeat a lot (first names, cities, titles, countries), so string work on the
    distinct values and a spread back by code is several times faster than on every row.
    Missing values get `fill`.
    """
    codes, uniques = distinct(series)
    return spread(codes, vectorised(uniques), fill, series.index)


def member(series: pd.Series, values) -> pd.Series:
    """`series.isin(values)` for a large set, without converting the set on every call."""
    arr = series.to_numpy(dtype=object)
    return pd.Series(np.fromiter((v in values for v in arr), dtype=bool, count=len(arr)), index=series.index)


# -- countries ----------------------------------------------------------------------------------
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
    values = series.to_numpy(dtype=object)
    out = np.array([type(v) is str and len(v) <= 254 and PLAIN_EMAIL_RE.fullmatch(v) is not None
                    and not v.lower().endswith(SPECIAL_TLDS) for v in values], dtype=bool)
    rest = ~out
    if rest.any():
        out[rest] = [email_ok(as_text(v)) for v in values[rest]]
    return pd.Series(out, index=series.index)


def email_ok(value: str) -> bool:
    """True when email-validator accepts the address (no network)."""
    if len(value) > LONGEST_EMAIL:  # far too long to be an address; the full parse takes a second on a megabyte
        return False
    try:
        validate_email(value, check_deliverability=False)
        return True
    except EmailNotValidError:
        return False


def email_parts(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(local part without +tag, domain), lowercased; empty strings for missing values.

    Plain Python over the values: several times faster than chained pandas string methods.
    """
    parts = [split_email(v) for v in series.to_numpy(dtype=object)]
    local = pd.Series([p[0] for p in parts], index=series.index, dtype=object)
    return local, pd.Series([p[1] for p in parts], index=series.index, dtype=object)


def is_placeholder_email(series: pd.Series, parts=None) -> pd.Series:
    """test@test.com, noemail@…, none@none.com and the like."""
    local, domain = parts or email_parts(series)
    flags = [is_placeholder_address(lo, do) for lo, do in zip(local.to_numpy(dtype=object), domain.to_numpy(dtype=object),
                                                                strict=True)]
    return pd.Series(np.array(flags, dtype=bool), index=series.index)


def is_role_email(series: pd.Series, parts=None) -> pd.Series:
    """info@, sales@, noreply@ … : a mailbox, not a person."""
    local = (parts or email_parts(series))[0]
    return pd.Series(np.array([is_role_address(lo) for lo in local.to_numpy(dtype=object)], dtype=bool),
                     index=series.index)


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
    from rapidfuzz.process import extractOne

    if domain in MAIL_PROVIDERS or "." not in domain:
        return None
    name, _, tld = domain.rpartition(".")
    if tld in TLD_TYPOS and name in _KNOWN_BY_NAME:
        return _KNOWN_BY_NAME[name]
    if _provider_abroad(name, tld):
        return None  # yahoo.ar, hotmail.es: the provider's service of another country, not a typo
    if len(domain) < 6:
        return None
    # Two edits only on long domains, and never for a known disposable service (yopmail ≈ hotmail).
    limit = 2 if len(domain) >= 10 and domain not in _disposable() else 1
    best = extractOne(domain, MAIL_PROVIDERS, scorer=DamerauLevenshtein.distance, score_cutoff=limit)
    return best[0] if best else None


def _provider_abroad(name: str, tld: str) -> bool:
    """A known provider's service of another country: `yahoo` + `ar`, `hotmail` + `es`, `yahoo.co` + `jp`."""
    return name in _KNOWN_BY_NAME and _is_country_tld(tld)


def is_mail_provider(domain: str) -> bool:
    """A consumer mailbox domain (gmail.com, googlemail.com, hotmail.es …): no evidence of an employer."""
    if domain in MAIL_PROVIDERS or domain in MAIL_DOMAIN_ALIASES:
        return True
    name, _, tld = domain.rpartition(".")
    return bool(name) and _provider_abroad(name, tld)


def business_domain(local: str, domain: str) -> str | None:
    """The company's domain an address gives: not a consumer, disposable or placeholder mailbox, nor a typo of one.

    Role addresses (info@, sales@) are the company's own mailboxes and give its domain too.
    """
    if "." not in domain or domain.startswith(".") or domain.endswith(".") or is_placeholder_address(local, domain):
        return None
    if is_mail_provider(domain) or domain in _disposable() or domain_typo_fix(domain) is not None:
        return None
    return domain


def _is_country_tld(tld: str) -> bool:
    """A country's top-level domain (`ar`, `es`, `uk`); TLD_TYPOS are read as typos first."""
    return len(tld) == 2 and (tld == "uk" or pycountry.countries.get(alpha_2=tld.upper()) is not None)


# The first well-known domain of each name (gmail.com for gmail.con).
_KNOWN_BY_NAME = {}
for _known in MAIL_PROVIDERS:
    _KNOWN_BY_NAME.setdefault(_known.rpartition(".")[0], _known)


def email_keys(series: pd.Series, parts=None, syntax_ok: pd.Series | None = None) -> pd.Series:
    """The duplicate key of each address, None for an invalid, role, placeholder or missing one.

    The key is the person's normal form (`checks.normalise.email_key_of`) of a valid address.

    One definition for exact email duplicates, leads duplicating contacts and the fuzzy pipeline;
    callers that have the parts and the syntax verdict already pass them.
    """
    local, domain = parts or email_parts(series)
    valid = (email_syntax_valid(series) if syntax_ok is None else syntax_ok).to_numpy(dtype=bool)
    keys = [email_key_of(lo, do) if ok else None
            for lo, do, ok in zip(local.to_numpy(dtype=object), domain.to_numpy(dtype=object), valid, strict=True)]
    return pd.Series(keys, index=series.index, dtype=object)


# -- phones ---------------------------------------------------------------------------------------
def _phone_batch(values: list[str], regions: list[str | None]) -> list[tuple]:
    from checks.phones import check_phone

    return list(map(check_phone, values, regions))


PHONE_INFO = ("valid", "problem", "e164", "region")
# A process pool pays only on large batches with a core to spare for this process: this process
# pickles every pair out and every answer back (about 0.6 µs a pair, against 1.5 to 2.5 µs to check
# one) while the workers run, and starting them costs a tenth of a second. With 2 workers on 2
# cores, phone_info took 0.19 s against 0.11 s inline for 47k distinct pairs, 0.48 s against 0.47 s
# for 194k, 0.91 s against 0.96 s for 385k and 1.98 s against 1.95 s for 759k: nothing gained. So
# the pool takes 3 cores or more (one for this process) and POOL_PAYS_FROM distinct pairs, and
# PARALLEL_FROM, which forked engine workers raise to keep pools from nesting, still applies.
POOL_PAYS_FROM = 200_000


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may run on (containers, taskset)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _distinct_pairs(values: np.ndarray, regions: np.ndarray) -> tuple[list, list, np.ndarray]:
    """The distinct (text value, region) pairs in order of first appearance, and each row's pair.

    Rows whose value is not text get the code len(pairs); a missing region (None, NaN) is None.
    Two factorisations in C and one of the combined integer codes: the same pairs as a dict over
    (value, region) tuples, without building, hashing and looking up a tuple per row.
    """
    value_codes, value_uniques = pd.factorize(values)
    region_codes, region_uniques = pd.factorize(regions)
    is_text = np.fromiter((isinstance(v, str) for v in value_uniques), dtype=bool, count=len(value_uniques))
    checked = value_codes >= 0
    checked[checked] = is_text[value_codes[checked]]
    stride = len(region_uniques) + 1  # region code + 1: 0 for no region
    keys = value_codes[checked].astype(np.int64) * stride + region_codes[checked] + 1
    pair_codes, pair_keys = pd.factorize(keys)
    region_of = np.empty(stride, dtype=object)
    region_of[:-1] = region_uniques
    region_of[-1] = None  # key % stride - 1 == -1: no region
    rows = np.full(len(values), len(pair_keys), dtype=np.intp)
    rows[checked] = pair_codes
    return value_uniques[pair_keys // stride].tolist(), region_of[pair_keys % stride - 1].tolist(), rows


def phone_info(values: pd.Series, regions: pd.Series) -> pd.DataFrame:
    """valid, problem, e164 and region of each phone value, read with the record's country.

    Parsed once per distinct (value, country); very large batches are spread over the CPU cores
    when there are enough of them (see POOL_PAYS_FROM).
    """
    vals, regs = values.to_numpy(dtype=object), regions.to_numpy(dtype=object)
    if len(vals) != len(regs):
        raise ValueError(f"{len(vals)} phone values but {len(regs)} regions")
    texts, places, rows = _distinct_pairs(vals, regs)
    workers = min(_cores() - 1, 4)
    if len(texts) >= max(PARALLEL_FROM, POOL_PAYS_FROM) and workers > 1:
        size = -(-len(texts) // (workers * 4))
        starts = range(0, len(texts), size)
        with ProcessPoolExecutor(workers) as pool:
            chunks = [texts[i : i + size] for i in starts], [places[i : i + size] for i in starts]
            parts = pool.map(_phone_batch, *chunks)
            results = [r for part in parts for r in part]
    else:
        results = _phone_batch(texts, places)
    # Per distinct pair, one more slot for the rows not checked (not valid, nothing known); spread
    # onto the rows by numpy indexing. Column by column: `zip(*results)` over a few hundred thousand
    # tuples takes longer than all the rest of the spreading.
    n = len(results)
    valid = np.zeros(n + 1, dtype=bool)
    valid[:n] = np.fromiter((r[0] for r in results), dtype=bool, count=n)
    frame = {"valid": valid[rows]}
    for i, name in enumerate(PHONE_INFO[1:], start=1):
        per_pair = np.empty(n + 1, dtype=object)
        per_pair[:n] = [r[i] for r in results]
        per_pair[n] = None
        frame[name] = pd.Series(per_pair[rows], index=values.index, dtype=object)
    return pd.DataFrame(frame, index=values.index)


_NON_DIGIT = re.compile(r"\D")
_UP, _DOWN = "0123456789" * 3, "9876543210" * 3
# Every run of 7 to 20 digits, each one up (or one down) from the one before, modulo 10.
_RUNS = frozenset(run[start : start + size] for run in (_UP, _DOWN) for start in range(10) for size in range(7, 21))


def digit_runs(size: int) -> list[str]:
    """The `size`-digit runs (7 to 20 digits) that make a number a placeholder, sorted."""
    return sorted(run for run in _RUNS if len(run) == size)


def _placeholder_digits(digits: str) -> bool:
    """000-000-0000, 555-5555, 1234567890: too short, the last seven digits one repeated, or a run."""
    last = digits[-7:]
    if len(digits) < 3 or last.count(last[0]) == len(last):
        return True
    # The whole number is a run; an 11+ digit number may carry a country code in front of it.
    return digits in _RUNS or (len(digits) >= 11 and (digits[1:] in _RUNS or digits[2:] in _RUNS))


def _placeholder_phone(value) -> bool:
    return _placeholder_digits(_NON_DIGIT.sub("", value if type(value) is str else as_text(value)))


def placeholder_phones(uniques: pd.Series) -> np.ndarray:
    """Per distinct non-null phone value: a placeholder (see `is_placeholder_phone`)."""
    return np.array([_placeholder_phone(v) for v in uniques], dtype=bool)


def is_placeholder_phone(series: pd.Series) -> pd.Series:
    """000-000-0000, 123-456-7890, 555-555-5555 and the like (not a real 212-345-6789)."""
    return on_distinct(series, placeholder_phones, fill=False)


# -- names and text -------------------------------------------------------------------------------
# A spreadsheet formula in a name field (OWASP CSV injection): a leading =, + or @, or a call of a
# function that reaches out (HYPERLINK(, WEBSERVICE(, DDE(…) or a DDE link to a program (cmd|…).
_FORMULA_NAME = re.compile(r"^[=+@]|\b(?:hyperlink|ddeauto|dde|webservice|filterxml|import(?:xml|data|html|feed|range))\("
                           r"|\b(?:cmd|msexcel|powershell|mshta|rundll32)\|")


def _formula_names(low: pd.Series) -> pd.Series:
    """Per lower-cased, whitespace-normalised name: it reads as a spreadsheet formula."""
    return low.str.contains(_FORMULA_NAME, regex=True).fillna(False).astype(bool)


def junk_names(uniques: pd.Series) -> np.ndarray:
    """Per distinct name: a keyboard mash, a placeholder, no letters or a formula (asdf, ???, N/A, =HYPERLINK(…))."""
    low = text(uniques).map(normalise_whitespace).str.lower()
    repeated = low.str.fullmatch(r"([a-z])\1{2,}").fillna(False).astype(bool)
    no_letters = ~low.str.contains(r"[^\W\d_]", regex=True).fillna(False).astype(bool)
    return (low.isin(JUNK_NAMES) | repeated | no_letters | _formula_names(low)).to_numpy(dtype=bool)


def is_junk_name(series: pd.Series) -> pd.Series:
    """Keyboard mashes, placeholders and names with no letters (asdf, ???, N/A, xxxx, Test)."""
    return on_distinct(series, junk_names, fill=False)


_MOJIBAKE_HINT = re.compile("[ÃÂÅâÄÐÑ€™Ã]")
REPLACEMENT = "\ufffd"  # the character decoders put in place of bytes they cannot read


def garbled(uniques: pd.Series) -> np.ndarray:
    """Per distinct text: decoded with the wrong encoding (GonÃ§alves), per ftfy."""
    return np.array([_MOJIBAKE_HINT.search(v) is not None and fix_encoding(v) != v
                     for v in (as_text(u) for u in uniques)], dtype=bool)


def has_mojibake(series: pd.Series) -> pd.Series:
    """Text decoded with the wrong encoding (GonÃ§alves), per ftfy."""
    return on_distinct(series, garbled, fill=False)


def undecodable(uniques: pd.Series) -> np.ndarray:
    """Per distinct text: it holds U+FFFD, what is left of bytes that were not valid UTF-8.

    The SQLite source decodes with replacement, `text` does the same for bytes and for the lone
    surrogates other drivers pass on, so every undecodable value is recognised by this one mark.
    """
    return np.array([REPLACEMENT in as_text(u) for u in uniques], dtype=bool)


def fixed_encoding(value: str) -> str:
    """The text ftfy recovers from mojibake."""
    return fix_encoding(value)


@lru_cache(maxsize=65_536)
def proper_case(value: str) -> str:
    """`SMITH` → `Smith`, `mcdonald` → `McDonald` (nameparser's capitalisation rules)."""
    from nameparser import HumanName

    if len(value) > LONGEST_NAME:  # no name is this long; nameparser takes seconds on a megabyte of text
        return value.capitalize()
    name = HumanName(value)
    name.capitalize(force=True)
    out = str(name).strip()
    return out if out and out.lower() == value.lower() else value.capitalize()


# Legal forms as companies write them; other words of up to three letters are read as acronyms.
LEGAL_FORMS = {"gmbh": "GmbH", "ag": "AG", "kg": "KG", "llc": "LLC", "llp": "LLP", "inc": "Inc", "ltd": "Ltd",
               "plc": "PLC", "sa": "SA", "sas": "SAS", "sarl": "SARL", "srl": "SRL", "sl": "SL", "spa": "SpA",
               "bv": "BV", "nv": "NV", "co": "Co", "corp": "Corp", "oy": "Oy", "ab": "AB", "as": "AS", "pty": "Pty"}
SMALL_WORDS = {"the", "and", "of", "for", "und", "de", "la", "le", "les", "los", "las", "del", "y", "et", "e", "der",
               "die", "das", "von", "van", "du", "des", "di", "da", "en", "at", "on", "in", "to"}


def company_case(value: str) -> str:
    """`ACME CORPORATION` → `Acme Corporation`, `MÜLLER GMBH & CO. KG` → `Müller GmbH & Co. KG`, `IBM FRANCE` → `IBM France`."""
    out = []
    for i, word in enumerate(re.split(r"(\W+)", value)):
        low = word.lower()
        if not word or not word[0].isalnum():
            out.append(word)
        elif low in LEGAL_FORMS:
            out.append(LEGAL_FORMS[low])
        elif low in SMALL_WORDS:
            out.append(low if i else low.capitalize())
        elif len(word) <= 3 and word.isalpha():
            out.append(word)  # an acronym: IBM, BMW, SAP
        else:
            out.append(word[:1].upper() + word[1:].lower())
    return "".join(out)


def _has_keyword(words: str, keywords: tuple[str, ...]) -> bool:
    return any(f" {k} " in words for k in keywords)


@lru_cache(maxsize=65_536)
def job_profile(title: str) -> tuple[str | None, str | None]:
    """(function, seniority) of a job title from the keyword tables (`reference.TITLE_FUNCTIONS`, `TITLE_SENIORITIES`).

    `VP Sales` → (Sales, VP), `Head of Marketing` → (Marketing, Director), `Software Engineer` →
    (Engineering, Individual contributor), `CFO` → (Finance, C-level). A title with a function and
    no seniority word is an individual contributor's; a title matching neither table gives nothing
    (None, None), and one with a seniority word only (`Director`) gives no function.
    """
    words = f" {fold(title[:LONGEST_NAME])} "
    function = next((value for keys, value in TITLE_FUNCTIONS if _has_keyword(words, keys)), None)
    seniority = next((value for keys, value in TITLE_SENIORITIES if _has_keyword(words, keys)), None)
    if seniority is None and function is not None:
        seniority = INDIVIDUAL_CONTRIBUTOR
    return function, seniority


def split_full_name(value: str) -> tuple[str, str] | None:
    """(first name, last name) of a full name written in one field, or None when it is not clearly one.

    `Emily Johnson` → (Emily, Johnson), `Johnson, Emily` → (Emily, Johnson), `José García López` →
    (José, García López). The given name must be on the name lists the swapped-names check reads
    (Faker's, 16 locales) and not a particle (`Del Rio`, `van Dijk` are surnames); a second given
    name (`Mary Ann Smith`) leaves where the first name ends a guess, so nothing is proposed.
    """
    text_ = normalise_whitespace(value)
    if len(text_) > LONGEST_NAME or any(c.isdigit() for c in text_) or text_.count(",") > 1:
        return None
    if "," in text_:  # `Last, First`, one given name after the comma
        rest, _, given = (part.strip() for part in text_.partition(","))
        if not rest or not given or " " in given:
            return None
    else:
        given, _, rest = text_.partition(" ")
        if not rest:
            return None
    if not all(any(c.isalpha() for c in w) for w in (given, *rest.split(" "))):
        return None
    first_names, last_names = name_dictionaries()
    low = given.lower()
    if low not in first_names or low in SMALL_WORDS or len(given) < 2:
        return None
    after = rest.split(" ")
    if len(after[-1].strip(".")) < 2:  # `Emily J.`: no surname to write
        return None
    second = after[0].lower()
    if len(after) >= 2 and second in first_names and second not in last_names:
        return None
    return given, rest


# -- dates ----------------------------------------------------------------------------------------
def to_datetime(series: pd.Series) -> pd.Series:
    """Naive-UTC timestamps; unparseable values become NaT."""
    if holds_text(series):
        # No date is written in more than a hundred characters, and the mixed-format parser takes
        # minutes on a megabyte of text: such a value cannot be read, like any other non-date.
        long = np.fromiter((type(v) is str and len(v) > LONGEST_DATE for v in series.to_numpy(dtype=object)),
                           dtype=bool, count=len(series))
        if long.any():
            series = series.astype(object).where(~long, None)
    out = pd.to_datetime(series, errors="coerce", utc=True, format="mixed").dt.tz_localize(None)
    return _widened(out)


# Nanosecond timestamps span 1677–2262 and their differences 292 years: a column reaching beyond
# this window (a year-1 sentinel, pandas' own bounds) is kept in microseconds, so that ages and
# comparisons with now cannot overflow. Dates inside it, the CRM's own, keep their nanoseconds.
_NANOSECOND_SAFE = (pd.Timestamp("1900-01-01"), pd.Timestamp("2100-01-01"))


def _widened(dates: pd.Series) -> pd.Series:
    if dates.dt.unit != "ns" or not dates.notna().any():
        return dates
    if dates.min() < _NANOSECOND_SAFE[0] or dates.max() > _NANOSECOND_SAFE[1]:
        return dates.dt.as_unit("us")
    return dates


def as_keys(series: pd.Series) -> pd.Series:
    """Record keys as Python strings ('42', not '42.0'), None where missing; object dtype."""
    values = series.to_numpy()
    if values.dtype.kind in "iu":  # integer keys, the common case: numpy formats them in C
        return pd.Series(values.astype(str).astype(object), index=series.index, dtype=object)
    if values.dtype.kind == "f":
        present = ~np.isnan(values)
        whole = values[present]
        # Integer ids with NULLs read as floats; anything else (1.5, inf, 1e300) is written as text.
        if (whole == np.floor(whole)).all() and (np.abs(whole) < 2**63).all():
            out = np.full(len(values), None, dtype=object)
            out[present] = values[present].astype(np.int64).astype(str).astype(object)
            return pd.Series(out, index=series.index, dtype=object)
    return text(series)
