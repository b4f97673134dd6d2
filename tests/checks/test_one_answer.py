"""One set of reference data and normal forms: every path gives a value the same answer.

Each input goes through the checks (accuracy, completeness, consistency), the exact-duplicate keys
and the fuzzy duplicate pipeline's preparation, and each table row states the one answer they must
all give: role or placeholder address or a person's key, a country's ISO code, missing or present,
a phone's E.164, one name or two.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from checks.base import Context
from checks.dedupe.prepare import prepare
from checks.dedupe.settings import DedupeSettings
from checks.dimensions import all_checks
from checks.fields import countries, phone_view, reset_memo
from connectors.mapping import KEY, FieldColumn

from .conftest import NOW, evaluate_check


def _context(entity: str, data: dict[str, list]) -> tuple[pd.DataFrame, Context]:
    n = len(next(iter(data.values())))
    frame = pd.DataFrame({KEY: [str(i + 1) for i in range(n)], **data})
    columns = {label: [FieldColumn(label, label, label, label)] for label in data}
    return frame, Context(entity, NOW, columns, {}, {"aggregates": {}})


def _chunk_keys(check_id: str, entity: str, data: dict[str, list]) -> list:
    frame, ctx = _context(entity, data)
    reset_memo()
    try:
        keys = all_checks()[check_id]().chunk_keys(frame, ctx)
    finally:
        reset_memo()
    return [None if k is None or k != k else k for k in keys]


def _prepared(entity: str, data: dict[str, list], column: str) -> list:
    records = pd.DataFrame({"key": [str(i + 1) for i in range(len(next(iter(data.values()))))], **data})
    col = prepare(records, entity, DedupeSettings()).cols[column]
    values = np.append(np.asarray(col.values, dtype=object), None)
    return list(values[col.codes])


def _flagged(check_id: str, entity: str, data: dict[str, list]) -> set[str]:
    out = evaluate_check(check_id, entity, data)
    return {str(k) for k in out.failures["record_key"]} if len(out.failures) else set()


EMAILS = [
    # (address, a role or placeholder mailbox?, the one key it has: None for those and for invalid ones)
    pytest.param("help@acme.com", True, None, id="help-is-a-role-mailbox"),
    pytest.param("donotreply@acme.com", True, None, id="donotreply-is-a-role-mailbox"),
    pytest.param("careers@acme.com", True, None, id="careers-is-a-role-mailbox"),
    pytest.param("nobody@acme.com", True, None, id="nobody-is-a-placeholder"),
    pytest.param("test@test.com", True, None, id="test-at-test"),
    pytest.param("x@x.com", True, None, id="local-repeats-domain"),
    pytest.param("asdf@asdf.com", True, None, id="asdf-at-asdf"),
    pytest.param("ann@invalid.com", True, None, id="invalid-dot-com"),
    pytest.param("Ann.Lee+news@GoogleMail.com", False, "annlee@gmail.com", id="gmail-dots-tags-alias"),
    pytest.param("ann.lee@acme.com", False, "ann.lee@acme.com", id="dots-kept-elsewhere"),
    pytest.param("Ann@Acme.COM", False, "ann@acme.com", id="case"),
    pytest.param(" ann@acme.com ", False, None, id="padded-is-invalid-syntax"),
    pytest.param("ann@acme", False, None, id="no-top-level-domain"),
]


@pytest.mark.parametrize(("address", "mailbox", "key"), EMAILS)
def test_an_address_has_one_answer(address, mailbox, key):
    data = {"email": [address]}
    flagged = bool(_flagged("accuracy.email_role", "contact", data) | _flagged("accuracy.email_placeholder", "contact",
                                                                                  data))
    assert flagged is mailbox, "the accuracy checks disagree"
    assert _chunk_keys("duplication.exact_email", "contact", data) == [key], "the exact duplicate key disagrees"
    assert _prepared("contact", data, "email") == [key], "the fuzzy pipeline disagrees"


COUNTRIES = [
    pytest.param("Belgique", "BE", id="belgique"),
    pytest.param("Turkey", "TR", id="turkey"),
    pytest.param("Türkiye", "TR", id="turkiye"),
    pytest.param("Allemagne", "DE", id="allemagne"),
    pytest.param("Northern Ireland", "GB", id="northern-ireland"),
    pytest.param("U.S.", "US", id="us-dotted"),
    pytest.param("united  states", "US", id="double-space"),
    pytest.param("de", "DE", id="lowercase-code"),
    pytest.param("Unknown", None, id="null-token"),
    pytest.param("Atlantis", None, id="no-such-country"),
]


@pytest.mark.parametrize(("written", "code"), COUNTRIES)
def test_a_country_has_one_code(written, code):
    frame, ctx = _context("contact", {"country": [written]})
    reset_memo()
    assert countries(frame, ctx).tolist() == [code], "the checks' country disagrees"
    reset_memo()
    assert _prepared("contact", {"country": [written]}, "country") == [code], "the fuzzy pipeline disagrees"


@pytest.mark.parametrize("token", ["Unknown", "-", "TBD", "   ", "#N/A"])
def test_a_null_token_is_missing_everywhere(token):
    data = {"first_name": [token], "last_name": ["Lee"]}
    required = evaluate_check("completeness.required", "contact", data, params={"_required": ["first_name"]})
    assert len(required.failures) == 1, "completeness.required does not see it as missing"
    assert _prepared("contact", data, "first_name") == [None], "the fuzzy pipeline keeps it as a name"


PHONES = [
    pytest.param("+44 (0)20 7946 0018", "GB", "+442079460018", id="gb-trunk-zero-after-code"),
    pytest.param("+1 1 415 555 0132", "US", "+14155550132", id="nanp-trunk-one"),
    pytest.param("(415) 555-0132", "US", "+14155550132", id="us-national"),
    pytest.param("030 1234567", "DE", "+49301234567", id="de-national"),
]


@pytest.mark.parametrize(("written", "country", "e164"), PHONES)
def test_a_phone_has_one_e164(written, country, e164):
    data = {"phone": [written], "country": [country]}
    frame, ctx = _context("contact", data)
    reset_memo()
    view = phone_view(frame, ctx.cols("phone")[0], ctx)
    assert bool(view.valid.iat[0]) and view.e164.iat[0] == e164, "the validity check disagrees"
    reset_memo()
    assert _chunk_keys("duplication.exact_phone", "contact", data) == [(e164,)], "the exact duplicate key disagrees"
    assert _prepared("contact", data, "phone") == [e164], "the fuzzy pipeline disagrees"


NAME_PAIRS = [
    # (first, last, company) of two leads, and whether they are one person's name at one company
    pytest.param(("José", "Núñez", "Acme Inc."), ("Jose", "Nunez", "ACME LLC"), True, id="accents-and-legal-form"),
    pytest.param(("Mary-Ann", "O'Neil", "Acme"), ("Mary Ann", "O Neil", "Acme"), True, id="punctuation"),
    pytest.param(("Ann", "Lee", "Acme"), ("Anne", "Lee", "Acme"), False, id="another-name"),
]


@pytest.mark.parametrize(("one", "other", "same"), NAME_PAIRS)
def test_names_and_companies_are_one_or_two_everywhere(one, other, same):
    data = {"first_name": [one[0], other[0]], "last_name": [one[1], other[1]], "company": [one[2], other[2]]}
    keys = _chunk_keys("duplication.exact_name", "lead", data)
    assert (keys[0] == keys[1]) is same, "the exact name key disagrees"
    prepared = [_prepared("lead", data, column) for column in ("first_name", "last_name", "company")]
    assert all(values[0] == values[1] for values in prepared) is same, "the fuzzy pipeline disagrees"
