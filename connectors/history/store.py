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
- `audit`: who exported, decided, ran or signed in, when, on how many records;
- `fix_packages`: the fix packages made, and what each later run found of their changes.

Nothing else touches the history tables.

Opening migrates, one process at a time: two first runs on a fresh store would otherwise both
create its tables. A SQLite file waits for a busy writer for 30 seconds, or for `?timeout=SECONDS`
given in its URL.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from connectors.errors import HistoryError
from connectors.history.alert_state import AlertState
from connectors.history.annotations import Annotations
from connectors.history.audit import Audit
from connectors.history.clusters import Clusters
from connectors.history.decisions import Decisions
from connectors.history.findings import Findings
from connectors.history.fix_packages import FixPackages
from connectors.history.heartbeats import Heartbeats
from connectors.history.incidents import Incidents
from connectors.history.locks import Locks
from connectors.history.owners import Owners
from connectors.history.part import short_error
from connectors.history.results import Results
from connectors.history.runs import Runs

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).with_name("migrations")
_REVISION = re.compile(r'^revision = ["\']([^"\']+)["\']', re.M)
MIGRATION_LOCK = 0x636C65616E63726D  # "cleancrm" in ASCII: the PostgreSQL advisory lock of migrations
BUSY_TIMEOUT_S = 30.0  # how long a SQLite connection waits for a busy file


def head_revision() -> str:
    """The newest migration's revision, read from the migration files without loading Alembic.

    Opening a store that is already current is every run's first step; Alembic's import and its
    script directory cost a few hundred milliseconds, so they are loaded only to migrate. The
    migrations form one chain numbered in file order (a test compares this with Alembic's head).
    """
    newest = max((MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
    return _REVISION.search(newest.read_text()).group(1)


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
        audit: The audit log (`Audit`).
        fix_packages: Fix packages and what later runs found of them (`FixPackages`).
        owners: The CRM users each run read: owner id, name, team (`Owners`).
        incidents: Breaches as owned incidents, with statuses and comments (`Incidents`).

    Raises:
        HistoryError: The database cannot be opened or migrated.
    """

    def __init__(self, url: str, upgrade: bool = True):
        self.url = url
        try:
            if url.startswith("sqlite:///"):
                folder = Path(url.removeprefix("sqlite:///").partition("?")[0]).expanduser().parent
                folder.mkdir(parents=True, exist_ok=True)
            self.engine = sa.create_engine(url, pool_pre_ping=True)
            if self.engine.dialect.name == "sqlite":
                sa.event.listen(self.engine, "connect", _sqlite_pragmas(self.engine.url))
            if upgrade:
                self.upgrade()
        except OSError as exc:
            raise HistoryError(f"history.url: cannot create the folder {exc.filename} ({exc.strerror}); "
                               "check the path and its permissions") from None
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
        self.fix_packages = FixPackages(self.engine)
        self.owners = Owners(self.engine)
        self.incidents = Incidents(self.engine)

    @classmethod
    def existing(cls, url: str) -> HistoryStore | None:
        """The store at `url` if one is there already (it has a runs table), else None; never creates one.

        A run that fails before it starts (a column renamed in the CRM, the source down) is kept
        as a failed run where a history already exists, so the dashboard shows the failure; a
        first try with a typo must not leave a history file behind.
        """
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///").partition("?")[0]).expanduser()
            if not path.is_file() or path.stat().st_size == 0:
                return None
        try:
            engine = sa.create_engine(url)
            try:
                if not sa.inspect(engine).has_table("runs"):
                    return None
            finally:
                engine.dispose()
            return cls(url)
        except (SQLAlchemyError, HistoryError):
            return None

    # -- schema ---------------------------------------------------------------------------------
    def alembic_config(self) -> AlembicConfig:
        """Alembic config pointing at our migrations."""
        from alembic.config import Config as AlembicConfig

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        return cfg

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to `revision`, keeping all data; one process at a time.

        The migration holds a lock for its transaction (PostgreSQL: an advisory lock; SQLite:
        `BEGIN IMMEDIATE`, the file's write lock), so of two processes opening a fresh store, the
        second finds the tables made and has nothing to do. A store already at the newest revision
        is not locked at all (it may be read-only).
        """
        if revision == "head" and self.revision() == head_revision():
            return
        from alembic import command

        cfg = self.alembic_config()
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            elif conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    def revision(self) -> str | None:
        """The schema revision the store is at."""
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()

    def close(self) -> None:
        """Release connections."""
        self.engine.dispose()


def _sqlite_pragmas(url: sa.URL):
    """A connect hook: foreign keys on, and wait for a busy file instead of failing (several processes share it)."""
    timeout = url.query.get("timeout", BUSY_TIMEOUT_S)
    try:
        timeout_ms = int(float(timeout) * 1000)
    except (TypeError, ValueError):
        raise HistoryError(f"history.url: timeout={timeout!r} is not a number of seconds; e.g. ?timeout=30") from None

    def on_connect(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute(f"PRAGMA busy_timeout = {timeout_ms}")
        cur.close()

    return on_connect
