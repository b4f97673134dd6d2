"""Row checks on several cores: worker processes read and check ranges of records side by side.

Row checks look at one chunk at a time, so chunks are independent; so do the entity checks'
`chunk_keys` (normalised duplicate keys), which are prepared with them. With a pool, the entity's
records are cut into ranges of keys (about one chunk each, bounds read from the key index) and each
forked worker reads its range itself, so neither reading nor handing rows to another process
waits on the main process. Without a pool (one core, or a small entity) the main process streams
the chunks and checks them in turn. Either way each chunk gives a `ChunkResult`, and results are
merged in key-range order, so they do not depend on timing.

Workers are forked after the entity's plan and the look-ups other entities provide (live keys,
inactive users, contact emails) are ready, so they inherit them; each opens its own connection.

No worker outlives its run: on Linux each asks the kernel for SIGKILL when the process that forked
it dies (`PR_SET_PDEATHSIG`), so a run killed with SIGKILL leaves no orphans holding its pipes and
connections; and a run that fails or is stopped (SIGTERM) kills and reaps its workers at once
instead of waiting for their chunks.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import numpy as np
import pandas as pd

from checks import values as value_checks
from checks.base import Outcome
from checks.fields import reset_memo
from checks.values import as_keys
from connectors.errors import CleanCRMError
from connectors.mapping import KEY

_JOB: dict = {}
MAX_WORKERS = 4
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies
# Signals whose Python handlers stop a run by raising; held while the pool forks (see `_submit`).
STOPPING_SIGNALS = {signal.SIGTERM, signal.SIGINT}


@dataclass
class ChunkJob:
    """What every chunk is measured with (inherited by forked workers)."""

    planned: list
    contexts: dict
    row_checks: list[int]
    keyed_checks: list[int]  # entity checks that prepare keys chunk by chunk
    keep: list[str]  # columns the entity pass reads (empty: no entity checks)
    owner_label: str | None
    source: object  # connectors.source.Source, for workers that read their own range
    range_sql: Callable[[object, object], tuple[str, dict]]  # (low, high) → SQL and parameters
    chunk_size: int


@dataclass
class ChunkResult:
    """One chunk measured: row-check outcomes, seconds and keys by check position, rows for the entity pass."""

    outcomes: list[Outcome]
    seconds: dict[int, float]
    keys: dict[int, np.ndarray]
    gathered: pd.DataFrame | None
    owners: pd.Series | None
    rows: int


def as_read(chunk: pd.DataFrame) -> pd.DataFrame:
    """Text as Python objects, keys as strings, rows as they came."""
    # pandas 3 infers a `str` dtype that does not mix with the object Series the validators return.
    chunk = chunk.astype({c: object for c in chunk.columns if pd.api.types.is_string_dtype(chunk[c])})
    chunk[KEY] = as_keys(chunk[KEY])
    return chunk


def prepare_chunk(chunk: pd.DataFrame) -> pd.DataFrame:
    """`as_read`, each record once (a join may repeat a record)."""
    return as_read(chunk).drop_duplicates(KEY).reset_index(drop=True)


def owners_of(chunk: pd.DataFrame, owner_label: str | None) -> pd.Series | None:
    """Each record's owner key, by record key (None when no owner is mapped)."""
    if not owner_label:
        return None
    return pd.Series(as_keys(chunk[owner_label]).to_numpy(), index=chunk[KEY].to_numpy(), dtype=object)


def measure_chunk(chunk: pd.DataFrame, job: ChunkJob) -> ChunkResult:
    """Every row check of the job on one prepared chunk, and what the entity pass needs of it."""
    reset_memo()
    outcomes, seconds, keys = [], {}, {}
    for i in job.row_checks:
        start = time.perf_counter()
        outcomes.append(job.planned[i].check.evaluate(chunk, job.contexts[i]))
        seconds[i] = time.perf_counter() - start
    for i in job.keyed_checks:
        start = time.perf_counter()
        keys[i] = job.planned[i].check.chunk_keys(chunk, job.contexts[i]).to_numpy(dtype=object)
        seconds[i] = time.perf_counter() - start
    reset_memo()
    gathered = chunk[job.keep].copy() if job.keep else None
    return ChunkResult(outcomes, seconds, keys, gathered, owners_of(chunk, job.owner_label), len(chunk))


def _init_worker() -> None:
    _die_with_parent(_JOB["parent"])
    # The parent's handlers came with the fork: here SIGTERM just ends the worker, and Ctrl-C (sent to
    # the whole terminal's process group) is for the parent to act on.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPPING_SIGNALS)  # held by the parent while it forked us
    _JOB["job"].source.engine.dispose(close=False)  # the parent's pooled connections are not ours to use
    value_checks.PARALLEL_FROM = 10**12  # no nested pools inside a worker


def _die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this worker when its parent dies (Linux); exit if that happened already."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died between the fork and the prctl
        os._exit(1)


def _measure_range(bounds: tuple) -> ChunkResult:
    """Read the records whose keys fall in `bounds` and measure them (in a worker)."""
    job: ChunkJob = _JOB["job"]
    sql, params = job.range_sql(*bounds)
    frames = list(job.source.stream(sql, job.chunk_size, params))
    chunk = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0] if frames else None
    if chunk is None:
        return ChunkResult([Outcome.empty() for _ in job.row_checks], {},
                           {i: np.empty(0, dtype=object) for i in job.keyed_checks},
                           pd.DataFrame(columns=job.keep) if job.keep else None, None, 0)
    return measure_chunk(prepare_chunk(chunk), job)


def key_ranges(boundaries: list) -> list[tuple]:
    """Ranges (low, high) covering every key: below the first boundary, between, from the last on."""
    edges = [None, *boundaries, None]
    return list(zip(edges[:-1], edges[1:], strict=True))


class ChunkRunner:
    """Measures chunks inline or key ranges in worker processes, and merges their results in order."""

    def __init__(self, job: ChunkJob, total_rows: int, on_rows: Callable[[int], None] | None = None):
        self.job, self.on_rows = job, on_rows
        self.results: list[ChunkResult] = []
        workers = min(os.cpu_count() or 1, MAX_WORKERS)
        # Forking pays off only when there are several chunks to share out.
        self.parallel = (workers > 1 and total_rows > 2 * job.chunk_size
                         and "fork" in multiprocessing.get_all_start_methods())
        self.pool = None
        if self.parallel:
            _JOB["job"] = job
            _JOB["parent"] = os.getpid()
            self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                            initializer=_init_worker)
        self.pending: deque[Future] = deque()
        self.in_flight = 2 * workers

    def measure_here(self, chunk: pd.DataFrame) -> None:
        """Measure a prepared chunk in this process (the path without a pool)."""
        self._merge(measure_chunk(chunk, self.job))

    def submit_ranges(self, ranges: Iterable[tuple]) -> None:
        """Have the workers read and measure each key range (a few ranges in flight at a time)."""
        try:
            for bounds in ranges:
                self.pending.append(self._submit(bounds))
                while len(self.pending) >= self.in_flight:
                    self._merge(self.pending.popleft().result())
        except BaseException as exc:
            self._abort(exc)

    def _submit(self, bounds: tuple) -> Future:
        """Submit one range; the first submit forks the workers.

        A stopping signal's exception raised inside the fork's at-fork hooks would be printed and
        dropped by Python, so those signals are held until the submit returns (then delivered).
        """
        held = signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING_SIGNALS)
        try:
            return self.pool.submit(_measure_range, bounds)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    def finish(self) -> list[ChunkResult]:
        """Wait for every chunk; the results in order."""
        try:
            while self.pending:
                self._merge(self.pending.popleft().result())
        except BaseException as exc:
            self._abort(exc)
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
        _JOB.clear()
        return self.results

    def _abort(self, exc: BaseException):
        """Kill and reap the workers now, then raise `exc` (a dead worker as one line)."""
        if self.pool is not None:
            # The executor has no public way to stop a running task; its processes are what it forked.
            workers = list((getattr(self.pool, "_processes", None) or {}).values())
            for process in workers:
                process.kill()
            self.pool.shutdown(wait=True, cancel_futures=True)
            for process in workers:
                process.join()
            self.pool = None
        self.pending.clear()
        _JOB.clear()
        if isinstance(exc, BrokenProcessPool):
            raise CleanCRMError("run: a worker process died (killed by the system, out of memory?); run again, "
                                "or lower source.chunk_size") from None
        raise exc

    def _merge(self, result: ChunkResult) -> None:
        self.results.append(result)
        if self.on_rows:
            self.on_rows(result.rows)
