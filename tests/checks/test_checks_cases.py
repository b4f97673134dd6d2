"""Each check on tiny tables of cases: which records fail, how many values were applicable, the fix.

Row checks run on a DataFrame through the check's `evaluate` with an engine Context; checks that look
at other entities (orphans, inactive owners, lead ↔ contact) and the entity-wide duplicate checks run
through the engine (`plan` + `measure`) on a tiny SQLite CRM with soft-deleted rows on both sides.
Scoring is checked by hand-computed weighted means.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from checks.config import ScoringConfig
from checks.scoring import effective_weights, record_scores, score_table

PANDAS3 = int(pd.__version__.split(".")[0]) >= 3
ANY = object()  # suggestion not asserted
P = pytest.param

# (check id, entity, data, params, {failing key: suggestion or ANY}, applicable)
CASES = [
    # -- emails
    P("accuracy.email_syntax", "contact",
      {"email": ["john..doe@acme.com", "jane.doe.acme.com", "a b@c.com", "x@@y.com", "x@y,com", "ok@acme.com", None,
                 "Unknown"]}, {},
      {"1": "john.doe@acme.com", "2": ANY, "3": "ab@c.com", "4": "x@y.com", "5": "x@y.com"}, 6, id="email-syntax"),
    P("accuracy.email_placeholder", "contact",
      {"email": ["test@test.com", "noemail@acme.com", "none@none.com", "jane@acme.com", "bad..x@acme.com",
                 "x@x.com", "asdf@asdf.com", "ASDF@Asdf.de"]}, {},
      {"1": None, "2": None, "3": None, "6": None, "7": None, "8": None}, 7, id="email-placeholder"),
    P("accuracy.email_role", "contact", {"email": ["info@acme.com", "Sales+x@acme.com", "jane@acme.com",
                                                   "test@test.com"]}, {},
      {"1": None, "2": None}, 3, id="email-role-placeholders-not-applicable"),
    P("accuracy.email_disposable", "contact", {"email": ["jane@mailinator.com", "jane@yopmail.com", "jane@gmial.com",
                                                         "jane@acme.com"]}, {},
      {"1": None, "2": None}, 4, id="email-disposable-typo-excluded"),
    P("accuracy.email_domain_typo", "contact",
      {"email": ["jane@gmial.com", "bob@yahoo.con", "y@gmail.com", "z@acme.com", "W@Outlok.com"]}, {},
      {"1": "jane@gmail.com", "2": "bob@yahoo.com", "5": "W@outlook.com"}, 5, id="email-domain-typo"),
    P("accuracy.email_domain_typo", "contact",
      {"email": ["ana@yahoo.ar", "luis@hotmail.es", "jo@gmail.co", "ann@yahoo.fr", "kim@yahoo.cm"]}, {},
      {"3": "jo@gmail.com", "5": "kim@yahoo.com"}, 5, id="email-domain-of-another-country-is-no-typo"),
    P("consistency.email_case", "contact", {"email": ["John.Smith@Acme.com", "john@acme.com", "TEST@TEST.COM",
                                                      "Bad..X@y.com"]}, {},
      {"1": "john.smith@acme.com"}, 2, id="email-case"),
    # -- phones
    P("consistency.phone_e164", "contact", {"phone": ["(415) 555-0132", "+14155550132", "+1 415.555.0199", None],
                                            "country": ["US", "US", "USA", "US"]}, {},
      {"1": "+14155550132", "3": "+14155550199"}, 3, id="phone-e164-suggestion"),
    P("consistency.phone_e164", "contact", {"phone": ["089 4521 7730", "030 12345678"], "country": ["DE", "DE"]}, {},
      {"1": "+498945217730"}, 1, id="phone-e164-de-docstring-example-and-sequence-placeholder"),
    P("accuracy.phone_valid", "contact",
      {"phone": ["+1415555013", "+33 1 42 68 53 00 12", "(415) 555-0132", "000-000-0000", "+999 1234"],
       "country": ["US", "FR", "US", "US", None]}, {},
      {"1": None, "2": None, "5": None}, 4, id="phone-wrong-digit-counts"),
    P("accuracy.phone_valid", "contact", {"phone": ["020 7946 0018", "020 7946 0018"], "country": ["GB", "US"]}, {},
      {"2": None}, 2, id="phone-read-with-address-country"),
    P("accuracy.phone_placeholder", "contact",
      {"phone": ["000-000-0000", "123-456-7890", "555-555-5555", "(415) 555-0132", None, "+1 111 111 1111"]}, {},
      {"1": None, "2": None, "3": None, "6": None}, 5, id="phone-placeholder"),
    P("consistency.phone_country", "contact",
      {"phone": ["+14155550132", "+14155550132", "+442079460018", "+14155550199"],
       "country": ["DE", "USA", "United Kingdom", None]}, {},
      {"1": None}, 3, id="phone-country-vs-address"),
    # -- addresses
    P("consistency.country_iso", "contact",
      {"country": ["USA", "U.S.", "UK", "Deutschland", "US", "us", "Narnia", None, "Unknown"]}, {},
      {"1": "US", "2": "US", "3": "GB", "4": "DE", "6": "US", "7": None}, 7, id="country-iso"),
    P("accuracy.postal_format", "contact",
      {"postal_code": ["9410", "94103", "1016", "1016 AB", "1011", "10117", "SW1A 1AA", "X"],
       "country": ["US", "US", "NL", "NL", "DE", "DE", "GB", "Narnia"]}, {},
      {"1": "09410", "3": None, "5": "01011"}, 7, id="postal-format"),
    P("accuracy.postal_format", "contact",
      {"postal_code": ["2113", "7501", "501", "94103", "1016"], "country": ["US", "FR", "DE", "US", "NL"]}, {},
      {"1": "02113", "2": "07501", "3": "00501", "5": None}, 5, id="postal-leading-zero-restored"),
    P("accuracy.state_country", "contact",
      {"state": ["Bavaria", "MA", "massachusetts", "ON", "ON", "x", None, "B.C."],
       "country": ["US", "US", "US", "AU", "CA", "DE", "US", "MX"]}, {},
      {"1": None, "4": None}, 6, id="state-not-in-country"),
    P("consistency.company_casing", "account",
      {"name": ["ACME CORPORATION", "IBM", "Acme", "MÜLLER GMBH & CO. KG", "BASF", "THE HOME DEPOT", None]}, {},
      {"1": "Acme Corporation", "4": "Müller GmbH & Co. KG", "6": "The Home Depot"}, 6, id="company-all-caps"),
    P("accuracy.state_postal", "contact",
      {"state": ["CA", "NY", "CA", "TX"], "postal_code": ["10001", "10001", "94103", "9410"],
       "country": ["US", "US", "US", "US"]}, {},
      {"1": None}, 3, id="state-postal-CA-10001-fails-NY-passes"),
    # -- names and text
    P("accuracy.junk_name", "contact",
      {"first_name": ["asdf", "???", "N/A", "xxxx", "Test", "Jane", "zzz", "Ann"], "last_name": ["Doe"] * 8}, {},
      {"1": None, "2": None, "3": None, "4": None, "5": None, "7": None}, 16, id="junk-name"),
    P("consistency.name_casing", "contact", {"first_name": ["SMITH", "mcdonald", "Jane", "J", "asdf"]}, {},
      {"1": "Smith", "2": "McDonald"}, 4, id="name-casing-SMITH-Smith"),
    P("accuracy.swapped_names", "contact", {"first_name": ["Johnson", "Emily", "Robert"],
                                            "last_name": ["Emily", "Johnson", "Wilson"]}, {},
      {"1": "Emily Johnson"}, 3, id="swapped-names"),
    P("accuracy.mojibake", "contact", {"last_name": ["GonÃ§alves", "Gonçalves", "MÃ¼ller", "Smith"]}, {},
      {"1": "Gonçalves", "3": "Müller"}, 4, id="mojibake-Gonçalves"),
    # Łukasz whose Ł lost a byte (U+FFFD): ftfy's repair would keep the hole, so nothing is proposed.
    P("accuracy.mojibake", "contact", {"last_name": ["\u00c5\ufffdukasz", "Smith"]}, {}, {"1": None}, 2,
      id="mojibake-repair-with-a-hole"),
    P("consistency.whitespace", "contact",
      {"first_name": [" John", "Smith ", "New  York", "Ok", "A\u00a0B", "   "]}, {},
      {"1": "John", "2": "Smith", "3": "New York", "5": "A B"}, 5, id="whitespace"),
    # -- dates and deals
    P("accuracy.impossible_dates", "contact",
      {"created_at": ["2031-01-05 00:00:00", "2021-03-02 00:00:00", "0000-00-00", "2025-01-01 00:00:00", None],
       "modified_at": ["2031-01-05 00:00:00", "2020-01-01 00:00:00", "2025-01-01 00:00:00", "2025-06-01 00:00:00",
                       None]}, {},
      {"1": None, "2": None, "3": None}, 4, id="impossible-dates"),
    P("accuracy.impossible_dates", "contact", {"modified_at": ["2026-11-23 12:03:00", "2026-11-23 12:30:00"]}, {},
      {"2": None}, 2, id="modified-in-future-beyond-5-minutes"),
    P("accuracy.won_without_amount", "opportunity",
      {"is_won": [1, 1, 1, 0, 1], "amount": [None, 0.0, 500.0, None, -1.0]}, {},
      {"1": None, "2": None, "5": None}, 4, id="won-without-amount"),
    P("accuracy.close_before_created", "opportunity",
      {"close_date": ["2025-02-01", "2025-03-10", "2025-03-20", None],
       "created_at": ["2025-03-10 09:00:00", "2025-03-10 15:00:00", "2025-03-10 00:00:00", "2025-01-01 00:00:00"]}, {},
      {"1": None}, 3, id="close-before-created-same-day-ok"),
    # -- completeness
    P("completeness.required", "lead",
      {"company": ["Acme", None, "", "Unknown", "-", "TBD", "  "], "last_name": list("ABCDEFG")},
      {"_required": ["company", "last_name"]},
      {"2": None, "3": None, "4": None, "5": None, "6": None, "7": None}, 14, id="required-null-tokens"),
    P("completeness.contactability", "contact",
      {"email": ["a@b.com", None, "test@test.com", None, "bad..x@y.com"],
       "phone:phone": [None, "+14155550132", None, None, None], "phone:mobile": [None, None, None, "000-000-0000", None]},
      {}, {"3": None, "4": None, "5": None}, 5, id="contactability"),
    P("completeness.owner_missing", "contact", {"owner_id": ["1", None, "", "3", "Unknown"]}, {},
      {"2": None, "3": None, "5": None}, 5, id="owner-missing"),
    P("completeness.record", "contact",
      {"first_name": ["A", None, "C"], "last_name": ["B", None, None], "email": ["a@b.com", None, None],
       "city": ["X", "Y", None]}, {}, {"2": None, "3": None}, 3, id="record-completeness-below-50"),
    P("completeness.record", "contact", {"first_name": ["A", None], "last_name": ["B", "C"]}, {"min_percent": 100},
      {"2": None}, 2, id="record-completeness-threshold-param"),
    # -- freshness
    P("freshness.staleness", "contact",
      {"modified_at": ["2022-05-01 00:00:00", "2024-11-24 00:00:00", "2024-11-22 00:00:00", "2026-11-01", None]}, {},
      {"1": "review or archive", "3": "review or archive"}, 4, id="staleness-730-days"),
    P("freshness.staleness", "contact", {"modified_at": ["2026-01-01 00:00:00", "2026-10-01 00:00:00"]},
      {"days": 100}, {"1": ANY}, 2, id="staleness-days-param"),
    P("freshness.stale_leads", "lead",
      {"status": ["New", "Working", "Closed - Converted", "New", "Open", "Qualified"],
       "modified_at": ["2026-10-01 00:00:00", "2026-11-10 00:00:00", "2026-01-01 00:00:00", "2026-10-01 00:00:00",
                       "2026-10-24 00:00:00", "2026-01-01 00:00:00"],
       "converted": [0, 0, 1, 1, 0, 0]}, {},
      {"1": "follow up or disqualify"}, 3, id="stale-leads"),
    P("freshness.stale_pipeline", "opportunity",
      {"is_closed": [0, 0, 1, 0], "close_date": ["2026-11-01", "2026-12-01", "2026-01-01", "2026-11-23"]}, {},
      {"1": ANY}, 3, id="stale-pipeline"),
    P("freshness.mass_update", "contact",
      {"modified_at": ["2026-11-13 02:00:00"] * 5 + ["2026-11-13 02:00:01", "2026-11-14 00:00:00"]}, {"min_rows": 5},
      {"1": None, "2": None, "3": None, "4": None, "5": None}, 7, id="mass-update"),
    P("freshness.mass_update", "contact", {"modified_at": ["2026-11-13 02:00:00"] * 4 + [None]}, {"min_rows": 5},
      {}, 4, id="mass-update-below-min-rows"),
]


@pytest.mark.parametrize(("check_id", "entity", "data", "params", "expected", "applicable"), CASES)
def test_check_case(run_check, check_id, entity, data, params, expected, applicable):
    out = run_check(check_id, entity, data, params=params)
    got = out.failures
    keys = [str(k) for k in got["record_key"]] if len(got) else []
    assert keys == list(expected), got.to_string() if len(got) else "no failures"
    assert out.applicable == applicable
    for key, suggestion in expected.items():
        if suggestion is ANY:
            continue
        row = got[got.record_key.astype(str) == key].iloc[0]
        value = None if pd.isna(row.suggestion) else row.suggestion
        assert value == suggestion, f"record {key}: {row.to_dict()}"
    if len(got):
        assert got.reason.notna().all() and (got.reason.astype(str).str.len() > 0).all()


def test_staleness_is_measured_against_now_not_the_clock(run_check):
    data = {"modified_at": ["2024-01-01 00:00:00"]}
    assert len(run_check("freshness.staleness", "contact", data, now=datetime(2025, 1, 1)).failures) == 0
    late = run_check("freshness.staleness", "contact", data, now=datetime(2026, 11, 23)).failures
    assert len(late) == 1 and late.reason.iat[0] == "not modified for 1057 days"


def test_impossible_dates_relative_to_now(run_check):
    data = {"created_at": ["2026-06-01 00:00:00"]}
    assert len(run_check("accuracy.impossible_dates", "contact", data, now=datetime(2026, 1, 1)).failures) == 1
    assert len(run_check("accuracy.impossible_dates", "contact", data, now=datetime(2026, 11, 23)).failures) == 0


def test_phone_checks_read_every_phone_column(run_check, keys_of):
    data = {"phone:phone": ["+14155550132", None], "phone:mobile": ["(415) 555-0199", "+1415555013"],
            "country": ["US", "US"]}
    e164 = run_check("consistency.phone_e164", "contact", data)
    assert keys_of(e164) == ["1"] and e164.failures.column_name.tolist() == ["mobile"]
    assert e164.applicable == 2
    valid = run_check("accuracy.phone_valid", "contact", data)
    assert keys_of(valid) == ["2"] and valid.applicable == 3


def test_newest_update_uses_the_table_aggregate(run_check):
    shared = {"aggregates": {"contact": {"rows": 3, "newest": "2026-10-01 00:00:00", "buckets": {}}}}
    out = run_check("freshness.newest_update", "contact", {"modified_at": ["2026-10-01 00:00:00"]}, shared=shared)
    assert out.applicable == 1 and out.failures.reason.tolist() == ["newest update is 53 days old"]
    fresh = {"aggregates": {"contact": {"rows": 3, "newest": "2026-11-20 00:00:00", "buckets": {}}}}
    assert len(run_check("freshness.newest_update", "contact", {"modified_at": ["x"]}, shared=fresh).failures) == 0


# -- the engine on a tiny SQLite CRM ------------------------------------------------------------------------
T = "2025-06-01 10:00:00"


def _contact(id_, first, last, email=None, phone=None, mobile=None, account_id=1, owner_id=1, created=T, deleted=0,
             country="US"):
    return {"id": id_, "first_name": first, "last_name": last, "email": email, "phone": phone, "mobile": mobile,
            "country": country, "account_id": account_id, "owner_id": owner_id, "created_at": created,
            "modified_at": "2026-11-01 10:00:00", "deleted": deleted}


USERS = [{"id": 1, "first_name": "Ada", "last_name": "Active", "email": "ada@crm.io", "is_active": 1},
         {"id": 2, "first_name": "Ian", "last_name": "Gone", "email": "ian@crm.io", "is_active": 0}]
ACCOUNTS = [{"id": 1, "name": "Acme Inc.", "country": "US", "phone": "+12125550101", "owner_id": 1,
             "created_at": T, "modified_at": "2026-11-01 10:00:00", "deleted": 0},
            {"id": 2, "name": "Gone Ltd", "country": "GB", "phone": "+442079460018", "owner_id": 1,
             "created_at": T, "modified_at": "2026-11-01 10:00:00", "deleted": 1}]


def findings_of(result, check_id, entity="contact") -> pd.DataFrame:
    f = result.findings
    return f[(f.check_id == check_id) & (f.entity == entity)].sort_values("record_key").reset_index(drop=True)


def test_orphans_respect_soft_deletes_on_both_sides(tiny_crm):
    contacts = [_contact(1, "Ann", "Lee", account_id=1), _contact(2, "Bo", "Ray", account_id=2),
                _contact(3, "Cy", "Fox", account_id=999), _contact(4, "Di", "Ng", account_id=None),
                _contact(5, "Ed", "Po", account_id=999, deleted=1), _contact(6, "Flo", "Wu", account_id=2, deleted=1)]
    result = tiny_crm({"users": USERS, "accounts": ACCOUNTS, "contacts": contacts}, only="consistency.orphans")
    orphans = findings_of(result, "consistency.orphans")
    assert orphans.record_key.tolist() == ["2", "3"]  # deleted target, missing target; deleted sources never
    assert orphans.value.tolist() == ["2", "999"]
    row = result.check_results.set_index(["check_id", "entity"]).loc[("consistency.orphans", "contact")]
    assert (row.applicable, row.failed) == (3, 2)
    assert row.score == pytest.approx(100 * (1 - 2 / 3), abs=1e-3)


def test_owner_inactive(tiny_crm):
    contacts = [_contact(1, "Ann", "Lee", owner_id=1), _contact(2, "Bo", "Ray", owner_id=2),
                _contact(3, "Cy", "Fox", owner_id=None), _contact(4, "Di", "Ng", owner_id=2, deleted=1)]
    result = tiny_crm({"users": USERS, "accounts": ACCOUNTS, "contacts": contacts}, only="consistency.owner_inactive")
    found = findings_of(result, "consistency.owner_inactive")
    assert found.record_key.tolist() == ["2"]
    assert found.owner.tolist() == ["2"]


def test_exact_duplicates_point_at_the_oldest_survivor(tiny_crm):
    contacts = [
        _contact(10, "Ann", "Lee", email="ann.lee@acme.com", created="2024-01-01 00:00:00"),
        _contact(11, "Annie", "Lee", email="Ann.Lee+crm@ACME.com", created="2023-01-01 00:00:00", account_id=None),
        _contact(12, "Ann", "Leigh", email="ann.lee@acme.com", created="2025-01-01 00:00:00", account_id=None),
        _contact(13, "Zed", "Zu", email="ann.lee@acme.com", deleted=1, created="2020-01-01 00:00:00"),
        _contact(20, "Bo", "Ray", phone="(415) 555-0132", created="2022-01-01 00:00:00", account_id=None),
        _contact(21, "Bob", "Raye", mobile="+1 415-555-0132", created="2021-01-01 00:00:00", account_id=None),
        _contact(30, "Cy", "Fox", email="info@acme.com"), _contact(31, "Cyd", "Fox", email="info@acme.com"),
        _contact(40, "Dee", "Ng", account_id=1, created="2024-05-01 00:00:00"),
        _contact(41, "DEE ", "ng", account_id=1, created="2024-04-01 00:00:00"),
        _contact(42, "Dee", "Ng", account_id=None),
    ]
    result = tiny_crm({"users": USERS, "accounts": ACCOUNTS, "contacts": contacts}, only="duplication")
    email = findings_of(result, "duplication.exact_email")
    assert email.record_key.tolist() == ["10", "12"]  # 11 is the oldest; role addresses and deleted rows are no key
    assert set(email.suggestion) == {"merge into 11"}
    assert set(email.reason) == {"same email as record 11"}
    phone = findings_of(result, "duplication.exact_phone")
    assert phone.record_key.tolist() == ["20"] and phone.suggestion.tolist() == ["merge into 21"]
    name = findings_of(result, "duplication.exact_name")
    assert name.record_key.tolist() == ["40"] and name.suggestion.tolist() == ["merge into 41"]


def test_lead_duplicates_a_live_contact(tiny_crm):
    contacts = [_contact(1, "Ann", "Lee", email="ann@acme.com"), _contact(2, "Bo", "Ray", email="bo@acme.com", deleted=1)]
    leads = [{"id": 101, "first_name": "Ann", "last_name": "Lee", "email": "ANN+web@acme.com", "company": "Acme",
              "status": "New", "owner_id": 1, "created_at": T, "modified_at": "2026-11-20 00:00:00"},
             {"id": 102, "first_name": "Bo", "last_name": "Ray", "email": "bo@acme.com", "company": "Acme",
              "status": "New", "owner_id": 1, "created_at": T, "modified_at": "2026-11-20 00:00:00"},
             {"id": 103, "first_name": "Cy", "last_name": "Fox", "email": "cy@fox.io", "company": "Fox",
              "status": "New", "owner_id": 1, "created_at": T, "modified_at": "2026-11-20 00:00:00"},
             {"id": 104, "first_name": "Ann", "last_name": "Lee", "email": "ann@acme.com", "company": "Acme",
              "status": "New", "owner_id": 1, "created_at": T, "modified_at": "2026-11-20 00:00:00", "deleted": 1}]
    result = tiny_crm({"users": USERS, "accounts": ACCOUNTS, "contacts": contacts, "leads": leads},
                      only="duplication.lead_contact")
    found = findings_of(result, "duplication.lead_contact", "lead")
    assert found.record_key.tolist() == ["101"]
    assert found.suggestion.tolist() == ["convert into contact 1"]


def test_null_names_in_a_real_crm(tiny_crm):
    contacts = [_contact(1, None, "Lee", email="ann@acme.com"), _contact(2, "asdf", None, email="bo@acme.com")]
    result = tiny_crm({"users": USERS, "accounts": ACCOUNTS, "contacts": contacts}, only="accuracy.junk_name")
    assert findings_of(result, "accuracy.junk_name").record_key.tolist() == ["2"]


def test_engine_scores_pass_rate_and_stores_nothing_for_soft_deleted(tiny_crm):
    contacts = [_contact(1, "Ann", "Lee", email="ann@acme.com"), _contact(2, "Bo", "Ray", email="test@test.com"),
                _contact(3, "Cy", "Fox", email="cy@fox.io"), _contact(4, "Di", "Ng", email="di@ng.io"),
                _contact(5, "Ed", "Po", email="none@none.com", deleted=1)]
    result = tiny_crm({"users": USERS, "accounts": ACCOUNTS, "contacts": contacts}, only="accuracy.email_placeholder")
    row = result.check_results.set_index(["check_id", "entity"]).loc[("accuracy.email_placeholder", "contact")]
    assert (row.applicable, row.failed, row.score) == (4, 1, 75.0)
    assert set(result.findings.record_key) == {"2"}
    assert result.rows_read["contact"] == 4


# -- scoring ------------------------------------------------------------------------------------------------
def _results(rows):
    cols = ["check_id", "entity", "dimension", "fields", "severity", "weight", "applicable", "failed", "score"]
    return pd.DataFrame(rows, columns=cols)


RESULTS = _results([
    ("a.one", "contact", "accuracy", "email", "high", 1.0, 100, 10, 90.0),
    ("a.two", "contact", "accuracy", "phone", "low", 1.0, 50, 25, 50.0),
    ("c.one", "contact", "completeness", "email,phone", "medium", 2.0, 10, 0, 100.0),
    ("c.two", "account", "completeness", "name", "critical", 1.0, 0, 0, None),  # nothing applicable: no weight
    ("f.one", "account", "freshness", "modified_at", "medium", 1.0, 20, 5, 75.0),
])


def test_effective_weight_is_weight_times_severity_multiplier():
    w = effective_weights(RESULTS, ScoringConfig())
    assert w.tolist() == [3.0, 1.0, 4.0, 5.0, 2.0]


def test_score_table_weighted_means():
    scores, overall = score_table(RESULTS, ScoringConfig())
    def norm(v):
        return None if pd.isna(v) else v

    by = {(r.scope, norm(r.entity), norm(r.dimension), norm(r.field)): r.score for r in scores.itertuples()}
    acc = (90 * 3 + 50 * 1) / 4  # high ×3, low ×1
    assert by[("dimension", None, "accuracy", None)] == pytest.approx(acc)
    assert by[("dimension", None, "completeness", None)] == pytest.approx(100.0)  # the check without score weighs 0
    assert by[("dimension", None, "freshness", None)] == pytest.approx(75.0)
    assert overall == pytest.approx((acc + 100 + 75) / 3)
    assert by[("overall", None, None, None)] == pytest.approx(overall)
    assert by[("entity", "contact", None, None)] == pytest.approx((90 * 3 + 50 + 100 * 4) / 8)
    assert by[("entity", "account", None, None)] == pytest.approx(75.0)
    assert by[("entity_dimension", "contact", "accuracy", None)] == pytest.approx(acc)
    assert by[("field", "contact", None, "email")] == pytest.approx((90 * 3 + 100 * 4) / 7)
    assert by[("field", "contact", None, "phone")] == pytest.approx((50 + 100 * 4) / 5)


def test_dimension_and_severity_weights_from_config():
    cfg = ScoringConfig(dimension_weights={"accuracy": 2.0, "freshness": 0.0},
                        severity_weights={"low": 1.0, "medium": 1.0, "high": 1.0, "critical": 1.0})
    _, overall = score_table(RESULTS, cfg)
    acc = (90 + 50) / 2
    assert overall == pytest.approx((acc * 2 + 100 * 1) / 3)


def test_no_applicable_check_gives_no_overall():
    _, overall = score_table(RESULTS[RESULTS.check_id == "c.two"], ScoringConfig())
    assert overall is None


def test_record_scores():
    findings = pd.DataFrame({"entity": ["contact", "contact", "contact", "contact", "account"],
                             "record_key": ["1", "1", "1", "2", "7"],
                             "check_id": ["a.one", "a.one", "a.two", "c.one", "f.one"]})
    owners = {"contact": pd.Series({"1": "u1", "2": "u2"}), "account": pd.Series({"7": "u9"})}
    rec = record_scores(findings, RESULTS, ScoringConfig(), owners).set_index(["entity", "record_key"])
    # contact checks weigh 3 + 1 + 4 = 8; account: only f.one (2) applies, c.two has nothing applicable
    assert rec.loc[("contact", "1")].score == pytest.approx(100 * (1 - 4 / 8))
    assert rec.loc[("contact", "1")].failed_checks == 2  # a.one counted once
    assert rec.loc[("contact", "2")].score == pytest.approx(50.0)
    assert rec.loc[("account", "7")].score == pytest.approx(0.0)
    assert rec.loc[("contact", "2")].owner == "u2"
    assert len(rec) == 3  # records without findings are not stored


def test_null_values_are_stored_as_null_not_nan(tiny_crm):
    contacts = [_contact(1, "Ann", "Lee", owner_id=None), _contact(2, "Bo", "Ray")]
    result = tiny_crm({"users": USERS, "accounts": ACCOUNTS, "contacts": contacts}, only="completeness.owner_missing")
    found = findings_of(result, "completeness.owner_missing")
    assert found.record_key.tolist() == ["1"]
    assert found.value.iat[0] is None or pd.isna(found.value.iat[0]), f"stored value {found.value.iat[0]!r}"
