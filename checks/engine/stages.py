"""The wall time of each stage of a run, in the order the stages ran, for `cleancrm run --timings`.

A run's cost is spread over reading, checks and storing, per entity; the stage that dominates
differs by CRM (fuzzy duplicates on one, a slow source on another), so each is timed where it runs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Stages:
    """Seconds per named stage; a stage timed twice adds up."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Time the block as stage `name`."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        """Count `seconds` to stage `name`."""
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def table(self, total: float | None = None) -> str:
        """The stages as aligned lines: seconds and share of `total` (default: their sum)."""
        total = total or sum(self.seconds.values()) or 1.0
        width = max((len(n) for n in self.seconds), default=5)
        lines = [f"{'stage':<{width}}  {'seconds':>8}  {'share':>6}"]
        lines += [f"{name:<{width}}  {secs:>8.2f}  {secs / total:>6.1%}" for name, secs in self.seconds.items()]
        return "\n".join(lines)


def seconds_since_process_start() -> float:
    """Wall seconds since this process started (the interpreter, imports and the config's reading).

    On Linux from the kernel's own clock (the start time in /proc is in clock ticks since boot);
    psutil's wall-clock start rests on a boot time rounded to the second.
    """
    try:
        with open("/proc/self/stat") as stat:
            ticks = int(stat.read().rpartition(")")[2].split()[19])
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, AttributeError, IndexError):
        import psutil

        return max(0.0, time.time() - psutil.Process().create_time())
