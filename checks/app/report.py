"""What `cleancrm run` prints: a summary table, or the documented JSON result.

JSON result (`cleancrm run --json`):
    {"run_id": 12, "as_of": "...", "seconds": 3.2, "overall": 93.4,
     "dimensions": {"accuracy": 95.1, ...}, "entities": {"contact": 91.0, ...},
     "rows_read": {"contact": 5201, ...},
     "checks": [{"id": "accuracy.email_syntax", "entity": "contact", "dimension": "accuracy",
                 "fields": ["email"], "severity": "high", "applicable": 5100, "failed": 50,
                 "score": 99.02}, ...],
     "warnings": ["source: the role crm is a superuser; ..."]}
Scores are percentages (0-100); a check with nothing applicable has score null. `warnings` is
empty unless the source's login could write to the CRM.
"""

from __future__ import annotations

import math

import pandas as pd

from checks.base import is_enrichment


def _num(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(float(value), 2)


def result_json(outcome) -> dict:
    """The JSON document of a run."""
    r = outcome.result
    scores = r.scores
    dims = scores[scores.scope == "dimension"]
    ents = scores[scores.scope == "entity"]
    checks = [{"id": row.check_id, "entity": row.entity, "dimension": row.dimension,
               "fields": [f for f in str(row.fields).split(",") if f], "severity": row.severity,
               "applicable": int(row.applicable), "failed": int(row.failed), "score": _num(row.score)}
              for row in r.check_results.itertuples()]
    return {"run_id": outcome.run_id, "as_of": outcome.as_of, "seconds": round(outcome.seconds, 2), "overall": _num(r.overall),
            "dimensions": {d.dimension: _num(d.score) for d in dims.itertuples()},
            "entities": {e.entity: _num(e.score) for e in ents.itertuples()},
            "rows_read": r.rows_read, "checks": checks, "warnings": list(outcome.warnings),
            "stages": {name: round(secs, 3) for name, secs in r.stages.seconds.items()},
            "skipped": [{"check": c, "entity": e, "why": why} for c, e, why in outcome.skipped]}


def summary_table(outcome) -> str:
    """A readable summary: overall, per dimension and entity, and the checks that fail most."""
    r = outcome.result
    lines = [f"Run {outcome.run_id} finished in {outcome.seconds:.1f} s; "
             f"rows read: {', '.join(f'{e} {n:,}' for e, n in r.rows_read.items())}",
             f"Overall score: {_fmt(r.overall)}", ""]
    grid = r.scores[r.scores.scope == "entity_dimension"].pivot_table(
        index="entity", columns="dimension", values="score", aggfunc="first")
    if len(grid):
        lines.append(grid.round(1).astype(object).fillna("-").to_string())
        lines.append("")
    failing = r.check_results[r.check_results.failed > 0]
    enrichment = failing.check_id.map(is_enrichment).astype(bool)
    worst = failing[~enrichment].sort_values("score").head(15)
    if len(worst):
        lines.append("Checks with failures (worst first):")
        lines.append(pd.DataFrame({"check": worst.check_id, "entity": worst.entity, "failed": worst.failed,
                                   "of": worst.applicable, "score": worst.score.round(1)}).to_string(index=False))
    else:
        lines.append("No check failed.")
    found = failing[enrichment]
    if len(found):  # opportunities, not failures: values the records' other fields give
        lines.append("\nEnrichment opportunities (empty values the records' other fields give; `cleancrm fixes` writes them):")
        lines += [f"  {row.check_id} on {row.entity}: {row.failed:,}" for row in found.itertuples()]
    if outcome.skipped:
        lines.append(f"\nNot run on this config ({len(outcome.skipped)}):")
        lines += [f"  {check} on {entity}: {why}" for check, entity, why in outcome.skipped]
    lines.append("\nDetails: cleancrm findings --config FILE --run latest")
    return "\n".join(lines)


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.1f} / 100"
