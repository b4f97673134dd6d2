"""Exports that are safe to open, personal data masked on request, stored values bounded, exports audited.

A tiny CRM whose leads and contacts carry the OWASP CSV-injection payloads as names is run and
exported through the installed `cleancrm` executable, as a steward would; the files are read back
cell by cell.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from checks.app.export import export_bytes, neutralise_formulas, starts_formula, write_export
from checks.engine import RunResult
from checks.masking import DOT
from checks.values import junk_names
from connectors.history import HistoryStore
from connectors.history.runs import MAX_TEXT
from tests.checks.conftest import build_tiny_crm, tiny_config

CLEANCRM = Path(sys.executable).with_name("cleancrm")
AS_OF = "2026-11-23"
PAYLOADS = ['=HYPERLINK("http://x","y")', '=DDE("cmd";"/C calc";"A0")', "=cmd|' /C calc'!A0", "+1+1", "-2+3",
            "@SUM(A1)", "\tx", "\rx"]
# The payloads a name check must call junk (tab and CR only start a formula once an app strips them).
JUNK_PAYLOADS = PAYLOADS[:6]
EMAILS = [f"person{i}@acme-widgets.com" for i in range(len(PAYLOADS))] + ["jane.doe@acme.com", "bob..roe@acme.com"]


def sh(*args) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLEANCRM), *map(str, args)], capture_output=True, text=True, timeout=300)


def crm_rows() -> dict[str, list[dict]]:
    """Contacts and leads named with every payload, a duplicate pair and a bad email."""
    base = {"owner_id": 1, "created_at": "2026-01-01", "modified_at": "2026-06-01"}
    contacts = [{"id": i + 1, "first_name": p, "last_name": "Doe" if i % 2 else p, "email": EMAILS[i],
                 "phone": f"+1 415 555 01{i:02d}", "country": "US", **base} for i, p in enumerate(PAYLOADS)]
    contacts += [{"id": 100, "first_name": "Jane", "last_name": "Doe", "email": "jane.doe@acme.com",
                  "phone": "+1 415 555 0199", "country": "US", **base},
                 {"id": 101, "first_name": "Jane", "last_name": "Doe", "email": "jane.doe@acme.com",
                  "phone": "+14155550199", "country": "US", **base, "modified_at": "2026-06-02"},
                 {"id": 102, "first_name": "Bob", "last_name": "Roe", "email": "bob..roe@acme.com",
                  "phone": "(415) 555-0177", "country": "US", **base}]
    # The leads' owners too: an owner id is exported as it is, in the worklist and on its owner sheet.
    leads = [{"id": i + 1, "first_name": p, "last_name": p, "email": f"lead{i}@acme-widgets.com", "company": p,
              "status": "new", **base, "owner_id": p} for i, p in enumerate(PAYLOADS)]
    users = [{"id": 1, "first_name": "Ann", "last_name": "Lee", "email": "ann.lee@acme.com", "is_active": 1}]
    return {"users": users, "contacts": contacts, "leads": leads}


def make_crm(folder: Path, **history) -> Path:
    """The tiny CRM and its config (no accounts); `history` goes under the config's `history` key."""
    db = build_tiny_crm(folder / "crm.db", crm_rows())
    data = tiny_config(db, folder / "history.db")
    data["entities"].pop("account")
    data["references"] = []
    data["history"].update(history)
    path = folder / "cleancrm.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def crm(tmp_path_factory) -> Path:
    """The tiny CRM's config, run once through the executable."""
    config = make_crm(tmp_path_factory.mktemp("safety"))
    proc = sh("run", "--config", config, "--now", AS_OF, "--json")
    assert proc.returncode == 0, proc.stderr
    return config


def history_of(config: Path) -> HistoryStore:
    return HistoryStore(f"sqlite:///{config.parent / 'history.db'}")


def csv_cells(raw: bytes) -> list[list[str]]:
    """Data rows of a CSV export (header left out)."""
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))[1:]


def xlsx_cells(data: bytes | Path):
    """Every cell of every sheet of an XLSX file."""
    book = openpyxl.load_workbook(data if isinstance(data, Path) else io.BytesIO(data))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def formula_cells_plain_pandas(frame: pd.DataFrame) -> int:
    """How many formula cells a plain `DataFrame.to_excel` would have written: the 'before'."""
    buf = io.BytesIO()
    frame.to_excel(buf, index=False)
    return sum(cell.data_type == "f" for cell in xlsx_cells(buf.getvalue()))


# -- formula injection -----------------------------------------------------------------------------------
def test_payload_names_are_junk_and_real_names_are_not():
    names = JUNK_PAYLOADS + ["Jane", "O'Neil", "Smith (née Jones)", "Call (office)", "Excel | Ltd", "Ng-Li", "x"]
    got = dict(zip(names, junk_names(pd.Series(names)).tolist(), strict=True))
    assert got == {**dict.fromkeys(JUNK_PAYLOADS, True), "Jane": False, "O'Neil": False, "Smith (née Jones)": False,
                   "Call (office)": False, "Excel | Ltd": False, "Ng-Li": False, "x": False}


def test_payload_names_are_reported_as_junk(crm):
    store = history_of(crm)
    found = store.findings.of_run(store.runs.resolve("latest", "tiny"), check_id="accuracy.junk_name")
    for entity in ("contact", "lead"):
        values = set(found[(found.entity == entity) & (found.field == "first_name")].value)
        assert set(JUNK_PAYLOADS) <= values, f"{entity}: not reported as junk: {set(JUNK_PAYLOADS) - values}"


@pytest.mark.parametrize("command", ["findings", "duplicates"])
def test_csv_export_has_no_live_formula(crm, tmp_path, command):
    out = tmp_path / f"{command}.csv"
    proc = sh(command, "--config", crm, "--format", "csv", "--out", out)
    assert proc.returncode == 0, proc.stderr
    raw_json = sh(command, "--config", crm, "--format", "json")  # JSON stays as it is: the values unescaped
    frame = pd.DataFrame(json.loads(raw_json.stdout))
    before = sum(starts_formula(v) for v in frame.to_numpy(dtype=object).ravel())
    cells = [cell for row in csv_cells(out.read_bytes()) for cell in row]
    unescaped = sum(starts_formula(c) for c in cells)
    escaped = [c for c in cells if c.startswith("'") and starts_formula(c[1:])]
    print(f"\n{command} CSV: formula cells before {before}, after {unescaped}; neutralised {len(escaped)}")
    assert unescaped == 0
    assert len(escaped) == before
    if command == "findings":
        assert before >= 2 * len(PAYLOADS)  # every payload, in contacts and in leads
        assert {f"'{p}" for p in PAYLOADS} <= set(cells)
        stdout = subprocess.run([str(CLEANCRM), command, "--config", str(crm), "--format", "csv"],
                                capture_output=True, timeout=300)  # the same neutralised text on stdout
        assert stdout.returncode == 0 and csv_cells(stdout.stdout) == csv_cells(out.read_bytes())


@pytest.mark.parametrize("command", ["findings", "duplicates"])
def test_xlsx_export_has_no_formula_cell(crm, tmp_path, command):
    out = tmp_path / f"{command}.xlsx"
    proc = sh(command, "--config", crm, "--format", "xlsx", "--out", out)
    assert proc.returncode == 0, proc.stderr
    frame = pd.DataFrame(json.loads(sh(command, "--config", crm, "--format", "json").stdout))
    before = formula_cells_plain_pandas(frame)
    cells = xlsx_cells(out)
    after = sum(cell.data_type == "f" for cell in cells)
    print(f"\n{command} XLSX: formula cells before {before}, after {after}")
    assert after == 0
    texts = {cell.value for cell in cells if isinstance(cell.value, str)}
    if command == "findings":
        assert before >= 3 * 2  # the three payloads starting with '=', in contacts and in leads
        # written as they are, as text (XML reads a carriage return back as a line feed)
        assert {p.replace("\r", "\n") for p in PAYLOADS} <= texts
        assert all(cell.quotePrefix for cell in cells if starts_formula(cell.value))
        column = next(cell.column for cell in cells if cell.row == 1 and cell.value == "record_score")
        scores = [cell for cell in cells if cell.column == column and cell.row > 1 and cell.parent.title == "worklist"]
        assert scores and all(cell.data_type == "n" for cell in scores)  # record scores stay numbers


def test_dashboard_downloads_are_neutralised_too():
    frame = pd.DataFrame({"record_id": ["1", "2", "3"], "entity": ["lead"] * 3, "owner": ["=cmd|' /C calc'!A0", None, "ann"],
                          "record_score": [-2.5, 50.0, 75.0], "current_value": PAYLOADS[:3]})
    rows = csv_cells(export_bytes(frame, "csv"))
    assert [r[3] for r in rows] == ["-2.5", "50.0", "75.0"]  # negative numbers stay numbers
    assert [r[4] for r in rows] == [f"'{p}" for p in PAYLOADS[:3]]
    cells = xlsx_cells(export_bytes(frame, "xlsx"))
    assert not [c.coordinate for c in cells if c.data_type == "f"]  # the owner sheet too
    assert -2.5 in {c.value for c in cells if c.data_type == "n"}
    assert neutralise_formulas(frame).record_score.tolist() == [-2.5, 50.0, 75.0]
    assert frame.current_value.tolist() == PAYLOADS[:3]  # the caller's frame is left alone


def test_write_export_to_a_file_and_bytes_agree(tmp_path):
    frame = pd.DataFrame({"check_id": ["x"], "value": ["+1+1"]})
    write_export(frame, tmp_path / "w.csv", "csv")
    assert (tmp_path / "w.csv").read_bytes() == export_bytes(frame, "csv")
    assert csv_cells(export_bytes(frame, "csv")) == [["x", "'+1+1"]]


def test_a_carriage_return_inside_a_value_cannot_start_a_row():
    frame = pd.DataFrame({"record_id": ["1"], "value": ["Ann\r=HYPERLINK(\"http://x\",\"y\")"]})
    raw = export_bytes(frame, "csv")
    assert b'"Ann\r=HYPERLINK(' in raw  # quoted: one cell, not a row break and a formula
    assert csv_cells(raw) == [["1", "Ann\r=HYPERLINK(\"http://x\",\"y\")"]]


# -- --mask ------------------------------------------------------------------------------------------------
def test_findings_mask(crm):
    plain = pd.DataFrame(json.loads(sh("findings", "--config", crm, "--format", "json").stdout))
    proc = sh("findings", "--config", crm, "--format", "json", "--mask")
    assert proc.returncode == 0, proc.stderr
    masked = pd.DataFrame(json.loads(proc.stdout))
    assert len(masked) == len(plain) and masked.record_id.tolist() == plain.record_id.tolist()
    emails = masked[masked.field == "email"]
    assert len(emails) and not set(emails.current_value.dropna()) & set(EMAILS)
    assert "b•••@acme.com" in set(emails.current_value)
    assert not set(emails.suggested_fix.dropna()) & {"bob.roe@acme.com"}
    phones = masked[masked.field == "phone"]
    assert len(phones) and all(DOT in v for v in phones.current_value.dropna())
    numbers = {v for v in plain[plain.field == "phone"].suggested_fix.dropna() if sum(c.isdigit() for c in v) >= 5}
    assert numbers and not numbers & set(phones.suggested_fix.dropna())  # E.164 fixes masked (instructions may stay)
    names = masked[masked.field == "first_name"]
    assert not set(names.current_value) & set(PAYLOADS)
    other = masked[~masked.field.isin(["email", "phone", "first_name", "last_name", "company"])]
    kept = plain.loc[other.index]
    assert other.current_value.fillna("-").tolist() == kept.current_value.fillna("-").tolist()  # dates: as they are
    csv_out = sh("findings", "--config", crm, "--format", "csv", "--mask")
    assert csv_out.returncode == 0 and "jane.doe@acme.com" not in csv_out.stdout


def test_duplicates_mask(crm):
    plain = sh("duplicates", "--config", crm, "--format", "json")
    assert "jane.doe@acme.com" in plain.stdout
    proc = sh("duplicates", "--config", crm, "--format", "json", "--mask")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert rows and "jane.doe@acme.com" not in proc.stdout and "4155550199" not in proc.stdout
    jane = next(r for r in rows if r["entity"] == "contact")
    plan = {step["field"]: step["keep_value"] for step in json.loads(jane["merge_plan"])}
    assert plan["email"] == "j•••@acme.com" and plan["first_name"] == "J." and plan["country"] == "US"
    assert plan["phone"].endswith("0199") and DOT in plan["phone"]


# -- history.mask_fields -----------------------------------------------------------------------------------
def test_mask_fields_keep_raw_values_out_of_the_history_file(tmp_path):
    config = make_crm(tmp_path, mask_fields=["email", "phone"])
    proc = sh("run", "--config", config, "--now", AS_OF)
    assert proc.returncode == 0, proc.stderr
    store = history_of(config)
    run_id = store.runs.resolve("latest", "tiny")
    found = store.findings.of_run(run_id)
    assert len(found[found.field == "email"]) >= 2  # the findings are there, masked
    assert "b•••@acme.com" in set(found.value) and "••• ••• 0177" in set(found.value)
    assert "+1 ••• ••• 0177" in set(found.suggestion)
    assert set(found[found.field == "first_name"].value) >= set(JUNK_PAYLOADS)  # names are not listed: raw
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("history.db*"))
    emails = [*EMAILS, "bob.roe@acme.com", *(f"lead{i}@acme-widgets.com" for i in range(len(PAYLOADS)))]
    leaked = [e for e in emails if e.encode() in raw]
    leaked += [p for p in ("+1 415 555 0100", "(415) 555-0177", "+14155550177", "+14155550199") if p.encode() in raw]
    print(f"\nraw emails and phones in the history file: {len(leaked)}")
    assert leaked == []


# -- stored values are bounded --------------------------------------------------------------------------------
def test_a_2_mb_value_is_stored_bounded(tmp_path):
    big = "=HYPERLINK(" + "x" * 2_000_000
    plan = json.dumps([{"field": "email", "keep_value": big, "from_key": "1", "why": "w" * 5000},
                       {"field": "country", "keep_value": "US", "from_key": "1", "why": "same in all records"}])
    results = pd.DataFrame([("accuracy.junk_name", "lead", "accuracy", "first_name", "high", 1.0, 1, 1, 0.0, "{}")],
                           columns=["check_id", "entity", "dimension", "fields", "severity", "weight", "applicable",
                                    "failed", "score", "metrics"])
    findings = pd.DataFrame([("1", "first_name", "first_name", big, big, big, "accuracy.junk_name", "lead", "high",
                              None)],
                            columns=["record_key", "field", "column_name", "value", "reason", "suggestion", "check_id",
                                     "entity", "severity", "owner"])
    clusters = pd.DataFrame([("c1", "lead", "exact", 1.0, 2, "1", plan), ("c2", "lead", "exact", 1.0, 2, "3", big)],
                            columns=["cluster_id", "entity", "tier", "score", "size", "survivor_key", "merge_plan"])
    members = pd.DataFrame([("c1", "1", 1, 1.0), ("c1", "2", 0, 1.0), ("c2", "3", 1, 1.0), ("c2", "4", 0, 1.0)],
                           columns=["cluster_id", "record_key", "is_survivor", "match_score"]).assign(entity="lead")
    result = RunResult(results, pd.DataFrame(columns=["scope", "entity", "dimension", "field", "score"]), findings,
                       pd.DataFrame(columns=["entity", "record_key", "score", "failed_checks", "owner"]), 0.0,
                       clusters=clusters, cluster_members=members)
    store = HistoryStore(f"sqlite:///{tmp_path / 'history.db'}")
    run_id = store.runs.start("crm", datetime(2026, 11, 23))
    store.runs.complete(run_id, result)
    row = store.findings.of_run(run_id).iloc[0]
    for column in ("value", "reason", "suggestion"):
        assert len(row[column]) == MAX_TEXT and row[column].endswith("…")
        assert row[column].startswith("=HYPERLINK(xxx")
    stored = store.clusters.of_run(run_id).set_index("cluster_id").merge_plan
    steps = json.loads(stored["c1"])  # still a plan the dashboard can read
    assert len(steps[0]["keep_value"]) == MAX_TEXT and steps[0]["keep_value"].endswith("…")
    assert len(steps[0]["why"]) == MAX_TEXT and steps[1] == json.loads(plan)[1]
    assert len(stored["c2"]) <= 20_000 and stored["c2"].endswith("…")
    store.close()
    size = (tmp_path / "history.db").stat().st_size
    print(f"\nhistory file with a 2 MB value stored bounded: {size:,} bytes")
    assert size < 500_000


def test_short_values_are_stored_as_they_are(tmp_path):
    plan = json.dumps([{"field": "email", "keep_value": "a@b.co", "from_key": "1", "why": "survivor"}] * 40)
    results = pd.DataFrame([("accuracy.email_syntax", "lead", "accuracy", "email", "high", 1.0, 1, 1, 0.0, "{}")],
                           columns=["check_id", "entity", "dimension", "fields", "severity", "weight", "applicable",
                                    "failed", "score", "metrics"])
    findings = pd.DataFrame([("1", "email", "email", "é" * MAX_TEXT, "bad", None, "accuracy.email_syntax", "lead",
                              "high", None)],
                            columns=["record_key", "field", "column_name", "value", "reason", "suggestion", "check_id",
                                     "entity", "severity", "owner"])
    clusters = pd.DataFrame([("c1", "lead", "exact", 1.0, 1, "1", plan)],
                            columns=["cluster_id", "entity", "tier", "score", "size", "survivor_key", "merge_plan"])
    members = pd.DataFrame([("c1", "1", 1, 1.0, "lead")],
                           columns=["cluster_id", "record_key", "is_survivor", "match_score", "entity"])
    result = RunResult(results, pd.DataFrame(columns=["scope", "entity", "dimension", "field", "score"]), findings,
                       pd.DataFrame(columns=["entity", "record_key", "score", "failed_checks", "owner"]), 0.0,
                       clusters=clusters, cluster_members=members)
    store = HistoryStore(f"sqlite:///{tmp_path / 'history.db'}")
    run_id = store.runs.start("crm", datetime(2026, 11, 23))
    store.runs.complete(run_id, result)
    assert store.findings.of_run(run_id).value.iat[0] == "é" * MAX_TEXT  # exactly the limit: kept whole
    assert store.clusters.of_run(run_id).merge_plan.iat[0] == plan  # not re-encoded
    store.close()


def test_a_2_mb_name_from_the_crm_is_stored_and_exported_bounded(tmp_path):
    rows = crm_rows()
    rows["leads"][0]["first_name"] = "=HYPERLINK(" + "y" * 2_000_000
    db = build_tiny_crm(tmp_path / "crm.db", rows)
    data = tiny_config(db, tmp_path / "history.db")
    data["entities"].pop("account")
    data["references"] = []
    (tmp_path / "cleancrm.yml").write_text(yaml.safe_dump(data))
    proc = sh("run", "--config", tmp_path / "cleancrm.yml", "--now", AS_OF)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "history.db").stat().st_size < 1_000_000
    out = tmp_path / "w.csv"
    assert sh("findings", "--config", tmp_path / "cleancrm.yml", "--entity", "lead", "--out", out).returncode == 0
    cells = [c for row in csv_cells(out.read_bytes()) for c in row if c.startswith("'=HYPERLINK(yyy")]
    assert cells and all(len(c) == MAX_TEXT + 1 and c.endswith("…") for c in cells)  # + the neutralising quote


# -- audit -----------------------------------------------------------------------------------------------------
def test_cli_exports_are_audited(tmp_path):
    config = make_crm(tmp_path)
    assert sh("run", "--config", config, "--now", AS_OF).returncode == 0
    out = tmp_path / "w.xlsx"
    assert sh("findings", "--config", config, "--format", "xlsx", "--out", out, "--entity", "lead",
              "--check", "accuracy.junk_name", "--mask").returncode == 0
    assert sh("duplicates", "--config", config, "--format", "json").returncode == 0
    assert sh("findings", "--config", config, "--run", 999).returncode == 2  # no export, no entry
    store = history_of(config)
    run_id = store.runs.resolve("latest", "tiny")
    entries = store.audit.list("tiny", action="export")
    assert len(entries) == 2
    dup, work = entries.iloc[0], entries.iloc[1]  # newest first
    assert work.actor.startswith("cli:") and dup.actor == work.actor
    assert json.loads(work.detail) == {"command": "findings", "format": "xlsx", "run": run_id, "entity": "lead",
                                       "check": "accuracy.junk_name", "out": str(out), "masked": True}
    assert work.records == len(openpyxl.load_workbook(out)["worklist"]["A"]) - 1
    assert json.loads(dup.detail) == {"command": "duplicates", "format": "json", "run": run_id, "out": "stdout",
                                      "masked": False}
    assert dup.records == len(store.clusters.worklist(run_id)) > 0
    store.close()
