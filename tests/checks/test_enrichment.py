"""Enrichment checks: values a record's other fields give, with their reason, and nothing where it is a guess.

Each check on tiny frames of cases (which records, how many applicable, the value and the reason);
the shared facts (titles, names, phones, postal codes); weight 0 in the scores; the engine's pushed-down
path agreeing with Python; a fix package made on the demo CRM, applied to a copy, after which the
next run finds none of them and nothing new; the Overview's section of opportunities.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from checks.base import Context, is_enrichment
from checks.config import ScoringConfig
from checks.demo import generate_demo
from checks.dimensions import all_checks
from checks.phones import dialled_country
from checks.reference import INDIVIDUAL_CONTRIBUTOR, TITLE_FUNCTIONS, TITLE_SENIORITIES
from checks.scoring import record_scores, score_table
from checks.values import business_domain, job_profile, split_full_name
from connectors.mapping import FieldColumn
from dashboard import launch
from tests.checks.app.test_fix_packages import (
    AS_OF,
    copy_of,
    findings_of,
    import_csv,
    package,
    reasons,
    run_demo,
)

ANY = object()
P = pytest.param
ENRICHMENT = sorted(cid for cid in all_checks() if is_enrichment(cid))

# (check id, entity, data, {failing key: suggestion}, applicable, {key: reason} asserted)
CASES = [
    P("enrichment.country_from_phone", "contact",
      {"country": [None, "", "Unknown", "US", None, None, None, None],
       "phone:phone": ["+44 20 7946 0018", "0049 30 12345678", "+1 800 555 0199", "+442079460018", None,
                       "020 7946 0018", "+14155550132", "+33 1 42 68 53 00"],
       "phone:mobile": [None, None, None, None, "+31 6 12345678", None, "+447911123456", None]},
      {"1": "GB", "2": "DE", "5": "NL", "8": "FR"}, 7,
      {"1": "country from the phone's +44 prefix (GB)", "5": "country from the phone's +31 prefix (NL)"},
      id="country-from-phone-prefix-toll-free-and-disagreeing-numbers-give-nothing"),
    P("enrichment.country_from_phone", "account", {"country": ["DE", "Germany"], "phone": ["+14155550132"] * 2},
      {}, 0, {}, id="country-from-phone-not-applicable-when-filled"),
    P("enrichment.country_from_postal", "lead",
      {"country": [None, None, None, "NL", None, "Unknown", "", None],
       "postal_code": ["1016 AB", "SW1A 1AA", "10001", "1016 AB", None, "K1A 0B1", "2000", "01-234"]},
      {"1": "NL", "2": "GB", "6": "CA", "8": "PL"}, 6,
      {"1": "country from the postal code, whose format only NL uses"},
      id="country-from-postal-unique-formats-only"),
    P("enrichment.country_from_postal", "contact", {"country": [None, None, None], "postal_code": ["10001", "75008",
                                                                                                   "GY1 1AA"]},
      {}, 3, {}, id="country-from-postal-ambiguous-codes-derive-nothing"),
    P("enrichment.state_from_postal", "contact",
      {"state": [None, "", "NY", None, None, None, "-", None],
       "postal_code": ["10001", "M5V 2T6", "10001", "10115", "9410", "94103", "02108", "K1A 0B1"],
       "country": ["US", "CA", "US", "DE", "US", "USA", "United States", "CA"]},
      {"1": "NY", "2": "ON", "6": "CA", "7": "MA"}, 6,
      {"1": "state from the US postal code 10001", "2": "state from the CA postal code M5V 2T6"},
      id="state-from-postal-us-and-ca-invalid-and-shared-prefixes-give-nothing"),
    P("enrichment.name_split", "lead",
      {"first_name": [None, "", "Emily", None, "Emily Johnson", None, None, None, "Unknown"],
       "last_name": ["Emily Johnson", "Johnson, Emily", "Johnson", "Johnson", None, "Del Rio", "Mary Ann Smith",
                     "Emily J.", "José García López"]},
      {"1": "first name Emily, last name Johnson", "2": "first name Emily, last name Johnson",
       "5": "first name Emily, last name Johnson", "9": "first name José, last name García López"}, 8,
      {"1": "first_name is empty and last_name holds a full name",
       "5": "last_name is empty and first_name holds a full name"},
      id="name-split-both-ways-particles-and-second-given-names-give-nothing"),
    P("enrichment.title_function", "contact",
      {"title": ["VP Sales", "CFO", "Buyer", "asdf", None, "HR Manager", "Director"],
       "job_function": [None, "Finance", "Sales", None, None, "Human Resources", None],
       "seniority": [None, "", "Individual contributor", None, None, "Manager", "VP"]},
      {"1": ANY, "3": "Procurement", "2": "C-level", "7": "Director"}, 9,
      {"3": "job function does not match the title", "2": "seniority from the title"},
      id="title-function-and-seniority-empty-or-at-odds"),
    P("enrichment.website_domain", "lead",
      {"website": [None, None, None, "acme.com", None, None, None, None],
       "email": ["jane@acme-robotics.com", "jane@gmail.com", "bob@yahoo.de", "x@acme.com", "info@acme.io",
                 "test@test.com", "jo@gmial.com", "al@mailinator.com"]},
      {"1": "acme-robotics.com", "5": "acme.io"}, 6, {"1": "website from the business email's domain"},
      id="website-from-business-email-not-consumer-disposable-typo-or-placeholder"),
]


@pytest.mark.parametrize(("check_id", "entity", "data", "expected", "applicable", "why"), CASES)
def test_enrichment_case(run_check, check_id, entity, data, expected, applicable, why):
    out = run_check(check_id, entity, data)
    got = out.failures
    keys = {str(k) for k in got.record_key} if len(got) else set()
    assert keys == set(expected), got.to_string() if len(got) else "no failures"
    assert out.applicable == applicable
    rows = {(str(r.record_key), r.field): r for r in got.itertuples()}
    for key, suggestion in expected.items():
        row = next(r for (k, _), r in rows.items() if k == key)
        if suggestion is not ANY:
            assert row.suggestion == suggestion, row
    for key, reason in why.items():
        assert reason in {r.reason for (k, _), r in rows.items() if k == key}


def test_title_function_reports_each_field_and_keeps_agreeing_values(run_check):
    out = run_check("enrichment.title_function", "contact",
                    {"title": ["VP Sales", "Head of People"], "job_function": [None, "Human Resources"],
                     "seniority": ["Vice President", "head"]})
    f = out.failures
    assert f[["record_key", "field", "suggestion"]].values.tolist() == [["1", "job_function", "Sales"]]
    assert out.applicable == 4


def test_title_function_runs_only_with_a_job_field_mapped():
    check = all_checks()["enrichment.title_function"]()
    assert not check.applies_to("contact", {"title", "first_name"})
    assert check.applies_to("contact", {"title", "seniority"}) and check.applies_to("lead", {"title", "job_function"})
    assert check.unmet({"title"}) == "a job_function or seniority custom field"
    assert check.unmet({"first_name"}) == "title and a job_function or seniority custom field"


def test_name_split_writes_both_names():
    check = all_checks()["enrichment.name_split"]()
    cols = {"first_name": [FieldColumn("first_name", "first_name", "", "FirstName")],
            "last_name": [FieldColumn("last_name", "last_name", "", "LastName")]}
    ctx = Context("lead", pd.Timestamp("2026-11-23").to_pydatetime(), cols)
    record = pd.Series({"first_name": None, "last_name": "Emily  Johnson"})
    assert check.fix_changes({"field": "first_name"}, record, ctx) == {"first_name": "Emily", "last_name": "Johnson"}
    reverse = pd.Series({"first_name": "Johnson, Emily", "last_name": ""})
    assert check.fix_changes({"field": "last_name"}, reverse, ctx) == {"first_name": "Emily", "last_name": "Johnson"}


# -- the shared facts -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("title", "function", "seniority"), [
    ("Sales Manager", "Sales", "Manager"), ("Account Executive", "Sales", INDIVIDUAL_CONTRIBUTOR),
    ("CEO", "Executive", "C-level"), ("Chief Financial Officer", "Finance", "C-level"),
    ("VP Marketing", "Marketing", "VP"), ("Senior Vice President, Engineering", "Engineering", "VP"),
    ("Head of People", "HR", "Director"), ("IT Support Specialist", "IT", INDIVIDUAL_CONTRIBUTOR),
    ("Sr. Accountant", "Finance", "Senior"), ("Executive Assistant to the CEO", "Executive", INDIVIDUAL_CONTRIBUTOR),
    ("Product Owner", "Product", INDIVIDUAL_CONTRIBUTOR), ("Managing Director", "Executive", "C-level"),
    ("General Counsel", "Legal", INDIVIDUAL_CONTRIBUTOR), ("Director", None, "Director"), ("asdf", None, None),
])
def test_job_profile_reads_titles(title, function, seniority):
    assert job_profile(title) == (function, seniority)


def test_every_value_the_tables_write_reads_as_itself():
    # A value the check wrote must agree with the title on the next run: each reads through its own rule.
    for _, function in TITLE_FUNCTIONS:
        assert job_profile(function)[0] == function
    for _, seniority in TITLE_SENIORITIES:
        assert job_profile(seniority)[1] == seniority


@pytest.mark.parametrize(("value", "country"), [
    ("+44 20 7946 0018", ("GB", "+44")), ("0033 1 42 68 53 00", ("FR", "+33")), ("+1 416 555 0142", ("CA", "+1")),
    ("+1 800 555 0199", None), ("+800 1234 5678", None), ("020 7946 0018", None), ("+44 20", None)])
def test_dialled_country(value, country):
    assert dialled_country(value) == country


def test_split_full_name_and_business_domains():
    assert split_full_name("Jan de Vries") == ("Jan", "de Vries")
    assert split_full_name("van Dijk") is None and split_full_name("Emily") is None
    assert business_domain("jane", "acme.de") == "acme.de"
    for local, domain in (("jane", "googlemail.com"), ("ana", "hotmail.es"), ("x", "yopmail.com"),
                          ("jane", "gmail.con"), ("test", "acme.com"), ("jane", "localhost")):
        assert business_domain(local, domain) is None, domain


# -- scores ---------------------------------------------------------------------------------------------
def _results(rows):
    cols = ["check_id", "entity", "dimension", "fields", "severity", "weight", "applicable", "failed", "score"]
    return pd.DataFrame(rows, columns=cols)


def test_checks_of_weight_zero_move_no_score_and_fail_no_record():
    results = _results([
        ("a.one", "contact", "accuracy", "email", "high", 1.0, 100, 10, 90.0),
        ("enrichment.country_from_phone", "contact", "completeness", "country,phone", "low", 0.0, 20, 20, 0.0),
        ("enrichment.name_split", "lead", "completeness", "first_name,last_name", "low", 0.0, 5, 5, 0.0),
    ])
    scores, overall = score_table(results, ScoringConfig())
    by = {(r.scope, r.entity if isinstance(r.entity, str) else None, r.dimension if isinstance(r.dimension, str)
           else None, r.field if isinstance(r.field, str) else None): r.score for r in scores.itertuples()}
    assert overall == pytest.approx(90.0)  # the completeness dimension has no score, so no weight in the overall
    assert pd.isna(by[("dimension", None, "completeness", None)])
    assert pd.isna(by[("entity", "lead", None, None)])  # every check of the lead weighs 0
    assert by[("entity", "contact", None, None)] == pytest.approx(90.0)
    assert pd.isna(by[("field", "contact", None, "country")])
    findings = pd.DataFrame({"entity": ["contact", "contact", "contact", "lead"], "record_key": ["1", "1", "2", "7"],
                             "check_id": ["a.one", "enrichment.country_from_phone", "enrichment.country_from_phone",
                                          "enrichment.name_split"]})
    owners = {"contact": pd.Series({"1": "u1", "2": "u2"}), "lead": pd.Series({"7": "u9"})}
    rec = record_scores(findings, results, ScoringConfig(), owners)
    # Record 1 fails a.one only; records 2 and 7 have opportunities only: not stored, no division by zero.
    assert rec[["entity", "record_key", "failed_checks"]].values.tolist() == [["contact", "1", 1]]
    assert rec.score.tolist() == [0.0]
    none = record_scores(findings[findings.entity == "lead"], results[results.entity == "lead"], ScoringConfig(), owners)
    assert none.empty


# -- the engine's pushed-down path ----------------------------------------------------------------------
T = "2025-06-01 10:00:00"


def _contact(id_, first, last, phone=None, mobile=None, country=None):
    return {"id": id_, "first_name": first, "last_name": last, "email": f"p{id_}@acme-robotics.com", "phone": phone,
            "mobile": mobile, "country": country, "account_id": None, "owner_id": 1, "created_at": T,
            "modified_at": "2026-11-01 10:00:00", "deleted": 0}


def test_the_engine_settles_filled_records_and_finds_the_rest(tiny_crm):
    users = [{"id": 1, "first_name": "Ada", "last_name": "Active", "email": "ada@crm.io", "is_active": 1}]
    contacts = [_contact(1, "Ann", "Lee", phone="+442079460018", country="GB"),
                _contact(2, "Bo", "Ray", phone="+442079460019"),
                _contact(3, None, "Emily Johnson", mobile="+33612345678", country="Unknown"),
                _contact(4, "Cy", "Fox", phone="(415) 555-0132"),
                {**_contact(5, None, "Emily Johnson", phone="+442079460020"), "deleted": 1}]
    result = tiny_crm({"users": users, "contacts": contacts},
                      only="enrichment.country_from_phone,enrichment.name_split")
    f = result.findings.sort_values(["check_id", "record_key"])
    assert f[["check_id", "record_key", "suggestion"]].values.tolist() == [
        ["enrichment.country_from_phone", "2", "GB"], ["enrichment.country_from_phone", "3", "FR"],
        ["enrichment.name_split", "3", "first name Emily, last name Johnson"]]
    applicable = result.check_results.set_index(["check_id", "entity"]).applicable
    assert applicable[("enrichment.country_from_phone", "contact")] == 3  # 1 is settled: its country is filled
    assert applicable[("enrichment.name_split", "contact")] == 1
    assert (result.check_results.weight == 0).all()
    assert result.record_scores.empty  # opportunities only: no record loses score


# -- the demo CRM: ground truth, a fix package applied, the dashboard --------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """A 1,000-contact demo CRM with one run."""
    folder = tmp_path_factory.mktemp("enrichdemo")
    generate_demo(folder, contacts=1000, seed=5, as_of=pd.Timestamp(AS_OF).to_pydatetime())
    run_demo(folder)
    return folder


def test_the_demo_holds_each_kind_of_opportunity(demo):
    truth = json.loads((demo / "ground_truth.json").read_text())["defects"]
    found = findings_of(demo)
    for cid in ENRICHMENT:
        kind = cid.removeprefix("enrichment.")
        keys = {k for c, _, k in found if c == cid}
        assert set(truth[kind]["keys"]) == keys and len(keys) >= 10, cid


def test_a_package_fills_the_opportunities_and_the_next_run_finds_none_and_nothing_new(demo, tmp_path):
    before = findings_of(demo)
    default = package(demo, tmp_path / "default", "--format", "csv", *[a for c in ENRICHMENT for a in ("--check", c)])
    sure = reasons(tmp_path / "default")
    by_check = {c: set(sure[sure.checks.str.contains(c, regex=False)].destination) for c in ENRICHMENT}
    for cid in ("country_from_phone", "country_from_postal", "state_from_postal", "name_split"):
        assert by_check[f"enrichment.{cid}"] == {"apply"}, cid
    for cid in ("title_function", "website_domain"):  # below the default threshold 0.8: for a person to review
        assert by_check[f"enrichment.{cid}"] == {"review"}, cid
    assert default["entities"]["lead"]["apply_records"] > 0
    out = tmp_path / "all"
    manifest = package(demo, out, "--format", "csv", "--min-confidence", "0.7",
                       *[a for c in ENRICHMENT for a in ("--check", c)])
    r = reasons(out)
    assert set(r.destination) == {"apply"}
    split = r[r.checks == "enrichment.name_split"]
    assert set(split.column) == {"first_name", "last_name"}  # both names written
    assert not split.proposed_value.str.contains(" ").any()
    crm = copy_of(demo, tmp_path / "crm")
    for entity, info in manifest["entities"].items():
        if info["apply_records"]:
            import_csv(crm / "crm.db", info["table"], out / f"{entity}.apply.csv")
    run_demo(crm)
    after = findings_of(crm)
    opportunities = {f for f in before if is_enrichment(f[0])}
    assert opportunities and not opportunities & after
    assert not after - before, sorted(after - before)[:5]


def test_the_overview_lists_the_opportunities_per_entity_and_field(demo, monkeypatch):
    import streamlit as st

    st.cache_data.clear()
    monkeypatch.setenv("CLEANCRM_CONFIG", str(demo / "cleancrm.yml"))
    at = AppTest.from_file(str(launch.APP), default_timeout=120)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Enrichment opportunities" in [s.value for s in at.subheader]
    table = next(d.value for d in at.dataframe if "source" in d.value.columns)
    rows = {(e, f, s) for e, f, s in zip(table.entity, table.field, table.source, strict=True)}
    assert {("lead", "country", "country_from_phone"), ("lead", "country", "country_from_postal"),
            ("contact", "state", "state_from_postal"), ("lead", "first_name", "name_split"),
            ("contact", "job_function", "title_function"), ("lead", "website", "website_domain")} <= rows
    assert any("`cleancrm fixes` or the Fix package page" in c.value for c in at.caption)
    worst = next(d.value for d in at.dataframe if "check_id" in d.value.columns)
    assert not worst.check_id.map(is_enrichment).any()  # opportunities are not the worst checks
    st.cache_data.clear()
