import numpy as np
import pandas as pd
import phonenumbers
import pytest

from checks import normalise
from checks.phones import normalise_phone
from checks.values import email_keys


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("John.Smith+crm@Acme.org", "john.smith@acme.org"),
        ("j.o.h.n@googlemail.com", "john@gmail.com"),
        ("ANNA@ACME.COM", "anna@acme.com"),
        ("  anna@acme.com ", None),  # padding is an invalid address, for the checks and the pipeline alike
        ("info@acme.com", None),
        ("no-reply@acme.com", None),
        ("hr@acme.com", None),
        ("test@test.com", None),
        ("noemail@whatever.org", None),
        ("none@none.com", None),
        ("not an email", None),
        ("bob@localhost", None),
    ],
)
def test_email(raw, expected):
    assert email_keys(pd.Series([raw], dtype=object)).iat[0] == expected


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("(415) 555-2671", "US"),
        ("1-415-555-2671", "US"),
        ("+1 415 555 2671", "DE"),
        ("020 7946 0018", "GB"),
        ("030 901820", "DE"),
        ("01 42 68 53 00", "FR"),
        ("06 1234 5678", "IT"),
        ("0044 20 7946 0018", "GB"),
        ("415.555.2671 ext 12", "US"),
    ],
)
def test_phone_fast_path_matches_phonenumbers(raw, region):
    parsed = phonenumbers.parse(raw, region)
    expected = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    assert normalise_phone(raw, region, fast=True) == expected
    assert normalise_phone(raw, region, fast=False) == expected


def test_phone_uses_record_region():
    phones = pd.Series(["020 7946 0018", "020 7946 0018", None, "(415) 555-2671"])
    regions = np.array(["GB", "DE", "US", "US"], dtype=object)
    out = normalise.map_unique_with_region(phones, regions)
    assert out[0] == "+442079460018"
    assert out[1] == "+4920794600" + "18"
    assert out[2] is None
    assert out[3] == "+14155552671"


@pytest.mark.parametrize(("a", "b"), [("Acme Inc.", "ACME LLC"), ("Müller GmbH", "Muller"),
                                      ("The Acme Corporation", "acme"), ("Acme Holdings Ltd", "ACME HOLDINGS")])
def test_company_suffixes(a, b):
    assert normalise.normalise_company(a) == normalise.normalise_company(b)


def test_company_keeps_one_token():
    assert normalise.normalise_company("Inc.") == "inc"


def test_nicknames_share_a_root():
    assert normalise.first_name_root("Bob") == normalise.first_name_root("Robert") == normalise.first_name_root("rob")
    assert normalise.first_name_root("Will") == normalise.first_name_root("William")
    assert normalise.first_name_root("Peggy") == normalise.first_name_root("Margaret")
    assert normalise.first_name_root("Ingrid") == "ingrid"


def test_fold_accents_and_case():
    assert normalise.fold("  José-María  ÑÚÑEZ ") == "jose maria nunez"
    assert normalise.fold("Straße") == "strasse"


@pytest.mark.parametrize(("raw", "code"), [("USA", "US"), ("Deutschland", "DE"), ("de", "DE"), ("United Kingdom", "GB"),
                                           ("uk", "GB"), ("France", "FR"), ("Atlantis", None)])
def test_country(raw, code):
    assert normalise.country_code(raw) == code


def test_map_unique_treats_blank_as_missing():
    out = normalise.map_unique(pd.Series(["A", " ", None, np.nan, "A"]), normalise.fold_or_none)
    assert out.tolist() == ["a", None, None, None, "a"]


def test_missing_mask():
    mask = normalise.missing_mask(pd.Series(["x", "", None, float("nan"), 3, "  "]))
    assert mask.tolist() == [False, True, True, True, False, True]


def test_street_and_house_number():
    assert normalise.normalise_street("12 Main Street") == normalise.normalise_street("12 main st.")
    assert normalise.house_number("12b main st") == "12b"


def test_email_placeholders_by_shape():
    assert email_keys(pd.Series(["email@email.com", "no@email.com"], dtype=object)).tolist() == [None, None]


def test_email_shared_by_many_records_is_missing():
    from checks.dedupe.prepare import prepare
    from checks.dedupe.settings import DedupeSettings

    frame = pd.DataFrame({"key": [str(i) for i in range(8)], "first_name": list("abcdefgh"),
                          "email": ["x@corp.com"] * 7 + ["real@corp.com"]})
    prep = prepare(frame, "contact", DedupeSettings(max_email_share=5))
    assert (prep.cols["email"].codes[:7] == -1).all()
    assert prep.cols["email"].codes[7] >= 0
