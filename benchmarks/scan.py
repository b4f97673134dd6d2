"""Full scan benchmark: every check except fuzzy duplicates on a demo CRM of N contacts.

    python benchmarks/scan.py --contacts 1000000                     # SQLite
    python benchmarks/scan.py --contacts 1000000 --url postgresql+psycopg://postgres@127.0.0.1/cleancrm_bench

The demo CRM is generated once and cached under `bench-data/scan-<N>/` (generation is not timed);
with `--url` it is copied into that database (COPY), once. Each measurement runs in a child
process that reports its wall time, rows/s, seconds per dimension (CPU seconds of the checks,
summed over the worker processes), CPU time of the main process and of the workers, the peak RSS
of the main process and of the largest worker, and the peak of the whole process tree's memory:
the sum of PSS (proportional set size, so pages the forked workers share with the main process
count once), sampled every 0.2 s from /proc. Prints medians over `--repeat` runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT / "bench-data"
AS_OF = datetime(2026, 11, 23)


def ensure_demo(contacts: int) -> Path:
    """The cached demo CRM folder for `contacts`."""
    folder = DATA / f"scan-{contacts}"
    if not (folder / "crm.db").exists():
        from checks.demo import generate_demo

        start = time.perf_counter()
        generate_demo(folder, contacts=contacts, seed=42, as_of=AS_OF)
        print(f"generated {contacts:,} contacts in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return folder


def ensure_server_copy(folder: Path, url: str) -> None:
    """Copy the demo tables into the server at `url` unless the contact count already matches."""
    import pandas as pd
    import sqlalchemy as sa

    from checks.demo.schema import create_schema, metadata

    src = sa.create_engine(f"sqlite:///{folder / 'crm.db'}")
    dst = sa.create_engine(url)
    with src.connect() as s:
        want = s.exec_driver_sql("SELECT COUNT(*) FROM contacts").scalar()
    try:
        with dst.connect() as d:
            have = d.exec_driver_sql("SELECT COUNT(*) FROM contacts").scalar()
    except sa.exc.SQLAlchemyError:
        have = None
    if have == want:
        return
    start = time.perf_counter()
    create_schema(dst)
    raw = dst.raw_connection()
    try:
        cur = raw.cursor()
        for table in metadata.sorted_tables:
            cols = [c.name for c in table.columns]
            with src.connect() as s:
                ints = [c.name for c in table.columns if isinstance(c.type, sa.Integer)]
                for chunk in pd.read_sql(f"SELECT {', '.join(cols)} FROM {table.name}", s, chunksize=100_000):
                    chunk = chunk.astype({c: "Int64" for c in ints})  # NULLs had made them floats
                    chunk = chunk.astype(object).where(chunk.notna(), None)
                    with cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
                        for row in chunk.itertuples(index=False, name=None):
                            copy.write_row(row)
        raw.commit()
    finally:
        raw.close()
    print(f"copied into the server in {time.perf_counter() - start:.1f} s", file=sys.stderr)


def tree_pss_mb(pid: int) -> float:
    """PSS of a process and all its descendants, in MB (Linux /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total / 1024


class TreeMemory:
    """Samples the process tree's total PSS in a thread; `peak_mb` is the largest sum seen."""

    def __init__(self, interval: float = 0.2):
        import os
        import threading

        self.peak_mb, self._stop = 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, args=(os.getpid(), interval), daemon=True)

    def _run(self, pid: int, interval: float) -> None:
        while not self._stop.wait(interval):
            self.peak_mb = max(self.peak_mb, tree_pss_mb(pid))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def child(folder: Path, url: str | None) -> None:
    """One measurement; prints a JSON line."""
    import resource

    from checks.config import load_config
    from checks.engine import measure, open_checked_source, plan

    cfg = load_config(folder / "cleancrm.yml")
    if url:
        cfg.source.url = url
    checks = [p for p in plan(cfg) if not p.check.id.startswith("duplication.fuzzy")]
    source = open_checked_source(cfg)
    start, cpu = time.perf_counter(), time.process_time()
    with TreeMemory() as memory:
        result = measure(cfg, source, checks, AS_OF)
    wall, main_cpu = time.perf_counter() - start, time.process_time() - cpu
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    rows = sum(result.rows_read.values())
    print(json.dumps({
        "wall_s": wall, "rows": rows, "rows_read": result.rows_read, "findings": len(result.findings),
        "per_dimension_s": result.seconds_by_dimension,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "workers_peak_rss_mb": workers.ru_maxrss / 1024,
        "tree_peak_pss_mb": memory.peak_mb,
        "main_cpu_s": main_cpu, "workers_cpu_s": workers.ru_utime + workers.ru_stime,
    }))


def main() -> None:
    """Parse arguments, prepare data, run the children and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--contacts", type=int, default=100_000)
    ap.add_argument("--url", help="PostgreSQL or MariaDB URL to copy the demo into and scan there")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(Path(args.child), args.url)
        return
    folder = ensure_demo(args.contacts)
    if args.url:
        ensure_server_copy(folder, args.url)
    runs = []
    for _ in range(args.repeat):
        cmd = [sys.executable, __file__, "--child", str(folder)] + (["--url", args.url] if args.url else [])
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        runs.append(json.loads(out))
    wall = statistics.median(r["wall_s"] for r in runs)
    last = runs[-1]
    where = args.url.split("://")[0] if args.url else "sqlite"
    print(f"scan of {args.contacts:,} contacts on {where}: {len(runs)} run(s)")
    each = ", ".join(f"{r['wall_s']:.1f}" for r in runs)
    print(f"  wall (median)      {wall:.1f} s   (runs: {each})")
    print(f"  rows read          {last['rows']:,}  {last['rows'] / wall:,.0f} rows/s  {last['rows_read']}")
    print(f"  findings           {last['findings']:,}")
    print(f"  peak memory        {max(r['tree_peak_pss_mb'] for r in runs):,.0f} MB all processes (PSS sum); "
          f"RSS {max(r['peak_rss_mb'] for r in runs):,.0f} MB main, "
          f"{max(r['workers_peak_rss_mb'] for r in runs):,.0f} MB largest worker")
    print(f"  CPU                {statistics.median(r['main_cpu_s'] for r in runs):.1f} s main, "
          f"{statistics.median(r['workers_cpu_s'] for r in runs):.1f} s workers (medians)")
    print("  seconds per dimension: " + ", ".join(f"{k} {v:.1f}" for k, v in last["per_dimension_s"].items()))


if __name__ == "__main__":
    main()
