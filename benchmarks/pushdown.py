"""The push-down engine against the row engine: the same checks, the same findings, the time of each.

    python benchmarks/pushdown.py --config bench-data/peers/cleancrm/cleancrm.yml --repeat 3

Runs the checks that state a settled-pass predicate (`--only`, default: required fields, email
syntax, ISO countries) with `source.pushdown: never` (every record read and judged in Python)
and `always` (the database settles the plain values, Python judges the rest), alternated after a
warm-up, each in this process against a fresh history store; prints the median wall time of each,
their ratio, and whether the check results and findings are identical.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from checks.config import load_config  # noqa: E402
from checks.engine.run import run_checks  # noqa: E402
from connectors.history import HistoryStore  # noqa: E402

COLUMNS = ["check_id", "entity", "record_key", "field", "column_name", "value", "reason", "suggestion", "owner"]
SETTLED = "completeness.required,accuracy.email_syntax,consistency.country_iso"


def one_run(config: str, mode: str, only: str, folder: Path, n: int):
    cfg = load_config(config)
    cfg.source.pushdown = mode
    store = HistoryStore(f"sqlite:///{folder / f'{mode}-{n}.db'}")
    start = time.perf_counter()
    result = run_checks(cfg, now=datetime(2026, 12, 1), only=only, history=store, lock=False).result
    return time.perf_counter() - start, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--only", default=SETTLED)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    times: dict[str, list[float]] = {"never": [], "always": []}
    last = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in range(args.repeat + 1):
            for mode in (("never", "always") if n % 2 == 0 else ("always", "never")):
                seconds, result = one_run(args.config, mode, args.only, folder, n)
                if n:  # round 0 warms the caches of both
                    times[mode].append(seconds)
                last[mode] = result
                print(f"round {n} {mode:6} {seconds:7.2f} s", flush=True)
    rows, pushed = last["never"], last["always"]
    keys = ["check_id", "entity", "applicable", "failed"]
    same_results = rows.check_results[keys].sort_values(keys).reset_index(drop=True).equals(
        pushed.check_results[keys].sort_values(keys).reset_index(drop=True))
    a = rows.findings[COLUMNS].astype(str).sort_values(COLUMNS).reset_index(drop=True)
    b = pushed.findings[COLUMNS].astype(str).sort_values(COLUMNS).reset_index(drop=True)
    med = {m: statistics.median(v) for m, v in times.items()}
    print(f"\nchecks: {args.only}; rows read: {rows.rows_read}")
    print(f"row engine (never)   median {med['never']:7.2f} s  runs {', '.join(f'{t:.2f}' for t in times['never'])}")
    print(f"push-down (always)   median {med['always']:7.2f} s  runs {', '.join(f'{t:.2f}' for t in times['always'])}")
    print(f"ratio push-down / row engine: {med['always'] / med['never']:.2f}")
    print(f"check results identical: {same_results}; findings identical: {a.equals(b)} ({len(a):,} findings)")


if __name__ == "__main__":
    main()
