"""A history for the demo CRM: weekly runs over dated snapshots, with decay and one clean-up.

Each injected defect gets a date it appeared (most before the window, the rest spread across it,
so quality decays week by week). Five weeks before the as-of date a clean-up fixed formatting
problems (phones not in E.164, country spellings, name casing) on records that are clean today:
snapshots before that date show those records as they were. Every snapshot is a real SQLite CRM
and every run goes through the same engine as `cleancrm run`.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from checks.demo.defects import COUNTRY_VARIANTS, Injector, reformat_phone

CLEANUP_NAME = "Phone & country clean-up"


def _introduced(inj: Injector, start: datetime, end: datetime) -> dict[tuple[str, int, str], datetime]:
    """When each injected (entity, key, kind) appeared."""
    rng = np.random.default_rng(1234)
    out = {}
    span = (end - start).total_seconds()
    for ch in inj.changes:
        k = (ch.entity, ch.key, ch.kind)
        if k not in out:
            early = rng.random() < 0.65
            out[k] = start - timedelta(days=30) if early else start + timedelta(seconds=float(rng.random() * span))
    return out


def _cleanup_changes(inj: Injector, share: float = 0.15) -> list[tuple[int, str, object]]:
    """Values clean records had before the clean-up: (row position, column, old bad value)."""
    rng = np.random.default_rng(99)
    c = inj.tables["contact"]
    free = np.setdiff1d(np.flatnonzero((c.deleted == 0).to_numpy()), list(inj.used["contact"]))
    free = free[c.id.to_numpy()[free] <= inj.original_max["contact"]]
    rows = rng.choice(free, size=min(len(free), int(len(c) * share)), replace=False)
    out = []
    for i, r in enumerate(rows):
        kind = i % 3
        if kind == 0 and isinstance(c.phone.iat[r], str):
            out.append((r, "phone", reformat_phone(inj, c.phone.iat[r])))
        elif kind == 1:
            variants = COUNTRY_VARIANTS[c.country.iat[r]]
            out.append((r, "country", variants[i % len(variants)]))
        else:
            out.append((r, "last_name", str(c.last_name.iat[r]).upper()))
    return out


def snapshot(inj: Injector, when: datetime, introduced: dict, cleanup_at: datetime,
             cleanup: list[tuple[int, str, object]]) -> dict[str, pd.DataFrame]:
    """The CRM's tables as they were at `when`."""
    ts = pd.Timestamp(when)
    tables = {e: t.copy() for e, t in inj.tables.items()}
    for ch in reversed(inj.changes):  # undo defects that had not appeared yet
        if introduced[(ch.entity, ch.key, ch.kind)] > when:
            t = tables[ch.entity]
            row = t.index[t.id == ch.key]
            t.loc[row, ch.column] = ch.clean
    if when < cleanup_at:
        c = tables["contact"]
        for r, column, bad in cleanup:
            c.iat[r, c.columns.get_loc(column)] = bad
    for entity, t in tables.items():
        created = pd.to_datetime(t.created_at)
        t = t.loc[(created <= ts) | (created > pd.Timestamp(inj.as_of))]  # future-dated rows are defects: keep
        created = created.loc[t.index]
        late = pd.to_datetime(t.modified_at) > ts
        # Touched again after `when`: on `when` its last touch was recent, not stale.
        span = np.minimum((ts - created[late]).to_numpy(), np.timedelta64(5, "D")).astype("timedelta64[s]")
        spread = np.random.default_rng(int(ts.timestamp())).random(int(late.sum()))  # no false bulk update
        t.loc[late, "modified_at"] = ts - pd.to_timedelta((span.astype(np.int64) * spread).astype(np.int64), unit="s")
        tables[entity] = t
    return tables


def backfill_history(inj: Injector, config_path: Path, weeks: int = 12, progress=None) -> list[int]:
    """Run the checks on `weeks` weekly snapshots ending at the as-of date; returns the run ids."""
    from checks.config import load_config
    from checks.demo import write_database
    from checks.engine import run_checks
    from connectors.history import HistoryStore

    as_of = inj.as_of
    dates = [as_of - timedelta(weeks=w) for w in range(weeks - 1, 0, -1)]
    start = dates[0]
    cleanup_at = as_of - timedelta(weeks=5) + timedelta(days=2)
    introduced = _introduced(inj, start, as_of)
    cleanup = _cleanup_changes(inj)
    cfg = load_config(config_path)
    store = HistoryStore(cfg.history_url())
    run_ids = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, when in enumerate(dates):
            db = Path(tmp) / f"snapshot-{i}.db"
            write_database(db, snapshot(inj, when, introduced, cleanup_at, cleanup))
            snap_cfg = cfg.model_copy(deep=True)
            snap_cfg.source.url = f"sqlite:///{db}"
            snap_cfg.base_dir = cfg.base_dir
            outcome = run_checks(snap_cfg, now=when, trigger="backfill", history=store)
            run_ids.append(outcome.run_id)
            if progress:
                progress(i + 1, weeks)
    store.annotations.add(cfg.name, CLEANUP_NAME, cleanup_at, "consistency",
                          "Phones converted to E.164, countries to ISO codes, names to proper case.")
    outcome = run_checks(cfg, now=as_of, trigger="backfill", history=store)
    run_ids.append(outcome.run_id)
    if progress:
        progress(weeks, weeks)
    store.close()
    return run_ids
