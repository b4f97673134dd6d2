"""The Duplicates page lists every decision with who, when, the records and the note, and can undo one."""

from __future__ import annotations

import shutil

from streamlit.testing.v1 import AppTest

from checks.config import load_config
from connectors.history import HistoryStore
from dashboard import launch


def test_decisions_are_listed_and_one_can_be_undone(monkeypatch, demo_history, tmp_path):
    for name in ("crm.db", "cleancrm-history.db", "cleancrm.yml"):
        shutil.copy(demo_history.pristine / name, tmp_path / name)
    cfg = load_config(tmp_path / "cleancrm.yml")
    store = HistoryStore(cfg.history_url())
    run = store.runs.resolve("latest", cfg.name)
    cluster = store.clusters.of_run(run).iloc[0]
    members = sorted(str(k) for k in store.clusters.members(run, cluster.cluster_id).record_key)
    store.decisions.decide(cfg.name, cluster.cluster_id, cluster.entity, "not_duplicate", "Dana", "same name, two people")
    monkeypatch.setenv("CLEANCRM_CONFIG", str(tmp_path / "cleancrm.yml"))
    at = AppTest.from_file(str(launch.APP), default_timeout=60)
    at.run()
    at.switch_page("app_pages/duplicates.py").run()
    assert not at.exception, [e.message for e in at.exception]
    listed = next(d.value for d in at.dataframe if "records" in d.value.columns)
    row = listed[listed.cluster_id == cluster.cluster_id].iloc[0]
    assert row.records == ", ".join(members) and row.decided_by == "Dana" and row.note == "same name, two people"
    assert row.decision == "Not a duplicate"
    at.selectbox(key="dup_undo").set_value(cluster.cluster_id).run()
    at.button(key="dup_undo_button").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert cluster.cluster_id not in set(store.decisions.list(cfg.name).cluster_id)
    assert (store.audit.list(cfg.name, "decision").detail.str.contains("undone")).any()


def test_a_merge_package_is_made_from_the_page_and_the_plan_reads_the_crm(monkeypatch, demo_history, tmp_path):
    import io
    import zipfile

    for name in ("crm.db", "cleancrm-history.db", "cleancrm.yml"):
        shutil.copy(demo_history.pristine / name, tmp_path / name)
    monkeypatch.setenv("CLEANCRM_CONFIG", str(tmp_path / "cleancrm.yml"))
    at = AppTest.from_file(str(launch.APP), default_timeout=60)
    at.run()
    at.switch_page("app_pages/duplicates.py").run()
    assert not at.exception, [e.message for e in at.exception]
    shown = "\n".join(m.value for m in at.markdown)
    assert "**Values to set on the master before merging**" in shown
    at.button(key="dup_merge_make").click().run()
    assert not at.exception, [e.message for e in at.exception]
    made = at.session_state["dup_merge_package"]
    archive = zipfile.ZipFile(io.BytesIO(made["zip"]))
    names = {n.split("/", 1)[1] for n in archive.namelist()}
    assert {"manifest.json", "merge_plan.csv", "README.txt"} <= names
    assert any(n.endswith(".merges.csv") for n in names) and any(n.endswith(".merge_pairs.csv") for n in names)
    assert sum(i["clusters"] for i in made["manifest"]["entities"].values()) > 0
