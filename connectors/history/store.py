"""The history store: every run, its check results, scores and findings by record key.

`HistoryStore` opens the database (and migrates it) and is made of parts, one per concern, each
reading and writing its own tables on the shared engine:

- `runs`: a run from `running` to `completed` or `failed`, written all or nothing;
- `results`: check results and scores of runs, and their series over runs;
- `findings`: the failing records of a run, filtered, paged, compared between runs;
- `clusters`: duplicate clusters and their members;
- `decisions`: stewards' decisions on clusters;
- `locks`: one run at a time per source;
- `heartbeats`: the schedulers' beats;
- `alert_state`: which alert rules fire, claimed before a message goes out;
- `annotations`: interventions to mark on trend charts;
- `audit`: who exported, decided, ran or signed in, when, on how many records.

Nothing else touches the history tables.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import SQLAlchemyError

from connectors.errors import HistoryError
from connectors.history.alert_state import AlertState
from connectors.history.annotations import Annotations
from connectors.history.audit import Audit
from connectors.history.clusters import Clusters
from connectors.history.decisions import Decisions
from connectors.history.findings import Findings
from connectors.history.heartbeats import Heartbeats
from connectors.history.locks import Locks
from connectors.history.part import short_error
from connectors.history.results import Results
from connectors.history.runs import Runs

MIGRATIONS = Path(__file__).with_name("migrations")


class HistoryStore:
    """Reads and writes the history store, through one part per concern.

    Args:
        url: SQLAlchemy URL of the history database; a SQLite file's folder is created.
        upgrade: Migrate the schema to the newest revision on open.

    Attributes:
        url: The URL it was opened with.
        engine: The SQLAlchemy engine every part shares.
        runs: Runs (`Runs`).
        results: Check results and scores (`Results`).
        findings: Findings (`Findings`).
        clusters: Duplicate clusters (`Clusters`).
        decisions: Steward decisions on clusters (`Decisions`).
        locks: The per-source run lock (`Locks`).
        heartbeats: Scheduler heartbeats (`Heartbeats`).
        alert_state: Alert rule state (`AlertState`).
        annotations: Interventions (`Annotations`).

    Raises:
        HistoryError: The database cannot be opened or migrated.
    """

    def __init__(self, url: str, upgrade: bool = True):
        self.url = url
        try:
            if url.startswith("sqlite:///"):
                Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
            self.engine = sa.create_engine(url, pool_pre_ping=True)
            if self.engine.dialect.name == "sqlite":
                sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            if upgrade:
                self.upgrade()
        except SQLAlchemyError as exc:
            raise HistoryError(f"history.url: cannot open the history store ({short_error(exc)}); "
                               "check the URL") from None
        self.runs = Runs(self.engine)
        self.results = Results(self.engine)
        self.findings = Findings(self.engine)
        self.clusters = Clusters(self.engine)
        self.decisions = Decisions(self.engine)
        self.locks = Locks(self.engine)
        self.heartbeats = Heartbeats(self.engine)
        self.alert_state = AlertState(self.engine)
        self.annotations = Annotations(self.engine)
        self.audit = Audit(self.engine)

    # -- schema ---------------------------------------------------------------------------------
    def alembic_config(self) -> AlembicConfig:
        """Alembic config pointing at our migrations."""
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        return cfg

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to `revision`, keeping all data."""
        cfg = self.alembic_config()
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    def revision(self) -> str | None:
        """The schema revision the store is at."""
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def close(self) -> None:
        """Release connections."""
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn, _record):
    """Foreign keys on, and wait for a busy file instead of failing (several processes share it)."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys = ON")
    cur.execute("PRAGMA busy_timeout = 30000")
    cur.close()
