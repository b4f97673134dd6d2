"""Row checks on several cores: chunks go to forked worker processes while the next ones are read.

Row checks look at one chunk at a time, so chunks are independent. The workers are forked after
the entity's plan and the look-ups other entities provide (live keys, inactive users, contact
emails) are ready, so they inherit them instead of reading the source again; they never touch the
source's connections. Outcomes come back in chunk order, so results do not depend on timing.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor

import pandas as pd

from checks import values as V
from checks.base import Outcome
from checks.fields import reset_memo

_JOB: dict = {}
MAX_WORKERS = 4


def _init_worker() -> None:
    engine = _JOB.get("engine")
    if engine is not None:
        engine.dispose(close=False)  # the parent's pooled connections are not ours to use
    V.PARALLEL_FROM = 10**12  # no nested pools inside a worker


def evaluate_chunk(chunk: pd.DataFrame) -> tuple[list[Outcome], list[float]]:
    """Every row check of the job on one chunk: outcomes and seconds, in check order."""
    planned, contexts, row_checks = _JOB["planned"], _JOB["contexts"], _JOB["row_checks"]
    reset_memo()
    outcomes, seconds = [], []
    for i in row_checks:
        start = time.perf_counter()
        outcomes.append(planned[i].check.evaluate(chunk, contexts[i]))
        seconds.append(time.perf_counter() - start)
    reset_memo()
    return outcomes, seconds


class ChunkRunner:
    """Evaluates chunks inline or in worker processes, and merges their outcomes in order."""

    def __init__(self, planned, contexts, row_checks, engine, total_rows: int, chunk_size: int):
        _JOB.update(planned=planned, contexts=contexts, row_checks=row_checks, engine=engine)
        self.row_checks = row_checks
        self.parts: dict[int, list[Outcome]] = {i: [] for i in row_checks}
        self.seconds = {i: 0.0 for i in row_checks}
        workers = min(os.cpu_count() or 1, MAX_WORKERS)
        # Forking pays off only when there are several chunks to share out.
        parallel = workers > 1 and total_rows > 2 * chunk_size and "fork" in multiprocessing.get_all_start_methods()
        self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                        initializer=_init_worker) if parallel else None
        self.pending: deque[Future] = deque()
        self.in_flight = 2 * workers

    def submit(self, chunk: pd.DataFrame) -> None:
        """Evaluate a chunk (in a worker when there is a pool; at most a few chunks in flight)."""
        if self.pool is None:
            self._merge(evaluate_chunk(chunk))
            return
        self.pending.append(self.pool.submit(evaluate_chunk, chunk))
        while len(self.pending) >= self.in_flight:
            self._merge(self.pending.popleft().result())

    def finish(self) -> tuple[dict[int, Outcome], dict[int, float]]:
        """Wait for every chunk; the merged outcomes and seconds by check position."""
        while self.pending:
            self._merge(self.pending.popleft().result())
        if self.pool is not None:
            self.pool.shutdown()
        _JOB.clear()
        return {i: Outcome.combine(parts) for i, parts in self.parts.items()}, self.seconds

    def _merge(self, result: tuple[list[Outcome], list[float]]) -> None:
        for i, outcome, secs in zip(self.row_checks, result[0], result[1], strict=True):
            self.parts[i].append(outcome)
            self.seconds[i] += secs
