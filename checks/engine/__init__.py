"""One run: plan (which checks, which columns) → measure → score → store."""

from checks.engine.measure import Measurer, RunResult, measure
from checks.engine.plan import Planned, plan
from checks.engine.run import RunOutcome, open_checked_source, run_checks

__all__ = ["Measurer", "Planned", "RunOutcome", "RunResult", "measure", "open_checked_source", "plan", "run_checks"]
