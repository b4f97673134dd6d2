"""Precision and recall per injected defect on a CRM this project has never seen, mapped by `init` alone.

    python benchmarks/unseen_crm.py [--contacts 5000] [--seed 7]

Writes a Spanish-named CRM (`checks.demo.unseen`: PascalCase with accents, no IsWon flag, no
soft-delete column) to a temporary folder, runs `cleancrm init` and `cleancrm run` on it as a new
user would (no hand edit of the config), and prints, per injected defect (drifted picklist values,
won deals without amount, contacts missing an expected email), the check that reports it, its
precision and its recall, and the wall time of each command.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run(contacts: int, seed: int, folder: Path) -> tuple:
    """Build, init, run; (score table, seconds per command, the config init wrote)."""
    import yaml

    from checks.config import load_config
    from checks.demo.unseen import build, score
    from connectors.history import HistoryStore

    cleancrm = Path(sys.executable).with_name("cleancrm")
    crm = build(folder / "crm.db", contacts, seed)
    config = folder / "cleancrm.yml"
    seconds = {}
    for name, args in (("init", ["init", "--url", f"sqlite:///{crm.path}", "--out", config]),
                       ("run", ["run", "--config", config, "--now", "2026-12-01"])):
        start = time.perf_counter()
        proc = subprocess.run([str(cleancrm), *map(str, args)], capture_output=True, text=True, check=False)
        seconds[name] = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"cleancrm {name} failed ({proc.returncode}): {proc.stderr.strip()}")
    cfg = load_config(config)
    store = HistoryStore(cfg.history_url())
    run_id = store.runs.resolve("latest", cfg.name)
    findings = store.findings.of_run(run_id)
    return score(findings, crm.truth), seconds, yaml.safe_load(config.read_text()), crm


def main() -> None:
    """Print the precision/recall table."""
    import pandas as pd

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--contacts", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        table, seconds, config, crm = run(args.contacts, args.seed, Path(tmp))
    print(f"unseen CRM: {crm.counts['contact']:,} contacts, {crm.counts['account']:,} accounts, "
          f"{crm.counts['opportunity']:,} deals; mapped by init to {', '.join(config['entities'])}")
    print(f"cleancrm init {seconds['init']:.1f} s, cleancrm run {seconds['run']:.1f} s")
    with pd.option_context("display.width", 160, "display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()
