"""Phone numbers: the one E.164 normal form, and validity at scale from phonenumbers' own metadata.

`normalise_phone` is the E.164 form every check and the duplicate pipeline use. For the common
shapes — already E.164, or a national number whose trunk prefix is literal — it converts without
a full parse (`fast_e164`); a number phonenumbers would rewrite goes through `phonenumbers.parse`,
so both paths give phonenumbers' own answer.

`phonenumbers.is_valid_number` walks up to a dozen number-type descriptions through layers of
Python calls (about 20 µs a number). `check_phone` converts with `fast_e164` and then applies the
very same patterns and possible lengths from phonenumbers' metadata, precompiled once per region.
Any other shape goes through the full parse. Tests compare the paths on many numbers.
"""

from __future__ import annotations

import re
from functools import cache

import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

# Validity needs any type to match, not which one: the common types go first.
_TYPES = ("fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "voip", "personal_number", "pager",
          "uan", "voicemail")
_POSSIBLE = {phonenumbers.ValidationResult.TOO_SHORT: "too few digits",
             phonenumbers.ValidationResult.TOO_LONG: "too many digits",
             phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "unknown country calling code",
             phonenumbers.ValidationResult.INVALID_LENGTH: "wrong number of digits"}


_DROP_NON_DIGITS = {c: None for c in range(128) if not chr(c).isdigit()}
_PHONE_EXTENSION = re.compile(r"[a-wyzA-WYZ]|ext|x\s*\d", re.IGNORECASE)


@cache
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


@cache
def _rewritten_after_code(code: int) -> tuple[bool, tuple[re.Pattern, ...]]:
    """Whether phonenumbers may rewrite a national number written after `+code`, and on what start.

    After the country code, phonenumbers still strips (or transforms) a trunk prefix it finds, with
    the rules of the code's main region: `+44 (0)20 …` becomes `+4420…`, Gabon drops a 0, Norfolk
    Island adds a 3. Such numbers need the full parse (always, for a main region with a transform rule).
    """
    regions = COUNTRY_CODE_TO_REGION_CODE.get(code, ())
    meta = PhoneMetadata.metadata_for_region(regions[0]) if regions else None
    if meta is None:
        return False, ()
    patterns = (re.compile(meta.national_prefix_for_parsing),) if meta.national_prefix_for_parsing else ()
    return meta.national_prefix_transform_rule is not None, patterns


def fast_e164(raw: str, region: str | None) -> str | None:
    """E.164 for the common shapes of a phone number, ``None`` when a full parse is needed."""
    if not raw.isascii() or _PHONE_EXTENSION.search(raw):
        return None
    digits = raw.translate(_DROP_NON_DIGITS)
    if raw.lstrip().startswith("+"):
        if not 8 <= len(digits) <= 15 or (split := _split("+" + digits)) is None:
            return None
        transform, prefixes = _rewritten_after_code(split[0])
        if transform or any(p.match(split[1]) for p in prefixes):
            return None
        return "+" + digits
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
        quick = fast_e164(value, region)
        if quick is not None:
            return quick
    try:
        parsed = phonenumbers.parse(value, region or "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


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
    e164 = fast_e164(value, region)
    if e164 is not None and (split := _split(e164)) is not None and not split[1].startswith("0"):
        code, national = split
        found, valid = _region_of(code, national)
        if found is not None and (valid or _valid_for_region(national, found)):
            return True, None, e164, found
    # Invalid, unusual or ambiguous: the full parse decides and explains.
    return _full(value, region)
