"""The scheduler with the real engine (`checks.engine.run_checks`, the default run function)."""

from checks.app.schedule import Runner
from connectors.history import HistoryStore


def test_real_engine_runs_fails_on_a_lost_source_and_feeds_alert_scopes(make_cfg, demo_dir, webhook):
    cfg = make_cfg(schedule=[{"name": "contacts", "cron": "0 6 * * *", "only": ["contact"]}],
                   retry={"attempts": 1},
                   alerts={"channels": {"hook": {"type": "webhook", "url": webhook.url}}, "rules": [
                       {"name": "failed", "kind": "run_failed", "channels": ["hook"]},
                       {"name": "contact-completeness", "kind": "score_below", "scope": "contact.completeness",
                        "threshold": 101, "channels": ["hook"]},
                       {"name": "required", "kind": "failed_count_above", "scope": "completeness.required",
                        "threshold": 0, "channels": ["hook"]}]})
    store = HistoryStore(cfg.history_url())
    runner = Runner(cfg, history=store)  # run_fn defaults to the engine
    first = runner.fire("contacts")
    assert first.status == "completed", first.error
    runs = store.runs.list("demo")
    assert runs.trigger[0] == "schedule:contacts" and runs.only[0] == "contact"
    results = store.results.check_results(first.run_id)
    assert set(results.entity) == {"contact"} and len(results) > 5
    fired = sorted(t.split(":")[0] for t in webhook.texts())
    assert fired == ["cleancrm [demo] contact-completeness", "cleancrm [demo] required"]
    required = int(results[results.check_id == "completeness.required"].failed.sum())
    assert f"{required} failures in completeness.required" in " ".join(webhook.texts())

    (demo_dir / "crm.db").rename(demo_dir / "crm.db.away")
    second = runner.fire("contacts", fire_time=first.fire_time.replace(year=first.fire_time.year + 1))
    assert second.status == "failed" and "not found" in second.error
    runs = store.runs.list("demo")
    assert list(runs.status) == ["failed", "completed"] and runs.error[0] == second.error
    assert "failed" in webhook.texts()[-1] and len(webhook.bodies) == 3
    assert store.alert_state.state("demo").set_index("rule").firing.to_dict() == {
        "contact-completeness": 1, "failed": 1, "required": 1}
