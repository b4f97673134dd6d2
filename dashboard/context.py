"""Which config the dashboard shows, and the selected run: shared by the entry script and the pages."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from checks.config import Config, load_config
from dashboard import queries
from dashboard.access import Person
from dashboard.logic import run_label

ENV_VAR = "CLEANCRM_CONFIG"
STATE_KEY = "cleancrm_config"
RUN_KEY = "cleancrm_run"


def config_path_from(argv: list[str], environ: dict[str, str] | os._Environ) -> str:
    """The config to show: `--config F` after `streamlit run … --`, else $CLEANCRM_CONFIG, else ./cleancrm.yml."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--config")
    known, _ = parser.parse_known_args(argv)
    return known.config or environ.get(ENV_VAR) or "cleancrm.yml"


@st.cache_resource(show_spinner=False)
def _load(path: str, mtime: float) -> Config:
    return load_config(path)


def load(path: str) -> Config:
    """The config at `path`, re-read when the file changes."""
    p = Path(path)
    return _load(str(p.resolve()), p.stat().st_mtime if p.exists() else 0.0)


@dataclass
class Ctx:
    """What every page needs: the config, the history, and who is using the dashboard."""

    cfg: Config
    config_path: str
    url: str
    completed: pd.DataFrame
    person: Person | None = None

    @property
    def source(self) -> str:
        """The source name runs are stored under."""
        return self.cfg.name

    @property
    def run_id(self) -> int | None:
        """The run picked in the sidebar (by default the newest completed run of all checks)."""
        if self.completed.empty:
            return None
        chosen = st.session_state.get(RUN_KEY)
        ids = set(self.completed.id)
        if chosen in ids:
            return int(chosen)
        # A run limited with --only scores a few checks: it would make the overview look empty.
        full = self.completed[self.completed["only"].isna()] if "only" in self.completed else self.completed
        return int((full if not full.empty else self.completed).id.iat[-1])

    def run_row(self, run_id: int | None = None) -> pd.Series | None:
        """The completed-runs row of a run."""
        rid = self.run_id if run_id is None else run_id
        rows = self.completed[self.completed.id == rid]
        return None if rows.empty else rows.iloc[0]

    def label(self, run_id: int) -> str:
        """`#12 · 2025-11-23 06:00 UTC`."""
        row = self.run_row(run_id)
        return f"#{run_id}" if row is None else run_label(run_id, row.as_of)


def get() -> Ctx:
    """The context stored by the entry script for this rerun."""
    return st.session_state["_cleancrm_ctx"]


def no_runs_message(ctx: Ctx) -> None:
    """Explain that there is nothing to show yet, and how to get a first run."""
    st.info(
        f"**No completed run yet for source `{ctx.source}`.**\n\n"
        f"Run the checks once, then come back:\n\n"
        f"```\ncleancrm run --config {ctx.config_path}\n```\n\n"
        "or press **Run now** on the *Runs* page. To explore with sample data, `cleancrm demo --out demo` "
        "creates a demo CRM with twelve weeks of history.",
        icon="ℹ️")


def require_run(ctx: Ctx) -> int:
    """The selected run id, or stop the page with the no-runs explanation."""
    if ctx.run_id is None:
        no_runs_message(ctx)
        st.stop()
    return ctx.run_id


def build(path: str) -> Ctx:
    """Load the config and the list of runs; errors are shown in words and stop the page."""
    from connectors.errors import CleanCRMError

    try:
        cfg = load(path)
    except CleanCRMError as exc:
        st.error(f"**The configuration cannot be loaded.**\n\n```\n{exc}\n```\n\n"
                 "Start the dashboard with `cleancrm dashboard --config FILE` pointing at a valid `cleancrm.yml`.")
        st.stop()
    url = cfg.history_url()
    try:
        completed = queries.completed_runs(url, cfg.name)
    except Exception as exc:  # any driver error: say which store and why, and stop
        st.error(f"**The history store cannot be read** (`{_redact(url)}`).\n\n{exc}\n\n"
                 "Check `history.url` in the config and that the database answers.")
        st.stop()
    return Ctx(cfg, path, url, completed)


def _redact(url: str) -> str:
    from connectors.source import redact

    return redact(url)
