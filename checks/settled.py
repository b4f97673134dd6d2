"""What the database may settle of the facts in `checks.values`: sound pass predicates on one column.

Each builder gives the predicate parts under which a value certainly passes the Python rule of
the same name, from that rule's own constants (one definition of each fact). The predicates only
ever claim plain ASCII values, where Python's `strip`, `lower` and `len` and the database's text
agree; anything else is left to Python.
"""

from __future__ import annotations

from functools import cache

import pycountry

from checks.normalise import BLANK_OR_NULL
from checks.values import SPECIAL_TLDS, is_iso_country
from connectors.source.predicates import AtMost, Lacks, Matches, NotMatches, any_of

# Printable ASCII, no white space at either end: Python's strip() leaves such a value as it is.
_TRIMMED_ASCII = r"[!-~]([ -~]*[!-~])?"
# Words that mean no value ('Unknown', 'TBD' …), and 'NaN', which pandas reads as a missing number.
_NO_VALUE = any_of(sorted({*BLANK_OR_NULL, "nan"} - {""}))
# Generic top-level domains common in CRM addresses (two-letter ones are country codes, all allowed).
_COMMON_TLDS = ("com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "io", "co", "app", "dev", "ai",
                "xyz", "online", "site", "tech", "store", "shop", "email", "me", "tv", "us", "eu")


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
    assert not any(t.lstrip(".").lower() in _COMMON_TLDS or len(t) == 3 for t in SPECIAL_TLDS)
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
