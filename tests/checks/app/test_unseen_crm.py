"""A CRM this project has never seen, mapped by `init` alone: each injected defect found (≥ 0.98).

The CRM of `checks.demo.unseen` (Spanish names with accents, no IsWon flag, no soft-delete column)
goes through `cleancrm init` and `cleancrm run` exactly as `benchmarks/unseen_crm.py` runs them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _benchmark():
    spec = importlib.util.spec_from_file_location("unseen_crm", ROOT / "benchmarks" / "unseen_crm.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_init_maps_an_unseen_crm_and_the_run_finds_each_injected_defect(tmp_path):
    table, _, config, crm = _benchmark().run(4000, 3, tmp_path)
    assert set(config["entities"]) == {"contact", "account", "opportunity"}
    deals = config["entities"]["opportunity"]
    assert deals["won_stages"] == ["Ganada"] and set(deals["closed_stages"]) == {"Ganada", "Perdida"}
    assert deals["fields"]["amount"] == "Importe" and config["entities"]["contact"]["fields"]["email"] == "CorreoElectrónico"
    assert all(len(keys) >= 5 for keys in crm.truth.values())  # each defect is really there to be found
    for row in table.itertuples():
        assert row.precision >= 0.98 and row.recall >= 0.98, row
