"""Precision and recall of each check on the demo CRM's ground truth, and soft-deleted hits.

    python benchmarks/ground_truth.py [--contacts 5000] [--seed 42]

Generates the demo CRM into a temporary folder, measures it with the run engine, and prints one
row per defect kind (and per exact-duplicate key) with the check that targets it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    """Generate, measure, evaluate, print."""
    import pandas as pd

    from checks.config import load_config
    from checks.demo import generate_demo
    from checks.demo.evaluate import evaluate, soft_deleted_hits
    from checks.engine import measure, open_checked_source, plan

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--contacts", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    as_of = datetime(2026, 11, 23)
    with tempfile.TemporaryDirectory() as tmp:
        demo = generate_demo(tmp, contacts=args.contacts, seed=args.seed, as_of=as_of)
        cfg = load_config(demo.config_path)
        source = open_checked_source(cfg)
        start = time.perf_counter()
        result = measure(cfg, source, plan(cfg), as_of)
        seconds = time.perf_counter() - start
        truth = json.loads(Path(demo.ground_truth_path).read_text())
        table = evaluate(result.findings, truth)
        hits = soft_deleted_hits(result.findings, truth)
        source.close()
    pd.set_option("display.width", 160)
    print(f"demo CRM: {args.contacts:,} contacts, seed {args.seed}; measured in {seconds:.1f} s")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"min precision {table.precision.min():.4f}, min recall {table.recall.min():.4f}, "
          f"findings on soft-deleted rows: {hits}")


if __name__ == "__main__":
    main()
