"""One venv per peer under bench-data/peers/venvs/, created with pip on first use (idempotent).

A marker file records the requirements installed; a venv whose marker matches is used as is.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REQUIREMENTS = {
    "soda3": ["soda-core-postgres==3.5.6"],
    "soda4": ["soda-postgres==4.28.0"],
    # GX's SQL datasources need SQLAlchemy and a driver, which it does not install itself.
    "gx": ["great_expectations==1.24.1", "sqlalchemy>=2,<2.1", "psycopg2-binary"],
}


def ensure(root: Path, name: str, log=print) -> Path:
    """The python of venv `name`, created and installed if missing or out of date."""
    venv = root / name
    python = venv / "bin" / "python"
    marker = venv / ".peers-requirements"
    wanted = "\n".join(REQUIREMENTS[name])
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    log(f"creating venv {venv} ({', '.join(REQUIREMENTS[name])})")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(["nice", "-n", "10", str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    *REQUIREMENTS[name]], check=True)
    marker.write_text(wanted)
    return python


def version(python: Path, dist: str) -> str:
    """The installed version of distribution `dist` in a venv."""
    return subprocess.run([str(python), "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
                          check=True, capture_output=True, text=True).stdout.strip()
