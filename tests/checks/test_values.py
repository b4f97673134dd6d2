"""Value-level validators (checks.values): emails, phones, countries, names, dates, keys."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from checks.normalise import country_code, normalise_whitespace
from checks.values import (
    as_keys,
    country_codes,
    domain_typo_fix,
    email_keys,
    email_ok,
    email_syntax_valid,
    fixed_encoding,
    has_mojibake,
    is_disposable_email,
    is_iso_country,
    is_junk_name,
    is_missing,
    is_placeholder_email,
    is_placeholder_phone,
    is_role_email,
    phone_info,
    proper_case,
    to_datetime,
)

PANDAS3 = int(pd.__version__.split(".")[0]) >= 3


def s(*values) -> pd.Series:
    return pd.Series(list(values), dtype=object)


# -- emails ----------------------------------------------------------------------------------------
def _address_corpus(n: int = 4000, seed: int = 7) -> list[str]:
    """Plain, odd and broken addresses: dots, quotes, IDN, label/TLD edges, special-use TLDs, lengths."""
    rng = random.Random(seed)
    local = ["john", "j", "a.b", "x_y", "o'neil", "a+tag", "100%", "-dash", "dash-", "UPPER", "mixed.Case", "ünï",
             "a..b", ".lead", "trail.", "sp ace", 'q"uote', "a/b", "a=b", "{x}", "a~b", "#h", "!", "a" * 64, "a" * 65,
             "1", "a,b", "a(b)", "a:b", "tab\t", "x" * 200, "名前"]
    label = ["acme", "a", "a-b", "-a", "a-", "xn--bcher-kva", "müller", "123", "a" * 63, "a" * 64, "A1", "sub", "",
             "_x", "a_b", "co"]
    tld = ["com", "co", "uk", "c", "c0m", "123", "museum", "a" * 24, "a" * 25, "test", "local", "localhost", "invalid",
           "onion", "arpa", "internal", "home", "lan", "example", "COM", "xn--p1ai", "ελ"]
    out = ["john..doe@acme.com", "jane.doe.acme.com", "a b@c.com", "x@@y.com", "x@y,com", "x@y.com.", '"x y"@a.com',
           "x@[1.2.3.4]", "x@localhost", "x@sub.test", "ok@acme.com", "Ok.Name+tag@Sub.Acme.CO.UK", "é@a.com",
           "x@münchen.de", "x@a-.com", "x@-a.com", "x@a.c0m", "@acme.com", "john@", "john@acme", "", " ", "john@acme..com"]
    for _ in range(n):
        addr = "".join(rng.choice(local) for _ in range(rng.choice([1, 1, 2])))
        labels = [rng.choice(label) for _ in range(rng.choice([0, 1, 1, 2, 3]))]
        addr += rng.choice(["@", "@", "@", "@@", "", " @"]) + ".".join([*labels, rng.choice(tld)])
        if rng.random() < 0.05:
            addr = " " + addr
        if rng.random() < 0.05:
            addr += "."
        out.append(addr)
    return out


def test_email_fast_path_never_accepts_what_email_validator_rejects():
    corpus = pd.Series(_address_corpus())
    fast = email_syntax_valid(corpus)
    slow = corpus.map(email_ok).astype(bool)  # email-validator's full parse
    assert 100 < slow.sum() < len(corpus) - 100, "the corpus must hold plenty of valid and invalid addresses"
    accepted_wrongly = sorted(set(corpus[fast & ~slow]))
    rejected_wrongly = sorted(set(corpus[~fast & slow]))
    assert accepted_wrongly == [], f"fast path accepts addresses email-validator rejects: {accepted_wrongly[:10]}"
    assert rejected_wrongly == [], f"rejected though email-validator accepts: {rejected_wrongly[:10]}"


@pytest.mark.parametrize(("value", "placeholder", "role", "disposable"), [
    pytest.param("test@test.com", True, False, False, id="test@test"),
    pytest.param("noemail@acme.com", True, False, False, id="noemail-local"),
    pytest.param("jane@example.com", True, False, False, id="example-domain"),
    pytest.param("info@acme.com", False, True, False, id="role-info"),
    pytest.param("Sales+eu@Acme.com", False, True, False, id="role-with-tag-and-caps"),
    pytest.param("jane@mailinator.com", False, False, True, id="disposable"),
    pytest.param("jane@acme.com", False, False, False, id="plain"),
    pytest.param("information@acme.com", False, False, False, id="role-prefix-is-not-role"),
])
def test_email_kinds(value, placeholder, role, disposable):
    assert bool(is_placeholder_email(s(value)).iat[0]) is placeholder
    assert bool(is_role_email(s(value)).iat[0]) is role
    assert bool(is_disposable_email(s(value)).iat[0]) is disposable


@pytest.mark.parametrize(("domain", "fix"), [
    pytest.param("gmial.com", "gmail.com", id="transposition"),
    pytest.param("gmail.con", "gmail.com", id="tld-typo"),
    pytest.param("yahooo.com", "yahoo.com", id="extra-letter"),
    pytest.param("hotmial.com", "hotmail.com", id="hotmial"),
    pytest.param("outlok.com", "outlook.com", id="missing-letter"),
    pytest.param("gmail.com", None, id="known-domain"),
    pytest.param("yopmail.com", None, id="disposable-not-a-hotmail-typo"),
    pytest.param("acme.com", None, id="company-domain"),
    pytest.param("gm.com", None, id="short-domain"),
])
def test_domain_typo_fix(domain, fix):
    assert domain_typo_fix(domain) == fix


def test_typo_domain_listed_as_disposable_is_left_to_typo_check():
    # gmial.com is on some disposable lists; it is a typo, not a throw-away service
    assert domain_typo_fix("gmial.com") == "gmail.com"
    assert not is_disposable_email(s("jane@gmial.com")).iat[0]


@pytest.mark.parametrize(("value", "key"), [
    pytest.param("John.Smith+news@GoogleMail.com", "johnsmith@gmail.com", id="tag-case-googlemail-dots"),
    pytest.param(" ann@acme.com ", None, id="padded-is-invalid"),
    pytest.param("info@acme.com", None, id="role-is-no-key"),
    pytest.param("test@test.com", None, id="placeholder-is-no-key"),
    pytest.param("Unknown", None, id="null-token"),
    pytest.param(None, None, id="null"),
])
def test_email_keys(value, key):
    out = email_keys(s(value)).iat[0]
    assert (None if pd.isna(out) else out) == key


# -- phones ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "region", "valid", "e164", "number_region", "problem"), [
    pytest.param("(415) 555-0132", "US", True, "+14155550132", "US", None, id="us-national"),
    pytest.param("+1 415-555-0132", None, True, "+14155550132", "US", None, id="us-international"),
    pytest.param("030 12345678", "DE", True, "+493012345678", "DE", None, id="de-national"),
    pytest.param("+44 20 7946 0018", "US", True, "+442079460018", "GB", None, id="international-wins-over-region"),
    pytest.param("+1415555013", "US", False, None, None, "too few digits", id="too-few"),
    pytest.param("+33 1 42 68 53 00 12", "FR", False, None, None, "too many digits", id="too-many"),
    pytest.param("415-555-0132", None, False, None, None, "not a phone number", id="national-without-country"),
    pytest.param("call me", "US", False, None, None, "not a phone number", id="text"),
])
def test_phone_info(value, region, valid, e164, number_region, problem):
    info = phone_info(s(value), s(region)).iloc[0]
    assert bool(info.valid) is valid
    assert info.e164 == e164
    assert info.region == number_region
    assert (info.problem or None) == problem


@pytest.mark.parametrize(("value", "placeholder"), [
    pytest.param("000-000-0000", True, id="zeros"),
    pytest.param("123-456-7890", True, id="sequence"),
    pytest.param("555-555-5555", True, id="fives"),
    pytest.param("+1 111 111 1111", True, id="ones-with-country-code"),
    pytest.param("(000) 000-0000", True, id="zeros-parenthesised"),
    pytest.param("12", True, id="too-short"),
    pytest.param("(415) 555-0132", False, id="real"),
    pytest.param("+4930901820", False, id="real-de"),
    pytest.param("+1 987 654 3210", True, id="descending run with country code"),
    pytest.param("(212) 345-6789", False, id="real number with a run inside"),
    pytest.param("+14155550132", False, id="ordinary number"),
])
def test_placeholder_phone(value, placeholder):
    assert bool(is_placeholder_phone(s(value)).iat[0]) is placeholder


def test_placeholder_phone_null_is_not_placeholder():
    assert not is_placeholder_phone(s(None)).iat[0]


# -- countries -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "code"), [
    pytest.param("USA", "US", id="USA"),
    pytest.param("U.S.", "US", id="U.S."),
    pytest.param("United States", "US", id="United-States"),
    pytest.param("UK", "GB", id="UK"),
    pytest.param("England", "GB", id="England"),
    pytest.param("Deutschland", "DE", id="Deutschland"),
    pytest.param("germany", "DE", id="lowercase-name"),
    pytest.param("  The  Netherlands ", "NL", id="spaces"),
    pytest.param("FR", "FR", id="iso-code"),
    pytest.param("Narnia", None, id="unknown"),
    pytest.param("", None, id="empty"),
])
def test_country_code(value, code):
    assert country_code(value) == code


@pytest.mark.parametrize(("value", "iso"), [("US", True), ("us", False), ("USA", False), ("United States", False),
                                            ("XX", False), ("GB", True)])
def test_is_iso_country(value, iso):
    assert is_iso_country(value) is iso


def test_country_codes_treat_null_tokens_as_missing():
    out = country_codes(s("USA", "Unknown", None, "-", "DE"))
    assert [None if pd.isna(v) else v for v in out] == ["US", None, None, None, "DE"]


# -- missing values, names, text ------------------------------------------------------------------------
def test_is_missing():
    values = s(None, "", "  ", "Unknown", "n/a", "TBD", "-", "#N/A", "Ann", "0", "None ", "unknown person")
    assert is_missing(values).tolist() == [True, True, True, True, False, True, True, True, False, False, True, False]


@pytest.mark.parametrize(("value", "junk"), [
    ("asdf", True), ("???", True), ("N/A", True), ("xxxx", True), ("Test", True), ("zzz", True), ("qwerty", True),
    ("123", True), ("Jane", False), ("O'Neil", False), ("Ng", False), ("Åsa", False), ("Li", False),
])
def test_junk_name(value, junk):
    assert bool(is_junk_name(s(value)).iat[0]) is junk


def test_junk_name_with_nulls():
    assert is_junk_name(s("asdf", None, "Jane")).tolist() == [True, False, False]


@pytest.mark.parametrize(("value", "fixed"), [
    pytest.param("GonÃ§alves", "Gonçalves", id="Gonçalves"),
    pytest.param("MÃ¼ller", "Müller", id="Müller"),
    pytest.param("FranÃ§ois", "François", id="François"),
])
def test_mojibake_detected_and_repaired(value, fixed):
    assert has_mojibake(s(value)).iat[0]
    assert fixed_encoding(value) == fixed


@pytest.mark.parametrize("value", ["Gonçalves", "Ångström", "Dvořák", "Smith", "Ñandú", "Ärger"])
def test_no_mojibake_in_clean_text(value):
    assert not has_mojibake(s(value)).iat[0]


@pytest.mark.parametrize(("value", "cased"), [("SMITH", "Smith"), ("smith", "Smith"), ("mcdonald", "McDonald"),
                                              ("O'BRIEN", "O'Brien"), ("JEAN-LUC", "Jean-Luc")])
def test_proper_case(value, cased):
    assert proper_case(value) == cased


@pytest.mark.parametrize(("value", "clean"), [(" John", "John"), ("Smith ", "Smith"), ("New  York", "New York"),
                                              ("A\u00a0B", "A B"), ("a\tb", "a b"), ("ok", "ok")])
def test_normalise_whitespace(value, clean):
    assert normalise_whitespace(value) == clean


# -- dates and keys -----------------------------------------------------------------------------------------
def test_to_datetime_naive_utc_and_unreadable_as_nat():
    out = to_datetime(s("2025-01-02 03:04:05", "2025-01-02T03:04:05+02:00", "0000-00-00", None, "garbage"))
    assert out.iat[0] == pd.Timestamp("2025-01-02 03:04:05")
    assert out.iat[1] == pd.Timestamp("2025-01-02 01:04:05")
    assert out.iloc[2:].isna().all()
    assert out.dt.tz is None


@pytest.mark.parametrize(("series", "keys"), [
    pytest.param(pd.Series([1.0, 2.0, None]), ["1", "2", None], id="float-ids"),
    pytest.param(pd.Series([1, 22]), ["1", "22"], id="int-ids"),
    pytest.param(pd.Series(["a1", None], dtype=object), ["a1", None], id="text-ids"),
    pytest.param(pd.Series([1.5, 2.0]), ["1.5", "2.0"], id="non-integral-floats-kept"),
])
def test_as_keys(series, keys):
    assert [None if pd.isna(k) else k for k in as_keys(series)] == keys
