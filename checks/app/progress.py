"""Progress of a long run on a terminal: rows read per entity, rate and an estimate of time left.

Silent when standard error is not a terminal (cron, CI, pipes) and with `--json`.
"""

from __future__ import annotations

import sys
import time


class TerminalProgress:
    """A one-line progress display rewritten in place."""

    def __init__(self, stream=sys.stderr):
        self.stream, self.start, self.entity, self.entity_start = stream, time.perf_counter(), None, 0.0

    def __call__(self, entity: str, stage: str, done: int, total: int) -> None:
        """Show `done` of `total` rows of `entity`, with rate and time left."""
        now = time.perf_counter()
        if entity != self.entity:
            self.entity, self.entity_start = entity, now
            self.stream.write("\n")
        elapsed = max(now - self.entity_start, 1e-6)
        rate = done / elapsed
        left = (total - done) / rate if rate and total > done else 0
        pct = 100 * done / total if total else 100
        self.stream.write(f"\r  {entity:12} {done:>10,}/{total:,} rows {pct:5.1f}%  {rate:,.0f} rows/s  ~{left:,.0f} s left ")
        self.stream.flush()

    def close(self) -> None:
        """End the line."""
        self.stream.write(f"\n  done in {time.perf_counter() - self.start:.1f} s\n")
        self.stream.flush()


def terminal_progress() -> TerminalProgress | None:
    """A progress display, or None when output is not a terminal."""
    return TerminalProgress() if sys.stderr.isatty() else None
