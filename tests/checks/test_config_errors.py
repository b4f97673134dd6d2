"""Broken configs through the `cleancrm run` executable: each is ONE line naming the key, exit 2, nothing stored.

A careless admin's configs, one per row: a cron or timezone the scheduler cannot read, weights of
dimensions or severities that do not exist (or are negative), an alert rule naming a missing
channel, a field that is not canonical, a key given twice, no entity, a key column that repeats,
check parameters of the wrong name or type, YAML alias bombs, and a few more that used to crash
with a traceback. Each run must exit 2 with one `error: …` line on stderr that names the key, print
no traceback and create no history database. The good configs next to them still run.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from checks.demo import generate_demo
from connectors.history import HistoryStore

CLEANCRM = Path(sys.executable).with_name("cleancrm")
AS_OF = datetime(2026, 11, 23)
SCHEDULE = [{"name": "nightly", "cron": "0 6 * * *", "timezone": "Europe/Berlin"}]
HOOK = {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/hooks/cleancrm"}}  # never called: nothing fires


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A 300-contact demo CRM (SQLite, no history); each case writes its own config beside nothing else."""
    return generate_demo(tmp_path_factory.mktemp("config-errors-demo"), 300, 5, AS_OF)


def base_config(demo) -> dict:
    data = yaml.safe_load(demo.config_path.read_text())
    data["source"]["url"] = f"sqlite:///{demo.db_path}"
    return data


# -- the cases: (id, edit of the demo config or of its text, what the one line must name) ------------------------
def edit(change):
    """A case that changes the config as data."""

    def make(data: dict) -> str:
        data = copy.deepcopy(data)
        change(data)
        return yaml.safe_dump(data, sort_keys=False)

    return make


def text(change):
    """A case that changes the config's text (what `yaml.safe_dump` cannot write: repeated keys, aliases)."""
    return lambda data: change(yaml.safe_dump(data, sort_keys=False))


def billion_laughs(body: str) -> str:
    """About 2 KB of aliases of aliases: nine levels of nine, 9^9 values once expanded."""
    lines = ["lol1: &lol1 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * 9)}]" for i in range(2, 10)]
    bomb = "\n".join(lines) + "\n"
    assert 600 < len(bomb.encode()) < 2100
    return bomb + body


def many_aliases(body: str) -> str:
    return "x-deleted: &deleted deleted = 1\n" + body + "extra:\n" + "".join("  - *deleted\n" for _ in range(150))


def anchors_and_merge_keys(data: dict) -> str:
    """The demo config with its soft deletes written once: a scalar alias and a merge key (`<<`)."""
    data = copy.deepcopy(data)
    for entity, marker in (("contact", "ANCHOR"), ("opportunity", "ALIAS"), ("account", "MERGE_ANCHOR"),
                           ("lead", "MERGE_ALIAS")):
        data["entities"][entity]["soft_delete"] = marker
    body = yaml.safe_dump(data, sort_keys=False)
    for marker, written in (("soft_delete: ANCHOR", "soft_delete: &deleted deleted = 1"),
                            ("soft_delete: ALIAS", "soft_delete: *deleted"),
                            ("soft_delete: MERGE_ANCHOR", "<<: &soft {soft_delete: deleted = 1}"),
                            ("soft_delete: MERGE_ALIAS", "<<: *soft")):
        assert body.count(marker + "\n") == 1
        body = body.replace(marker + "\n", written + "\n")
    return body


BROKEN = [
    ("cron-out-of-range", edit(lambda d: d.update(schedule=[{**SCHEDULE[0], "cron": "61 25 * * *"}])),
     ["schedule[0] (nightly).cron", "'61 25 * * *' is not a valid cron expression"]),
    ("cron-seven-fields", edit(lambda d: d.update(schedule=[{**SCHEDULE[0], "cron": "* * * * * * *"}])),
     ["schedule[0] (nightly).cron", "give five"]),
    ("timezone", edit(lambda d: d.update(schedule=[{**SCHEDULE[0], "timezone": "Mars/Olympus"}])),
     ["schedule[0] (nightly).timezone", "unknown timezone 'Mars/Olympus'"]),
    ("schedule-names-twice", edit(lambda d: d.update(schedule=[SCHEDULE[0], SCHEDULE[0]])),
     ["schedule[1] (nightly).name", "duplicate"]),
    ("schedule-not-a-list", edit(lambda d: d.update(schedule=SCHEDULE[0])),
     ["schedule:", "valid list"]),
    ("dimension-misspelt", edit(lambda d: d.update(scoring={"dimension_weights": {"acuracy": 2}})),
     ["scoring.dimension_weights.acuracy", "did you mean 'accuracy'"]),
    ("severity-misspelt", edit(lambda d: d.update(scoring={"severity_weights": {"hgh": 2}})),
     ["scoring.severity_weights.hgh", "did you mean 'high'"]),
    ("severity-weight-negative", edit(lambda d: d.update(scoring={"severity_weights": {"high": -1}})),
     ["scoring.severity_weights.high", "greater than or equal to 0"]),
    ("dimension-weight-negative", edit(lambda d: d.update(scoring={"dimension_weights": {"accuracy": -1}})),
     ["scoring.dimension_weights.accuracy", "greater than or equal to 0"]),
    ("severity-weights-all-zero", edit(lambda d: d.update(scoring={"severity_weights": dict.fromkeys(
        ("low", "medium", "high", "critical"), 0)})),
     ["scoring.severity_weights:", "weighs 0"]),
    ("check-weight-infinite", edit(lambda d: d["checks"]["freshness.staleness"].update(weight=float("inf"))),
     ["checks.freshness.staleness.weight", "finite"]),
    ("alert-channel-unknown", edit(lambda d: d.update(alerts={"channels": HOOK, "rules": [
        {"name": "failed", "kind": "run_failed", "channels": ["slack"]}]})),
     ["alerts.rules[0] (failed).channels", "no channel 'slack'"]),
    ("alert-threshold-missing", edit(lambda d: d.update(alerts={"channels": HOOK, "rules": [
        {"name": "low", "kind": "score_below", "channels": ["hook"]}]})),
     ["alerts.rules[0] (low).threshold", "required for score_below"]),
    ("field-not-canonical", edit(lambda d: d["entities"]["contact"]["fields"].update(emial="email")),
     ["entities.contact.fields.emial", "did you mean 'email'"]),
    ("entity-given-twice", text(lambda body: body.replace(
        "entities:\n", "entities:\n  contact:\n    table: contacts\n    key: id\n    fields: {email: email}\n", 1)),
     ["entities.contact", "given twice"]),
    ("source-url-given-twice", text(lambda body: body.replace("source:\n", "source:\n  url: sqlite:///other.db\n", 1)),
     ["source.url", "given twice"]),
    ("no-entities", edit(lambda d: d.update(entities={}, references=[])),
     ["entities:", "map at least one entity"]),
    ("key-not-unique", edit(lambda d: d["entities"]["contact"].update(key="country")),
     ["entities.contact.key", "'country' is not unique"]),
    ("param-of-wrong-type", edit(lambda d: d["checks"]["freshness.staleness"]["params"].update(days="soon")),
     ["checks.freshness.staleness.params.days", "valid integer", "'soon'"]),
    ("param-negative", edit(lambda d: d["checks"]["freshness.staleness"]["params"].update(days=-5)),
     ["checks.freshness.staleness.params.days", "greater than or equal to 0"]),
    ("param-misspelt", edit(lambda d: d["checks"]["freshness.staleness"].update(params={"dayz": 30})),
     ["checks.freshness.staleness.params.dayz", "did you mean 'days'"]),
    ("param-not-a-list", edit(lambda d: d["checks"].update({"freshness.stale_leads": {"params": {"open_statuses": 5}}})),
     ["checks.freshness.stale_leads.params.open_statuses", "valid list"]),
    ("param-out-of-bounds", edit(lambda d: d["checks"].update({"duplication.fuzzy": {"params": {"link_threshold": 2}}})),
     ["checks.duplication.fuzzy.params.link_threshold", "less than or equal to 1"]),
    ("billion-laughs", text(billion_laughs), ["lol", "alias bomb"]),
    ("too-many-aliases", text(many_aliases), ["extra[100]", "more than 100 YAML aliases"]),
    ("alias-of-itself", text(lambda body: "loop: &loop [*loop]\n" + body), ["loop[0]", "alias refers"]),
    ("chunk-size-huge", edit(lambda d: d["source"].update(chunk_size=10**30)), ["source.chunk_size", "more than"]),
    ("history-folder-impossible", edit(lambda d: d.update(history={"url": "sqlite:////proc/no-such/history.db"})),
     ["history.url", "cannot create the folder"]),
]


@pytest.mark.parametrize(("make", "names"), [pytest.param(m, n, id=i) for i, m, n in BROKEN])
def test_broken_config_is_one_line_exit_2_and_stores_nothing(demo, tmp_path, make, names):
    config = tmp_path / "cleancrm.yml"
    config.write_text(make(base_config(demo)))
    _check_refused(config, tmp_path, names)


def test_config_that_is_not_utf8_is_one_line(demo, tmp_path):
    config = tmp_path / "cleancrm.yml"
    config.write_bytes(yaml.safe_dump(base_config(demo), sort_keys=False).encode() + "# café\n".encode("latin-1"))
    _check_refused(config, tmp_path, ["not UTF-8", f"{config}:"])


def _check_refused(config: Path, folder: Path, names: list[str]) -> None:
    before = sorted(p.name for p in folder.iterdir())
    proc = subprocess.run([str(CLEANCRM), "run", "--config", str(config), "--now", AS_OF.date().isoformat(), "--json"],
                          capture_output=True, text=True, timeout=300)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    for name in names:
        assert name in lines[0], (name, lines[0])
    assert proc.stdout == ""
    assert sorted(p.name for p in folder.iterdir()) == before  # no history database, nothing else
    assert not (folder / "cleancrm-history.db").exists()


# -- the good configs of the same keys still run -------------------------------------------------------------------
GOOD = [
    ("demo-as-generated", edit(lambda d: None)),
    ("every-checked-key-valid", edit(lambda d: d.update(
        schedule=[SCHEDULE[0], {"name": "hourly", "cron": "*/5 * * * * *", "timezone": "UTC"}],
        scoring={"severity_weights": {"low": 0, "medium": 2, "high": 3, "critical": 5},
                 "dimension_weights": {"accuracy": 2, "freshness": 0}},
        alerts={"channels": HOOK, "rules": [{"name": "failed", "kind": "run_failed", "channels": ["hook"]}]},
        checks={"freshness.staleness": {"params": {"days": "365"}}, "freshness.stale_leads": {
            "params": {"days": 14, "open_statuses": ["New", "Working"]}},
            "completeness.record": {"params": {"min_percent": 40.5}},
            "duplication.fuzzy": {"params": {"link_threshold": 0.99}}}))),
    ("anchors-and-merge-keys", anchors_and_merge_keys),
]


@pytest.mark.slow
@pytest.mark.parametrize("make", [pytest.param(m, id=i) for i, m in GOOD])
def test_good_config_still_runs(demo, tmp_path, make):
    config = tmp_path / "cleancrm.yml"
    config.write_text(make(base_config(demo)))
    proc = subprocess.run([str(CLEANCRM), "run", "--config", str(config), "--now", AS_OF.date().isoformat(), "--json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "error:" not in proc.stderr and "Traceback" not in proc.stderr
    store = HistoryStore(f"sqlite:///{tmp_path / 'cleancrm-history.db'}")
    assert list(store.runs.list("demo").status) == ["completed"]
    store.close()
