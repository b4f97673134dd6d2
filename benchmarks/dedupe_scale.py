"""Scale benchmark: deduplicate N synthetic contacts, report stage times and peak memory.

Usage::

    python benchmarks/dedupe_scale.py --contacts 1000000 [--names 3000] [--repeat 3] [--splink]
    python benchmarks/dedupe_scale.py --contacts 300000 --names 3000 --code /tmp/dedupe-before

Data are generated once and cached under ``bench-data/`` (git-ignored), so generation is
never timed. ``--names N`` draws the people from only N distinct first/last-name pairs (a
B2C customer base whose names repeat heavily); without it names are drawn independently.
Each run happens in a fresh child process; its peak RSS is read from
``getrusage(RUSAGE_CHILDREN)`` in the parent and includes loading the parquet file (the
records must be in memory to be deduplicated). Wall time is measured around
``find_duplicates`` only. ``--code DIR`` makes the child import ``checks`` from another
checkout (e.g. a ``git worktree`` of an older commit) so before/after figures come from the
same data and the same report. ``--splink`` also times Splink (DuckDB) on the same file.

Printed per run: seconds per stage, candidate pairs per key (as each key produced them,
before pairs found by several keys are merged), the merged candidate pairs and their ratio
to the records, blocking recall (share of the injected true pairs that were ever compared)
and the cluster metrics against the injected truth.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _dedupe_data import evaluate, synthetic_contacts  # noqa: E402


def cached_data(n: int, data_dir: Path, names: int | None = None) -> tuple[Path, Path]:
    """Generate (once) and cache the synthetic contacts and their true clusters."""
    data_dir.mkdir(parents=True, exist_ok=True)
    stem = f"contacts_{n}" + (f"_names{names}" if names else "")
    records, truth_path = data_dir / f"{stem}.parquet", data_dir / f"{stem}_truth.json"
    if not records.exists() or not truth_path.exists():
        t = time.perf_counter()
        frame, truth = synthetic_contacts(n, names=names)
        frame.to_parquet(records, index=False)
        truth_path.write_text(json.dumps([sorted(c) for c in truth]))
        print(f"generated {len(frame):,} contacts in {time.perf_counter() - t:.1f}s -> {records}")
    return records, truth_path


def true_pair_codes(keys: np.ndarray, truth: list[list[str]]) -> np.ndarray:
    """Sorted ``a * n + b`` codes of the true pairs, in record positions."""
    pos = pd.Series(np.arange(len(keys)), index=keys)
    codes = []
    n = len(keys)
    for cluster in truth:
        idx = np.sort(pos.loc[cluster].to_numpy())
        for i in range(len(idx)):
            codes.extend((idx[i] * n + idx[i + 1 :]).tolist())
    return np.unique(np.asarray(codes, dtype=np.int64))


def child(records_path: Path, truth_path: Path, workers: int) -> None:
    """Run one dedupe and print its figures as JSON (executed in a child process)."""
    from checks.dedupe import DedupeSettings, find_duplicates

    frame = pd.read_parquet(records_path)
    settings = DedupeSettings(return_candidates=True, workers=workers)
    t = time.perf_counter()
    result = find_duplicates(frame, "contact", settings)
    wall = time.perf_counter() - t
    keys = frame["key"].to_numpy(object)
    truth = json.loads(truth_path.read_text())
    a, b = result.candidates
    cand = np.sort(a.astype(np.int64) * len(keys) + b)
    true_codes = true_pair_codes(keys, truth)
    found = np.isin(true_codes, cand, assume_unique=True).mean() if len(true_codes) else 1.0
    clusters = [set(s) for _, s in result.members.groupby("cluster_id")["key"]]
    stats = result.stats
    print(json.dumps({"wall": wall, "records": len(keys), "timings": stats["timings"],
                      "candidate_pairs": stats["candidate_pairs"], "exact_pairs": stats.get("exact_pairs", 0),
                      "blocking_recall": float(found), "true_pairs": len(true_codes), "clusters": len(result.clusters),
                      "oversized_blocks": stats.get("oversized_blocks", 0), "pairs_by_key": stats["pairs_by_key"],
                      "capped_blocks": stats.get("capped_blocks", 0), "metrics": evaluate(clusters, truth),
                      "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024}))


def splink_child(records_path: Path) -> None:
    """Time Splink (DuckDB) on the same records (executed in a child process)."""
    from dedupe_accuracy import run_splink

    frame = pd.read_parquet(records_path)
    t = time.perf_counter()
    clusters = run_splink(frame, crm=True, thresholds=(0.999,))[0.999]
    print(json.dumps({"wall": time.perf_counter() - t, "clusters": len(clusters)}))


def run_child(args: list[str], code: Path | None = None) -> tuple[dict, float]:
    """Run this script as a child; return its JSON output and its peak RSS in GB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if code is not None:
        args = [*args, "--code", str(code.resolve())]
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak_kb < before:
        peak_kb = before
    return json.loads(out.stdout.strip().splitlines()[-1]), peak_kb / 1024 / 1024


def report(run: int, out: dict) -> None:
    """Print one run's stage times, pairs per key, pairs per record, memory and recall."""
    n = out["records"]
    print(f"run {run + 1}: {n:,} records  wall {out['wall']:.1f}s  peak RSS {out['peak_rss_gb']:.2f} GB")
    print("  stage seconds:", "  ".join(f"{k} {v:.2f}" for k, v in out["timings"].items()))
    by_key = out["pairs_by_key"]
    produced = out["exact_pairs"] + sum(by_key.values())
    print(f"  pairs per key (before merging; /record): exact {out['exact_pairs']:,}")
    for name, count in sorted(by_key.items(), key=lambda kv: -kv[1]):
        print(f"    {name:22s} {count:>13,} {count / n:8.2f}")
    print(f"  pairs produced {produced:,} ({produced / n:.2f}/record)  candidate pairs compared "
          f"{out['candidate_pairs']:,} ({out['candidate_pairs'] / n:.2f}/record)  oversized blocks "
          f"{out['oversized_blocks']:,}  capped blocks {out['capped_blocks']:,}")
    print(f"  blocking recall {out['blocking_recall']:.4f} of {out['true_pairs']:,} injected true pairs  "
          f"clusters {out['clusters']:,}")
    print("  accuracy vs synthetic truth:", "  ".join(f"{k} {v:.4f}" for k, v in out["metrics"].items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--names", type=int, default=None, help="distinct first/last-name pairs (heavy repetition)")
    parser.add_argument("--code", type=Path, default=None, help="checkout whose checks package to benchmark")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workers", type=int, default=-1)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench-data")
    parser.add_argument("--splink", action="store_true", help="also time Splink on the same data")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--splink-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.code:
            # The other checkout goes first so its ``checks`` package shadows this one.
            sys.path.insert(0, str(args.code))
        child(Path(args.child[0]), Path(args.child[1]), args.workers)
        return
    if args.splink_child:
        splink_child(Path(args.splink_child))
        return
    records, truth = cached_data(args.contacts, args.data_dir, args.names)
    label = f"{args.contacts:,} contacts" + (f" over {args.names:,} name pairs" if args.names else "")
    code = f" (code from {args.code})" if args.code else ""
    walls, peaks = [], []
    for run in range(args.repeat):
        out, _ = run_child(["--child", str(records), str(truth), "--workers", str(args.workers)], args.code)
        walls.append(out["wall"])
        peaks.append(out["peak_rss_gb"])
        report(run, out)
    print(f"cleancrm dedupe{code}, {label}: median wall {statistics.median(walls):.1f}s, "
          f"peak RSS {max(peaks):.2f} GB over {args.repeat} run(s)")
    if args.splink:
        out, peak = run_child(["--splink-child", str(records)])
        print(f"splink (duckdb), {args.contacts:,} contacts: wall {out['wall']:.1f}s, peak RSS {peak:.2f} GB "
              "(max over all children, so at least ours)")


if __name__ == "__main__":
    main()
