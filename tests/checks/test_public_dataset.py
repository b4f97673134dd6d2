"""The checks on a small public dataset whose defects are genuine, not injected.

The fixture (`tests/fixtures/public/`, provenance in its SOURCE.md) is the Chicago "Tech Locator"
list of public computer centres as published in the dedupe repository (MIT). Every finding
asserted here was verified by reading the CSV; docs/public-dataset.md discusses them, including
the ones that are arguably false positives.

The fixture folder is copied to a temporary directory first, so the run history (kept beside the
config by default) is never written into the repository.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from checks.config import load_config
from checks.engine import run_checks

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "public"
NOW = datetime(2026, 11, 23)

# Checks that apply to the `account` mapping of the fixture (no dates, owners or references).
PLANNED = {
    "accuracy.phone_valid", "accuracy.phone_placeholder", "accuracy.postal_format", "accuracy.state_postal",
    "accuracy.junk_name", "accuracy.mojibake", "completeness.required", "completeness.record",
    "consistency.phone_e164", "consistency.country_iso", "consistency.whitespace", "consistency.phone_country",
    "consistency.orphans", "duplication.exact_phone", "duplication.exact_name", "duplication.fuzzy",
    "accuracy.state_country", "consistency.company_casing", "completeness.expected", "consistency.schema_change",
    "enrichment.country_from_phone", "enrichment.country_from_postal", "enrichment.state_from_postal",
}


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("public") / "public"
    shutil.copytree(FIXTURE, folder)
    outcome = run_checks(load_config(folder / "cleancrm.yml"), now=NOW)
    assert not (FIXTURE / "cleancrm-history.db").exists(), "the run wrote into the repository"
    return outcome.result


def _findings(result, check_id: str) -> pd.DataFrame:
    f = result.findings
    return f[f.check_id == check_id].set_index("record_key")


def _check(result, check_id: str) -> dict:
    rows = result.check_results[result.check_results.check_id == check_id]
    assert len(rows) == 1, f"{check_id} did not run"
    return rows.iloc[0].to_dict()


def test_every_applicable_check_runs(result):
    assert result.rows_read == {"account": 164}
    assert set(result.check_results.check_id) == PLANNED
    # No reference to follow, nothing listed as expected (completeness.expected keeps only the fill rates),
    # no previous run to compare the table's shape with (consistency.schema_change records it), and
    # no empty country or state for the enrichment checks to look at.
    measured = result.check_results[~result.check_results.check_id.isin(["consistency.orphans",
                                                                          "completeness.expected",
                                                                          "consistency.schema_change"])
                                    & ~result.check_results.check_id.str.startswith("enrichment.")]
    enrichment = result.check_results[result.check_results.check_id.str.startswith("enrichment.")]
    assert (enrichment.applicable == 0).all() and (enrichment.failed == 0).all()
    assert (measured.applicable > 0).all()
    assert measured.score.notna().all()
    assert result.overall is not None


def test_placeholder_phones(result):
    """Staff typed 111-111-1111 (and once 222-222-2222) where they had no number; the test record has 333-…."""
    f = _findings(result, "accuracy.phone_placeholder")
    assert f.loc["1000", "value"] == "333-333-3333"  # "Test PCC -- Prod", a test record left in
    assert f.loc["1104", "value"] == "111-111-1111"  # Pilsen Senior Satellite Center
    assert f.loc["1146", "value"] == "222-222-2222"  # Pilsen Workforce Center
    assert f.loc["1159", "value"] == "111-111-1111"  # ABLA Homes
    assert len(f) == 22
    assert "1001" not in f.index  # Harold Washington College, 312-553-5600, is a real number
    # Placeholders are left to their own check: not counted as invalid numbers.
    assert _check(result, "accuracy.phone_valid")["failed"] == 0


def test_missing_phone_is_reported_blank_cells_of_two_spaces_included(result):
    """Every Chicago Public Library branch (1014-1093) has "  " as its phone; so does record 1003."""
    f = _findings(result, "completeness.required")
    phone = f[f.field == "phone"]
    assert {"1003", "1014", "1055", "1093", "1131"} <= set(phone.index)
    assert len(phone) == 82
    assert set(f.field) == {"phone"}  # names, streets, cities and ZIP codes are all filled
    assert "1001" not in f.index


def test_trailing_space_in_name(result):
    f = _findings(result, "consistency.whitespace")
    assert f.loc["1131", "suggestion"] == "Dynamic Educational Systems, Inc."
    assert f.loc["1132", "suggestion"] == "Dynamic Educational Systems, Inc."
    assert set(f.index) == {"1131", "1132"}


def test_phones_not_in_e164(result):
    f = _findings(result, "consistency.phone_e164")
    assert f.loc["1001", "value"] == "312-553-5600"
    assert f.loc["1001", "suggestion"] == "+13125535600"
    assert f.loc["1133", "suggestion"] == "+17085248700"  # Oak Park (708) number
    assert _check(result, "consistency.phone_e164")["failed"] == 60


def test_same_phone_on_several_records(result):
    f = _findings(result, "duplication.exact_phone")
    # St. Sabina at 7909 S. Racine entered three times (ERC, Employment Resource Center, YCDC).
    assert f.loc["1153", "reason"] == "same phone as record 1125"
    assert f.loc["1154", "reason"] == "same phone as record 1125"
    # Central States SER (YCDC) and Ser Services, Inc. (WorkNet): one organisation, one building.
    assert f.loc["1142", "reason"] == "same phone as record 1122"
    # Pyramid Partnership Inc. carries the Polish American Association's number (a copying slip).
    assert f.loc["1140", "reason"] == "same phone as record 1139"
    assert f.loc["1140", "value"] == "773-975-9898"  # the number as the CRM holds it, not its E.164 key
    # Two sites of one organisation sharing a main line (see the false positives in the docs).
    assert f.loc["1005", "reason"] == "same phone as record 1004"
    assert f.loc["1151", "reason"] == "same phone as record 1138"
    assert set(f.index) == {"1005", "1140", "1142", "1151", "1153", "1154"}
    # Placeholder numbers are not used as duplicate keys.
    assert "1106" not in f.index


def test_same_name_on_several_records(result):
    f = _findings(result, "duplication.exact_name")
    assert f.loc["1132", "suggestion"] == "merge into 1131"  # Dynamic Educational Systems, Inc.
    assert f.loc["1133", "suggestion"] == "merge into 1123"  # Easter Seals Metropolitan Chicago
    assert f.loc["1151", "suggestion"] == "merge into 1138"  # Instituto del Progreso Latino
    assert set(f.index) == {"1132", "1133", "1151"}


def test_scores(result):
    s = result.scores
    dims = s[s.scope == "dimension"].set_index("dimension").score
    # accuracy.state_country and consistency.company_casing pass all 164 records here (US states, names
    # in mixed case): they add passing values to their dimensions.
    assert dims["accuracy"] == pytest.approx(96.65, abs=0.01)
    assert dims["completeness"] == pytest.approx(92.5, abs=0.01)
    assert dims["consistency"] == pytest.approx(79.92, abs=0.01)
    assert dims["duplication"] == pytest.approx(94.84, abs=0.01)
    assert result.overall == pytest.approx(90.98, abs=0.01)



def test_fuzzy_duplicates_find_st_sabina_entered_three_times(result):
    found = _findings(result, "duplication.fuzzy")
    assert {"1153", "1154"} <= set(found.index)
    assert found.loc["1153", "suggestion"] == "merge into 1125"
    assert found.loc["1154", "suggestion"] == "merge into 1125"


def test_records_checked_and_affected_are_records_not_field_values(tmp_path):
    from connectors.history import HistoryStore

    folder = tmp_path / "public"
    shutil.copytree(FIXTURE, folder)
    cfg = load_config(folder / "cleancrm.yml")
    outcome = run_checks(cfg, now=NOW)
    row = HistoryStore(cfg.history_url()).results.affected_records(outcome.run_id).set_index("entity").loc["account"]
    keys = outcome.result.findings.record_key.astype(str)
    assert int(row.checked) == outcome.result.rows_read["account"] == 164  # not a count of field values
    assert int(row.affected) == keys[~keys.str.startswith("(table ")].nunique()
