"""The peers, one module each: how to set a tool up, the process to time, and how to read its numbers.

Every runner writes its configuration once (`prepare`, not timed) and returns the `Job` that is
timed; a job prints one `PEERS_RESULT {json}` line (or, for cleancrm, its own `--json`), which
`parse` turns into {metric id: value}. `basis` says under which definition each number is meant
(see spec.BASES); a metric the tool cannot check has basis None and shows as n/a.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

RESULT_TAG = "PEERS_RESULT "
HERE = Path(__file__).resolve().parent.parent
JOBS = HERE / "jobs"

# Telemetry off for every tool, whichever reads which variable.
QUIET_ENV = {"SODA_CORE_TELEMETRY_ENABLED": "false", "GX_ANALYTICS_ENABLED": "false", "PYTHONWARNINGS": "ignore"}


@dataclass
class Ctx:
    """What every runner needs: the database, where to write, the spec's country list."""

    url: str  # postgresql://user@host:port/db
    work: Path  # bench-data/peers
    root: Path  # the repository
    iso: list[str]
    anchor: str = ""

    @property
    def parts(self):  # noqa: D102
        u = urlsplit(self.url)
        return {"host": u.hostname or "127.0.0.1", "port": u.port or 5432, "user": u.username or "postgres",
                "password": u.password or "", "database": u.path.lstrip("/")}


@dataclass
class Job:
    """The process that is timed."""

    argv: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)

    def full_env(self) -> dict[str, str]:  # noqa: D102
        return {**os.environ, **QUIET_ENV, **self.env}


def tagged_result(stdout: str) -> dict:
    """The JSON a job printed after RESULT_TAG."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    raise ValueError("no result line in the job's output")


def write_args(path: Path, args: dict) -> Path:
    """The job's arguments as a JSON file beside its configuration."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(args, indent=1, default=str))
    return path
