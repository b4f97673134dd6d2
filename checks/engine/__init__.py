"""One run: plan (which checks, which columns) → measure → score → store."""

from checks.engine.run import (
    Measurer,
    Planned,
    RunOutcome,
    RunResult,
    measure,
    open_checked_source,
    plan,
    run_checks,
)

__all__ = ["Measurer", "Planned", "RunOutcome", "RunResult", "measure", "open_checked_source", "plan", "run_checks"]
