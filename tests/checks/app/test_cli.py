"""The `cleancrm` command end to end: demo, run, findings, compare, annotate, runs, checks, init; exit codes.

Most commands go through typer's CliRunner (in process); `demo` and the first `run` also go through
the installed `cleancrm` executable of this venv, as a user would call them.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from checks.app.cli import app
from checks.dimensions import all_checks
from connectors.history import HistoryStore

CLEANCRM = Path(sys.executable).with_name("cleancrm")
AS_OF = "2026-11-23"
runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def sh(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLEANCRM), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Path:
    """`cleancrm demo --no-history --contacts 300`: its folder (crm.db, cleancrm.yml, ground_truth.json)."""
    out = tmp_path_factory.mktemp("plain")
    proc = sh("demo", "--out", out, "--no-history", "--contacts", 300, "--seed", 5, "--as-of", AS_OF)
    assert proc.returncode == 0, proc.stderr
    assert (out / "crm.db").exists() and (out / "cleancrm.yml").exists() and (out / "ground_truth.json").exists()
    assert not (out / "cleancrm-history.db").exists()
    return out


@pytest.fixture(scope="module")
def plain_run(plain) -> dict:
    """`cleancrm run --config … --json` on the plain demo, through the executable."""
    proc = sh("run", "--config", plain / "cleancrm.yml", "--now", AS_OF, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def hist(tmp_path_factory) -> Path:
    """`cleancrm demo --contacts 300` with its 12-week history backfill."""
    out = tmp_path_factory.mktemp("hist")
    result = cli("demo", "--out", out, "--contacts", 300, "--seed", 9, "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    return out


def store_of(folder: Path) -> HistoryStore:
    return HistoryStore(f"sqlite:///{folder / 'cleancrm-history.db'}")


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


# -- run ------------------------------------------------------------------------------------------------
def test_run_json(plain, plain_run):
    doc = plain_run
    assert isinstance(doc["run_id"], int)
    assert 0 < doc["overall"] < 100
    assert set(doc["dimensions"]) == {"accuracy", "completeness", "consistency", "duplication", "freshness"}
    assert doc["rows_read"]["contact"] > 300
    assert len(doc["checks"]) >= 30
    registry = all_checks()
    for check in doc["checks"]:
        assert {"id", "entity", "dimension", "fields", "applicable", "failed", "score"} <= set(check)
        assert check["id"] in registry and registry[check["id"]].dimension == check["dimension"]
        assert isinstance(check["fields"], list)
        assert 0 <= check["failed"] <= max(check["applicable"], check["failed"])
        assert check["score"] is None if check["applicable"] == 0 else 0 <= check["score"] <= 100
    by_id = {(c["id"], c["entity"]): c for c in doc["checks"]}
    assert by_id[("accuracy.email_syntax", "contact")]["fields"] == ["email"]
    assert by_id[("accuracy.email_syntax", "contact")]["failed"] >= 3
    store = store_of(plain)
    runs = store.runs.list("demo")
    row = runs[runs.id == doc["run_id"]].iloc[0]
    assert row.status == "completed" and row.overall_score == pytest.approx(doc["overall"], abs=0.01)
    stored = store.results.check_results(doc["run_id"])
    assert len(stored) == len(doc["checks"])
    assert int(stored.failed.sum()) == sum(c["failed"] for c in doc["checks"])


def test_run_timings_name_each_stage_and_add_up_to_the_run(plain):
    """`--timings`: the start-up, each entity's read and checks and the store, timed where they ran."""
    proc = sh("run", "--config", plain / "cleancrm.yml", "--now", AS_OF, "--json", "--timings")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    stages = doc["stages"]
    assert list(stages)[:2] == ["start-up (process start, imports, config)", "plan"]
    assert {"open and check the source", "contact: read and row checks", "contact: duplication.fuzzy",
            "scores and findings", "store"} <= set(stages)
    assert all(secs >= 0 for secs in stages.values())
    assert 0 < stages["start-up (process start, imports, config)"] < 60
    after_start = sum(secs for name, secs in stages.items() if not name.startswith("start-up"))
    assert after_start <= doc["seconds"] + 0.05  # the stages are parts of the run, not more than it
    assert after_start >= 0.5 * doc["seconds"]  # and most of it: nothing large goes untimed
    table = proc.stderr.splitlines()  # with --json the table goes to stderr, the JSON stays parseable
    assert any(line.startswith("store ") for line in table) and any("share" in line for line in table)


def test_run_table_output(plain):
    result = cli("run", "--config", plain / "cleancrm.yml", "--now", AS_OF)
    assert result.exit_code == 0
    assert "Overall score:" in result.stdout and "Checks with failures" in result.stdout


def test_fail_under(plain):
    low = cli("run", "--config", plain / "cleancrm.yml", "--now", AS_OF, "--fail-under", 100, "--json")
    assert low.exit_code == 1
    assert "Quality gate failed" in low.stderr
    assert json.loads(low.stdout)["overall"] < 100  # the run is still reported and stored
    ok = cli("run", "--config", plain / "cleancrm.yml", "--now", AS_OF, "--fail-under", 50, "--json")
    assert ok.exit_code == 0


def test_only_runs_one_dimension(plain):
    result = cli("run", "--config", plain / "cleancrm.yml", "--now", AS_OF, "--only", "accuracy", "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert {c["dimension"] for c in doc["checks"]} == {"accuracy"}
    assert set(doc["dimensions"]) == {"accuracy"}
    runs = store_of(plain).runs.list("demo")
    assert runs[runs.id == doc["run_id"]].only.iat[0] == "accuracy"


def test_only_unknown_exits_2(plain):
    result = cli("run", "--config", plain / "cleancrm.yml", "--only", "acuracy")
    assert result.exit_code == 2
    assert error_lines(result) and error_lines(result)[0].startswith("error: --only:")


def test_now_sets_the_runs_as_of(plain, plain_run):
    result = cli("run", "--config", plain / "cleancrm.yml", "--now", "2026-01-01", "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    runs = store_of(plain).runs.list("demo")
    assert str(runs[runs.id == doc["run_id"]].as_of.iat[0]).startswith("2026-01-01")
    early = {(c["id"], c["entity"]): c for c in doc["checks"]}
    late = {(c["id"], c["entity"]): c for c in plain_run["checks"]}
    key = ("accuracy.impossible_dates", "contact")  # records created after 2026-01-01 lie in its future
    assert early[key]["failed"] > late[key]["failed"]
    bad = cli("run", "--config", plain / "cleancrm.yml", "--now", "yesterday")
    assert bad.exit_code == 2 and "--now: 'yesterday' is not an ISO date" in bad.stderr


# -- errors before anything is written ---------------------------------------------------------------------
def _broken_copy(plain: Path, tmp_path: Path, edit) -> Path:
    data = yaml.safe_load((plain / "cleancrm.yml").read_text())
    data["source"]["url"] = f"sqlite:///{plain / 'crm.db'}"
    edit(data)
    path = tmp_path / "cleancrm.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_typo_in_a_column_exits_2_with_one_line_and_writes_nothing(plain, tmp_path):
    config = _broken_copy(plain, tmp_path, lambda d: d["entities"]["contact"]["fields"].update(email="emial"))
    before = sorted(p.name for p in tmp_path.iterdir())
    result = cli("run", "--config", config)
    assert result.exit_code == 2
    assert error_lines(result) == [
        "error: entities.contact.fields.email: no column 'emial' in table contacts; did you mean 'email'?"]
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no history file, nothing else
    assert not (tmp_path / "cleancrm-history.db").exists()


@pytest.mark.parametrize(("url", "message"), [
    pytest.param("sqlite:///{tmp}/missing.db", "source.url: SQLite file", id="missing-sqlite-file"),
    pytest.param("notaurl", "source.url: 'notaurl' is not a database URL", id="not-a-url"),
    pytest.param("postgresql+psycopg://nobody@127.0.0.1:1/crm", "source.url: cannot connect", id="unreachable-server"),
])
def test_bad_source_url_exits_2_and_writes_nothing(plain, tmp_path, url, message):
    config = _broken_copy(plain, tmp_path, lambda d: d["source"].update(url=url.format(tmp=tmp_path)))
    before = sorted(p.name for p in tmp_path.iterdir())
    result = cli("run", "--config", config)
    assert result.exit_code == 2
    lines = error_lines(result)
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), lines
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # neither history nor the missing SQLite file


def test_missing_config_exits_2(tmp_path):
    result = cli("run", "--config", tmp_path / "nope.yml")
    assert result.exit_code == 2 and "config file not found" in result.stderr


# -- findings exports -------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_findings_export_matches_history(hist, tmp_path, fmt):
    out = tmp_path / f"worklist.{fmt}"
    result = cli("findings", "--config", hist / "cleancrm.yml", "--format", fmt, "--out", out)
    assert result.exit_code == 0, result.output
    if fmt == "csv":
        raw = out.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # BOM for spreadsheet apps
        frame = pd.read_csv(io.StringIO(raw.decode("utf-8-sig")), dtype=str, keep_default_na=False)
        header = next(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    elif fmt == "json":
        frame = pd.DataFrame(json.loads(out.read_text())).astype(str)
        header = list(frame.columns)
    else:
        book = openpyxl.load_workbook(out, read_only=True)
        assert book.sheetnames == ["worklist", "by owner"]
        rows = list(book["worklist"].values)
        header = list(rows[0])
        frame = pd.DataFrame(rows[1:], columns=header).astype(str)
    assert header[0] == "record_id"
    assert {"reason", "suggested_fix", "check_id", "entity", "current_value", "owner"} <= set(header)
    store = store_of(hist)
    run_id = store.runs.resolve("latest", "demo")
    stored = store.findings.of_run(run_id)
    assert len(frame) == len(stored) > 0
    got = sorted(zip(frame.record_id, frame.check_id, frame.reason, strict=True))
    want = sorted(zip(stored.record_key.astype(str), stored.check_id, stored.reason, strict=True))
    assert got == want
    assert f"{len(stored)} rows written to {out}" in result.stderr


def test_findings_filters_and_stdout(hist):
    result = cli("findings", "--config", hist / "cleancrm.yml", "--check", "accuracy.email_syntax")
    assert result.exit_code == 0
    frame = pd.read_csv(io.StringIO(result.stdout), dtype=str)
    assert len(frame) >= 3 and set(frame.check_id) == {"accuracy.email_syntax"}
    xlsx = cli("findings", "--config", hist / "cleancrm.yml", "--format", "xlsx")
    assert xlsx.exit_code == 2 and "--out" in xlsx.stderr
    bad = cli("findings", "--config", hist / "cleancrm.yml", "--run", 999)
    assert bad.exit_code == 2 and "run 999 does not exist" in bad.stderr


# -- history commands ------------------------------------------------------------------------------------------
def test_demo_history_has_12_runs_an_annotation_and_a_trend(hist):
    store = store_of(hist)
    runs = store.runs.list("demo").sort_values("id")
    assert len(runs) == 12
    assert set(runs.status) == {"completed"} and set(runs.trigger) == {"backfill"}
    as_of = pd.to_datetime(runs.as_of).tolist()
    assert as_of[-1] == pd.Timestamp(AS_OF)
    assert {b - a for a, b in zip(as_of, as_of[1:], strict=False)} == {pd.Timedelta(weeks=1)}
    scores = runs.overall_score.round(2)
    assert scores.nunique() >= 4, f"overall trend is flat: {scores.tolist()}"
    assert scores.max() - scores.min() >= 0.5
    notes = store.annotations.list("demo")
    assert len(notes) == 1
    assert as_of[0] < pd.Timestamp(notes.date.iat[0]) < as_of[-1]


def test_compare(hist):
    store = store_of(hist)
    first = int(store.runs.list("demo").id.min())
    latest = store.runs.resolve("latest", "demo")
    result = cli("compare", "--config", hist / "cleancrm.yml", first, "latest")
    assert result.exit_code == 0
    table = store.findings.compare(first, latest)
    assert result.stdout.splitlines()[0] == f"Run {first} → run {latest}"
    assert (f"Total: fixed {int(table.fixed.sum())}, still failing {int(table.still_failing.sum())}, "
            f"newly failing {int(table.newly_failing.sum())}") in result.stdout
    assert int(table.fixed.sum()) > 0 and int(table.newly_failing.sum()) > 0  # the clean-up and the decay
    as_json = json.loads(cli("compare", "--config", hist / "cleancrm.yml", first, latest, "--format", "json").stdout)
    assert len(as_json) == len(table)
    missing = cli("compare", "--config", hist / "cleancrm.yml", first, 4242)
    assert missing.exit_code == 2


def test_annotate(hist):
    result = cli("annotate", "--config", hist / "cleancrm.yml", "Phone import", "--date", "2026-11-20",
                 "--scope", "contact", "--note", "vendor file")
    assert result.exit_code == 0 and "Phone import" in result.stdout
    notes = store_of(hist).annotations.list("demo")
    row = notes[notes.name == "Phone import"].iloc[0]
    assert pd.Timestamp(row.date) == pd.Timestamp("2026-11-20") and row.scope == "contact" and row.note == "vendor file"
    bad = cli("annotate", "--config", hist / "cleancrm.yml", "X", "--date", "20/11/2026")
    assert bad.exit_code == 2 and "--date" in bad.stderr


def test_runs_lists_history(hist):
    result = cli("runs", "--config", hist / "cleancrm.yml", "--limit", 5)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["id", "as_of", "status"]
    assert len(lines) == 6 and all("completed" in line for line in lines[1:])


def test_runs_on_an_empty_history(plain, tmp_path):
    config = _broken_copy(plain, tmp_path, lambda d: None)
    result = cli("runs", "--config", config)
    assert result.exit_code == 0 and "No runs yet" in result.stdout


def test_checks_lists_every_check():
    result = cli("checks")
    assert result.exit_code == 0
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.strip()}
    assert listed == set(all_checks())


def test_init_writes_a_config_that_runs(plain, tmp_path):
    out = tmp_path / "x.yml"
    result = cli("init", "--url", f"sqlite:///{plain / 'crm.db'}", "--out", out)
    assert result.exit_code == 0, result.output
    assert "Detected demo" in result.stdout
    data = yaml.safe_load(out.read_text())
    assert {"contact", "account", "lead", "opportunity", "user"} <= set(data["entities"])
    run = cli("run", "--config", out, "--now", AS_OF, "--json")
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout)["overall"] is not None
    assert (tmp_path / "cleancrm-history.db").exists()


def test_init_on_a_database_without_crm_tables(tmp_path):
    import sqlite3

    db = tmp_path / "empty.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE things (id INTEGER PRIMARY KEY)")
    result = cli("init", "--url", f"sqlite:///{db}", "--out", tmp_path / "x.yml")
    assert result.exit_code == 2 and "no CRM tables recognised" in result.stderr
    assert not (tmp_path / "x.yml").exists()
