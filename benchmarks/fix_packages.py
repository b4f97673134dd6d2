"""What a fix package and a merge package cost, and how much of the demo's findings they fix.

    python benchmarks/fix_packages.py [--contacts 5000] [--seed 42] [--repeat 3]

Builds the demo CRM (SQLite), runs the checks once, then makes the fix package (csv) and the merge
package (salesforce) `--repeat` times each, alternating, and prints the median wall time of each
command and, per check, the records found and the share whose fix goes into the apply file at the
default confidence threshold. Each command is a fresh `cleancrm` process, as a steward runs it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def cleancrm(*args) -> float:
    """Run one cleancrm command; its wall time in seconds."""
    start = time.perf_counter()
    proc = subprocess.run([str(Path(sys.executable).with_name("cleancrm")), *map(str, args)], capture_output=True,
                          text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"cleancrm {' '.join(map(str, args))} failed: {proc.stderr.strip()}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cleancrm("demo", "--out", folder, "--contacts", args.contacts, "--seed", args.seed, "--no-history")
        config = folder / "cleancrm.yml"
        run_s = cleancrm("run", "--config", config)
        times: dict[str, list[float]] = {"fixes": [], "merges": []}
        for i in range(args.repeat + 1):  # the first round warms the file cache and is not counted
            fixes = cleancrm("fixes", "--config", config, "--out", folder / f"fixes{i}", "--format", "csv")
            merges = cleancrm("merges", "--config", config, "--out", folder / f"merges{i}", "--format", "salesforce")
            if i:
                times["fixes"].append(fixes)
                times["merges"].append(merges)
        manifest = json.loads((folder / "fixes0" / "manifest.json").read_text())
        merged = json.loads((folder / "merges0" / "manifest.json").read_text())
    print(f"demo: {args.contacts} contacts, seed {args.seed}; run {run_s:.2f} s")
    for name, values in times.items():
        print(f"cleancrm {name}: median {statistics.median(values):.2f} s over {len(values)} runs "
              f"(min {min(values):.2f}, max {max(values):.2f})")
    print(f"\n{'check on entity':<50} {'records':>8} {'apply':>6} {'review':>7} {'share':>6}")
    total = applied = 0
    for name, counts in sorted(manifest["checks"].items()):
        total += counts["records"]
        applied += counts["apply"]
        print(f"{name:<50} {counts['records']:>8} {counts['apply']:>6} {counts['review']:>7} "
              f"{counts['applicable share']:>6.0%}")
    print(f"{'all checks':<50} {total:>8} {applied:>6} {'':>7} {applied / max(total, 1):>6.0%}")
    for entity, info in merged["entities"].items():
        print(f"merges, {entity}: {info['clusters']} clusters, {info['records_merged']} records in "
              f"{info['merge_calls']} calls, {info['masters_updated']} masters updated first")


if __name__ == "__main__":
    main()
