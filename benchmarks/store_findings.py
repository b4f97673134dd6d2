"""Storing a run's findings: 1M findings into a fresh history store, on SQLite and on PostgreSQL.

    python benchmarks/store_findings.py [--findings 1000000] [--repeat 3] [--pg postgresql+psycopg://postgres@127.0.0.1/cleancrm_store_bench]

Each measurement writes one completed run (check results, 1M findings and their record scores) with
`HistoryStore.runs.complete`, the path every run takes, into a history store created for it, and
times the call. The previous way, SQLAlchemy's executemany of one dict per row, runs beside it as
the reference, alternated after a warm-up; `--reference-every 0` leaves it out. Prints the median
seconds per store and path, findings per second and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.history import schema  # noqa: E402
from connectors.history.findings import FindingFilter  # noqa: E402
from connectors.history.store import HistoryStore  # noqa: E402

CHECKS = [("accuracy.email_syntax", "email", "Email", "invalid email syntax: missing @"),
          ("accuracy.phone_valid", "phone", "Phone", "not a valid number for US: too many digits"),
          ("completeness.required", "last_name", "LastName", "required field is missing"),
          ("consistency.country_iso", "country", "MailingCountry", "not an ISO 3166 code: 'Deutschland'"),
          ("duplication.exact_email", "email", "Email", "same email as 003000000012345AAA")]


def findings_frame(count: int, seed: int = 1) -> pd.DataFrame:
    """`count` findings shaped like a large run's: five checks, 18-character keys, short texts."""
    rng = np.random.default_rng(seed)
    which = rng.integers(0, len(CHECKS), count)
    keys = np.char.add("003", np.char.zfill(rng.integers(0, 10 * count, count).astype(str), 12))
    check_id, field, column, reason = (np.array([c[i] for c in CHECKS], dtype=object)[which] for i in range(4))
    value = np.char.add("someone", rng.integers(0, 10**6, count).astype(str)).astype(object)
    suggestion = np.where(rng.random(count) < 0.5, None, "someone@example.com")
    owner = np.char.add("005", np.char.zfill(rng.integers(0, 300, count).astype(str), 12)).astype(object)
    return pd.DataFrame({"check_id": check_id, "entity": "contact", "record_key": np.char.add(keys, "AAA"),
                         "field": field, "column_name": column, "value": value, "reason": reason,
                         "suggestion": suggestion, "severity": "high", "owner": owner})


def run_result(findings: pd.DataFrame) -> SimpleNamespace:
    """What `Runs.complete` stores: check results, scores, findings and record scores."""
    checks = findings.groupby(["check_id", "entity"], as_index=False).size().rename(columns={"size": "failed"})
    check_results = checks.assign(dimension=checks.check_id.str.split(".").str[0], fields="x", severity="high",
                                  weight=1.0, applicable=10**7, score=99.0, metrics="{}")
    records = findings.groupby(["entity", "record_key"], as_index=False).agg(failed_checks=("check_id", "nunique"),
                                                                           owner=("owner", "first"))
    record_scores = records.assign(score=100.0 - 10.0 * records.failed_checks)
    scores = pd.DataFrame({"scope": ["overall"], "entity": [None], "dimension": [None], "field": [None],
                           "score": [99.0]})
    return SimpleNamespace(check_results=check_results, scores=scores, findings=findings,
                           record_scores=record_scores, overall=99.0, clusters=None, cluster_members=None)


def reference_complete(store: HistoryStore, run_id: int, result: SimpleNamespace) -> None:
    """The previous way: SQLAlchemy executemany of one dict per row, 20,000 rows a statement."""
    with store.engine.begin() as conn:
        for table, frame in ((schema.check_results, result.check_results), (schema.scores, result.scores),
                             (schema.findings, result.findings), (schema.record_scores, result.record_scores)):
            frame = frame.assign(run_id=run_id)
            rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
            cols = {c.name for c in table.columns}
            for i in range(0, len(rows), 20_000):
                conn.execute(table.insert(), [{k: v for k, v in r.items() if k in cols} for r in rows[i:i + 20_000]])
        conn.execute(schema.runs.update().where(schema.runs.c.id == run_id).values(status="completed"))


def fresh_store(kind: str, folder: Path, pg_url: str | None, n: int) -> HistoryStore:
    """An empty history store: a new SQLite file, or the PostgreSQL database dropped and created again."""
    if kind == "sqlite":
        return HistoryStore(f"sqlite:///{folder / f'history-{n}.db'}")
    url = sa.engine.make_url(pg_url)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
    admin.dispose()
    return HistoryStore(pg_url)


def measure(kind: str, path: str, folder: Path, pg_url: str | None, result: SimpleNamespace, n: int) -> float:
    """Seconds to store one run's results by `path` (`bulk` or `reference`) into a fresh store."""
    store = fresh_store(kind, folder, pg_url, n)
    run_id = store.runs.start("bench", as_of=pd.Timestamp("2026-11-23").to_pydatetime())
    start = time.perf_counter()
    if path == "bulk":
        store.runs.complete(run_id, result)
    else:
        reference_complete(store, run_id, result)
    seconds = time.perf_counter() - start
    stored = store.findings.count(run_id, FindingFilter())
    assert stored == len(result.findings), f"{kind}/{path}: stored {stored} of {len(result.findings)} findings"
    store.engine.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--findings", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1/cleancrm_store_bench",
                        help="PostgreSQL database to (re)create for the measurement; '' skips PostgreSQL")
    parser.add_argument("--reference-every", type=int, default=1,
                        help="measure the previous row-insert way in every Nth round (0: never)")
    args = parser.parse_args()
    result = run_result(findings_frame(args.findings))
    print(f"{len(result.findings):,} findings, {len(result.record_scores):,} record scores per run")
    kinds = ["sqlite"] + (["postgresql"] if args.pg else [])
    paths = ["bulk"] + (["reference"] if args.reference_every else [])
    times: dict[tuple[str, str], list[float]] = {(k, p): [] for k in kinds for p in paths}
    n = 0
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(args.repeat + 1):  # round 0 is the warm-up
            for kind in kinds:
                order = paths if round_no % 2 == 0 else paths[::-1]
                for path in order:
                    if path == "reference" and round_no % args.reference_every:
                        continue
                    n += 1
                    seconds = measure(kind, path, Path(tmp), args.pg or None, result, n)
                    if round_no:
                        times[(kind, path)].append(seconds)
                    print(f"  round {round_no} {kind:10s} {path:9s} {seconds:6.2f} s", file=sys.stderr)
    print(f"{'store':10s} {'path':9s} {'median s':>9s} {'runs':>22s} {'findings/s':>11s}")
    for (kind, path), values in times.items():
        if values:
            median = statistics.median(values)
            runs = ", ".join(f"{v:.2f}" for v in values)
            print(f"{kind:10s} {path:9s} {median:9.2f} {runs:>22s} {len(result.findings) / median:11,.0f}")
    for kind in kinds:
        if times.get((kind, "reference")):
            ratio = statistics.median(times[(kind, "reference")]) / statistics.median(times[(kind, "bulk")])
            print(f"{kind}: bulk is {ratio:.1f}× faster than row inserts")


if __name__ == "__main__":
    main()
