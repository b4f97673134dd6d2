"""Runs: one row per run in `runs`, from `running` to `completed` or `failed`.

A run is written all or nothing: `start` records a `running` row on its own, and `complete`
writes every result and flips the status in one transaction. A run that raises is marked
`failed` with its error; one whose process died is marked `failed` (interrupted) by the next run
on the same source, so history never holds half a run. A failure of the store itself (read-only,
full, locked, its server gone) is marked through a fresh connection where the store still answers,
and raised as one HistoryError line naming the cause (`store_failure`).

Stored text is bounded, whatever the CRM holds: a finding's `value`, `reason` and `suggestion`
keep at most `MAX_TEXT` (1,000) characters, and each value of a cluster's merge plan too; a cut
text ends with `…`. A merge plan that is not JSON keeps at most `MAX_PLAN` (20,000) characters.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from connectors.errors import CleanCRMError, HistoryError
from connectors.history import schema, segments
from connectors.history.bulk import insert_frame
from connectors.history.part import StorePart, short_error, utcnow

MAX_TEXT = 1_000  # characters kept of a finding's value, reason and suggestion, and of a merge plan's values
MAX_PLAN = 20_000  # characters kept of a merge plan that is not a JSON list
ELLIPSIS = "…"
BOUNDED_FINDING_COLUMNS = ("value", "reason", "suggestion")


class Runs(StorePart):
    """Starts, completes and fails runs, and finds them again."""

    # -- writing ----------------------------------------------------------------------------------
    def start(self, source_name: str, as_of: datetime, trigger: str = "cli", config_hash: str = "",
              tool_version: str = "", only: str | None = None, started_at: datetime | None = None) -> int:
        """Record a run as `running` and return its id."""
        with self.engine.begin() as conn:
            res = conn.execute(schema.runs.insert().values(
                source_name=source_name, started_at=started_at or utcnow(), as_of=as_of, status="running",
                trigger=trigger, config_hash=config_hash, tool_version=tool_version, only=only))
            return int(res.inserted_primary_key[0])

    def complete(self, run_id: int, result, fingerprint: str = "", finished_at: datetime | None = None) -> None:
        """Write a run's results and mark it completed, in one transaction."""
        with self.engine.begin() as conn:
            insert_frame(conn, schema.check_results, result.check_results, run_id)
            insert_frame(conn, schema.scores, result.scores, run_id)
            segments.write(conn, run_id, segments.FINDINGS, bounded_findings(result.findings))
            segments.write(conn, run_id, segments.RECORD_SCORES, result.record_scores)
            owners = getattr(result, "owners", None)
            if owners is not None and len(owners):
                insert_frame(conn, schema.owners, owners, run_id)
            clusters = getattr(result, "clusters", None)
            if clusters is not None and len(clusters):
                insert_frame(conn, schema.duplicate_clusters, bounded_clusters(clusters), run_id)
                insert_frame(conn, schema.cluster_members, result.cluster_members, run_id)
            conn.execute(schema.runs.update().where(schema.runs.c.id == run_id).values(
                status="completed", finished_at=finished_at or utcnow(), overall_score=result.overall,
                source_fingerprint=fingerprint))

    def fail(self, run_id: int, error: str, finished_at: datetime | None = None) -> None:
        """Mark a running run failed with its error; nothing else of it is kept.

        `finished_at` defaults to now; a history written for another clock gives its own. A run
        that completed stays completed (a stop that came just after the results were stored).
        """
        runs = schema.runs
        with self.engine.begin() as conn:
            conn.execute(runs.update().where(runs.c.id == run_id, runs.c.status == "running").values(
                status="failed", error=error[:4000], finished_at=finished_at or utcnow()))

    @contextmanager
    def failing_on_error(self, run_id: int) -> Iterator[None]:
        """Mark the run failed if the block raises, then re-raise.

        Our own errors are already one line that names the place and the fix; the store failing
        is raised as one (`store_failure`); anything else is kept with its type.
        """
        try:
            yield
        except CleanCRMError as exc:
            self._mark_failed(run_id, str(exc))
            raise
        except SQLAlchemyError as exc:
            failure = store_failure(exc)
            self._mark_failed(run_id, str(failure))
            raise failure from None
        except Exception as exc:
            self._mark_failed(run_id, f"{type(exc).__name__}: {exc}")
            raise

    def _mark_failed(self, run_id: int, error: str) -> bool:
        """`fail` on a fresh connection; False when the store does not answer.

        The connection the run wrote on may be the one that broke (its server restarted, its
        backend killed): the pool checks each one before use, and a connection lost on the way
        means one more try on a new pool. A run that cannot be marked stays `running` until the
        next run on the source marks it failed (interrupted).
        """
        for attempt in range(2):
            try:
                self.fail(run_id, error)
                return True
            except SQLAlchemyError as exc:
                if attempt or not getattr(exc, "connection_invalidated", False):
                    return False  # locked, full, read-only or gone: trying again would only wait again
                self.engine.dispose()  # a new pool; connections in use elsewhere are left alone
        return False

    def mark_interrupted(self, source_name: str) -> int:
        """Runs left `running` by a dead process become `failed`; returns how many."""
        runs = schema.runs
        with self.engine.begin() as conn:
            res = conn.execute(runs.update().where(runs.c.source_name == source_name, runs.c.status == "running")
                               .values(status="failed",
                                       error="interrupted: the process stopped before the run finished",
                                       finished_at=utcnow()))
            return res.rowcount or 0

    def record_failure(self, source_name: str, error: str, *, started_at: datetime, trigger: str,
                       config_hash: str = "", tool_version: str = "", only: str | None = None) -> int:
        """Record a failed run for a try that failed before any run was started (source down); its id."""
        with self.engine.begin() as conn:
            res = conn.execute(schema.runs.insert().values(
                source_name=source_name, started_at=started_at, finished_at=utcnow(), as_of=started_at,
                status="failed", error=error[:4000], trigger=trigger, config_hash=config_hash,
                tool_version=tool_version, only=only))
            return int(res.inserted_primary_key[0])

    # -- reading ----------------------------------------------------------------------------------
    def list(self, source_name: str | None = None) -> pd.DataFrame:
        """All runs, newest first."""
        q = sa.select(schema.runs).order_by(schema.runs.c.id.desc())
        if source_name:
            q = q.where(schema.runs.c.source_name == source_name)
        return self._frame(q)

    def completed(self, source_name: str) -> pd.DataFrame:
        """Completed runs of a source, oldest first: id, as_of, overall_score, only."""
        runs = schema.runs
        q = (sa.select(runs.c.id, runs.c.as_of, runs.c.overall_score, runs.c.only)
             .where(runs.c.source_name == source_name, runs.c.status == "completed")
             .order_by(runs.c.as_of, runs.c.id))
        frame = self._frame(q)
        frame["as_of"] = pd.to_datetime(frame.as_of)
        return frame

    def resolve(self, ref: str | int, source_name: str | None = None) -> int:
        """`latest` (newest completed run) or a run id, checked to exist."""
        runs = schema.runs
        with self.engine.connect() as conn:
            if str(ref) == "latest":
                q = sa.select(sa.func.max(runs.c.id)).where(runs.c.status == "completed")
                if source_name:
                    q = q.where(runs.c.source_name == source_name)
                run_id = conn.execute(q).scalar()
                if run_id is None:
                    raise HistoryError("--run latest: no completed run yet; run `cleancrm run --config FILE` first")
                return int(run_id)
            try:
                run_id = int(ref)
            except ValueError:
                raise HistoryError(f"--run: {ref!r} is not a run id; give a number or 'latest'") from None
            status = conn.execute(sa.select(runs.c.status).where(runs.c.id == run_id)).scalar()
            if status is None:
                raise HistoryError(f"--run: run {run_id} does not exist; `cleancrm runs` lists them")
            if status != "completed":
                raise HistoryError(f"--run: run {run_id} is {status} and has no results; pick a completed run")
            return run_id

    def max_id(self) -> int:
        """The highest run id of the store, any source (0 when empty): later runs have higher ids."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(schema.runs.c.id))).scalar() or 0)

    def runs_since(self, source_name: str, trigger: str, *, after_id: int = 0, started_from: datetime | None = None,
                   statuses: tuple[str, ...] | None = None) -> Sequence[sa.Row]:
        """Runs of a source and trigger after run `after_id`, oldest first: rows of id, status, started_at.

        Args:
            source_name: The source (`cfg.name`).
            trigger: The runs' `trigger` (a schedule's is `schedule:<name>`).
            after_id: Only runs with a higher id.
            started_from: Only runs started at or after this naive UTC time.
            statuses: Only runs in one of these statuses; default any.
        """
        runs = schema.runs
        q = sa.select(runs.c.id, runs.c.status, runs.c.started_at).where(
            runs.c.source_name == source_name, runs.c.trigger == trigger, runs.c.id > after_id)
        if started_from is not None:
            q = q.where(runs.c.started_at >= started_from)
        if statuses:
            q = q.where(runs.c.status.in_(statuses))
        with self.engine.connect() as conn:
            return conn.execute(q.order_by(runs.c.id)).all()

    def last_completed(self, source_name: str, trigger: str) -> datetime | None:
        """Start (naive UTC) of the newest completed run of a source and trigger."""
        runs = schema.runs
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(runs.c.started_at)).where(
                runs.c.source_name == source_name, runs.c.trigger == trigger,
                runs.c.status == "completed")).scalar()


def store_failure(exc: SQLAlchemyError) -> HistoryError:
    """The history store failing underneath a run, as one line naming the cause and what to check."""
    return HistoryError(f"history: the run could not be stored ({short_error(exc)}); check that the history "
                        "store is reachable, writable and has free space, then run again")


def bound_text(value, limit: int = MAX_TEXT):
    """Text cut to `limit` characters, the last one `…` when cut; anything else as it is."""
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - len(ELLIPSIS)] + ELLIPSIS
    return value


def bound_plan(plan):
    """A merge plan with each of its texts bounded to `MAX_TEXT`; one that is not JSON to `MAX_PLAN`.

    A plan with nothing too long is returned unchanged (not re-encoded).
    """
    if not isinstance(plan, str) or len(plan) <= MAX_TEXT:
        return plan
    try:
        steps = json.loads(plan)
    except ValueError:
        return bound_text(plan, MAX_PLAN)
    if not isinstance(steps, list):
        return bound_text(plan, MAX_PLAN)
    cut = [{k: bound_text(v) for k, v in step.items()} if isinstance(step, dict) else bound_text(step)
           for step in steps]
    return plan if cut == steps else json.dumps(cut, ensure_ascii=False)


def bounded_findings(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    """Findings with `value`, `reason` and `suggestion` bounded to `MAX_TEXT` characters."""
    if frame is None or not len(frame):
        return frame
    out = frame
    for column in BOUNDED_FINDING_COLUMNS:
        if column not in frame or not _has_long_text(frame[column]):
            continue
        values = frame[column].to_numpy(dtype=object)
        out = out.assign(**{column: pd.Series([bound_text(v) for v in values], index=frame.index, dtype=object)})
    return out


def _has_long_text(values: pd.Series) -> bool:
    """Whether a column holds a text longer than MAX_TEXT (vectorised: most runs have none)."""
    if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
        return False  # numbers only
    try:
        return bool((values.str.len() > MAX_TEXT).any())
    except AttributeError:  # no text at all
        return False


def bounded_clusters(frame: pd.DataFrame) -> pd.DataFrame:
    """Duplicate clusters with their merge plans bounded (`bound_plan`)."""
    if "merge_plan" not in frame:
        return frame
    return frame.assign(merge_plan=[bound_plan(p) for p in frame.merge_plan.to_numpy(dtype=object)])
