"""Phone numbers: the one E.164 normal form, and validity at scale from phonenumbers' own metadata.

`normalise_phone` is the E.164 form every check and the duplicate pipeline use. For the common
shapes — already E.164, or a national number whose trunk prefix is literal — it converts without
a full parse (`fast_e164`); a number phonenumbers would rewrite goes through `phonenumbers.parse`,
so both paths give phonenumbers' own answer.

`phonenumbers.is_valid_number` walks up to a dozen number-type descriptions through layers of
Python calls (about 20 µs a number). `check_phone` converts with `fast_e164` and then applies the
very same patterns and possible lengths from phonenumbers' metadata, precompiled once per region
into one regular expression per number length (`_validity`). The spellings most CRM phones are
written in, `+1NXXNXXXXXX`, `(NXX) NXX-XXXX` and the like, are recognised by one regular expression
and skip the conversion altogether; a national number read with a region phonenumbers does not
know is answered without a parse. Any shape `fast_e164` does not convert goes through the full
parse. Tests compare the paths with phonenumbers on many numbers (tests/checks/test_phones*.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache, lru_cache

import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE, SUPPORTED_REGIONS

# Validity needs any type to match, not which one: the common types go first.
NUMBER_TYPES = (
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)
_POSSIBLE = {
    phonenumbers.ValidationResult.TOO_SHORT: "too few digits",
    phonenumbers.ValidationResult.TOO_LONG: "too many digits",
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "unknown country calling code",
    phonenumbers.ValidationResult.INVALID_LENGTH: "wrong number of digits",
}
_NOT_A_NUMBER = (False, "not a phone number", None, None)

# The text `fast_e164` converts: ASCII digits and the separators phonenumbers ignores wherever they
# are (space - . ( ) /), after one + at most, at the start. Anything else needs the full parse: a
# letter (an extension, a vanity number, text), a non-ASCII digit or space, and the punctuation
# phonenumbers rejects or reads (`#` ends a number, `~` starts a second one, `+` in the middle,
# `!`, `,`, `;`, a tab…), all of which the conversion used to drop as if they were spaces.
_PLAIN_NUMBER = re.compile(r" *\+?[0-9 ()./-]*").fullmatch
# ASCII bytes that are not digits: deleting them with `bytes.translate` (a C loop over a 256-byte
# table) is three times faster than `str.translate` with a dict.
_NON_DIGIT_BYTES = bytes(c for c in range(128) if not chr(c).isdigit())
_PHONE_CONTEXT = ";phone-context="  # RFC 3966: the only way phonenumbers adds a + the text does not have

# The usual spellings of a NANP number: `+1NXXNXXXXXX`, `(NXX) NXX-XXXX`, `NXX-NXX-XXXX`,
# `+1 NXX-NXX-XXXX`, `+1 (NXX) NXX-XXXX`, `NXX.NXX.XXXX`, `NXXNXXXXXX`… (group 1: the +1), ASCII
# digits only (`\d` would take any Unicode digit). The first digit 2-9 is what `fast_e164` requires
# of a NANP number: a 0 or 1 after the country code goes through the full parse, as phonenumbers
# may strip it. Every such text is one `_PLAIN_NUMBER` converts to +1 and its ten digits.
_NANP_SHAPE = re.compile(
    r"(\+1[ .-]?)?(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[ .-]?)[0-9]{3}[ .-]?[0-9]{4}"
).fullmatch
_LONGEST_NATIONAL = 17  # E.164 has at most 15 digits, a country code at least one
_CODES = {str(code): code for code in COUNTRY_CODE_TO_REGION_CODE}


@cache
def _region_rule(region: str) -> tuple | None:
    """Calling code, trunk prefix, other literal prefixes, international prefix and trunk test of a simple region.

    A region is simple when its trunk prefix is parsed literally (no regex rules), so
    "drop the trunk prefix, prepend the calling code" is what ``phonenumbers`` does, unless
    - the number starts with the region's international prefix (a match function here), which
      phonenumbers strips first, and which is not always 00: 015 in Israel, 810 in Russia, 119 in Cuba;
    - what is left after the trunk prefix does not fit the region's general pattern, or has a length
      that is not a possible one: phonenumbers then keeps the prefix (Russia's 8 800 … toll-free
      numbers). The last item tells whether the number without its trunk prefix fits.
    """
    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None:
        return None
    prefix, parsing = meta.national_prefix, meta.national_prefix_for_parsing
    # "0|180020" (GB) is fine: literal alternatives, of which the trunk prefix is the first.
    if parsing is not None and (parsing.split("|")[0] != prefix or not parsing.replace("|", "").isdigit()):
        return None
    others = tuple(parsing.split("|")[1:]) if parsing else ()
    idd = re.compile(meta.international_prefix).match if meta.international_prefix else None
    general = meta.general_desc
    if general is None or not general.national_number_pattern:
        return None
    pattern = re.compile(general.national_number_pattern).fullmatch
    lengths = frozenset(general.possible_length or ()) - frozenset(general.possible_length_local_only or ())

    def fits(national: str) -> bool:
        return len(national) in lengths and pattern(national) is not None

    return str(meta.country_code), prefix or "", others, idd, fits


@cache
def _nanp_national(region: str | None) -> bool:
    """Whether `fast_e164` reads a 10-digit national number not starting with 0 or 1 as +1 and those digits.

    True for the NANP regions whose trunk prefix 1 is literal and the only one, and whose
    international prefix, 011, cannot start such a number (US, CA, DO, JM, PR).
    """
    rule = _region_rule(region) if region else None
    meta = PhoneMetadata.metadata_for_region(region) if rule is not None else None
    return rule is not None and rule[0] == "1" and not rule[2] and meta.international_prefix == "011"


@cache
def _rewritten_after_code(code: int) -> Callable[[str], re.Match | None] | None:
    """Whether phonenumbers may rewrite a national number written after `+code`: a match on its start.

    After the country code, phonenumbers still strips (or transforms) a trunk prefix it finds, with
    the rules of the code's main region: `+44 (0)20 …` becomes `+4420…`, Gabon drops a 0, Norfolk
    Island adds a 3. Such numbers need the full parse (always, for a main region with a transform rule:
    its match takes any start). None: no rewriting.
    """
    regions = COUNTRY_CODE_TO_REGION_CODE.get(code, ())
    meta = PhoneMetadata.metadata_for_region(regions[0]) if regions else None
    if meta is None:
        return None
    if meta.national_prefix_transform_rule is not None:
        return re.compile("").match
    return re.compile(meta.national_prefix_for_parsing).match if meta.national_prefix_for_parsing else None


def _fast(raw: str, region: str | None) -> tuple[str, int, str] | None:
    """(E.164, country code, national number) for the common shapes, ``None`` when a full parse is needed.

    The E.164 form is the code and the national number: country codes are prefix-free, so splitting
    the one gives the other, and `check_phone` needs both.
    """
    if _PLAIN_NUMBER(raw) is None:
        return None
    digits = raw.encode().translate(None, _NON_DIGIT_BYTES).decode()
    if "+" in raw:  # at the start, after spaces: `_PLAIN_NUMBER` allows it nowhere else
        if not 8 <= len(digits) <= 15 or (split := _split_digits(digits)) is None:
            return None
        rewritten = _rewritten_after_code(split[0])
        if rewritten is not None and rewritten(split[1]) is not None:
            return None
        return "+" + digits, *split
    rule = _region_rule(region) if region else None
    if rule is None or digits.startswith("00"):
        return None
    code, trunk, others, idd, fits = rule
    if idd is not None and idd(digits) is not None:
        return None
    if others and digits.startswith(others):
        return None
    if code == "1":
        if len(digits) == 11 and digits[0] == "1":
            digits = digits[1:]
            if not fits(digits):
                return None
        return ("+1" + digits, 1, digits) if len(digits) == 10 and digits[0] not in "01" else None
    if digits.startswith(code):  # phonenumbers may read the region's own country code there
        return None
    if trunk and digits.startswith(trunk):
        digits = digits[len(trunk) :]
        if not fits(digits):
            return None
    elif trunk:
        return None
    return (f"+{code}{digits}", int(code), digits) if 6 <= len(digits) <= 12 else None


def fast_e164(raw: str, region: str | None) -> str | None:
    """E.164 for the common shapes of a phone number, ``None`` when a full parse is needed."""
    fast = _fast(raw, region)
    return fast[0] if fast is not None else None


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
    types = [d for d in (_desc(getattr(meta, t, None)) for t in NUMBER_TYPES) if d is not None]
    leading = re.compile(meta.leading_digits) if meta.leading_digits else None
    return general, types, leading


@cache
def _validity(region: str) -> dict[int, Callable[[str], re.Match | None]]:
    r"""The validity test of a national number for a region, by number length (no entry: invalid).

    As phonenumbers' `_number_type_helper`: the number must have a length of the general description
    and match its pattern, and then match the pattern of any number type that allows its length.
    Per length, that is one expression, `(?=(?:general)\Z)(?:(?:type)|(?:type)…)\Z`: the look-ahead
    is the full match of the general pattern, the alternatives those of the types whose lengths allow
    it (each pattern once: fixed-line and mobile are often the same). One match call instead of a
    Python loop over up to eleven patterns and length sets. The metadata's patterns have neither
    capturing groups nor anchors, so they combine as they are.
    """
    rules = _region_rules(region)
    if rules is None or rules[0] is None:
        return {}
    (general_lengths, general), types, _ = rules
    table = {}
    for size in range(1, _LONGEST_NATIONAL + 1):
        if general_lengths is not None and size not in general_lengths:
            continue
        # An empty pattern matches no number in phonenumbers (and a national number is never empty).
        alternatives = dict.fromkeys(
            p.pattern for lengths, p in types if p.pattern and (lengths is None or size in lengths)
        )
        if alternatives:
            any_type = "|".join(f"(?:{p})" for p in alternatives)
            table[size] = re.compile(f"(?=(?:{general.pattern})\\Z)(?:{any_type})\\Z").match
    return table


@cache
def _region_steps(code: int) -> tuple[tuple[Callable[[str], re.Match | None] | None, tuple, tuple], ...]:
    """How phonenumbers' region_code_for_number picks the region of a number of a calling code.

    It takes the regions of the code in order: a region with leading digits is the number's when
    they match its start, one without when the number is valid there. Each step is (leading-digits
    match, regions, their validity tables): consecutive regions with leading digits are one step of
    one expression `(lead)|(lead)…`, whose first matching alternative (`lastindex`) is the first
    region in order. A step without a match function is a region that takes the numbers valid in
    it. A code of one region takes every number: its step matches the empty start.
    """
    regions = COUNTRY_CODE_TO_REGION_CODE.get(code, ())
    if len(regions) == 1:
        return ((re.compile("()").match, regions, (_validity(regions[0]),)),)
    steps: list = []
    run: list[tuple[str, str]] = []
    for region in regions:
        rules = _region_rules(region)
        if rules is None:
            continue
        if rules[2] is not None:
            run.append((region, rules[2].pattern))
            continue
        if run:
            steps.append(_leading_step(run))
            run = []
        steps.append((None, (region,), (_validity(region),)))
    if run:
        steps.append(_leading_step(run))
    return tuple(steps)


def _leading_step(run: list[tuple[str, str]]) -> tuple:
    lead = re.compile("|".join(f"({pattern})" for _, pattern in run)).match
    return lead, tuple(r for r, _ in run), tuple(_validity(r) for r, _ in run)


def _valid_region(code: int, national: str) -> str | None:
    """The region of a number (as region_code_for_number) when the number is valid there, else None."""
    size = len(national)
    for lead, regions, tables in _region_steps(code):
        if lead is None:
            test = tables[0].get(size)
            if test is not None and test(national) is not None:
                return regions[0]
            continue
        found = lead(national)
        if found is not None:
            i = found.lastindex - 1
            test = tables[i].get(size)
            return regions[i] if test is not None and test(national) is not None else None
    return None


def _split_digits(digits: str) -> tuple[int, str] | None:
    """(country code, national number) of the digits after a +, None when no code starts them.

    Looked up as text: a code is never written with a leading zero, so `+0…` (`+001 415…`, `+07…`)
    has none and goes to the full parse, which rejects it or reads 00 as an international prefix.
    """
    for size in (1, 2, 3):
        code = _CODES.get(digits[:size])
        if code is not None:
            return code, digits[size:]
    return None


def _full(value: str, region: str | None) -> tuple[bool, str | None, str | None, str | None]:
    try:
        num = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return _NOT_A_NUMBER
    reason = phonenumbers.is_possible_number_with_reason(num)
    if reason not in (
        phonenumbers.ValidationResult.IS_POSSIBLE,
        phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    ):
        return False, _POSSIBLE.get(reason, "not a possible number"), None, None
    if not phonenumbers.is_valid_number(num):
        return False, "no such number range in its country", None, None
    return (
        True,
        None,
        phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164),
        phonenumbers.region_code_for_number(num),
    )


@cache
def _nanp_invalid() -> tuple[bool, str | None, None, None]:
    """What `_full` answers for a number of a `_NANP_SHAPE` that is valid in no NANP region.

    phonenumbers parses these spellings (read with a region of `_nanp_national`) to country code 1 and
    the ten digits as they are: no international or trunk prefix can start with 2-9. Whether such a
    number is possible depends on its length only (ten digits, the same for all), and it is not
    valid. So the answer is the same for all of them: that of `_full`, worked out once.
    """
    reason = phonenumbers.is_possible_number_with_reason(
        phonenumbers.PhoneNumber(country_code=1, national_number=2_000_000_000)
    )
    if reason not in (
        phonenumbers.ValidationResult.IS_POSSIBLE,
        phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    ):
        return False, _POSSIBLE.get(reason, "not a possible number"), None, None
    return False, "no such number range in its country", None, None


def check_phone(value: str, region: str | None) -> tuple[bool, str | None, str | None, str | None]:
    """(valid, problem, E.164, region) of a phone number read with the record's country."""
    shape = _NANP_SHAPE(value)
    if shape is not None and (shape[1] is not None or _nanp_national(region)):
        # What the general path below gives, without its tests, conversion and splitting: +1 and
        # the ten digits, whatever the region after a +1, and in a region whose trunk prefix 1 is
        # literal without. `+1NXXNXXXXXX`, the most common, is its own E.164.
        if len(value) == 12 and shape[1] is not None:
            national, e164 = value[2:], value
        else:
            national = value.encode().translate(None, _NON_DIGIT_BYTES).decode()[-10:]
            e164 = "+1" + national
        found = _valid_region(1, national)
        return (True, None, e164, found) if found is not None else _nanp_invalid()
    if (
        region not in SUPPORTED_REGIONS
        and "+" not in value
        and "\uff0b" not in value
        and _PHONE_CONTEXT not in value
    ):
        # phonenumbers.parse reads a number without a + only with a region it knows (else it raises,
        # INVALID_COUNTRY_CODE), and a + can only come from the text: it takes a substring of it, or
        # the phone-context of an RFC 3966 URI. 'USA', 'United States', None: no parse needed.
        return _NOT_A_NUMBER
    fast = _fast(value, region)
    if fast is not None and not fast[2].startswith("0"):
        found = _valid_region(fast[1], fast[2])
        if found is not None:
            return True, None, fast[0], found
    # Invalid, unusual or ambiguous: the full parse decides and explains.
    return _full(value, region)


# Number types assigned to a subscriber in one country: toll-free, premium-rate, shared-cost,
# personal and non-geographic numbers can be dialled from anywhere and tell no address.
_HOME_TYPES = frozenset({phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE,
                         phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE})


@lru_cache(maxsize=65_536)
def dialled_country(value: str) -> tuple[str, str] | None:
    """(country, calling code as written: `+44`) of a number written with its international prefix.

    `+44 20 7946 0018` and `0044 20 7946 0018` → (GB, +44): the number is valid and a landline or
    mobile number of one country. None for a number without a `+` or `00` prefix (its country is
    the record's), an invalid one, and the toll-free, premium-rate or shared-cost numbers that a
    country code alone does not place (`+1 800 …`, `+800 …`).
    """
    text = value.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text.startswith("+"):
        return None
    valid, _, e164, region = check_phone(text, None)
    if not valid or e164 is None or region is None or len(region) != 2 or not region.isalpha():
        return None
    parsed = phonenumbers.parse(e164)
    if phonenumbers.number_type(parsed) not in _HOME_TYPES:
        return None
    return region, f"+{parsed.country_code}"
