"""How `cleancrm dashboard` starts Streamlit: the address it may bind to, and the command line.

Streamlit reads `.streamlit/config.toml` from the working directory only, so the theme and
server settings of the repository's `.streamlit/config.toml` are passed as flags: the dashboard
looks the same wherever it is started from.

A dashboard without users shows every record unmasked to whoever reaches it, so it binds to this
computer only; another address needs users in the config (or an OIDC provider).
"""

from __future__ import annotations

import ipaddress
import sys
import tomllib
from pathlib import Path

APP = Path(__file__).with_name("streamlit_app.py")
PROJECT_CONFIG = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"
LOCAL_ADDRESS = "127.0.0.1"


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


def _without(flags: list[str], name: str) -> list[str]:
    """`flags` without the flag `name` and its value."""
    out, skip = [], False
    for flag in flags:
        if skip:
            skip = False
        elif flag == name:
            skip = True
        else:
            out.append(flag)
    return out


def streamlit_command(config: str | Path, port: int | None = None, headless: bool = False,
                      address: str | None = None) -> list[str]:
    """The argv that serves the dashboard for `config` (run it with subprocess)."""
    flags = config_flags()
    if address:
        flags = _without(flags, "--server.address")  # the one asked for replaces the project's default
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), *flags]
    if port:
        cmd += ["--server.port", str(port)]
    if address:
        cmd += ["--server.address", address]
    if headless:
        cmd += ["--server.headless", "true"]
    return [*cmd, "--", "--config", str(Path(config).resolve())]


def is_local(address: str) -> bool:
    """Whether binding to `address` serves this computer only (a loopback address or `localhost`)."""
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip().strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to any interface
        return False


def secrets_files(cwd: Path | None = None, home: Path | None = None) -> list[Path]:
    """Where Streamlit looks for secrets.toml by default: the working directory's, then the user's."""
    return [(cwd or Path.cwd()) / ".streamlit" / "secrets.toml", (home or Path.home()) / ".streamlit" / "secrets.toml"]


def oidc_configured(files: list[Path] | None = None) -> bool:
    """Whether a secrets.toml Streamlit reads has an `[auth]` section (sign-in through `st.login`)."""
    for path in secrets_files() if files is None else files:
        try:
            if "auth" in tomllib.loads(path.read_text(encoding="utf-8")):
                return True
        except (OSError, tomllib.TOMLDecodeError):
            continue
    return False


def bind_refusal(address: str, users: int, oidc: bool, where: str = "dashboard.address") -> str | None:
    """Why the dashboard may not bind to `address` (one line), or None when it may.

    `where` names the setting the address came from, for the message.
    """
    if is_local(address) or users or oidc:
        return None
    return (f"{where}: {address} would serve other computers, but no one can sign in; "
            "add dashboard.users to the config (or an OIDC provider under [auth] in .streamlit/secrets.toml), "
            f"or bind to {LOCAL_ADDRESS}")
