"""Compare cleancrm with its peers on the same checks of one PostgreSQL CRM.

    python benchmarks/peers/run.py --contacts 1000000 --repeat 3
    python benchmarks/peers/run.py --contacts 50000 --repeat 1 --tools cleancrm,soda3,soda4,gx,sql \
        --url postgresql://postgres@127.0.0.1/cleancrm_peers --json bench-data/peers/results.json

Builds (once per N) a Salesforce-shaped CRM in the database of `--url` (created if missing; see
build.py), then runs the checks of spec.py (row count, two missing, two validity, two
allowed-values, exact email duplicates, freshness, a foreign key) with cleancrm, Soda Core v3, Soda
v4, Great Expectations 1.x (each from PyPI in its own venv under bench-data/peers/venvs/, telemetry
off) and a hand-written SQL floor. Each measurement is a fresh process; one warm-up round, then
`--repeat` rounds, the tool order rotated every round.

Prints one table per tool: version, median / min / max wall time of the whole process, peak RSS of
its largest process, peak PSS of its process tree, and the SQL statements PostgreSQL logged for it
(all, and the data queries among them); then a table of every metric as each tool reported it,
marked `=` when it equals the SQL floor's number, `~` when it equals the floor's number under the
tool's own definition (named in the notes: NULL-only missing, rows-in-group duplicates, …), `!` when
it does not, and n/a for a check the tool lacks; then how each tool counts. `--json FILE` writes all
of it, with every run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import build  # noqa: E402
import measure  # noqa: E402
import spec  # noqa: E402
from runners import Ctx  # noqa: E402
from runners import cleancrm as r_cleancrm  # noqa: E402
from runners import gx as r_gx  # noqa: E402
from runners import soda3 as r_soda3  # noqa: E402
from runners import soda4 as r_soda4  # noqa: E402
from runners import sql as r_sql  # noqa: E402

RUNNERS = {r.name: r for r in (r_cleancrm, r_soda3, r_soda4, r_gx, r_sql)}
WORK = ROOT / "bench-data" / "peers"
NEWEST_TOLERANCE_S = 2  # Soda v4 reports freshness in hours: now minus that is the newest row ± rounding


def _admin_url(url: str) -> str:
    u = urlsplit(url)
    return urlunsplit((u.scheme, u.netloc, "/postgres", u.query, u.fragment))


def agrees(metric: str, value, ref: dict, tool_basis: str | None) -> str:
    """'=' same as the floor under the spec, '~' same under the tool's own basis, '!' different."""
    if tool_basis is None:
        return "n/a"
    if value is None:
        return "!"
    expected = ref.get(tool_basis)
    if metric == "newest_modified":
        try:
            delta = abs((datetime.fromisoformat(str(value)) - datetime.fromisoformat(str(expected))).total_seconds())
        except ValueError:
            return "!"
        same = delta <= NEWEST_TOLERANCE_S
    else:
        same = value == expected
    if not same:
        return "!"
    return "=" if tool_basis == spec.SPEC_BASIS[metric] or expected == ref[spec.SPEC_BASIS[metric]] else "~"


def measure_tool(runner, ctx: Ctx, log: measure.StatementLog) -> dict:
    """One fresh-process measurement of a tool, with its parsed metrics."""
    job = runner.prepare(ctx)
    m = measure.run(job.argv, job.full_env(), job.cwd, log)
    entry = {"wall_s": round(m.wall_s, 3), "returncode": m.returncode, "max_rss_mb": round(m.max_rss_mb, 1),
             "tree_pss_mb": round(m.tree_pss_mb, 1), "statements": m.statements, "queries": m.queries}
    try:
        entry["metrics"] = runner.parse(ctx, m.stdout)
    except (ValueError, KeyError, json.JSONDecodeError) as exc:
        entry["metrics"] = {}
        entry["error"] = f"{exc}; stderr: {m.stderr[-1500:]}"
    if m.returncode not in (0, 1):  # cleancrm and Soda exit 1 when checks fail, which they should here
        entry["error"] = entry.get("error") or f"exit {m.returncode}; stderr: {m.stderr[-1500:]}"
    return entry


def summarise(name: str, runs: list[dict]) -> dict:
    """Median, min, max wall; peaks; statements of a tool's measured runs."""
    walls = [r["wall_s"] for r in runs]
    return {"median_s": statistics.median(walls), "min_s": min(walls), "max_s": max(walls),
            "max_rss_mb": max(r["max_rss_mb"] for r in runs), "tree_pss_mb": max(r["tree_pss_mb"] for r in runs),
            "statements": runs[-1]["statements"], "queries": runs[-1]["queries"], "metrics": runs[-1]["metrics"],
            "errors": sorted({r["error"] for r in runs if r.get("error")})}


def _cell(value) -> str:
    return "-" if value is None else str(value)


def print_report(tools: list[str], versions: dict, summary: dict, ref: dict, meta: dict, repeat: int) -> None:
    """The two tables and the notes."""
    print(f"\n{meta['contacts']:,} contacts ({ref['rows']['live']:,} live), {meta['accounts']:,} accounts; "
          f"1 warm-up + {repeat} runs per tool, alternated\n")
    head = f"{'tool':<10} {'version':<26} {'median s':>9} {'min s':>8} {'max s':>8} {'peak RSS MB':>12} " \
           f"{'tree PSS MB':>12} {'SQL stmts':>10} {'queries':>8}"
    print(head)
    print("-" * len(head))
    for t in tools:
        s = summary[t]
        print(f"{t:<10} {versions[t][:26]:<26} {s['median_s']:>9.2f} {s['min_s']:>8.2f} {s['max_s']:>8.2f} "
              f"{s['max_rss_mb']:>12.0f} {s['tree_pss_mb']:>12.0f} {_cell(s['statements']):>10} "
              f"{_cell(s['queries']):>8}")
    print("\nper metric (= agrees with the SQL floor; ~ agrees with the floor under the tool's own definition, "
          "see notes; ! differs)")
    head = f"{'metric':<18} {'floor':>20} " + " ".join(f"{t:>22}" for t in tools if t != "sql")
    print(head)
    print("-" * len(head))
    floor = summary.get("sql", {}).get("metrics", {})
    for metric, _label, spec_basis in spec.METRICS:
        row = f"{metric:<18} {_cell(floor.get(metric, ref[metric][spec_basis])):>20} "
        cells = []
        for t in tools:
            if t == "sql":
                continue
            b = RUNNERS[t].basis.get(metric)
            v = summary[t]["metrics"].get(metric)
            mark = agrees(metric, v, ref[metric], b)
            cells.append(f"{'n/a' if b is None else _cell(v) + ' ' + mark:>22}")
        print(row + " ".join(cells))
    if "sql" in tools:
        bad = [m for m in spec.METRIC_IDS if agrees(m, floor.get(m), ref[m], spec.SPEC_BASIS[m]) != "="]
        print(f"\nSQL floor vs the reference queries: {'all equal' if not bad else 'DIFFERENT: ' + ', '.join(bad)}")
    print("\nwhat each metric means per tool (basis):")
    for metric, _label, spec_basis in spec.METRICS:
        parts = [f"{t}={RUNNERS[t].basis.get(metric) or 'n/a'}" for t in tools if t != "sql"]
        print(f"  {metric:<18} spec={spec_basis}; " + ", ".join(parts))
    print("  bases: " + "; ".join(f"{k}: {v}" for k, v in spec.BASES.items()))
    print("  floor values of the other bases: " + "; ".join(
        f"{m}[{b}]={v}" for m in spec.METRIC_IDS for b, v in ref[m].items() if b != spec.SPEC_BASIS[m]))
    print("\nhow each tool counts:")
    for t in tools:
        print(f"  {t}: {RUNNERS[t].notes}")
    print("\nSQL statements: lines PostgreSQL logged for this database while the process ran "
          "(log_statement = 'all' set on the database for the benchmark); 'queries' = those starting "
          "SELECT/WITH/FETCH/DECLARE. Peak RSS: ru_maxrss of the largest process (wait4); tree PSS: "
          "sum of PSS over the process tree, sampled every 50 ms.")
    for t in tools:
        for e in summary[t]["errors"]:
            print(f"  ERROR {t}: {e}")
        extra = summary[t]["metrics"].get("_errors")
        if extra:
            print(f"  {t} reported errors: {extra}")
        for note in getattr(RUNNERS[t], "extra_notes", lambda m, r: [])(summary[t]["metrics"], ref):
            print(f"  {t}: {note}")
        other = summary[t]["metrics"].get("_other_entities")
        if other:
            print(f"  {t} also ran on other entities: {', '.join(other)}")


def main(argv: list[str] | None = None) -> int:  # noqa: D103
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--contacts", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tools", default="cleancrm,soda3,soda4,gx,sql")
    ap.add_argument("--url", default="postgresql://postgres@127.0.0.1/cleancrm_peers")
    ap.add_argument("--json", type=Path, help="write the results (every run) to this file")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the CRM even if N and the schema match")
    args = ap.parse_args(argv)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = [t for t in tools if t not in RUNNERS]
    if unknown:
        ap.error(f"unknown tools {unknown}; choose from {', '.join(RUNNERS)}")

    dbname = urlsplit(args.url).path.lstrip("/")
    build.ensure_database(_admin_url(args.url), dbname)
    meta = build.build(args.url, args.contacts, force=args.rebuild, log=lambda s: print(s, file=sys.stderr))
    iso = spec.iso_countries(WORK / "iso_countries.json", ROOT / ".venv" / "bin" / "python")
    ctx = Ctx(url=args.url, work=WORK, root=ROOT, iso=iso, anchor=str(meta["anchor"]))
    versions = {t: RUNNERS[t].version(ctx) for t in tools}  # also creates missing venvs, untimed
    ref = spec.reference(args.url, iso)

    log = measure.StatementLog(_admin_url(args.url), dbname)
    if not log.path:
        print("warning: server log not readable; SQL statements are not counted", file=sys.stderr)
    for t in tools:  # once per benchmark, not timed (cleancrm: a fresh history store)
        getattr(RUNNERS[t], "setup", lambda c: None)(ctx)
    runs: dict[str, list[dict]] = {t: [] for t in tools}
    log.enable()
    try:
        for rnd in range(args.repeat + 1):  # round 0 is the warm-up
            order = tools[rnd % len(tools):] + tools[:rnd % len(tools)]
            for t in order:
                entry = measure_tool(RUNNERS[t], ctx, log)
                what = "warm-up" if rnd == 0 else f"run {rnd}"
                print(f"{what:>8} {t:<9} {entry['wall_s']:8.2f} s {entry['max_rss_mb']:7.0f} MB "
                      f"{_cell(entry['statements']):>6} stmts{'  ERROR' if entry.get('error') else ''}",
                      file=sys.stderr)
                if rnd:
                    runs[t].append(entry)
    finally:
        log.disable()

    summary = {t: summarise(t, runs[t]) for t in tools}
    print_report(tools, versions, summary, ref, meta, args.repeat)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "contacts": args.contacts, "accounts": meta["accounts"], "anchor": str(meta["anchor"]),
            "repeat": args.repeat, "versions": versions, "reference": ref, "summary": summary, "runs": runs,
            "basis": {t: RUNNERS[t].basis for t in tools}, "notes": {t: RUNNERS[t].notes for t in tools},
            "spec": {"email_re": spec.EMAIL_RE, "phone_re": spec.PHONE_RE, "lead_sources": spec.LEAD_SOURCES,
                     "stale_days": spec.STALE_DAYS, "metrics": spec.METRICS},
        }, indent=1, default=str))
        print(f"\nwrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
