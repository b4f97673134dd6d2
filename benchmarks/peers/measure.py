"""Run one measurement: a fresh process, its wall time, its memory, and the SQL it sent.

Memory, two ways: the peak RSS of the largest single process (`os.wait4`'s ru_maxrss: exact,
covers the child and any descendants it waited for), and the peak of the whole process tree's
PSS sampled every 50 ms from /proc (proportional set size, so pages that forked workers share
are counted once).

Statements: PostgreSQL logs every statement of the harness's database (`ALTER DATABASE … SET
log_statement = 'all'`, set for the run, reset after), and the harness counts the log lines of that
database written while the process ran, read back with `pg_read_file` (we are superuser). Nothing
else connects to that database during a measurement, so the count is the tool's own.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

DEFAULT_LOGS = ["/var/log/postgresql/postgresql-15-main.log"]


@dataclass
class Measurement:
    """What one run of a tool cost, and what it printed."""

    wall_s: float
    returncode: int
    stdout: str
    stderr: str
    max_rss_mb: float
    tree_pss_mb: float
    statements: int | None
    queries: int | None


def _tree(pid: int) -> list[int]:
    """The pid and all its descendants (from /proc/<pid>/task/*/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return out


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class StatementLog:
    """Counts the statements PostgreSQL logs for one database, from the server's log file."""

    # The statement's first word may sit on the next line (SQL that starts with a newline): \s* spans it.
    _LINE = r"^\S+ \S+ \S+ \[\d+\] [^@\s]*@{db} LOG:  (statement|execute [^:]*):\s*(\w*)"

    def __init__(self, admin_url: str, dbname: str):
        self.admin_url, self.dbname = admin_url, dbname
        self.line = re.compile(self._LINE.format(db=re.escape(dbname)), re.M)
        self.path = self._find()

    def _find(self) -> str | None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            current = conn.execute("SELECT pg_current_logfile()").fetchone()[0]
            data_dir = conn.execute("SHOW data_directory").fetchone()[0]
            for path in ([str(Path(data_dir) / current)] if current else []) + DEFAULT_LOGS:
                try:
                    conn.execute("SELECT size FROM pg_stat_file(%s)", (path,))
                    return path
                except psycopg.Error:
                    continue
        return None

    def _set(self, on: bool) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            db = sql.Identifier(self.dbname)
            conn.execute(sql.SQL("ALTER DATABASE {} SET log_statement = 'all'").format(db) if on
                         else sql.SQL("ALTER DATABASE {} RESET log_statement").format(db))

    def enable(self) -> None:  # noqa: D102
        if self.path:
            self._set(True)

    def disable(self) -> None:  # noqa: D102
        if self.path:
            self._set(False)

    def offset(self) -> int | None:
        """The log's current size."""
        if not self.path:
            return None
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            return conn.execute("SELECT size FROM pg_stat_file(%s)", (self.path,)).fetchone()[0]

    def count(self, start: int | None) -> tuple[int | None, int | None]:
        """(statements, data queries: SELECT/WITH/FETCH/DECLARE) logged since `start`."""
        end = self.offset()
        if start is None or end is None:
            return None, None
        total = queries = 0
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            pos = start
            while pos < end:  # in 64 MB chunks, cut at a line end: a 1M-row run may log many FETCHes
                data = bytes(conn.execute("SELECT pg_read_binary_file(%s, %s, %s)",
                                          (self.path, pos, min(end - pos, 64 << 20))).fetchone()[0])
                cut = data.rfind(b"\n") + 1 if pos + len(data) < end else len(data)
                cut = cut or len(data)
                for m in self.line.finditer(data[:cut].decode("utf-8", "replace")):
                    total += 1
                    if m.group(2).lower() in ("select", "with", "fetch", "declare"):
                        queries += 1
                pos += cut
        return total, queries


def run(argv: list[str], env: dict[str, str], cwd: Path, log: StatementLog, timeout_s: float = 7200
        ) -> Measurement:
    """Run `argv` as a fresh process and measure it."""
    out_path, err_path = cwd / ".stdout", cwd / ".stderr"
    start_offset = log.offset()
    peak = [0]
    done = threading.Event()
    with open(out_path, "w") as out, open(err_path, "w") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=err)

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], sum(_pss_kb(p) for p in _tree(proc.pid)))
                done.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        timer = threading.Timer(timeout_s, proc.kill)
        timer.start()
        # wait4, not Popen.wait: it returns this child's own rusage (its ru_maxrss).
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        timer.cancel()
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    statements, queries = log.count(start_offset)
    return Measurement(wall, proc.returncode, out_path.read_text(), err_path.read_text(),
                       usage.ru_maxrss / 1024, peak[0] / 1024, statements, queries)
