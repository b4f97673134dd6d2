"""How `cleancrm dashboard` starts Streamlit: the command line, with the project's theme applied.

Streamlit reads `.streamlit/config.toml` from the working directory only, so the theme and
server settings of the repository's `.streamlit/config.toml` are passed as flags: the dashboard
looks the same wherever it is started from.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

APP = Path(__file__).with_name("streamlit_app.py")
PROJECT_CONFIG = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"


def config_flags(path: Path = PROJECT_CONFIG) -> list[str]:
    """`--section.key value` flags for every setting of a Streamlit config.toml (none if absent)."""
    if not path.exists():
        return []
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    flags = []
    for section, values in data.items():
        if not isinstance(values, dict):
            continue
        for key, value in values.items():
            if isinstance(value, dict | list):
                continue  # nested tables (theme.sidebar …) and lists cannot be passed as flags
            text = str(value).lower() if isinstance(value, bool) else str(value)
            flags += [f"--{section}.{key}", text]
    return flags


def streamlit_command(config: str | Path, port: int | None = None, headless: bool = False,
                      address: str | None = None) -> list[str]:
    """The argv that serves the dashboard for `config` (run it with subprocess)."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), *config_flags()]
    if port:
        cmd += ["--server.port", str(port)]
    if address:
        cmd += ["--server.address", address]
    if headless:
        cmd += ["--server.headless", "true"]
    return [*cmd, "--", "--config", str(Path(config).resolve())]
