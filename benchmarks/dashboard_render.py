"""Overview render time on one year of daily runs (365) over a 100k-contact CRM.

Usage::

    python benchmarks/dashboard_render.py [--runs 365] [--contacts 100000] [--repeat 5] [--rebuild]

The history is synthesised once into ``bench-data/`` (git-ignored): check results and scores for
every run, findings and record scores for the newest run at full scale. Then the overview page is
rendered with Streamlit's AppTest ``--repeat`` times with cold caches (``st.cache_data`` cleared
before each render, as after a TTL expiry), and ``--repeat`` times warm; the page's query and chart
functions are also timed on their own. Prints the medians. The target is <= 2 s cold.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")  # no "No runtime found" lines on every cached call

CONFIG = """\
name: bench
source:
  url: sqlite:///bench-crm-unused.db
history:
  url: sqlite:///{history}
entities:
  contact: {{table: contacts, key: id, fields: {{email: email, phone: phone, country: country, modified_at: modified_at}}}}
  account: {{table: accounts, key: id, fields: {{name: name, country: country, modified_at: modified_at}}}}
  lead: {{table: leads, key: id, fields: {{email: email, modified_at: modified_at}}}}
  opportunity: {{table: opportunities, key: id, fields: {{name: name, close_date: close_date, modified_at: modified_at}}}}
schedule:
  - {{name: nightly, cron: "0 6 * * *", timezone: UTC}}
"""


def build(data_dir: Path, runs: int, contacts: int, rebuild: bool) -> Path:
    """Synthesise the history (once) and write a config pointing at it; the config's path."""
    from datetime import timedelta

    import pandas as pd

    from connectors.history import HistoryStore
    from tests.support.synthetic_history import SyntheticSpec, synthesize_history

    data_dir.mkdir(parents=True, exist_ok=True)
    db = data_dir / f"dashboard_history_{runs}x{contacts}.db"
    config = data_dir / f"dashboard_{runs}x{contacts}.yml"
    config.write_text(CONFIG.format(history=db.resolve()))
    if db.exists() and not rebuild:
        return config
    db.unlink(missing_ok=True)
    t = time.perf_counter()
    sizes = {"contact": contacts, "account": contacts // 10, "lead": contacts // 5, "opportunity": contacts // 12}
    keys = {e: [str(i) for i in range(1, n + 1)] for e, n in sizes.items()}
    owners = {e: pd.Series([f"user{int(k) % 40 + 1:02d}" for k in ks], index=ks) for e, ks in keys.items()}
    spec = SyntheticSpec(source_name="bench", keys=keys, runs=runs, every=timedelta(days=1), cleanup_run=runs - 60,
                         findings_runs=1, owners=owners, clusters=50, failed_run=True)
    store = HistoryStore(f"sqlite:///{db}")
    synthesize_history(store, spec)
    store.close()
    print(f"built {db.name} in {time.perf_counter() - t:.1f} s ({db.stat().st_size / 1e6:.0f} MB)")
    return config


def time_functions(config: Path) -> float:
    """The overview's reads and figures, called directly with cold caches; seconds."""
    import streamlit as st

    from checks.config import load_config
    from dashboard import charts, logic, queries

    st.cache_data.clear()
    cfg = load_config(config)
    url, source = cfg.history_url(), cfg.name
    t = time.perf_counter()
    completed = queries.completed_runs(url, source)
    run_id = int(completed.id.iat[-1])
    prev, month = logic.previous_run(completed, run_id), logic.run_days_before(completed, run_id, 30)
    scores = queries.run_scores(url, tuple(i for i in (run_id, prev, month) if i))
    logic.headline(scores, run_id, prev, month)
    logic.entity_table(scores, run_id, prev, month)
    series = queries.score_series(url, source, "dimension")
    charts.trend_chart(logic.downsample(series.rename(columns={"dimension": "series", "score": "value"})),
                       queries.annotations(url, source)).to_json()
    queries.affected_records(url, run_id)
    logic.worst_checks(queries.check_results(url, (run_id,)))
    logic.worst_fields(scores, run_id)
    logic.next_scheduled(cfg.schedule, queries.heartbeat(url, source))
    return time.perf_counter() - t


def time_apptest(config: Path, cold: bool) -> float:
    """One full render of the overview page through AppTest; seconds."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from dashboard.launch import APP

    if cold:
        st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=120)
    t = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - t
    if at.exception:
        raise SystemExit(f"the overview raised: {at.exception[0].message}")
    if len(at.metric) < 6:
        raise SystemExit("the overview did not render its scores")
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=365)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true", help="synthesise the history again")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench-data")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    config = build(args.data_dir, args.runs, args.contacts, args.rebuild)
    os.environ["CLEANCRM_CONFIG"] = str(config)
    time_apptest(config, cold=True)  # warm-up: imports, migrations check, first connection
    funcs = [time_functions(config) for _ in range(args.repeat)]
    cold = [time_apptest(config, cold=True) for _ in range(args.repeat)]
    warm = [time_apptest(config, cold=False) for _ in range(args.repeat)]
    print(f"history: {args.runs} runs, {args.contacts:,} contacts, findings of the newest run at full scale")
    print(f"overview queries + charts (cold cache): median {statistics.median(funcs):.3f} s")
    print(f"overview page render, AppTest, cold cache: median {statistics.median(cold):.3f} s "
          f"(min {min(cold):.3f}, max {max(cold):.3f}, n={len(cold)})")
    print(f"overview page render, AppTest, warm cache: median {statistics.median(warm):.3f} s")
    print("target: <= 2 s cold —", "met" if statistics.median(cold) <= 2 else "NOT met")


if __name__ == "__main__":
    main()
