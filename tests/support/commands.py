"""The `cleancrm` command in process (typer's CliRunner), as the command-line tests call it."""

from __future__ import annotations

from typer.testing import CliRunner

from checks.app.cli import app

runner = CliRunner()


def invoke(*args):
    """Run `cleancrm ARGS…` in process; its result, whatever the exit code."""
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def cli(*args):
    """Run `cleancrm ARGS…` in process and require exit code 0 (the output is the assertion's message)."""
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result
