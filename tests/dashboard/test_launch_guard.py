"""Starting the dashboard: another address than this computer's needs users; `hash-password` makes their hashes."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml
from typer.testing import CliRunner

from checks.app.cli import app
from dashboard import identity


def _start(args: list[str], cwd, home) -> subprocess.CompletedProcess:
    # A working directory and home without .streamlit/secrets.toml: no OIDC provider is configured.
    env = {**os.environ, "HOME": str(home)}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_another_address_without_users_is_refused(empty_config, tmp_path):
    done = _start(["-m", "dashboard", "--config", str(empty_config), "--address", "0.0.0.0"], tmp_path, tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --address: 0.0.0.0 would serve other computers")
    assert "dashboard.users" in lines[0]

    data = yaml.safe_load(empty_config.read_text())
    data["dashboard"] = {"address": "0.0.0.0"}
    empty_config.write_text(yaml.safe_dump(data))
    done = _start(["-m", "checks.app.cli", "dashboard", "--config", str(empty_config)], tmp_path, tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: dashboard.address: 0.0.0.0 would serve")


def test_a_config_error_stops_the_module_with_exit_2(tmp_path):
    bad = tmp_path / "cleancrm.yml"
    bad.write_text("name: x\n")
    done = _start(["-m", "dashboard", "--config", str(bad)], tmp_path, tmp_path)
    assert done.returncode == 2 and done.stderr.startswith("error: ")


def test_hash_password_prints_a_bcrypt_hash_of_stdin():
    runner = CliRunner()
    done = runner.invoke(app, ["hash-password", "--rounds", "4"], input="correct horse\n")
    assert done.exit_code == 0, done.output
    hashed = done.stdout.strip()
    assert hashed.startswith("$2b$04$") and "correct" not in hashed
    assert identity.password_matches("correct horse", hashed)
    assert not identity.password_matches("correct horse ", hashed)
    empty = runner.invoke(app, ["hash-password"], input="")
    assert empty.exit_code == 2 and "none given" in empty.output
    long = runner.invoke(app, ["hash-password"], input="x" * 73 + "\n")
    assert long.exit_code == 2 and "72 bytes" in long.output
