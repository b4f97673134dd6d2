"""The fast phone paths give phonenumbers' own answer on a generated set of varied numbers.

`check_phone` takes shortcuts for the common shapes (`+1NXXNXXXXXX`, `(NXX) NXX-XXXX`, a national
number with a region phonenumbers does not know) and compiles the metadata's patterns into one
expression per region and length. Here each of some 40,000 (value, region) pairs is compared with
phonenumbers itself: parse, is_valid_number, format_number(E164), region_code_for_number, and the
problem text of `_full`. The pairs: numbers of every region and type in E.164, international,
national and RFC 3966 spelling with the last digits varied, NANP numbers of every area code in
every shape (valid and invalid area codes and exchanges), wrong lengths, letters and extensions,
`+44 (0)20…` trunk zeros, `00`/`011` international prefixes, `+0…`, placeholders and non-ASCII
digits and separators; read with the number's region, none, another region, and the country
spellings a CRM holds ('USA', 'United States', 'us').
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat

from checks import values as value_checks
from checks.phones import _full, check_phone, fast_e164, normalise_phone
from checks.values import PHONE_INFO, _phone_batch, phone_info
from tests.checks.test_phones import TYPES

SEED = 20261123
REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
NANP_REGIONS = ["US", "CA", "DO", "JM", "PR", "AG", "BS", "GU"]  # literal trunk prefix and transform rules
CRM_REGIONS = ["US", "USA", "United States", "us", "", None, "CA", "GB", "DE", "FR", "MX", "XX"]
FORMATS = [
    PhoneNumberFormat.E164,
    PhoneNumberFormat.INTERNATIONAL,
    PhoneNumberFormat.NATIONAL,
    PhoneNumberFormat.RFC3966,
]
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789+-", "０１２３４５６７８９＋－")
JUNK = [
    "",
    " ",
    "0",
    "-",
    "+",
    "++",
    "n/a",
    "N/A",
    "none",
    "call me",
    "TBD",
    "?",
    "#",
    "x",
    "ext",
    "+1",
    "000-000-0000",
    "123-456-7890",
    "555-555-5555",
    "+1 111 111 1111",
    "(000) 000-0000",
    "1234567890",
    "9999999999",
    "+10000000000",
    "+19999999999",
    "1-800-FLOWERS",
    "1-800-356-9377",
    "+1 800 FLOWERS",
    "tel:+1-415-555-0132",
    "tel:415-555-0132;phone-context=+1",
    "415-555-0132;phone-context=example.com",
    "tel:+44-20-7946-0018;isub=12",
    "+44 (0)20 7946 0018",
    "+44 (0) 7700 900123",
    "+49 (0)30 1234567",
    "+33 (0)1 42 68 53 00",
    "+39 06 6988 1234",
    "+39 (0)6 6988 1234",
    "+61 (0)2 9374 4000",
    "0044 20 7946 0018",
    "011 44 20 7946 0018",
    "00 1 415 555 0132",
    "+00 1 415 555 0132",
    "+001 415 555 0132",
    "+07 912 345 67 89",
    "+0442079460018",
    "+ 1 415 555 0132",
    " +14155550132 ",
    "+1\u00a0415\u00a0555\u00a00132",
    "+1 415\u2013555\u20130132",
    "(415)555-0132",
    "(415) 555 - 0132",
    "415/555-0132",
    "415 555 0132 / 415 555 0133",
    "(530) 583-6985 x302/x2303",
    "+1 (415) 555-0132",
    "1 (415) 555-0132",
    "1-415-555-0132",
    "+1-415-555-0132",
    "+1.415.555.0132",
    "415.555.0132",
    "\u202d+1 415 555 0132\u202c",
    "+1 415 555 0132\n",
    "4155550132#",
    "*67 415 555 0132",
    "+262 269 61 23 45",
    "+590 590 27 12 34",
    "+599 9 461 2345",
    "+672 3 12345",
    "+241 06 03 12 34",
    "+800 1234 5678",
    "+882 1234 5678",
    "+979 1 2345 6789",
    "+1 242 357 1234",
    "+1 268 464 1234",
    "+7 701 234 5678",
    "+7 912 345 6789",
    "+44 1624 456789",
    "+44 7624 456789",
    "+358 18 12345",
    "+47 79 12 34 56",
    "+212 528 123456",
    "+39 06 698 12345",
    "+379 06 698 12345",
    "+1" + "2" * 30,
    "+" + "4" * 300,
]


def _vary(national: str, rng: random.Random) -> str:
    """The number with its last two to four digits redrawn."""
    k = rng.randint(2, min(4, len(national)))
    return national[:-k] + "".join(rng.choice("0123456789") for _ in range(k))


def _respell(text: str, rng: random.Random) -> str:
    """Separators redrawn, or the digits in another script."""
    pick = rng.random()
    if pick < 0.15:
        return text.translate(ARABIC_INDIC)
    if pick < 0.25:
        return text.translate(FULLWIDTH)
    sep = rng.choice([" ", "-", ".", "", "  ", "/", "\u00a0"])
    return text.replace(" ", sep).replace("-", sep)


def _examples(rng: random.Random) -> list[tuple[str, str | None]]:
    items = []
    for region in REGIONS:
        for kind in TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            code, national = example.country_code, phonenumbers.national_significant_number(example)
            for _ in range(2):
                digits = _vary(national, rng)
                number = phonenumbers.PhoneNumber(
                    country_code=code,
                    national_number=int(digits),
                    italian_leading_zero=digits.startswith("0") or None,
                    number_of_leading_zeros=len(digits) - len(digits.lstrip("0")) or None,
                )
                for fmt in FORMATS:
                    written = phonenumbers.format_number(number, fmt)
                    items += [
                        (written, region),
                        (written, rng.choice(CRM_REGIONS)),
                        (written, rng.choice(REGIONS)),
                    ]
                items.append((_respell(phonenumbers.format_number(number, rng.choice(FORMATS)), rng), region))
            cut, extra = (
                national[: -rng.randint(1, 3)],
                national + "".join(rng.choices("0123456789", k=rng.randint(1, 3))),
            )
            for wrong in (cut, extra):
                items += [
                    (f"+{code}{wrong}", region),
                    (f"+{code} {wrong}", None),
                    (wrong, region),
                    ("0" + wrong, region),
                ]
    return items


def _nanp(rng: random.Random) -> list[tuple[str, str | None]]:
    items = []
    for area in range(200, 1000):
        for _ in range(6):
            exchange = rng.choice([rng.randint(200, 999), rng.randint(0, 199)])
            line = rng.randint(0, 9999)
            a, x, n = f"{area:03d}", f"{exchange:03d}", f"{line:04d}"
            shape = rng.choice(
                [
                    f"+1{a}{x}{n}",
                    f"({a}) {x}-{n}",
                    f"({a}) {x}-{n}",
                    f"{a}-{x}-{n}",
                    f"+1 {a} {x} {n}",
                    f"1{a}{x}{n}",
                    f"+1 ({a}) {x}-{n}",
                    f"{a}.{x}.{n}",
                    f"{a}{x}{n}",
                    f"+11{a}{x}{n}",
                    f"({a}) {x}-{n} x{rng.randint(1, 999)}",
                    f"{a} {x} {n} ext. 12",
                ]
            )
            items.append((shape, rng.choice(NANP_REGIONS + CRM_REGIONS)))
            items.append((f"+1{a}{x}{n}", rng.choice(CRM_REGIONS)))
            items.append((f"({a}) {x}-{n}", rng.choice(NANP_REGIONS + CRM_REGIONS)))
            items.append((_respell(f"+1 {a} {x}-{n}" if rng.random() < 0.5 else f"({a}) {x}-{n}", rng), "US"))
            # Every spelling of check_phone's NANP shortcut: +1 or not, separators, parentheses.
            plus = rng.choice(["", "", "+1", "+1 ", "+1-", "+1.", "1", "1-", "+1  "])
            written_area = rng.choice(
                [f"({a}) ", f"({a})", f"{a}", f"{a} ", f"{a}-", f"{a}.", f"({a})-", f"{a}/"]
            )
            spelled = f"{plus}{written_area}{x}{rng.choice(['', ' ', '-', '.', ' - '])}{n}"
            items.append((spelled, rng.choice([*NANP_REGIONS, "US", "US", None, "USA", "GB"])))
    for a in ("1", "0"):  # exchanges and area codes starting with 0 or 1
        items += [(f"+1{a}{rng.randint(0, 999_999_999):09d}", "US") for _ in range(100)]
        items += [
            (f"({a}{rng.randint(0, 99):02d}) {rng.randint(0, 999):03d}-{rng.randint(0, 9999):04d}", "US")
            for _ in range(100)
        ]
    for size in (7, 8, 9, 11, 12):  # wrong lengths in the two shapes' spellings
        items += [
            (f"+1{rng.randint(2, 9)}{rng.randint(0, 10 ** (size - 1) - 1):0{size - 1}d}", "US")
            for _ in range(40)
        ]
    return items


def _noise(rng: random.Random) -> list[tuple[str, str | None]]:
    items = [(junk, region) for junk in JUNK for region in CRM_REGIONS]
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for _ in range(1500):
        digits = "".join(rng.choices("0123456789", k=rng.randint(1, 17)))
        raw = rng.choice(["", "+", "+", "00", "0", "(", " "]) + digits
        if rng.random() < 0.3:  # a letter, an extension or stray punctuation somewhere
            at = rng.randint(0, len(raw))
            raw = (
                raw[:at]
                + rng.choice([rng.choice(letters), " x ", "x1", " ext ", "#", ";", "*", ",", "(", ")"])
                + raw[at:]
            )
        items.append(
            (_respell(raw, rng) if rng.random() < 0.2 else raw, rng.choice(CRM_REGIONS + REGIONS[:40]))
        )
    return items


def corpus() -> list[tuple[str, str | None]]:
    """(raw number, record's region) pairs, distinct, in a fixed order."""
    rng = random.Random(SEED)
    return list(dict.fromkeys(_examples(rng) + _nanp(rng) + _noise(rng)))


CORPUS = corpus()


def phonenumbers_answer(value: str, region: str | None) -> tuple[bool, str | None, str | None, str | None]:
    """(valid, problem, E.164, region) from phonenumbers alone; the problem text as `_full` words it."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        valid = False
    else:
        valid = phonenumbers.is_valid_number(number)
    problem = _full(value, region)[1]
    if not valid:
        return False, problem, None, None
    return (
        True,
        problem,
        phonenumbers.format_number(number, PhoneNumberFormat.E164),
        phonenumbers.region_code_for_number(number),
    )


def test_corpus_is_large_and_varied():
    verdicts = [check_phone(raw, region) for raw, region in CORPUS]
    assert len(CORPUS) >= 20_000
    assert 0.2 < sum(v[0] for v in verdicts) / len(verdicts) < 0.8
    problems = {v[1] for v in verdicts}
    assert {
        None,
        "not a phone number",
        "too few digits",
        "too many digits",
        "no such number range in its country",
        "wrong number of digits",
    } <= problems
    shapes = {
        "e164-nanp": sum(raw.startswith("+1") and len(raw) == 12 for raw, _ in CORPUS),
        "us-national": sum(raw.startswith("(") and raw[4:6] == ") " for raw, _ in CORPUS),
        "non-ascii": sum(not raw.isascii() for raw, _ in CORPUS),
        "unknown-region": sum(region not in phonenumbers.SUPPORTED_REGIONS for _, region in CORPUS),
    }
    assert min(shapes.values()) > 1000, shapes


@pytest.mark.parametrize("chunk", range(4))
def test_check_phone_is_phonenumbers_answer(chunk):
    differ = [
        (raw, region, found, expected)
        for raw, region in CORPUS[chunk::4]
        if (found := check_phone(raw, region)) != (expected := phonenumbers_answer(raw, region))
    ]
    assert differ == []


def reference_phone_info(values: pd.Series, regions: pd.Series) -> pd.DataFrame:
    """The frame as phone_info built it before: a dict over (value, region) tuples, row by row."""
    regs = [None if r is None or r != r else r for r in regions.to_numpy(dtype=object)]
    pairs = list(zip(values.to_numpy(dtype=object), regs, strict=True))
    lookup = {u: check_phone(*u) for u in dict.fromkeys(pairs) if isinstance(u[0], str)}
    columns = list(zip(*[lookup.get(p, (False, None, None, None)) for p in pairs], strict=True)) or [
        (),
        (),
        (),
        (),
    ]
    return pd.DataFrame(
        {
            "valid": np.array(columns[0], dtype=bool),
            **{
                name: pd.Series(col, index=values.index, dtype=object)
                for name, col in zip(PHONE_INFO[1:], columns[1:], strict=True)
            },
        },
        index=values.index,
    )


def frames() -> list[tuple[pd.Series, pd.Series]]:
    part = CORPUS[::7]
    values = pd.Series([raw for raw, _ in part] * 2 + [None, float("nan"), 5, b"+14155550132"], dtype=object)
    regions = pd.Series([region for _, region in part] * 2 + ["US", "US", "US", "US"], dtype=object)
    regions[regions.isna()] = float("nan")
    mixed = pd.Series(
        ["(415) 555-0132", None, "+14155550132", "(415) 555-0132", "x", "+14155550132", 4.0],
        index=[3, 3, 1, 2, 9, 8, 7],
        dtype=object,
    )
    return [
        (values, regions),
        (mixed, pd.Series(["US", "US", float("nan"), None, "DE", None, "US"], dtype=object)),
        (pd.Series([], dtype=object), pd.Series([], dtype=object)),
        (pd.Series([None, None], dtype=object), pd.Series(["US", None], dtype=object)),
        (pd.Series(["+14155550132", "(415) 555-0132"], dtype="str"), pd.Series(["US", None], dtype="str")),
    ]


def assert_same_frame(found: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(found, expected, check_exact=True)
    assert list(found.columns) == list(PHONE_INFO)
    assert list(found.dtypes) == list(expected.dtypes) == [np.dtype(bool)] + [np.dtype(object)] * 3
    assert [type(x) for x in found.to_numpy().ravel()] == [type(x) for x in expected.to_numpy().ravel()]


@pytest.mark.parametrize("case", range(5))
def test_phone_info_is_the_row_by_row_frame(case):
    """Distinct pairs found by factorising, answers spread back by numpy indexing: the same frame."""
    values, regions = frames()[case]
    assert_same_frame(phone_info(values, regions), reference_phone_info(values, regions))


def test_phone_info_over_a_pool_is_the_same(monkeypatch):
    values, regions = frames()[0]
    monkeypatch.setattr(value_checks, "_cores", lambda: 3)
    monkeypatch.setattr(value_checks, "PARALLEL_FROM", 100)
    monkeypatch.setattr(value_checks, "POOL_PAYS_FROM", 100)
    assert_same_frame(phone_info(values, regions), reference_phone_info(values, regions))


def test_batch_is_check_phone():
    part = CORPUS[::5]
    assert _phone_batch([raw for raw, _ in part], [region for _, region in part]) == [
        check_phone(raw, region) for raw, region in part
    ]


def test_e164_of_valid_numbers_is_normalise_phone():
    """The duplicate pipeline's E.164 (`normalise_phone`, on the fast path or not) is the check's."""
    differ = [
        (raw, region)
        for raw, region in CORPUS
        if (found := check_phone(raw, region))[0]
        and not found[2] == normalise_phone(raw, region) == normalise_phone(raw, region, fast=False)
    ]
    assert differ == []


def test_fast_e164_is_phonenumbers_e164_of_possible_numbers():
    """Where the fast conversion answers for a number phonenumbers finds possible, it is the same E.164."""
    differ = []
    for raw, region in CORPUS:
        quick = fast_e164(raw, region)
        if quick is None:
            continue
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            differ.append((raw, region, quick, None))
            continue
        if phonenumbers.is_possible_number(number) and quick != phonenumbers.format_number(
            number, PhoneNumberFormat.E164
        ):
            differ.append((raw, region, quick, phonenumbers.format_number(number, PhoneNumberFormat.E164)))
    assert differ == []
