"""A steward's decision on a duplicate cluster, stored in the history, is respected by later runs."""

from datetime import datetime

from checks.app.export import duplicate_worklist
from checks.config import load_config
from checks.demo import generate_demo
from checks.engine import run_checks
from connectors.history import HistoryStore

NOW = datetime(2026, 11, 23)


def test_not_a_duplicate_is_not_reported_again_and_confirmed_stays(tmp_path):
    demo = generate_demo(tmp_path, contacts=600, seed=9, as_of=NOW)
    cfg = load_config(demo.config_path)
    store = HistoryStore(cfg.history_url())
    first = run_checks(cfg, now=NOW, only="duplication.fuzzy", history=store)
    clusters = first.result.clusters
    contacts = clusters[clusters.entity == "contact"]
    assert len(contacts) >= 2, "the demo has fuzzy duplicate clusters"
    dismissed, confirmed = contacts.cluster_id.iat[0], contacts.cluster_id.iat[1]
    store.decisions.decide(cfg.name, dismissed, "contact", "not_duplicate", decided_by="steward")
    store.decisions.decide(cfg.name, confirmed, "contact", "confirmed", decided_by="steward")

    second = run_checks(cfg, now=NOW, only="duplication.fuzzy", history=store)
    ids = set(second.result.clusters.cluster_id)
    assert dismissed not in ids
    assert confirmed in ids
    failed = second.result.check_results.set_index(["check_id", "entity"]).failed
    before = first.result.check_results.set_index(["check_id", "entity"]).failed
    assert failed[("duplication.fuzzy", "contact")] < before[("duplication.fuzzy", "contact")]

    work = duplicate_worklist(store, second.run_id)
    assert dismissed not in set(work.cluster_id)
    assert set(work.loc[work.cluster_id == confirmed, "decision"]) == {"confirmed"}
