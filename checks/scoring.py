"""Scores: check → field → dimension → entity → overall, and a score per record.

- A check's score is its pass rate in percent: 100 × (1 − failed / applicable); a check with
  nothing applicable has no score and weighs nothing.
- A check's effective weight is its weight (default 1, config `checks.<id>.weight`) times its
  severity's multiplier (config `scoring.severity_weights`: low 1, medium 2, high 3, critical 5).
- Field, entity, dimension and per-entity dimension scores are weighted means of their checks.
- The overall score is the mean of the dimension scores, weighted by `scoring.dimension_weights`
  (default 1 each).
- A record's score is 100 × (1 − the effective weight of the checks it fails / the effective
  weight of all checks of its entity). Records without findings score 100 and are not stored, and
  so are records whose findings are all of checks that weigh 0 (enrichment opportunities): they
  fail nothing that counts.
- A check that weighs 0 is in no weighted mean: a dimension, entity or field whose checks all
  weigh 0 has no score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from checks.config import ScoringConfig


def effective_weights(results: pd.DataFrame, scoring: ScoringConfig) -> pd.Series:
    """Weight × severity multiplier per check result."""
    multiplier = results.severity.map(scoring.severity_weights).fillna(1.0)
    return results.weight * multiplier


def _wmean(frame: pd.DataFrame) -> float | None:
    ok = frame.score.notna() & (frame.w > 0)
    if not ok.any():
        return None
    return float(np.average(frame.score[ok], weights=frame.w[ok]))


def score_table(results: pd.DataFrame, scoring: ScoringConfig) -> tuple[pd.DataFrame, float | None]:
    """All aggregate scores of a run, and the overall score."""
    r = results.assign(w=effective_weights(results, scoring))
    rows = []
    for dim, g in r.groupby("dimension"):
        rows.append({"scope": "dimension", "entity": None, "dimension": dim, "field": None, "score": _wmean(g)})
    for ent, g in r.groupby("entity"):
        rows.append({"scope": "entity", "entity": ent, "dimension": None, "field": None, "score": _wmean(g)})
    for (ent, dim), g in r.groupby(["entity", "dimension"]):
        rows.append({"scope": "entity_dimension", "entity": ent, "dimension": dim, "field": None, "score": _wmean(g)})
    per_field = r.assign(field=r.fields.str.split(",")).explode("field")
    per_field = per_field[per_field.field.fillna("") != ""]
    for (ent, fld), g in per_field.groupby(["entity", "field"]):
        rows.append({"scope": "field", "entity": ent, "dimension": None, "field": fld, "score": _wmean(g)})
    dims = [row for row in rows if row["scope"] == "dimension" and row["score"] is not None]
    overall = None
    if dims:
        weights = [scoring.dimension_weights.get(d["dimension"], 1.0) for d in dims]
        if sum(weights) > 0:
            overall = float(np.average([d["score"] for d in dims], weights=weights))
    rows.insert(0, {"scope": "overall", "entity": None, "dimension": None, "field": None, "score": overall})
    return pd.DataFrame(rows), overall


def points_lost(results: pd.DataFrame, scoring: ScoringConfig) -> pd.Series:
    """Points of the overall score each check result costs; they add up to 100 − the overall score.

    A check's share of its dimension is its effective weight (weight × severity multiplier) over
    the dimension's scored checks; the dimension's share of the overall score is its weight over
    the scored dimensions' (the weighted means of `score_table`).
    """
    w = effective_weights(results, scoring).where(results.score.notna() & (results.weight > 0), 0.0)
    per_dim = w.groupby(results.dimension).transform("sum")
    scored_dims = sorted(set(results.dimension[w > 0]))
    dim_weight = {d: scoring.dimension_weights.get(d, 1.0) for d in scored_dims}
    total = sum(dim_weight.values())
    share = results.dimension.map(lambda d: dim_weight.get(d, 0.0) / total if total else 0.0)
    lost = (100.0 - results.score).fillna(0.0)
    return (share * (w / per_dim.where(per_dim > 0)) * lost).fillna(0.0)


def record_scores(findings: pd.DataFrame, results: pd.DataFrame, scoring: ScoringConfig,
                  owners: dict[str, pd.Series]) -> pd.DataFrame:
    """Score of every record with at least one finding."""
    cols = ["entity", "record_key", "score", "failed_checks", "owner"]
    if not len(findings):
        return pd.DataFrame(columns=cols)
    r = results.assign(w=effective_weights(results, scoring))
    applicable = r[r.applicable > 0]
    weight = applicable.set_index(["entity", "check_id"]).w
    total = applicable.groupby("entity").w.sum()
    failed = findings[["entity", "record_key", "check_id"]].drop_duplicates()
    failed = failed.join(weight, on=["entity", "check_id"])
    failed = failed[failed.w.ne(0)]  # a check that weighs nothing fails no record
    if not len(failed):
        return pd.DataFrame(columns=cols)
    per = failed.groupby(["entity", "record_key"]).agg(w=("w", "sum"), failed_checks=("check_id", "count")).reset_index()
    # An entity whose checks all weigh 0 (or none applied) has nothing to divide by: its records lose nothing.
    share = (per.w / per.entity.map(total).where(lambda t: t > 0)).fillna(0.0)
    per["score"] = (100 * (1 - share)).clip(lower=0).round(2)
    per["owner"] = None
    for entity, series in owners.items():
        mask = per.entity == entity
        per.loc[mask, "owner"] = per.loc[mask, "record_key"].map(series)
    return per[cols]
