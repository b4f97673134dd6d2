"""Phone validity at scale: phonenumbers' own metadata, applied without its per-call overhead.

`phonenumbers.is_valid_number` walks up to a dozen number-type descriptions through layers of
Python calls (about 20 µs a number). For the common shapes — already E.164, or a national number
whose trunk prefix is literal — this module converts to E.164 with the same rules as the
duplicate pipeline (`checks.dedupe.normalise._fast_e164`) and then applies the very same
patterns and possible lengths from phonenumbers' metadata, precompiled once per region. Any other
shape goes through the full `phonenumbers.parse`. A test compares both paths on many numbers.
"""

from __future__ import annotations

import re
from functools import cache

import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from checks.dedupe.normalise import _fast_e164

# Validity needs any type to match, not which one: the common types go first.
_TYPES = ("fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "voip", "personal_number", "pager",
          "uan", "voicemail")
_POSSIBLE = {phonenumbers.ValidationResult.TOO_SHORT: "too few digits",
             phonenumbers.ValidationResult.TOO_LONG: "too many digits",
             phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "unknown country calling code",
             phonenumbers.ValidationResult.INVALID_LENGTH: "wrong number of digits"}


def _desc(desc) -> tuple[frozenset[int] | None, re.Pattern] | None:
    if desc is None or desc.national_number_pattern is None:
        return None
    lengths = list(desc.possible_length or ())
    usable = frozenset(lengths) if lengths and lengths[0] != -1 else None
    return usable, re.compile(desc.national_number_pattern)


@cache
def _region_rules(region: str):
    """(general description, type descriptions, leading-digits pattern) of a region."""
    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None:
        return None
    general = _desc(meta.general_desc)
    types = [d for d in (_desc(getattr(meta, t, None)) for t in _TYPES) if d is not None]
    leading = re.compile(meta.leading_digits) if meta.leading_digits else None
    return general, types, leading


def _valid_for_region(national: str, region: str) -> bool:
    rules = _region_rules(region)
    if rules is None or rules[0] is None:
        return False
    general, types, _ = rules
    # As phonenumbers' _number_type_helper: the general description, then any number type.
    size = len(national)
    lengths, pattern = general
    if (lengths is not None and size not in lengths) or pattern.fullmatch(national) is None:
        return False
    for lengths, pattern in types:
        if (lengths is None or size in lengths) and pattern.fullmatch(national) is not None:
            return True
    return False


def _region_of(code: int, national: str) -> tuple[str | None, bool]:
    """The region of a number as phonenumbers' region_code_for_number (valid or not).

    Also says whether the number is already known to be valid there, so the caller need not check again.
    """
    regions = COUNTRY_CODE_TO_REGION_CODE.get(code, ())
    if len(regions) == 1:
        return regions[0], False
    for region in regions:
        rules = _region_rules(region)
        if rules is None:
            continue
        leading = rules[2]
        if leading is not None:
            if leading.match(national):
                return region, False
        elif _valid_for_region(national, region):
            return region, True
    return None, False


def _split(e164: str) -> tuple[int, str] | None:
    digits = e164[1:]
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            return code, digits[size:]
    return None


def _full(value: str, region: str | None) -> tuple[bool, str | None, str | None, str | None]:
    try:
        num = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return False, "not a phone number", None, None
    reason = phonenumbers.is_possible_number_with_reason(num)
    if reason not in (phonenumbers.ValidationResult.IS_POSSIBLE, phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        return False, _POSSIBLE.get(reason, "not a possible number"), None, None
    if not phonenumbers.is_valid_number(num):
        return False, "no such number range in its country", None, None
    return (True, None, phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164),
            phonenumbers.region_code_for_number(num))


def check_phone(value: str, region: str | None) -> tuple[bool, str | None, str | None, str | None]:
    """(valid, problem, E.164, region) of a phone number read with the record's country."""
    e164 = _fast_e164(value, region)
    if e164 is not None and (split := _split(e164)) is not None and not split[1].startswith("0"):
        code, national = split
        found, valid = _region_of(code, national)
        if found is not None and (valid or _valid_for_region(national, found)):
            return True, None, e164, found
    # Invalid, unusual or ambiguous: the full parse decides and explains.
    return _full(value, region)
