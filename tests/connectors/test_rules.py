"""The team's own rules on SQLite, PostgreSQL and MariaDB: every kind finds exactly its records.

A small CRM of accounts (with custom fields), deals and a region table is written to each
database with typed columns (dates, decimals); the rules' findings, fixes and applicable counts
must be the same everywhere.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from checks.config import parse_config
from checks.engine.plan import plan
from checks.engine.run import run_checks
from connectors.errors import ConfigError
from connectors.history import HistoryStore

ACCOUNTS = [
    # id, name, industry, region, tier, owner, created
    (1, "Acme", "Retail", "EMEA", "Enterprise", "u1", datetime(2024, 1, 1)),
    (2, "Beta", "retail", "AMER", "Enterprise", None, datetime(2024, 1, 1)),
    (3, "Gamma", "Retial", "XX", "SMB", None, datetime(2024, 1, 1)),
    (4, "Delta", "Retail and Consumer", "APAC", "smb", "u2", datetime(2024, 1, 1)),
    (5, "acme ", "Banking", None, "SMB", "u2", datetime(2025, 1, 1)),
    (6, "Zeta", None, "EMEA", " enterprise ", "u2", datetime(2025, 1, 1)),
]
DEALS = [  # id, account, stage, amount, created, close
    (1, 1, "Closed Won", Decimal("100.00"), date(2026, 1, 1), date(2026, 2, 1)),
    (2, 2, "Closed Won", None, date(2026, 1, 1), date(2025, 12, 1)),
    (3, 3, "closed won", Decimal("0.00"), date(2026, 1, 1), date(2026, 2, 1)),
    (4, 9, "Prospecting", None, date(2026, 1, 1), date(2026, 2, 1)),
    (5, 1, "Prospecting", Decimal("-5.00"), date(2026, 1, 1), date(2036, 2, 1)),
]
RULES = {
    "account": [
        {"id": "industry_picklist", "kind": "allowed_values", "field": "industry",
         "values": ["Retail", "Banking", "Manufacturing"], "description": "Industry from the picklist"},
        {"id": "region_known", "kind": "reference", "field": "region", "to": "regions.code"},
        {"id": "enterprise_owner", "kind": "required_if", "field": "owner_id", "when": {"tier": "Enterprise"},
         "severity": "high"},
        {"id": "unique_name", "kind": "unique", "fields": ["name"]},
        {"id": "name_shape", "kind": "pattern", "field": "name", "regex": "[A-Z][a-z]+"},
    ],
    "opportunity": [
        {"id": "won_amount", "kind": "range", "field": "amount", "above": 0, "when": {"stage": "Closed Won"}},
        {"id": "won_has_amount", "kind": "required_if", "field": "amount", "when": {"stage": ["Closed Won"]}},
        {"id": "close_after_create", "kind": "compare", "field": "close_date", "op": ">=", "other": "created_at"},
        {"id": "close_soon", "kind": "range", "field": "close_date", "max": "now + 5 years"},
        {"id": "deal_account", "kind": "sql", "description": "deal without account",
         "sql": "SELECT d.id FROM deals d LEFT JOIN accounts a ON a.id = d.account_id WHERE a.id IS NULL"},
        {"id": "positive_when_filled", "kind": "range", "field": "amount", "min": 0, "dimension": "consistency",
         "when": {"amount": {"filled": True}, "stage": {"not": "Closed Won"}}},
    ],
}
# rule → (applicable, {record key: suggested fix})
EXPECTED = {
    "rule.industry_picklist": (5, {"2": "Retail", "3": "Retail", "4": None}),
    "rule.region_known": (5, {"3": None}),
    "rule.enterprise_owner": (3, {"2": None}),
    "rule.unique_name": (6, {"5": "merge with 1"}),
    "rule.name_shape": (6, {"5": None}),
    "rule.won_amount": (2, {"3": None}),
    "rule.won_has_amount": (3, {"2": None}),
    "rule.close_after_create": (5, {"2": None}),
    "rule.close_soon": (5, {"5": None}),
    "rule.deal_account": (5, {"4": None}),
    "rule.positive_when_filled": (1, {"5": None}),
}


def _write_crm(url: str) -> None:
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    accounts = sa.Table("accounts", meta, sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("name", sa.String(80)), sa.Column("industry", sa.String(80)),
                        sa.Column("region", sa.String(10)), sa.Column("tier", sa.String(20)),
                        sa.Column("owner", sa.String(10)), sa.Column("created", sa.DateTime))
    deals = sa.Table("deals", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("account_id", sa.Integer),
                     sa.Column("stage", sa.String(40)), sa.Column("amount", sa.Numeric(12, 2)),
                     sa.Column("created", sa.Date), sa.Column("close_date", sa.Date))
    regions = sa.Table("regions", meta, sa.Column("code", sa.String(10)))
    with engine.begin() as conn:
        meta.drop_all(conn)
        meta.create_all(conn)
        conn.execute(accounts.insert(), [dict(zip(("id", "name", "industry", "region", "tier", "owner", "created"), r,
                                                  strict=True)) for r in ACCOUNTS])
        conn.execute(deals.insert(), [dict(zip(("id", "account_id", "stage", "amount", "created", "close_date"), r,
                                               strict=True)) for r in DEALS])
        conn.execute(regions.insert(), [{"code": c} for c in ("EMEA", "AMER", "APAC")])
    engine.dispose()


def _config(url: str, history: str, rules=RULES) -> dict:
    return {
        "name": "rules",
        "source": {"url": url},
        "history": {"url": history},
        "entities": {
            "account": {"table": "accounts", "key": "id",
                        "fields": {"name": "name", "owner_id": "owner", "created_at": "created"},
                        "custom_fields": {"industry": "industry", "region": "region", "tier": "tier"},
                        "rules": rules["account"]},
            "opportunity": {"table": "deals", "key": "id",
                            "fields": {"account_id": "account_id", "stage": "stage", "amount": "amount",
                                       "created_at": "created", "close_date": "close_date"},
                            "rules": rules["opportunity"]},
        },
    }


@pytest.fixture(scope="module")
def crm(backend):
    url = backend.new_database("rules")
    _write_crm(url)
    return url


def test_every_rule_kind_finds_exactly_its_records(crm, tmp_path):
    history = f"sqlite:///{tmp_path / 'h.db'}"
    cfg = parse_config(_config(crm, history))
    result = run_checks(cfg, now=datetime(2026, 12, 1), only=",".join(EXPECTED), history=HistoryStore(history), lock=False).result
    results = result.check_results.set_index("check_id")
    advice = {p.check.id: p.check.advice for p in plan(cfg)}
    found = {}
    for check_id, group in result.findings.groupby("check_id"):
        found[check_id] = {str(k): s for k, s in zip(group.record_key, group.suggestion, strict=True)}
    for check_id, (applicable, failing) in EXPECTED.items():
        assert int(results.loc[check_id, "applicable"]) == applicable, check_id
        # Where a rule has no value to propose, its finding says what to do (the rule's advice).
        said = {k: advice[check_id] if v is None else v for k, v in failing.items()}
        assert {k: (None if v != v else v) for k, v in found.get(check_id, {}).items()} == said, check_id
    assert set(results.index) == set(EXPECTED)
    assert results.loc["rule.positive_when_filled", "dimension"] == "consistency"
    assert results.loc["rule.unique_name", "dimension"] == "duplication"
    reasons = result.findings.set_index(["check_id", "record_key"]).reason
    assert reasons[("rule.deal_account", "4")] == "deal without account"
    assert reasons[("rule.industry_picklist", "2")] == "industry is an allowed value written differently"
    assert reasons[("rule.enterprise_owner", "2")] == "owner_id is missing when tier is Enterprise"


def test_rule_problems_name_the_rule_and_the_key(tmp_path):
    bad = {
        "account": [
            {"id": "no_values", "kind": "allowed_values", "field": "industry"},
            {"id": "bad_regex", "kind": "pattern", "field": "name", "regex": "[a-"},
            {"id": "stray_key", "kind": "required", "field": "name", "values": ["x"]},
            {"id": "unmapped", "kind": "required", "field": "industy"},
            {"id": "no_bounds", "kind": "range", "field": "name"},
            {"id": "bad_when", "kind": "required", "field": "name", "when": {"tier": {"between": 1}}},
            {"id": "bad_when", "kind": "required", "field": "name"},
        ],
        "opportunity": [{"id": "mixed", "kind": "range", "field": "amount", "min": 0, "max": "now"}],
    }
    with pytest.raises(ConfigError) as exc:
        parse_config(_config("sqlite:///x.db", "sqlite:///h.db", bad))
    lines = str(exc.value).splitlines()
    assert "entities.account.rules[0] (no_values).values: a allowed_values rule needs values" in lines
    assert any(line.startswith("entities.account.rules[1] (bad_regex).regex: not a regular expression") for line in lines)
    assert "entities.account.rules[2] (stray_key).values: a required rule does not read values; remove it" in lines
    assert any(line.startswith("entities.account.rules[3] (unmapped).field: field 'industy' is not mapped")
               and "industry" in line for line in lines)
    assert "entities.account.rules[4] (no_bounds): a range rule needs at least one of min, max, above, below" in lines
    assert any(line.startswith("entities.account.rules[5] (bad_when).when.tier: 'between' is not a test") for line in lines)
    assert any(line.startswith("entities.account.rules[6] (bad_when).id: 'bad_when' is also a rule") for line in lines)
    assert "entities.opportunity.rules[0] (mixed): its bounds mix numbers and dates; give all as numbers or all as dates" in lines
    assert len(lines) == 8, lines


def test_a_rule_sql_that_writes_or_fails_is_refused_before_the_run(crm, tmp_path):
    history = tmp_path / "h.db"
    rules = {"account": [{"id": "wipe", "kind": "sql", "sql": "DELETE FROM accounts"},
                         {"id": "typo", "kind": "sql", "sql": "SELECT id FROM acounts"},
                         {"id": "where", "kind": "reference", "field": "region", "to": "region.code"}],
             "opportunity": []}
    cfg = parse_config(_config(crm, f"sqlite:///{history}", rules))
    with pytest.raises(ConfigError) as exc:
        run_checks(cfg, now=datetime(2026, 12, 1), history=HistoryStore(f"sqlite:///{history}"), lock=False)
    lines = str(exc.value).splitlines()
    assert any(line.startswith("entities.account.rules[0] (wipe).sql: refused") for line in lines), lines
    assert any(line.startswith("entities.account.rules[1] (typo).sql: the query fails") for line in lines), lines
    assert any(line.startswith("entities.account.rules[2] (where).to: no table 'region'") for line in lines), lines
    engine = sa.create_engine(crm)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM accounts")).scalar() == len(ACCOUNTS)
    engine.dispose()
    assert not HistoryStore(f"sqlite:///{history}").runs.list("rules").shape[0]


def test_checks_lists_the_rules_and_what_is_skipped(crm, tmp_path):
    import yaml

    path = tmp_path / "cleancrm.yml"
    path.write_text(yaml.safe_dump(_config(crm, f"sqlite:///{tmp_path / 'h.db'}")))
    cleancrm = Path(sys.executable).with_name("cleancrm")
    proc = subprocess.run([str(cleancrm), "checks", "--config", str(path)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.split()[:3] == ["rule.industry_picklist", "accuracy", "account"]
               and line.endswith("Industry from the picklist") for line in lines)
    assert any(line.split()[:3] == ["accuracy.won_without_amount", "skipped", "opportunity"]
               and line.endswith("needs is_won mapped (or stage with won_stages)") for line in lines)


def test_expected_fields_give_low_findings_and_every_field_its_fill_rate(crm, tmp_path):
    history = f"sqlite:///{tmp_path / 'h.db'}"
    data = _config(crm, history, {"account": [], "opportunity": []})
    data["entities"]["account"]["expected"] = ["owner_id", "industry"]
    cfg = parse_config(data)
    result = run_checks(cfg, now=datetime(2026, 12, 1), only="completeness.expected", history=HistoryStore(history),
                        lock=False).result
    found = result.findings[result.findings.entity == "account"]
    assert sorted(zip(found.record_key.astype(str), found.field, strict=True)) == [
        ("2", "owner_id"), ("3", "owner_id"), ("6", "industry")]
    assert set(found.severity) == {"low"} and set(found.reason) == {"expected owner_id is missing",
                                                                     "expected industry is missing"}
    row = result.check_results.set_index(["check_id", "entity"]).loc[("completeness.expected", "account")]
    assert int(row.applicable) == 12 and int(row.failed) == 3
    metrics = row.metrics if isinstance(row.metrics, dict) else json.loads(row.metrics)
    assert metrics["sum_records"] == 6
    assert {k: metrics[f"sum_filled:{k}"] for k in ("name", "owner_id", "industry", "region", "tier")} == {
        "name": 6, "owner_id": 4, "industry": 5, "region": 5, "tier": 6}
    deals = result.check_results.set_index(["check_id", "entity"]).loc[("completeness.expected", "opportunity")]
    assert int(deals.applicable) == 0  # nothing expected there: no score, but its fill rates
    deal_metrics = deals.metrics if isinstance(deals.metrics, dict) else json.loads(deals.metrics)
    assert deal_metrics["sum_filled:amount"] == 3 and deal_metrics["sum_records"] == 5


def test_an_alert_may_watch_a_rule(tmp_path):
    from checks.app.alerts import validate_rules

    data = _config("sqlite:///x.db", "sqlite:///h.db")
    data["alerts"] = {"channels": {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/x"}},
                      "rules": [{"name": "won", "kind": "failed_count_above", "scope": "rule.won_amount",
                                 "threshold": 0, "channels": ["hook"]}]}
    validate_rules(parse_config(data))
    data["alerts"]["rules"][0]["scope"] = "rule.won_amonut"
    with pytest.raises(ConfigError, match=r"alerts.rules\[0\] \(won\).scope: 'rule.won_amonut'"):
        validate_rules(parse_config(data))


def test_the_run_says_what_did_not_run_and_why(crm, tmp_path):
    history = f"sqlite:///{tmp_path / 'h.db'}"
    data = _config(crm, history, {"account": [], "opportunity": [{**RULES["opportunity"][0], "enabled": False}]})
    outcome = run_checks(parse_config(data), now=datetime(2026, 12, 1), history=HistoryStore(history), lock=False)
    skipped = {(check, entity): why for check, entity, why in outcome.skipped}
    assert skipped[("accuracy.won_without_amount", "opportunity")] == "needs is_won mapped (or stage with won_stages)"
    assert skipped[("rule.won_amount", "opportunity")] == "disabled in the config"
    assert "accuracy.won_without_amount" not in set(outcome.result.check_results.check_id)
    data["entities"]["opportunity"]["won_stages"] = ["Closed Won"]
    outcome = run_checks(parse_config(data), now=datetime(2026, 12, 1), history=HistoryStore(history), lock=False)
    assert ("accuracy.won_without_amount", "opportunity") not in {(c, e) for c, e, _ in outcome.skipped}
    won = outcome.result.findings[outcome.result.findings.check_id == "accuracy.won_without_amount"]
    assert sorted(won.record_key.astype(str)) == ["2", "3"]  # no amount, and an amount of 0 ('closed won' too)


def test_rules_the_database_settles_find_what_the_row_engine_finds(crm, tmp_path, backend):
    rules = {"account": [RULES["account"][0], {"id": "name_required", "kind": "required", "field": "name"},
                         {"id": "tier_values", "kind": "allowed_values", "field": "tier",
                          "values": ["Enterprise", "SMB", "Unknown"]},
                         {"id": "enterprise_owner", "kind": "required_if", "field": "owner_id",
                          "when": {"tier": "Enterprise"}},
                         {"id": "enterprise_industry", "kind": "allowed_values", "field": "industry",
                          "values": ["Retail", "Banking"], "when": {"tier": ["Enterprise", "SMB"]}},
                         {"id": "recent_owner", "kind": "required_if", "field": "owner_id",
                          "when": {"created_at": {"min": "2024-06-01"}}},
                         {"id": "not_smb_owner", "kind": "required_if", "field": "owner_id",
                          "when": {"tier": {"not": "smb"}}},
                         {"id": "known_region", "kind": "allowed_values", "field": "region",
                          "values": ["EMEA", "AMER", "APAC"], "when": {"industry": {"filled": True}}},
                         {"id": "no_industry_owner", "kind": "required_if", "field": "owner_id",
                          "when": {"industry": {"filled": False}}},
                         {"id": "created_range", "kind": "range", "field": "created_at", "min": "2024-06-01",
                          "max": "now"}],
             "opportunity": [RULES["opportunity"][0],
                             {"id": "amount_bounded", "kind": "range", "field": "amount", "min": 0, "max": 50,
                              "when": {"amount": {"filled": True}, "stage": {"not": "closed won"}}}]}
    only = ",".join(f"rule.{r['id']}" for ent in rules.values() for r in ent)
    runs = {}
    for mode in ("never", "always", "auto"):
        history = f"sqlite:///{tmp_path / (mode + '.db')}"
        data = _config(crm, history, rules)
        data["source"]["pushdown"] = mode
        runs[mode] = run_checks(parse_config(data), now=datetime(2026, 12, 1), only=only,
                                history=HistoryStore(history), lock=False).result
    keys = ["check_id", "entity", "applicable", "failed"]
    columns = ["check_id", "record_key", "value", "reason", "suggestion"]
    expected = runs["never"]
    assert set(expected.findings.check_id) == {"rule.industry_picklist", "rule.tier_values", "rule.enterprise_owner",
                                               "rule.enterprise_industry", "rule.not_smb_owner", "rule.known_region",
                                               "rule.created_range", "rule.won_amount", "rule.amount_bounded"}
    for mode in ("always", "auto"):
        pushed = runs[mode]
        assert (pushed.check_results[keys].sort_values(keys).reset_index(drop=True)
                .equals(expected.check_results[keys].sort_values(keys).reset_index(drop=True))), mode
        assert (pushed.findings[columns].astype(str).sort_values(columns).reset_index(drop=True)
                .equals(expected.findings[columns].astype(str).sort_values(columns).reset_index(drop=True))), mode
    # On PostgreSQL the records are read as columns and DuckDB settles the listed values and filled names.
    read_as_columns = any(stage.endswith("push-down read") for stage in runs["auto"].stages.seconds)
    assert read_as_columns == (backend.kind == "postgresql")
