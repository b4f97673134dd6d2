"""Compare what two versions of cleancrm find on the same demo CRM, row by row.

    python benchmarks/behaviour_diff.py snapshot --out /tmp/before [--python PYTHON] [--code CHECKOUT]
    python benchmarks/behaviour_diff.py compare /tmp/before /tmp/after

`snapshot` builds the demo CRM (fixed seed and date), runs every check once with the given Python
and the package tree of a checkout (this one by default) and keeps the history database.
`compare` reads two snapshots' history databases and prints, per table (check results, scores,
findings, record scores, duplicate clusters and their members), the rows only one side has,
grouped by check: the list a refactoring's closing note gives. It exits 1 when they differ.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import sqlalchemy as sa

AS_OF = "2026-11-30"
RUN_AT = "2026-11-30T12:00"
# Columns that identify a row of each history table (ids, timestamps and run ids left out).
TABLES = {
    "check_results": ["check_id", "entity", "dimension", "fields", "severity", "weight", "applicable", "failed",
                      "score"],
    "scores": ["scope", "entity", "dimension", "field", "score"],
    "findings": ["check_id", "entity", "record_key", "field", "column_name", "value", "reason", "suggestion",
                 "severity", "owner"],
    "record_scores": ["entity", "record_key", "failed_checks", "score"],
    "duplicate_clusters": ["entity", "cluster_id", "tier", "score", "size", "survivor_key", "merge_plan"],
    "cluster_members": ["entity", "cluster_id", "record_key", "is_survivor", "match_score"],
}
GROUP_BY = {"findings": "check_id", "check_results": "check_id", "scores": "scope",
            "record_scores": "entity", "duplicate_clusters": "entity", "cluster_members": "entity"}


def _cli(code: Path) -> str:
    """Python that runs the `cleancrm` console script of the checkout in `code`, whatever is installed."""
    entry = tomllib.loads((code / "pyproject.toml").read_text())["project"]["scripts"]["cleancrm"]
    module, _, attr = entry.partition(":")
    # An editable install's finder would import the installed tree: drop it, put `code` first.
    return (f"import sys; sys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in "
            f"getattr(f, '__module__', '')]; sys.path.insert(0, {str(code)!r}); sys.argv[0] = 'cleancrm'; "
            f"import {module}; {module}.{attr}()")


def snapshot(out: Path, python: str, code: Path, contacts: int) -> None:
    """Build the demo CRM and run every check on it with `python` and the packages of `code`."""
    demo = out / "demo"
    cli = [python, "-c", _cli(code.resolve())]
    subprocess.run([*cli, "demo", "--out", str(demo), "--contacts", str(contacts), "--as-of", AS_OF,
                    "--no-history"], check=True, cwd=out)
    subprocess.run([*cli, "run", "--config", str(demo / "cleancrm.yml"), "--now", RUN_AT, "--json"],
                   check=True, cwd=out, stdout=subprocess.DEVNULL)


def _table(db: Path, name: str) -> pd.DataFrame:
    """A history table's rows; findings and record scores also from their Parquet segments (revision 0004)."""
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        frame = pd.read_sql(sa.text(f"SELECT * FROM {name}"), conn)
        if name in ("findings", "record_scores") and sa.inspect(conn).has_table("result_segments"):
            blobs = conn.execute(sa.text("SELECT data FROM result_segments WHERE kind = :k ORDER BY run_id, part"),
                                 {"k": name}).scalars().all()
            parts = [pq.read_table(io.BytesIO(blob)).to_pandas() for blob in blobs]
            frame = pd.concat([frame, *parts], ignore_index=True) if parts else frame
    engine.dispose()
    cols = [c for c in TABLES[name] if c in frame.columns]
    frame = frame[cols].astype(object).where(frame[cols].notna(), None)
    for col in cols:  # floats compared to 9 places: stored scores are the same numbers, not the same text
        if pd.api.types.is_float_dtype(pd.Series([v for v in frame[col] if v is not None], dtype=object).infer_objects()):
            frame[col] = [None if v is None else round(float(v), 9) for v in frame[col]]
    return frame.map(lambda v: None if v is None else str(v))


def compare(before: Path, after: Path, sample: int = 3) -> int:
    """Print the rows only one side has, per table and group; the number of differing rows."""
    total = 0
    for name in TABLES:
        a = _table(before / "demo" / "cleancrm-history.db", name)
        b = _table(after / "demo" / "cleancrm-history.db", name)
        keys = list(a.columns)
        merged = a.fillna("∅").merge(b.fillna("∅"), on=keys, how="outer", indicator=True)
        only = merged[merged._merge != "both"]
        print(f"{name}: {len(a)} rows before, {len(b)} after, {len(only)} differ")
        total += len(only)
        group = GROUP_BY[name]
        for value, rows in only.groupby(group, sort=True):
            gone, new = (rows._merge == "left_only").sum(), (rows._merge == "right_only").sum()
            print(f"  {group}={value}: {gone} only before, {new} only after")
            for _, row in rows.head(sample).iterrows():
                side = "before" if row._merge == "left_only" else "after "
                shown = {k: row[k] for k in keys if k not in (group,) and row[k] != "∅"}
                print(f"    {side} {shown}")
    print(f"total rows that differ: {total}")
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot", help="build the demo and run every check")
    snap.add_argument("--out", type=Path, required=True)
    snap.add_argument("--python", default=sys.executable)
    snap.add_argument("--code", type=Path, default=Path(__file__).resolve().parents[1],
                      help="checkout whose packages to run (default: this one)")
    snap.add_argument("--contacts", type=int, default=5000)
    cmp = sub.add_parser("compare", help="compare two snapshots")
    cmp.add_argument("before", type=Path)
    cmp.add_argument("after", type=Path)
    cmp.add_argument("--sample", type=int, default=3)
    args = parser.parse_args(argv)
    if args.command == "snapshot":
        args.out.mkdir(parents=True, exist_ok=True)
        snapshot(args.out.resolve(), args.python, args.code, args.contacts)
        return 0
    return 1 if compare(args.before, args.after, args.sample) else 0


if __name__ == "__main__":
    raise SystemExit(main())
