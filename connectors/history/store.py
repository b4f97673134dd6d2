"""The history store: every run, its check results, scores and findings by record key.

A run is written all or nothing: `start_run` records a `running` row on its own, and
`complete_run` writes every result and flips the status in one transaction. A run that raises is
marked `failed` with its error; one whose process died is marked `failed` (interrupted) by the
next run on the same source, so history never holds half a run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import SQLAlchemyError

from connectors.errors import CleanCRMError, HistoryError
from connectors.history import schema as hs

MIGRATIONS = Path(__file__).with_name("migrations")
BATCH = 20_000


def utcnow() -> datetime:
    """Naive UTC now, as stored."""
    return datetime.now(UTC).replace(tzinfo=None)


class HistoryStore:
    """Reads and writes the history store."""

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
            raise HistoryError(f"history.url: cannot open the history store ({_short(exc)}); check the URL") from None

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

    # -- runs -------------------------------------------------------------------------------------
    def start_run(self, source_name: str, as_of: datetime, trigger: str = "cli", config_hash: str = "",
                  tool_version: str = "", only: str | None = None, started_at: datetime | None = None) -> int:
        """Record a run as `running` and return its id."""
        with self.engine.begin() as conn:
            res = conn.execute(hs.runs.insert().values(
                source_name=source_name, started_at=started_at or utcnow(), as_of=as_of, status="running",
                trigger=trigger, config_hash=config_hash, tool_version=tool_version, only=only))
            return int(res.inserted_primary_key[0])

    def complete_run(self, run_id: int, result, fingerprint: str = "", finished_at: datetime | None = None) -> None:
        """Write a run's results and mark it completed, in one transaction."""
        with self.engine.begin() as conn:
            _insert(conn, hs.check_results, _rows(result.check_results, run_id))
            _insert(conn, hs.scores, _rows(result.scores, run_id))
            _insert(conn, hs.findings, _rows(result.findings, run_id))
            _insert(conn, hs.record_scores, _rows(result.record_scores, run_id))
            clusters = getattr(result, "clusters", None)
            if clusters is not None and len(clusters):
                _insert(conn, hs.duplicate_clusters, _rows(clusters, run_id))
                _insert(conn, hs.cluster_members, _rows(result.cluster_members, run_id))
            conn.execute(hs.runs.update().where(hs.runs.c.id == run_id).values(
                status="completed", finished_at=finished_at or utcnow(), overall_score=result.overall,
                source_fingerprint=fingerprint))

    def fail_run(self, run_id: int, error: str) -> None:
        """Mark a run failed with its error; nothing else of it is kept."""
        with self.engine.begin() as conn:
            conn.execute(hs.runs.update().where(hs.runs.c.id == run_id).values(
                status="failed", error=error[:4000], finished_at=utcnow()))

    @contextmanager
    def failing_run_on_error(self, run_id: int) -> Iterator[None]:
        """Mark the run failed if the block raises, then re-raise.

        Our own errors are already one line that names the place and the fix; anything else is
        kept with its type.
        """
        try:
            yield
        except CleanCRMError as exc:
            self.fail_run(run_id, str(exc))
            raise
        except Exception as exc:
            self.fail_run(run_id, f"{type(exc).__name__}: {exc}")
            raise

    def mark_interrupted(self, source_name: str) -> int:
        """Runs left `running` by a dead process become `failed`; returns how many."""
        with self.engine.begin() as conn:
            res = conn.execute(hs.runs.update().where(
                hs.runs.c.source_name == source_name, hs.runs.c.status == "running").values(
                status="failed", error="interrupted: the process stopped before the run finished",
                finished_at=utcnow()))
            return res.rowcount or 0

    def runs(self, source_name: str | None = None) -> pd.DataFrame:
        """All runs, newest first."""
        q = sa.select(hs.runs).order_by(hs.runs.c.id.desc())
        if source_name:
            q = q.where(hs.runs.c.source_name == source_name)
        return self._frame(q)

    def resolve_run(self, ref: str | int, source_name: str | None = None) -> int:
        """`latest` (newest completed run) or a run id, checked to exist."""
        with self.engine.connect() as conn:
            if str(ref) == "latest":
                q = sa.select(sa.func.max(hs.runs.c.id)).where(hs.runs.c.status == "completed")
                if source_name:
                    q = q.where(hs.runs.c.source_name == source_name)
                run_id = conn.execute(q).scalar()
                if run_id is None:
                    raise HistoryError("--run latest: no completed run yet; run `cleancrm run --config FILE` first")
                return int(run_id)
            try:
                run_id = int(ref)
            except ValueError:
                raise HistoryError(f"--run: {ref!r} is not a run id; give a number or 'latest'") from None
            status = conn.execute(sa.select(hs.runs.c.status).where(hs.runs.c.id == run_id)).scalar()
            if status is None:
                raise HistoryError(f"--run: run {run_id} does not exist; `cleancrm runs` lists them")
            if status != "completed":
                raise HistoryError(f"--run: run {run_id} is {status} and has no results; pick a completed run")
            return run_id

    # -- results ----------------------------------------------------------------------------------
    def check_results(self, run_id: int) -> pd.DataFrame:
        """One row per check and entity of a run."""
        return self._frame(sa.select(hs.check_results).where(hs.check_results.c.run_id == run_id))

    def scores(self, run_id: int) -> pd.DataFrame:
        """Overall, dimension, entity and field scores of a run."""
        return self._frame(sa.select(hs.scores).where(hs.scores.c.run_id == run_id))

    def findings(self, run_id: int, check_id: str | None = None, dimension: str | None = None,
                 entity: str | None = None, limit: int | None = None, offset: int = 0) -> pd.DataFrame:
        """Findings of a run, filtered; joined with the check's dimension."""
        f, c = hs.findings, hs.check_results
        q = (sa.select(f.c.run_id, f.c.check_id, c.c.dimension, f.c.entity, f.c.record_key, f.c.field,
                       f.c.column_name, f.c.value, f.c.reason, f.c.suggestion, f.c.severity, f.c.owner)
             .join(c, (c.c.run_id == f.c.run_id) & (c.c.check_id == f.c.check_id) & (c.c.entity == f.c.entity))
             .where(f.c.run_id == run_id).order_by(f.c.id))
        if check_id:
            q = q.where(f.c.check_id == check_id)
        if dimension:
            q = q.where(c.c.dimension == dimension)
        if entity:
            q = q.where(f.c.entity == entity)
        if limit is not None:
            q = q.limit(limit).offset(offset)
        return self._frame(q)

    def failing_keys(self, run_id: int) -> pd.DataFrame:
        """Distinct (check, entity, record) failing in a run: the unit of before/after comparison."""
        f = hs.findings
        q = sa.select(f.c.check_id, f.c.entity, f.c.record_key).where(f.c.run_id == run_id).distinct()
        return self._frame(q)

    def compare(self, run_a: int, run_b: int) -> pd.DataFrame:
        """Per check and entity: records fixed, still failing and newly failing from A to B."""
        a, b = self.failing_keys(run_a), self.failing_keys(run_b)
        keys = ["check_id", "entity", "record_key"]
        merged = a.assign(in_a=True).merge(b.assign(in_b=True), on=keys, how="outer")
        merged["state"] = "still_failing"
        merged.loc[merged.in_b.isna(), "state"] = "fixed"
        merged.loc[merged.in_a.isna(), "state"] = "newly_failing"
        table = merged.pivot_table(index=["check_id", "entity"], columns="state", values="record_key",
                                   aggfunc="count", fill_value=0)
        for col in ("fixed", "still_failing", "newly_failing"):
            if col not in table:
                table[col] = 0
        table = table[["fixed", "still_failing", "newly_failing"]].reset_index()
        table.columns.name = None
        return table.sort_values(["check_id", "entity"]).reset_index(drop=True)

    # -- steward decisions on duplicate clusters -----------------------------------------------------
    def decide(self, source_name: str, cluster_id: str, entity: str, decision: str, decided_by: str | None = None,
               note: str | None = None) -> None:
        """Record (or replace) a steward's decision on a cluster: not_duplicate or confirmed."""
        if decision not in ("not_duplicate", "confirmed"):
            raise HistoryError(f"decision: {decision!r} must be not_duplicate or confirmed")
        t = hs.cluster_decisions
        with self.engine.begin() as conn:
            conn.execute(t.delete().where(t.c.source_name == source_name, t.c.cluster_id == cluster_id))
            conn.execute(t.insert().values(source_name=source_name, cluster_id=cluster_id, entity=entity,
                                           decision=decision, decided_at=utcnow(), decided_by=decided_by, note=note))

    def decisions(self, source_name: str) -> dict[str, dict[str, str]]:
        """Entity → {cluster id: decision}, for the duplicate pipeline."""
        t = hs.cluster_decisions
        frame = self._frame(sa.select(t.c.entity, t.c.cluster_id, t.c.decision).where(t.c.source_name == source_name))
        out: dict[str, dict[str, str]] = {}
        for row in frame.itertuples():
            out.setdefault(row.entity, {})[row.cluster_id] = row.decision
        return out

    # -- annotations ------------------------------------------------------------------------------
    def add_annotation(self, source_name: str, name: str, date: datetime, scope: str | None = None,
                       note: str | None = None) -> int:
        """Record an intervention (a clean-up, an import) to mark on trend charts."""
        with self.engine.begin() as conn:
            res = conn.execute(hs.annotations.insert().values(
                source_name=source_name, name=name, date=date, scope=scope, note=note, created_at=utcnow()))
            return int(res.inserted_primary_key[0])

    def annotations(self, source_name: str | None = None) -> pd.DataFrame:
        """Interventions, oldest first."""
        q = sa.select(hs.annotations).order_by(hs.annotations.c.date)
        if source_name:
            q = q.where(hs.annotations.c.source_name == source_name)
        return self._frame(q)

    def _frame(self, query) -> pd.DataFrame:
        try:
            with self.engine.connect() as conn:
                res = conn.execute(query)
                return pd.DataFrame(res.fetchall(), columns=list(res.keys()))
        except SQLAlchemyError as exc:
            raise HistoryError(f"history: read failed ({_short(exc)})") from None

    def close(self) -> None:
        """Release connections."""
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn, _record):
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys = ON")
    cur.execute("PRAGMA busy_timeout = 30000")
    cur.close()


def _rows(frame: pd.DataFrame | None, run_id: int) -> list[dict]:
    if frame is None or not len(frame):
        return []
    frame = frame.assign(run_id=run_id)
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.to_dict("records")


def _insert(conn, table: sa.Table, rows: Iterable[dict]) -> None:
    rows = list(rows)
    cols = {c.name for c in table.columns}
    for i in range(0, len(rows), BATCH):
        batch = [{k: v for k, v in r.items() if k in cols} for r in rows[i : i + BATCH]]
        conn.execute(table.insert(), batch)


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def dumps(obj) -> str:
    """JSON for metrics columns."""
    return json.dumps(obj, default=str, sort_keys=True)
