"""Closing the loop: the runs after a fix package find which of its changes were made, and say so.

A package is made from a demo run; the test then plays the admin (it writes the CRM copy): it
applies the package but for one change, makes another change differently, and later reverts one.
Each run after it reports per field applied as proposed / differently / not applied / reverted,
and per entity the findings fixed, still failing and the records newly failing; the first run
that finds the package applied marks it on the trend, once.
"""

from __future__ import annotations

import json
import re
import sqlite3

import pandas as pd
import pytest

from checks.config import load_config
from checks.demo import generate_demo
from checks.engine.fix_tracking import status_tables
from connectors.history import HistoryStore
from tests.support.commands import cli

AS_OF = "2026-11-23"


def statements(script: str) -> dict[str, str]:
    """The UPDATE statements of a script by the record id they change (one statement per record)."""
    out = {}
    for stmt in script.split(";\n"):
        if stmt.startswith("UPDATE"):
            out[re.search(r"WHERE contacts\.id = (\d+)", stmt).group(1)] = stmt
    return out


def latest_status(folder):
    cfg = load_config(folder / "cleancrm.yml")
    store = HistoryStore(cfg.history_url())
    run = store.runs.resolve("latest", cfg.name)
    return status_tables(store.fix_packages.status(run)), store, cfg


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    """Run, package the contacts' fixes (sql), apply all but one record, change one email differently, run again."""
    folder = tmp_path_factory.mktemp("loop")
    generate_demo(folder, contacts=600, seed=8, as_of=pd.Timestamp(AS_OF).to_pydatetime())
    cli("run", "--config", folder / "cleancrm.yml", "--now", AS_OF)
    out = folder / "pkg"
    cli("fixes", "--config", folder / "cleancrm.yml", "--out", out, "--format", "sql", "--entity", "contact")
    reasons = pd.read_csv(out / "reasons.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    applied = reasons[reasons.destination == "apply"]
    by_id = statements((out / "contact.apply.sql").read_text())
    single = applied.groupby("record_id").filter(lambda g: len(g) == 1)
    skipped = single[single.checks == "consistency.whitespace"].record_id.iloc[0]
    typo = single[single.checks == "accuracy.email_domain_typo"].record_id.iloc[0]
    con = sqlite3.connect(folder / "crm.db")
    with con:
        for record, stmt in by_id.items():
            if record != skipped:
                con.execute(stmt)
        # The admin typed another address than the proposed one: capitals make it fail email_case.
        con.execute("UPDATE contacts SET email = 'Someone.Else@Example.org' WHERE id = ?", (int(typo),))
    con.close()
    cli("run", "--config", folder / "cleancrm.yml", "--now", AS_OF)
    return folder, out, applied, skipped, typo


def test_the_next_run_reports_each_change_and_the_findings_it_fixed(played):
    folder, out, applied, skipped, typo = played
    (values, records), _, _ = latest_status(folder)
    totals = values.drop(columns=["package_id", "entity", "field"]).sum()
    assert totals["applied as proposed"] == len(applied) - 2
    assert totals["applied differently"] == 1 and totals["not applied"] == 1 and totals["reverted"] == 0
    email = values.set_index("field").loc["email"]
    assert email["applied differently"] == 1
    row = records.set_index("entity").loc["contact"]
    targeted = {(c, k) for cs, k in zip(applied.checks, applied.record_id, strict=True) for c in cs.split("; ")}
    assert row["findings still failing"] == 1  # the whitespace fix left out
    assert row["findings fixed"] == len(targeted) - 1
    assert row["records newly failing"] == 1  # the address typed with capitals


def test_the_first_run_that_finds_it_applied_marks_it_on_the_trend_once(played, tmp_path):
    folder, out, *_ = played
    manifest = json.loads((out / "manifest.json").read_text())
    _, store, cfg = latest_status(folder)
    marks = store.annotations.list(cfg.name)
    mine = marks[marks.name == f"Fix package {manifest['package_id']} applied"]
    assert len(mine) == 1 and mine.iloc[0].scope == "contact"
    packages = store.fix_packages.list(cfg.name)
    assert packages.iloc[0].applied_run_id == store.runs.resolve("latest", cfg.name)
    result = cli("compare", "--config", folder / "cleancrm.yml", int(manifest["run"]["id"]), "latest")
    assert f"Fix packages, as run {store.runs.resolve('latest', cfg.name)} found them" in result.output
    assert manifest["package_id"] in result.output


def test_a_change_undone_after_it_was_made_is_reverted(played):
    folder, out, applied, skipped, typo = played
    rollback = statements((out / "contact.rollback.sql").read_text())
    undone = next(k for k in rollback if k not in (skipped, typo))
    con = sqlite3.connect(folder / "crm.db")
    with con:
        con.execute(rollback[undone])
    con.close()
    cli("run", "--config", folder / "cleancrm.yml", "--now", AS_OF)
    (values, records), store, cfg = latest_status(folder)
    totals = values.drop(columns=["package_id", "entity", "field"]).sum()
    reverted = len(applied[applied.record_id == undone])
    assert totals["reverted"] == reverted and totals["not applied"] == 1
    assert totals["applied as proposed"] == len(applied) - 2 - reverted
    marks = store.annotations.list(cfg.name)
    assert marks.name.str.startswith("Fix package").sum() == 1  # still one mark
