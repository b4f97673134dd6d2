"""The fast phone validator agrees with phonenumbers' full parse, and with the duplicate pipeline's E.164.

The corpus: phonenumbers' example number of every region and number type, written as E.164, in
international and national format, read with the number's own region, with no region and with
another region, plus the same numbers one digit short and one digit long.
"""

from __future__ import annotations

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from checks.phones import _full, check_phone, normalise_phone

TYPES = [
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER,
    PhoneNumberType.PAGER,
    PhoneNumberType.UAN,
    PhoneNumberType.VOICEMAIL,
]


def corpus() -> list[tuple[str, str | None]]:
    """(raw number, record's region) pairs, valid and invalid."""
    items = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            code, national = example.country_code, phonenumbers.national_significant_number(example)
            for fmt in (PhoneNumberFormat.E164, PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.NATIONAL):
                written = phonenumbers.format_number(example, fmt)
                items += [(written, region), (written, "US" if region != "US" else "DE")]
                if fmt != PhoneNumberFormat.NATIONAL:
                    items.append((written, None))
            for wrong in (national[:-1], national + "7"):
                items += [(f"+{code}{wrong}", region), (f"+{code} {wrong}", None), (wrong, region)]
    return list(dict.fromkeys(items))


CORPUS = corpus()


def test_corpus_is_large_and_mixed():
    verdicts = [check_phone(raw, region)[0] for raw, region in CORPUS]
    assert len(CORPUS) > 5000
    assert 0.2 < sum(verdicts) / len(verdicts) < 0.9  # both valid and invalid numbers


@pytest.mark.parametrize("chunk", range(4))
def test_fast_path_agrees_with_the_full_parse(chunk):
    part = CORPUS[chunk::4]
    differ = [
        (raw, region, check_phone(raw, region), _full(raw, region))
        for raw, region in part
        if check_phone(raw, region) != _full(raw, region)
    ]
    assert differ == []


def test_valid_numbers_have_one_e164_for_every_path():
    """Exact phone duplicates key valid numbers by the validity check's E.164 and the fuzzy pipeline
    by `normalise_phone`: one normal form, so they agree on every valid number of the corpus, those
    phonenumbers rewrites after the country code (`+44 (0)20…`, Gabon, Norfolk Island) included."""
    differ = [
        (raw, region)
        for raw, region in CORPUS
        if (found := check_phone(raw, region))[0] and found[2] != normalise_phone(raw, region)
    ]
    assert differ == []


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        pytest.param("+44 (0)20 7946 0018", None, "+442079460018", id="gb-trunk-zero-after-code"),
        pytest.param("+1 1 415 555 0132", None, "+14155550132", id="nanp-trunk-one-after-code"),
        pytest.param("(415) 555-0132", "US", "+14155550132", id="us-national"),
        pytest.param("030 1234567", "DE", "+49301234567", id="de-national"),
    ],
)
def test_trunk_prefixes_are_dropped_on_every_path(raw, region, e164):
    assert normalise_phone(raw, region) == e164
    assert normalise_phone(raw, region, fast=False) == e164
