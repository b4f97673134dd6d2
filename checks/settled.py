"""What the database may settle of the facts in `checks.values`: sound pass predicates on one column.

Each builder gives the predicate parts under which a value certainly passes the Python rule of
the same name, from that rule's own constants (one definition of each fact). The predicates only
ever claim plain ASCII values, where Python's `strip`, `lower` and `len` and the database's text
agree; anything else is left to Python.
"""

from __future__ import annotations

from functools import cache

import pycountry
from phonenumbers import PhoneMetadata

from checks.normalise import BLANK_OR_NULL
from checks.phones import NUMBER_TYPES
from checks.reference import (
    DOTS_IGNORED_DOMAINS,
    MAIL_DOMAIN_ALIASES,
    PLACEHOLDER_DOMAINS,
    PLACEHOLDER_LOCALS,
    ROLE_LOCALS,
)
from checks.values import digit_runs, is_iso_country
from connectors.source.predicates import AtMost, Lacks, Matches, NotMatches, any_of, sql_pattern

# Printable ASCII, no white space at either end: Python's strip() leaves such a value as it is.
_TRIMMED_ASCII = r"[!-~]([ -~]*[!-~])?"
# Words that mean no value ('Unknown', 'TBD' …), and 'NaN', which pandas reads as a missing number.
_NO_VALUE = any_of(sorted({*BLANK_OR_NULL, "nan"} - {""}))
# Generic top-level domains common in CRM addresses (two-letter ones are country codes, all allowed).
_COMMON_TLDS = ("com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "io", "co", "app", "dev", "ai",
                "xyz", "online", "site", "tech", "store", "shop", "email", "me", "tv", "us", "eu")


def missing_text(label: str) -> Matches:
    """A value that is blank or a null token as written, without surrounding space (`values.missing_values` is True)."""
    return Matches(label, any_of(sorted(BLANK_OR_NULL - {""})))


def filled_text(label: str) -> tuple:
    """A value that is not NULL, blank or a null token (`values.missing_values` is False for it)."""
    return Matches(label, _TRIMMED_ASCII), NotMatches(label, _NO_VALUE)


def plain_email(label: str) -> tuple:
    """An address `values.email_syntax_valid` accepts on its fast path (so email-validator would too).

    `PLAIN_EMAIL` itself, with its nested repetitions, costs a regex engine such as PostgreSQL's
    several times more than these parts, which together admit only addresses it matches: the
    characters, one @ and a top-level domain of letters; no dot at the start, doubled or beside
    the @, no hyphen at either end of a domain label; and at most 68 characters, so that no
    label can pass 63. The top-level domain is two letters or a common generic one, none of
    them a special-use name (`SPECIAL_TLDS`).
    """
    tlds = any_of(_COMMON_TLDS)[1:-1]
    # Cheap parts first: engines stop at the first false one.
    return (AtMost(label, 68), Lacks(label, ("..", ".@", "@.", "@-", ".-", "-.")),
            Matches(label, f"[A-Za-z0-9_%+-][A-Za-z0-9_%+.-]*@[A-Za-z0-9.-]+[.]([A-Za-z]{{2}}|{tlds})"))


@cache
def _iso_codes() -> str:
    return "(" + "|".join(sorted(c.alpha_2 for c in pycountry.countries if is_iso_country(c.alpha_2))) + ")"


def iso_country(label: str) -> tuple:
    """An ISO 3166 alpha-2 code as `values.is_iso_country` accepts it (upper case, listed)."""
    return (Matches(label, _iso_codes()),)


def _sql_regex(pattern: str) -> str:
    """A phonenumbers metadata pattern (Python syntax) in the shared syntax: plain groups, digit classes."""
    return sql_pattern(pattern).replace(r"\d", "[0-9]")


@cache
def _nanp_parts() -> tuple[str, str]:
    """(valid national number, placeholder) patterns of `+1` numbers from phonenumbers' US metadata."""
    meta = PhoneMetadata.metadata_for_region("US")
    types = [getattr(meta, t, None) for t in NUMBER_TYPES]
    assert tuple(meta.general_desc.possible_length) == (10,)
    assert all(d.possible_length in (None, (), (10,), (-1,)) for d in types if d is not None)
    assert meta.leading_digits is None and meta.national_prefix_for_parsing == "1"
    valid = "|".join(f"({_sql_regex(d.national_number_pattern)})" for d in types
                     if d is not None and d.national_number_pattern)
    general = _sql_regex(meta.general_desc.national_number_pattern)
    placeholder = "|".join([*(d * 7 for d in "0123456789")])
    runs = "|".join([f"[+]({'|'.join(digit_runs(11))})", f"[+]1({'|'.join(digit_runs(10))})",
                     f"[+]1[0-9]({'|'.join(digit_runs(9))})", f"[+][0-9]*({placeholder})"])
    return "[+]1[2-9][0-9]{9}", f"[+]1({general})", f"[+]1({valid})", runs


def valid_nanp_e164(label: str) -> tuple:
    """A `+1` number in E.164 that `values.phone_info` finds valid (in the US) and that is no placeholder.

    Written exactly `+1` and ten digits, such a number takes `phones.check_phone`'s fast path
    whatever the record's country, and is valid when its national number matches the US general
    description and one of its number types: those patterns, from phonenumbers' own metadata.
    """
    shape, general, valid, placeholders = _nanp_parts()
    return Matches(label, shape), Matches(label, general), Matches(label, valid), NotMatches(label, placeholders)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_set(values) -> str:
    return "(" + ", ".join(_sql_text(v) for v in sorted(values)) + ")"


def email_key_sql(label: str) -> tuple[tuple, list[tuple[str, str]]]:
    """For a plain address (the parts of `plain_email`): the steps that compute its duplicate key in DuckDB.

    The key is `normalise.email_key_of` of `normalise.split_email`, spelled in SQL: for a plain
    address (ASCII, one @, no white space or brackets) lower-casing and splitting agree with
    Python's, so the key is the same string; None for a role or placeholder address. Steps are
    (name, expression) pairs, each over the columns of `q` and the names before it; the last is
    the key. Named steps let the engine compute each part once.
    """
    aliases = " ".join(f"WHEN __d0 = {_sql_text(a)} THEN {_sql_text(b)}" for a, b in sorted(MAIL_DOMAIN_ALIASES.items()))
    steps = [
        ("__e0", f'lower("q"."{label}")'),
        ("__l0", "split_part(split_part(__e0, '@', 1), '+', 1)"),
        ("__d0", "split_part(__e0, '@', 2)"),
        ("__d1", f"CASE {aliases} ELSE __d0 END"),
        ("__l1", f"CASE WHEN __d1 IN {_sql_set(DOTS_IGNORED_DOMAINS)} THEN replace(__l0, '.', '') ELSE __l0 END"),
        ("__k", f"CASE WHEN __l1 = '' OR __l1 IN {_sql_set(ROLE_LOCALS | PLACEHOLDER_LOCALS)} "
              f"OR __d1 IN {_sql_set(PLACEHOLDER_DOMAINS)} OR __l1 = split_part(__d1, '.', 1) "
              "THEN NULL ELSE __l1 || '@' || __d1 END"),
    ]
    return plain_email(label), steps
