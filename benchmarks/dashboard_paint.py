"""First meaningful paint of every dashboard page in a fresh chromium tab, the server's memory, a 50k-row XLSX.

Usage::

    python benchmarks/dashboard_paint.py [--repeat 3] [--contacts 100000] [--runs 365] [--skip-large]

Two histories: the demo (`cleancrm demo`, built once into ``bench-data/paint-demo``) and a synthetic
year of daily runs over a 100k-contact CRM (the one ``benchmarks/dashboard_render.py`` builds). For
each, the dashboard is started (``cleancrm dashboard``) and warmed once per page; then every page
is opened ``--repeat`` times, each in a new browser context (a fresh tab: no cache, no session),
alternating pages. First meaningful paint is the time from navigation until the page's title (h1)
and what the page is for are drawn (the headline metrics, the chart, the table of records); "done"
is when the script run is over and the charts are drawn. The server's memory (PSS of its process
and children, as `benchmarks/scan.py` reads it) is read after the last page. Prints the medians per
page and the largest, against the
targets (paint ≤ 1.5 s, server ≤ 400 MB); then times a 50k-row worklist as XLSX (target ≤ 2 s).
Streamlit 1.67, Debian's chromium; the machine is shared, so read the medians.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.scan import tree_pss_mb  # noqa: E402 - after the checkout is importable

# What a person came to the page for: its first meaningful element (the headline numbers, the chart,
# the table of records, the choices of a package).
MEANINGFUL = {"": "[data-testid=stMetric]", "trends": "[data-testid=stPlotlyChart] .main-svg",
              "impact": "[data-testid=stMetric]", "profile": "[data-testid=stDataFrame] canvas",
              "records": "[data-testid=stDataFrame] canvas", "duplicates": "[data-testid=stDataFrame] canvas",
              "worklists": "[data-testid=stMetric]", "fix": "[data-testid=stButton]",
              "runs": "[data-testid=stMetric]", "incidents": "[data-testid=stMetric], [data-testid=stAlertContainer]"}
PAGES = list(MEANINGFUL)
PAINT_TARGET, MEMORY_TARGET_MB, XLSX_TARGET = 1.5, 400, 2.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_config(data_dir: Path) -> Path:
    folder = data_dir / "paint-demo"
    if not (folder / "cleancrm.yml").exists():
        subprocess.run([sys.executable, "-m", "checks.app.cli", "demo", "--out", str(folder)], check=True,
                       cwd=ROOT, stdout=subprocess.DEVNULL)
    return folder / "cleancrm.yml"


def large_config(data_dir: Path, runs: int, contacts: int) -> Path:
    from benchmarks.dashboard_render import build

    return build(data_dir, runs, contacts, rebuild=False)


def start(config: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "checks.app.cli", "dashboard", "--config", str(config),
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2):
                return proc, base
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"the dashboard on {config} did not start")


def open_once(browser, base: str, path: str) -> tuple[float, float]:
    """(first meaningful paint, done) in seconds for one page in a fresh context."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        t0 = time.perf_counter()
        page.goto(f"{base}/{path}", wait_until="commit")
        page.locator("h1").first.wait_for(state="visible", timeout=60_000)
        page.locator(MEANINGFUL[path]).first.wait_for(state="visible", timeout=60_000)
        paint = time.perf_counter() - t0
        page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')"
                               " && !document.querySelector('[data-testid=stSkeleton]')", timeout=60_000)
        charts = page.locator("[data-testid=stPlotlyChart]")
        for i in range(charts.count()):
            charts.nth(i).locator(".main-svg").first.wait_for(state="visible", timeout=60_000)
        return paint, time.perf_counter() - t0
    finally:
        context.close()


def measure(name: str, config: Path, repeat: int) -> dict:
    from playwright.sync_api import sync_playwright

    proc, base = start(config)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium")
            for path in PAGES:  # warm-up: imports, caches, the server's first script runs
                open_once(browser, base, path)
            times: dict[str, list[tuple[float, float]]] = {p: [] for p in PAGES}
            for _ in range(repeat):
                for path in PAGES:
                    times[path].append(open_once(browser, base, path))
            browser.close()
        memory = tree_pss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    print(f"\n{name} ({config}) — median of {repeat}, each page in a fresh tab")
    print(f"{'page':<12} {'first paint':>12} {'done':>8}")
    paints = {}
    for path in PAGES:
        paint = statistics.median(t[0] for t in times[path])
        done = statistics.median(t[1] for t in times[path])
        paints[path or "overview"] = paint
        print(f"{path or 'overview':<12} {paint:>10.2f} s {done:>6.2f} s")
    worst = max(paints, key=paints.get)
    print(f"slowest first paint: {worst} {paints[worst]:.2f} s (target ≤ {PAINT_TARGET} s) · server memory "
          f"{memory:.0f} MB (target ≤ {MEMORY_TARGET_MB} MB)")
    return {"paints": paints, "memory_mb": memory}


def xlsx_time(rows: int = 50_000, repeat: int = 3) -> float:
    import pandas as pd

    from checks.app.export import WORKLIST_COLUMNS, export_bytes

    frame = pd.DataFrame({c: [f"{c}-{i}" for i in range(rows)] for c in WORKLIST_COLUMNS})
    frame["record_score"] = [i % 100 for i in range(rows)]
    export_bytes(frame.head(100), "xlsx")
    spent = []
    for _ in range(repeat):
        t = time.perf_counter()
        data = export_bytes(frame, "xlsx")
        spent.append(time.perf_counter() - t)
    median = statistics.median(spent)
    print(f"\nXLSX worklist of {rows:,} rows: median {median:.2f} s, {len(data) / 1e6:.1f} MB "
          f"(target ≤ {XLSX_TARGET} s)")
    return median


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=365)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench-data")
    parser.add_argument("--skip-large", action="store_true", help="the demo only")
    args = parser.parse_args(argv)
    os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    measure("demo", demo_config(args.data_dir), args.repeat)
    if not args.skip_large:
        measure(f"{args.contacts:,} contacts, {args.runs} daily runs", large_config(args.data_dir, args.runs,
                                                                                   args.contacts), args.repeat)
    xlsx_time()


if __name__ == "__main__":
    main()
