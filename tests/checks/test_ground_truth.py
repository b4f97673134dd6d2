"""Precision and recall of every check against the demo CRM's ground truth (`checks.demo.evaluate`).

The demo injects each defect kind into its own records and logs them in ground_truth.json; the
engine measures the CRM as `cleancrm run` would, and the check that targets a kind must find those
records and (almost) nothing else: precision and recall >= 0.98 for every kind and every
exact-duplicate group, on two CRMs of different size and seed. `pytest -s` prints the table.
"""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import pytest

from checks.config import load_config
from checks.demo import generate_demo
from checks.demo.evaluate import GROUP_TO_CHECK, KIND_TO_CHECK, evaluate, soft_deleted_hits
from checks.engine import measure, open_checked_source, plan

AS_OF = datetime(2026, 11, 23)
FLOOR = 0.98
DEMOS = [pytest.param((3000, 11), id="3000c-seed11"), pytest.param((5000, 3), id="5000c-seed3")]
DUPLICATE_GROUPS = [("contact", "email"), ("contact", "phone"), ("contact", "name_company"), ("account", "name"),
                    ("account", "phone")]


@pytest.fixture(scope="module", params=DEMOS)
def demo(request, tmp_path_factory):
    contacts, seed = request.param
    result = generate_demo(tmp_path_factory.mktemp(f"demo-{contacts}-{seed}"), contacts, seed, AS_OF)
    cfg = load_config(result.config_path)
    source = open_checked_source(cfg)
    try:
        run = measure(cfg, source, plan(cfg), AS_OF)
    finally:
        source.close()
    truth = json.loads(result.ground_truth_path.read_text())
    table = evaluate(run.findings, truth)
    table["id"] = [f"{k}@{e}" if k.startswith("duplicate_") else k for k, e in zip(table.kind, table.entity,
                                                                                     strict=True)]
    return {"name": request.node.callspec.id if hasattr(request.node, "callspec") else "", "truth": truth,
            "findings": run.findings, "table": table.set_index("id"), "contacts": contacts, "seed": seed}


def test_print_precision_recall_table(demo):
    t = demo["table"].reset_index()
    with pd.option_context("display.width", 200, "display.max_rows", 200):
        print(f"\n\nDemo CRM: {demo['contacts']} contacts, seed {demo['seed']}, as of {AS_OF:%Y-%m-%d}")
        print(t[["kind", "check", "entity", "truth", "found", "tp", "precision", "recall"]]
              .to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    assert len(t) == len(KIND_TO_CHECK) + len(DUPLICATE_GROUPS)


@pytest.mark.parametrize("kind", sorted(KIND_TO_CHECK))
def test_defect_kind(demo, kind):
    assert kind in demo["truth"]["defects"], f"the demo injected no {kind}"
    row = demo["table"].loc[kind]
    assert row.truth >= 5, f"too few {kind} records to measure ({row.truth})"
    assert row.precision >= FLOOR and row.recall >= FLOOR, (
        f"{kind} via {row.check} on {row.entity}: precision {row.precision:.3f}, recall {row.recall:.3f} "
        f"(truth {row.truth}, found {row.found}, tp {row.tp})")


@pytest.mark.parametrize(("entity", "key"), [pytest.param(e, k, id=f"duplicate_{k}@{e}") for e, k in DUPLICATE_GROUPS])
def test_exact_duplicate_group(demo, entity, key):
    assert demo["truth"]["exact_duplicate_groups"][entity][key], f"no {key} duplicate groups for {entity}"
    row = demo["table"].loc[f"duplicate_{key}@{entity}"]
    assert row.check == GROUP_TO_CHECK[key]
    assert row.precision >= FLOOR and row.recall >= FLOOR, (
        f"{key} duplicates of {entity}: precision {row.precision:.3f}, recall {row.recall:.3f} "
        f"(truth {row.truth}, found {row.found}, tp {row.tp})")


def test_every_injected_kind_is_evaluated(demo):
    assert set(demo["truth"]["defects"]) <= set(KIND_TO_CHECK)
    groups = {(e, k) for e, by_key in demo["truth"]["exact_duplicate_groups"].items() for k in by_key}
    assert groups == set(DUPLICATE_GROUPS)


def test_soft_deleted_rows_never_appear_in_findings(demo):
    deleted = demo["truth"]["soft_deleted"]
    assert sum(len(v) for v in deleted.values()) > 0
    assert soft_deleted_hits(demo["findings"], demo["truth"]) == 0
    f = demo["findings"]
    # nor as the survivor a duplicate points at, nor as the contact a lead duplicates
    for entity, keys in deleted.items():
        merged = f[f.entity == entity].suggestion.dropna().astype(str).str.extract(r"^merge into (\S+)$")[0]
        assert not set(merged.dropna()) & set(keys), f"a duplicate of {entity} points at a soft-deleted survivor"
    converted = f.suggestion.dropna().astype(str).str.extract(r"^convert into contact (\S+)$")[0]
    assert not set(converted.dropna()) & set(deleted.get("contact", []))
