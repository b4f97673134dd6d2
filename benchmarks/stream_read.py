"""Streaming read benchmark: rows/s, wall time and peak RSS of `Source.stream` vs `pd.read_sql`.

    python benchmarks/stream_read.py --rows 1000000                       # SQLite (bench-data/)
    python benchmarks/stream_read.py --rows 1000000 --url postgresql+psycopg://postgres@127.0.0.1/bench

The contacts table is generated once and cached: a SQLite file under `bench-data/`; with `--url`,
table `bench_contacts` in that database (reloaded from the SQLite file when its row count differs).
Each read runs in a child process, which reports its own peak RSS (`ru_maxrss`), so the figures are
those of the reading process only: the streamed read of the columns the checks need, in chunks,
then for contrast `pd.read_sql` of the whole table. The parent imports nothing heavy and prepares
the data in a child too: Linux carries a parent's peak RSS over into its children's ru_maxrss.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT / "bench-data"
TABLE = "bench_contacts"
COLUMNS = ["id", "first_name", "last_name", "email", "phone", "country"]  # what the checks read
FIRST = ["Anna", "Ben", "Chloé", "David", "Emma", "François", "Greta", "Hugo", "Ines", "Jürgen", "Kai", "Lena"]
LAST = ["Schmidt", "Smith", "Müller", "Dubois", "García", "Rossi", "Jansen", "Nowak", "O'Brien", "Svensson"]
COUNTRIES = ["US", "GB", "DE", "FR", "NL", "ES", "IT", "SE", "PL", "IE"]


def batch_frame(start: int, n: int, rng):
    """`n` synthetic contacts with ids from `start` (12 columns, about 250 bytes a row)."""
    import numpy as np
    import pandas as pd

    ids = np.arange(start, start + n)
    first = np.array(FIRST)[rng.integers(0, len(FIRST), n)]
    last = np.array(LAST)[rng.integers(0, len(LAST), n)]
    email = np.char.add(np.char.add(np.char.lower(first.astype(str)), ids.astype(str)), "@example.com")
    created = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3_000, n), unit="D")
    return pd.DataFrame({
        "id": ids, "first_name": first, "last_name": last, "email": email,
        "phone": [f"+1555{x:07d}" for x in rng.integers(0, 10_000_000, n)],
        "mobile": [f"+1666{x:07d}" for x in rng.integers(0, 10_000_000, n)],
        "street": [f"{x} Main Street" for x in rng.integers(1, 999, n)], "city": "Springfield",
        "postal_code": [f"{x:05d}" for x in rng.integers(0, 99_999, n)],
        "country": np.array(COUNTRIES)[rng.integers(0, len(COUNTRIES), n)],
        "created_at": created, "modified_at": created + pd.Timedelta(days=30),
    })


def table_rows(engine) -> int | None:
    """Rows in the benchmark table, or None if it is missing."""
    import sqlalchemy as sa

    if not sa.inspect(engine).has_table(TABLE):
        return None
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT COUNT(*) FROM {TABLE}")).scalar()


def load(engine, batches, batch: int) -> None:
    """Create the table and insert the batches."""
    import sqlalchemy as sa

    from checks.demo.export import infer_type

    metadata = sa.MetaData()
    first = None
    with engine.begin() as conn:
        for frame in batches:
            if first is None:
                first = sa.Table(TABLE, metadata, *[
                    sa.Column(c, infer_type(frame[c]), primary_key=c == "id", autoincrement=False) for c in frame.columns])
                metadata.drop_all(conn)
                metadata.create_all(conn)
            records = frame.astype(object).where(frame.notna(), None)
            for c in ("created_at", "modified_at"):
                records[c] = [v.to_pydatetime() for v in records[c]]
            for row in range(0, len(records), batch):
                conn.execute(first.insert(), records.iloc[row:row + batch].to_dict("records"))


def ensure_data(rows: int, url: str | None) -> str:
    """The cached SQLite file (created once) and, with --url, the table in that database; the URL to read."""
    import numpy as np
    import pandas as pd
    import sqlalchemy as sa

    DATA.mkdir(exist_ok=True)
    sqlite_path = DATA / f"contacts_{rows}.db"
    sqlite_engine = sa.create_engine(f"sqlite:///{sqlite_path}")
    if table_rows(sqlite_engine) != rows:
        print(f"generating {rows:,} contacts into {sqlite_path} (once) …", flush=True)
        rng = np.random.default_rng(7)
        step = 100_000
        load(sqlite_engine, (batch_frame(s, min(step, rows - s + 1), rng) for s in range(1, rows + 1, step)),
             10_000)
    if url is None:
        sqlite_engine.dispose()
        return f"sqlite:///{sqlite_path}"
    target = sa.create_engine(url)
    if table_rows(target) != rows:
        print(f"loading {rows:,} contacts into {target.url.render_as_string(hide_password=True)} …", flush=True)
        start = time.perf_counter()
        with sqlite_engine.connect() as conn:
            chunks = pd.read_sql(sa.text(f"SELECT * FROM {TABLE}"), conn, chunksize=100_000,
                                 parse_dates=["created_at", "modified_at"])
            load(target, chunks, 5_000)
        print(f"  loaded in {time.perf_counter() - start:.0f} s", flush=True)
    target.dispose()
    sqlite_engine.dispose()
    return url


def child(mode: str, url: str, chunk_size: int) -> None:
    """Run one read in this (child) process and print its figures as JSON."""
    import pandas as pd
    import sqlalchemy as sa

    from connectors.source import open_source

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    rows = 0
    if mode == "stream":
        source = open_source(url)
        sql = f"SELECT {', '.join(source.quote(c) for c in COLUMNS)} FROM {source.quote(TABLE)}"
        emails = 0
        for chunk in source.stream(sql, chunk_size=chunk_size):
            rows += len(chunk)
            emails += int(chunk["email"].notna().sum())  # touch the data, as a check would
        source.close()
    else:
        engine = sa.create_engine(url)
        frame = pd.read_sql(sa.text(f"SELECT * FROM {TABLE}"), engine)
        rows = len(frame)
        engine.dispose()
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"mode": mode, "rows": rows, "wall_s": wall, "peak_rss_mb": peak / 1024,
                      "baseline_rss_mb": base / 1024}))


def run_child(mode: str, url: str, chunk_size: int, rows: int = 0) -> dict:
    """One step in a fresh process; its JSON figures (its own output passes through)."""
    cmd = [sys.executable, __file__, "--child", mode, "--chunk-size", str(chunk_size), "--rows", str(rows)]
    out = subprocess.run(cmd + (["--url", url] if url else []), check=True, stdout=subprocess.PIPE, text=True)
    lines = out.stdout.strip().splitlines()
    print("\n".join(lines[:-1]), flush=True) if len(lines) > 1 else None
    return json.loads(lines[-1])


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, prepare the data once, run both reads in child processes and print a table."""
    parser = argparse.ArgumentParser(description="Streaming read benchmark")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--url", help="PostgreSQL/MariaDB URL to load the table into and read from (default SQLite)")
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--no-whole", action="store_true", help="skip the whole-table pd.read_sql contrast")
    parser.add_argument("--child", choices=["prepare", "stream", "whole"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "prepare":
        print(json.dumps({"url": ensure_data(args.rows, args.url)}))
        return
    if args.child:
        child(args.child, args.url, args.chunk_size)
        return
    url = run_child("prepare", args.url, args.chunk_size, args.rows)["url"]
    shown = re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)
    print(f"source: {shown}  rows: {args.rows:,}  chunk_size: {args.chunk_size:,}")
    modes = ["stream"] + ([] if args.no_whole else ["whole"])
    print(f"{'read':<34}{'rows':>11}{'wall s':>9}{'rows/s':>12}{'peak RSS MB':>13}{'(baseline)':>12}")
    for mode in modes:
        r = run_child(mode, url, args.chunk_size)
        label = f"Source.stream {len(COLUMNS)} cols" if mode == "stream" else "pd.read_sql SELECT * (whole)"
        print(f"{label:<34}{r['rows']:>11,}{r['wall_s']:>9.1f}{r['rows'] / r['wall_s']:>12,.0f}"
              f"{r['peak_rss_mb']:>13.0f}{r['baseline_rss_mb']:>12.0f}")


if __name__ == "__main__":
    main()
