"""A demo CRM with a synthetic history of twelve weekly runs (one annotated clean-up), for dashboard tests."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from checks.config import Config, load_config
from connectors.history import HistoryStore
from tests.support.synthetic_history import demo_with_history


@dataclass
class DemoHistory:
    config_path: Path
    cfg: Config
    store: HistoryStore
    run_ids: list[int]
    pristine: Path  # a copy of the demo folder made before any test wrote decisions or audit entries


@pytest.fixture(scope="session")
def demo_history(tmp_path_factory) -> DemoHistory:
    path, store, ids = demo_with_history(tmp_path_factory.mktemp("demo"))
    pristine = tmp_path_factory.mktemp("demo-pristine")
    for name in ("crm.db", "cleancrm-history.db", "cleancrm.yml"):
        shutil.copy(path.parent / name, pristine / name)
    return DemoHistory(path, load_config(path), store, ids, pristine)


@pytest.fixture()
def empty_config(tmp_path, demo_history) -> Path:
    """A valid config on (a copy of) the demo CRM whose history store has no run yet."""
    shutil.copy(demo_history.config_path.parent / "crm.db", tmp_path / "crm.db")
    path = tmp_path / "cleancrm.yml"
    path.write_text(demo_history.config_path.read_text())
    return path


@pytest.fixture(autouse=True)
def _fresh_caches():
    import streamlit as st

    st.cache_data.clear()
    yield


@dataclass
class RealRun:
    folder: Path
    cfg: Config
    store: HistoryStore
    run: int


@pytest.fixture(scope="session")
def demo_real_run(demo_history, tmp_path_factory) -> RealRun:
    """A copy of the demo whose newest run is a real one: it counted the records and read the CRM's users.

    The synthetic history has neither; tests that read it (and do not write) share this one run.
    """
    from checks.engine import run_checks

    folder = tmp_path_factory.mktemp("demo-real-run")
    for name in ("crm.db", "cleancrm-history.db", "cleancrm.yml"):
        shutil.copy(demo_history.pristine / name, folder / name)
    cfg = load_config(folder / "cleancrm.yml")
    return RealRun(folder, cfg, HistoryStore(cfg.history_url()), run_checks(cfg).run_id)
