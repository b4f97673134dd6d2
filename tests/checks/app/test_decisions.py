"""A steward's "not a duplicate" holds in every duplicate check, survives a changed cluster, and can be undone.

Before, dismissing a cluster hid it from the fuzzy check only: the same two records stayed in the
worklist through the exact email, phone and name checks, and the decision could not be listed or
taken back. Duplicate findings also showed internal keys (`bart|schilt|321`) as the current value.
"""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from checks.config import load_config
from checks.demo import generate_demo
from connectors.history import HistoryStore
from tests.support.commands import cli, invoke

AS_OF = "2026-11-23"
EXACT = ("duplication.exact_email", "duplication.exact_phone", "duplication.exact_name")


def latest(folder):
    cfg = load_config(folder / "cleancrm.yml")
    store = HistoryStore(cfg.history_url())
    return store, store.runs.resolve("latest", cfg.name)


def duplicate_findings(folder, keys: set[str]) -> pd.DataFrame:
    store, run = latest(folder)
    found = store.findings.of_run(run, dimension="duplication", entity="contact")
    return found[found.record_key.astype(str).isin(keys)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("decide")
    generate_demo(folder, contacts=600, seed=4, as_of=pd.Timestamp(AS_OF).to_pydatetime())
    cli("run", "--config", folder / "cleancrm.yml", "--now", AS_OF)
    return folder


@pytest.fixture(scope="module")
def twins(demo):
    """A two-record cluster whose second record fails at least two exact duplicate checks too."""
    store, run = latest(demo)
    work = store.clusters.worklist(run)
    found = store.findings.of_run(run, dimension="duplication", entity="contact")
    for cid, members in work[(work.entity == "contact") & (work["size"] == 2)].groupby("cluster_id"):
        redundant = str(members[members.is_survivor == 0].record_id.iloc[0])
        checks = set(found[found.record_key.astype(str) == redundant].check_id)
        if len(checks & set(EXACT)) >= 2:
            return cid, sorted(str(k) for k in members.record_id), redundant
    raise AssertionError("the demo has no cluster found by two exact checks")


def test_not_a_duplicate_removes_the_pair_from_every_duplicate_check(demo, twins):
    cid, keys, redundant = twins
    before = duplicate_findings(demo, {redundant})
    assert {"duplication.fuzzy"} | (set(EXACT) & set(before.check_id)) <= set(before.check_id)
    cli("decide", "--config", demo / "cleancrm.yml", cid, "not_duplicate", "--note", "twins, different people")
    cli("run", "--config", demo / "cleancrm.yml", "--now", AS_OF)
    after = duplicate_findings(demo, set(keys))
    other = {keys[0]: keys[1], keys[1]: keys[0]}
    naming = [r for r in after.itertuples() if other[str(r.record_key)] in str(r.reason)]
    assert not naming, naming
    store, run = latest(demo)
    members = store.clusters.worklist(run)
    together = members[members.record_id.astype(str).isin(keys)].groupby("cluster_id").size()
    assert not (together >= 2).any()


def test_decisions_are_listed_with_who_when_the_records_and_the_note(demo, twins):
    cid, keys, _ = twins
    listed = cli("decisions", "--config", demo / "cleancrm.yml").output
    assert cid in listed and "not_duplicate" in listed and "twins, different people" in listed
    assert ", ".join(keys) in listed and "cli:" in listed
    store, _ = latest(demo)
    row = store.decisions.list("demo").set_index("cluster_id").loc[cid]
    assert row.member_keys == keys and row.decided_at is not None


def test_the_pair_stays_apart_when_a_third_record_joins(demo, twins, tmp_path):
    cid, keys, redundant = twins
    con = sqlite3.connect(demo / "crm.db")
    with con:  # a third copy of the person arrives: the cluster (and its id) changes
        columns = [r[1] for r in con.execute("PRAGMA table_info(contacts)")]
        row = dict(zip(columns, con.execute("SELECT * FROM contacts WHERE id = ?", (int(redundant),)).fetchone(),
                       strict=True))
        row["id"] = 99_999
        row["created_at"] = "2026-11-01 00:00:00"
        con.execute(f"INSERT INTO contacts ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                    list(row.values()))
    con.close()
    cli("run", "--config", demo / "cleancrm.yml", "--now", AS_OF)
    after = duplicate_findings(demo, {*keys, "99999"})
    other = {keys[0]: keys[1], keys[1]: keys[0]}
    assert not [r for r in after.itertuples() if str(r.record_key) in other and other[str(r.record_key)] in r.reason]
    newcomer = after[after.record_key.astype(str) == "99999"]
    assert len(newcomer) and newcomer.reason.str.contains("|".join(keys)).all()


def test_undoing_the_decision_brings_the_pair_back(demo, twins):
    cid, keys, redundant = twins
    result = cli("decisions", "--config", demo / "cleancrm.yml", "--undo", cid)
    assert "undone" in result.output
    cli("run", "--config", demo / "cleancrm.yml", "--now", AS_OF)
    store, _ = latest(demo)
    assert cid not in set(store.decisions.list("demo").cluster_id)
    after = duplicate_findings(demo, set(keys))
    assert len(after[after.reason.str.contains("|".join(keys))]) >= 2
    again = invoke("decisions", "--config", demo / "cleancrm.yml", "--undo", cid)
    assert again.exit_code == 2 and "no decision on cluster" in again.output


def test_duplicate_findings_show_what_the_crm_holds(demo):
    store, run = latest(demo)
    found = store.findings.of_run(run, entity="contact")
    con = sqlite3.connect(demo / "crm.db")
    raw = {str(r[0]): r[1:] for r in con.execute("SELECT id, first_name, last_name, email, phone, mobile FROM contacts")}
    con.close()
    names = found[found.check_id == "duplication.exact_name"]
    assert len(names) and not names.value.str.contains("|", regex=False).any()
    for r in names.head(20).itertuples():
        first, last = raw[str(r.record_key)][:2]
        assert r.value == f"{(first or '').strip()} {(last or '').strip()}".strip()
    phones = found[found.check_id == "duplication.exact_phone"]
    assert len(phones)
    for r in phones.head(20).itertuples():
        assert r.value in raw[str(r.record_key)][3:]  # the phone or mobile as written
    emails = found[found.check_id == "duplication.exact_email"]
    for r in emails.head(20).itertuples():
        assert r.value == raw[str(r.record_key)][2]
