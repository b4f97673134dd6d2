"""Fix packages on the demo CRM: applied to a copy, the next run shows their findings gone and none new.

The test applies the files to copies of the demo CRM as an admin's import tool would (cleancrm
itself never writes to a CRM); applying the rollback files restores every table's checksum.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from checks.app.cli import app
from checks.app.fix_package import FORMULA_REVIEW
from checks.config import load_config
from checks.demo import generate_demo
from connectors.history import HistoryStore

AS_OF = "2026-11-23"
FORMULA_CITY = ' =HYPERLINK("http://evil.example","x")'
runner = CliRunner()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def run_demo(folder: Path) -> None:
    """A run of the folder's config, as of the demo's date."""
    result = cli("run", "--config", folder / "cleancrm.yml", "--now", AS_OF)
    assert result.exit_code == 0, result.output


def findings_of(folder: Path) -> set[tuple[str, str, str]]:
    """(check, entity, record) of the folder's latest run."""
    cfg = load_config(folder / "cleancrm.yml")
    store = HistoryStore(cfg.history_url())
    keys = store.findings.failing_keys(store.runs.resolve("latest", cfg.name))
    return set(zip(keys.check_id, keys.entity, keys.record_key.astype(str), strict=True))


def checksums(db: Path) -> dict[str, str]:
    """Every table's rows, hashed in rowid order."""
    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: hashlib.sha256(repr(con.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall()).encode())
                .hexdigest() for t in tables}
    finally:
        con.close()


def import_csv(db: Path, table: str, path: Path, null: str = "") -> int:
    """Apply an update file as an import tool does: the first column is the key, a blank cell changes nothing."""
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"))))
    header, body = rows[0], rows[1:]
    con = sqlite3.connect(db)
    key_column = {"Id": "id", "Record ID": "id"}.get(header[0], header[0])
    with con:
        for row in body:
            for column, value in zip(header[1:], row[1:], strict=True):
                if value != "":
                    con.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE "{key_column}" = ?',
                                (None if value == null and null else value, row[0]))
    con.close()
    return len(body)


def package(folder: Path, out: Path, *args) -> dict:
    result = cli("fixes", "--config", folder / "cleancrm.yml", "--out", out, *args)
    assert result.exit_code == 0, result.output
    return json.loads((out / "manifest.json").read_text())


def reasons(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "reasons.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def targeted(out: Path) -> set[tuple[str, str, str]]:
    """(check, entity, record) of every change in the apply files."""
    r = reasons(out)
    applied = r[r.destination == "apply"]
    return {(c, e, k) for cs, e, k in zip(applied.checks, applied.entity, applied.record_id, strict=True)
            for c in cs.split("; ")}


def copy_of(demo: Path, to: Path) -> Path:
    """The demo folder with its CRM, config and history, to change without touching the original."""
    shutil.copytree(demo, to)
    return to


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """A 1,000-contact demo with one city that would be a spreadsheet formula once trimmed, and one run."""
    folder = tmp_path_factory.mktemp("fixdemo")
    generate_demo(folder, contacts=1000, seed=21, as_of=pd.Timestamp(AS_OF).to_pydatetime())
    con = sqlite3.connect(folder / "crm.db")
    with con:
        con.execute("UPDATE contacts SET city = ? WHERE id = (SELECT MIN(id) FROM contacts WHERE deleted = 0)",
                    (FORMULA_CITY,))
    con.close()
    run_demo(folder)
    return folder


@pytest.fixture(scope="module")
def csv_package(demo, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pkg") / "csv"
    package(demo, out, "--format", "csv")
    return out


def test_applying_the_package_clears_its_findings_adds_none_and_the_rollback_restores_every_table(
        demo, csv_package, tmp_path):
    before_findings = findings_of(demo)
    fixed = targeted(csv_package)
    manifest = json.loads((csv_package / "manifest.json").read_text())
    assert len(fixed) > 50 and fixed <= before_findings
    crm = copy_of(demo, tmp_path / "crm")
    original = checksums(crm / "crm.db")
    for entity, info in manifest["entities"].items():
        if f"{entity}.apply.csv" in info["files"]:
            assert import_csv(crm / "crm.db", info["table"], csv_package / f"{entity}.apply.csv") == info["apply_records"]
    assert checksums(crm / "crm.db")["contacts"] != original["contacts"]
    run_demo(crm)
    after = findings_of(crm)
    assert not fixed & after, sorted(fixed & after)[:5]
    assert not after - before_findings, sorted(after - before_findings)[:5]
    assert before_findings - after == fixed  # nothing else changed
    for entity, info in manifest["entities"].items():
        if f"{entity}.rollback.csv" in info["files"]:
            import_csv(crm / "crm.db", info["table"], csv_package / f"{entity}.rollback.csv")
        if f"{entity}.rollback_clear.csv" in info["files"]:  # fields that were empty: cleared by hand
            con = sqlite3.connect(crm / "crm.db")
            with con:
                for key, column, was in list(csv.reader(io.StringIO(
                        (csv_package / f"{entity}.rollback_clear.csv").read_text())))[1:]:
                    con.execute(f'UPDATE "{info["table"]}" SET "{column}" = ? WHERE id = ?',
                                ("" if was == "empty text" else None, key))
            con.close()
    assert checksums(crm / "crm.db") == original
    assert any(name.endswith(".rollback_clear.csv") for info in manifest["entities"].values() for name in info["files"])


def test_the_sql_script_makes_the_same_changes_and_its_rollback_undoes_them(demo, csv_package, tmp_path):
    out = tmp_path / "sql"
    manifest = package(demo, out, "--format", "sql")
    by_csv, by_sql = copy_of(demo, tmp_path / "a"), copy_of(demo, tmp_path / "b")
    original = checksums(by_sql / "crm.db")
    con = sqlite3.connect(by_sql / "crm.db")
    for entity, info in manifest["entities"].items():
        if info["apply_records"]:
            import_csv(by_csv / "crm.db", info["table"], csv_package / f"{entity}.apply.csv")
            script = (out / f"{entity}.apply.sql").read_text()
            assert script.count("UPDATE ") == info["apply_records"]
            con.executescript(script)
    assert checksums(by_sql / "crm.db") == checksums(by_csv / "crm.db")
    for entity, info in manifest["entities"].items():
        if info["apply_records"]:
            con.executescript((out / f"{entity}.rollback.sql").read_text())
    con.close()
    assert checksums(by_sql / "crm.db") == original


def test_each_format_follows_its_import_tool_and_the_manifest_checks_every_file(demo, csv_package, tmp_path):
    heads = {}
    for fmt in ("salesforce", "hubspot"):
        out = tmp_path / fmt
        manifest = package(demo, out, "--format", fmt)
        data = (out / "contact.apply.csv").read_bytes()
        assert not data.startswith(b"\xef\xbb\xbf")  # UTF-8 without BOM: Data Loader reads a BOM into the header
        heads[fmt] = data.decode("utf-8").splitlines()[0].split(",")[0]
        assert manifest["format"] == fmt
    assert heads == {"salesforce": "Id", "hubspot": "Record ID"}
    manifest = json.loads((csv_package / "manifest.json").read_text())
    assert (csv_package / "contact.apply.csv").read_text().splitlines()[0].startswith("id,")
    files = {p.name for p in csv_package.iterdir()} - {"manifest.json"}
    assert set(manifest["files"]) == files
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((csv_package / name).read_bytes()).hexdigest() == digest, name
    cfg = load_config(demo / "cleancrm.yml")
    assert manifest["run"]["id"] == HistoryStore(cfg.history_url()).runs.resolve("latest", cfg.name)
    assert manifest["config"]["hash"] == cfg.fingerprint() and manifest["config_changed_since_run"] is False
    assert manifest["package_id"].startswith("demo-run")
    rows = list(csv.reader(io.StringIO((csv_package / "contact.apply.csv").read_text())))
    assert len(rows) - 1 == manifest["entities"]["contact"]["apply_records"]
    assert len({r[0] for r in rows[1:]}) == len(rows) - 1  # one row per record, its fixes merged
    header = rows[0]
    for row in rows[1:]:  # only changed columns: every record changes at least one
        assert any(v != "" for v in row[1:])
    assert "owner_id" not in header and "created_at" not in header
    share = manifest["checks"]["consistency.whitespace on contact"]
    assert share["records"] >= share["apply"] > 0


def test_a_value_that_would_become_a_formula_is_held_for_review(demo, csv_package):
    r = reasons(csv_package)
    held = r[r.column == "city"]
    held = held[held.review_reason == FORMULA_REVIEW]
    assert len(held) == 1 and held.iloc[0].current_value == FORMULA_CITY
    assert held.iloc[0].proposed_value.startswith("'=HYPERLINK")  # trimmed, it would run: neutralised in the file
    for name in ("contact.apply.csv", "contact.rollback.csv"):
        assert "HYPERLINK" not in (csv_package / name).read_text()
    review = (csv_package / "contact.review.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in review and ",=HYPERLINK" not in review


def test_doubtful_fixes_wait_for_review_and_a_lower_threshold_applies_them(demo, csv_package, tmp_path):
    r = reasons(csv_package)
    swapped = r[r.checks.str.contains("accuracy.swapped_names")]
    assert len(swapped) and (swapped.destination == "review").all()
    assert swapped.review_reason.str.startswith("confidence 0.70 is below 0.80").all()
    out = tmp_path / "low"
    manifest = package(demo, out, "--format", "csv", "--min-confidence", "0.5")
    low = reasons(out)
    moved = low[low.checks.str.contains("accuracy.swapped_names")]
    assert (moved.destination == "apply").any()
    # A swap moves both names: the first name's column gets the last name's value and back.
    one = moved[moved.destination == "apply"]
    pair = one[one.record_id == one.record_id.iloc[0]].set_index("column")
    assert pair.loc["first_name", "proposed_value"].lower() == pair.loc["last_name", "current_value"].strip().lower()
    crm = copy_of(demo, tmp_path / "crm")
    for entity, info in manifest["entities"].items():
        if info["apply_records"]:
            import_csv(crm / "crm.db", info["table"], out / f"{entity}.apply.csv")
    before = findings_of(demo)
    run_demo(crm)
    after = findings_of(crm)
    assert not targeted(out) & after
    # What is new: exact name duplicates of records the fuzzy check had already paired (names unswapped).
    paired = {k for c, e, k in before if c == "duplication.fuzzy"}
    assert all(c.startswith("duplication.") and k in paired for c, _, k in after - before), after - before


def test_fixes_are_judged_against_the_crm_as_it_is_now(demo, tmp_path):
    crm = copy_of(demo, tmp_path / "crm")
    cfg = load_config(crm / "cleancrm.yml")
    store = HistoryStore(cfg.history_url())
    run_id = store.runs.resolve("latest", cfg.name)
    cases = store.findings.of_run(run_id, check_id="consistency.email_case")
    hand_fixed = str(cases.record_key.iloc[0])
    con = sqlite3.connect(crm / "crm.db")
    with con:  # a steward fixes one record in the CRM after the run
        con.execute("UPDATE contacts SET email = LOWER(email) WHERE id = ?", (int(hand_fixed),))
    con.close()
    out = tmp_path / "pkg"
    result = cli("fixes", "--config", crm / "cleancrm.yml", "--out", out, "--check", "consistency.email_case")
    assert result.exit_code == 0, result.output
    r = reasons(out)
    assert hand_fixed not in set(r.record_id) and len(r) == len(cases) - 1
    assert set(r.checks) == {"consistency.email_case"}
    manifest = json.loads((out / "manifest.json").read_text())
    counts = manifest["checks"]["consistency.email_case on contact"]
    assert counts["fixed since the run"] == 1 and counts["apply"] == len(cases) - 1
    assert manifest["filters"] == {"check": ["consistency.email_case"]}
    assert "fixed since the run" in result.output


def test_bad_requests_get_one_line_each(demo, csv_package, tmp_path):
    cases = [
        (("--format", "xml"), "--format: 'xml' is not a package format"),
        (("--check", "accuracy.nope"), "no findings match these filters"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["fixes", "--config", str(demo / "cleancrm.yml"), "--out", str(tmp_path / "x"),
                                     *args])
        assert result.exit_code == 2 and message in result.output, result.output
    again = runner.invoke(app, ["fixes", "--config", str(demo / "cleancrm.yml"), "--out", str(csv_package)])
    assert again.exit_code == 2 and "holds a fix package already" in again.output


def test_the_config_and_history_are_left_as_they_were(demo, tmp_path):
    crm = copy_of(demo, tmp_path / "crm")
    before = checksums(crm / "crm.db")
    runs_before = len(HistoryStore(load_config(crm / "cleancrm.yml").history_url()).runs.list("demo"))
    package(crm, tmp_path / "p", "--format", "sql")
    assert checksums(crm / "crm.db") == before
    store = HistoryStore(load_config(crm / "cleancrm.yml").history_url())
    assert len(store.runs.list("demo")) == runs_before
    entry = store.audit.list("demo", action="fix_package").iloc[0]
    assert json.loads(entry.detail)["format"] == "sql"
    assert yaml.safe_load((crm / "cleancrm.yml").read_text())["name"] == "demo"


def test_every_finding_says_what_to_do(demo):
    """Before, 18 checks never offered a suggested fix: now each finding has a value to set or advice."""
    cfg = load_config(demo / "cleancrm.yml")
    store = HistoryStore(cfg.history_url())
    found = store.findings.of_run(store.runs.resolve("latest", cfg.name))
    silent = found[found.suggestion.isna()].groupby("check_id").size()
    assert silent.empty, silent.to_dict()
    assert found.check_id.nunique() >= 30


def test_a_fix_for_a_computed_field_or_a_number_column_waits_for_review(tmp_path):
    from tests.checks.conftest import build_tiny_crm, tiny_config

    db = build_tiny_crm(tmp_path / "crm.db", {"contacts": [
        {"id": 1, "first_name": " Anna", "last_name": "Berg", "country": "DE", "email": "anna@berg.de"},
        {"id": 2, "first_name": "Ben", "last_name": "Kurz", "country": "DE", "email": "ben@kurz.de"}]})
    con = sqlite3.connect(db)
    with con:  # a postal code stored as a number: its leading zero is gone, and cannot be stored again
        con.execute("ALTER TABLE contacts ADD COLUMN postal_code INTEGER")
        con.execute("UPDATE contacts SET postal_code = 1067 WHERE id = 2")
    con.close()
    data = tiny_config(db)
    contact = data["entities"]["contact"]
    contact["fields"] = {**contact["fields"], "first_name": {"sql": "contacts.first_name || ''"},
                         "postal_code": "postal_code"}
    data["entities"] = {"contact": contact}
    data["references"] = []
    (tmp_path / "cleancrm.yml").write_text(yaml.safe_dump(data))
    cli("run", "--config", tmp_path / "cleancrm.yml", "--now", AS_OF)
    out = tmp_path / "pkg"
    package(tmp_path, out, "--format", "csv")
    r = reasons(out).set_index(["record_id", "field"])
    assert r.loc[("1", "first_name"), "review_reason"].startswith("first_name is computed or joined")
    # Read as the float 1067.0 (the column has NULLs), judged as the code 1067 that lost its zero.
    assert r.loc[("2", "postal_code"), "proposed_value"] == "01067"
    assert r.loc[("2", "postal_code"), "reasons"].startswith("postal code lost its leading zero")
    assert "is a int column" in r.loc[("2", "postal_code"), "review_reason"]
    assert (r.destination == "review").all() and not (out / "contact.apply.csv").exists()
