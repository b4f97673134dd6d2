"""Results: check results and scores of runs, and their series over the completed runs of a source."""

from __future__ import annotations

import json
from collections.abc import Iterable
from numbers import Integral

import pandas as pd
import sqlalchemy as sa

from connectors.history import schema, segments
from connectors.history.part import StorePart


def _of_runs(column: sa.Column, run_ids: int | Iterable[int]):
    """`column = id` for one run, `column IN (...)` for several."""
    if isinstance(run_ids, Integral):
        return column == run_ids
    return column.in_(list(run_ids))


class Results(StorePart):
    """Reads what runs measured: per check and entity, and scored per scope."""

    # -- one run, or a few --------------------------------------------------------------------------
    def check_results(self, run_ids: int | Iterable[int]) -> pd.DataFrame:
        """One row per check and entity of a run (or of each of several runs); metrics left as JSON text."""
        results = schema.check_results
        return self._frame(sa.select(results).where(_of_runs(results.c.run_id, run_ids)))

    def scores(self, run_ids: int | Iterable[int]) -> pd.DataFrame:
        """Overall, dimension, entity and field scores of a run (or of each of several runs)."""
        scores = schema.scores
        return self._frame(sa.select(scores).where(_of_runs(scores.c.run_id, run_ids)))

    def failing_checks(self, run_id: int) -> pd.DataFrame:
        """Checks with failures in a run, worst first: check_id, entity, dimension, fields, failed, applicable, score."""
        results = schema.check_results
        q = (sa.select(results.c.check_id, results.c.entity, results.c.dimension, results.c.fields,
                       results.c.severity, results.c.failed, results.c.applicable, results.c.score)
             .where(results.c.run_id == run_id, results.c.failed > 0).order_by(results.c.failed.desc()))
        return self._frame(q)

    def affected_records(self, run_id: int) -> pd.DataFrame:
        """Per entity: records with at least one finding, and the records checked.

        Records checked are the entity's live records, which completeness.record counts once each; a
        run without it (`--only`) falls back on its largest applicable count, which may count field
        values. A finding on the table itself (`(table contact)`: the newest update, a schema
        change) is no record's.
        """
        results = schema.check_results
        records = segments.read(self.engine, run_id, segments.RECORD_SCORES).select(
            ["entity", "record_key", "failed_checks"])
        scored = records.to_pandas()
        scored = scored[(scored.failed_checks > 0) & ~scored.record_key.astype(str).str.startswith("(table ")]
        bad = (scored.groupby("entity", observed=True).size().rename("affected")
               .reset_index().astype({"entity": "str"}))
        per_check = self._frame(sa.select(results.c.entity, results.c.check_id, results.c.applicable)
                                .where(results.c.run_id == run_id))
        records_of = per_check[per_check.check_id == RECORDS_CHECK].set_index("entity").applicable
        largest = per_check.groupby("entity").applicable.max()
        checked = pd.DataFrame({"entity": largest.index.astype(str),
                                "checked": [int(records_of.get(e, n)) for e, n in largest.items()]})
        out = checked.merge(bad, on="entity", how="left").fillna({"affected": 0})
        out["affected"] = out.affected.astype(int)
        return out.sort_values("entity").reset_index(drop=True)

    # -- over the completed runs of a source --------------------------------------------------------
    def score_series(self, source_name: str, scope: str = "dimension") -> pd.DataFrame:
        """Scores of one scope over all complete runs: run_id, as_of, entity, dimension, field, score.

        Runs limited with `--only` are left out: their scores cover part of the checks.

        `scope="dimension"` also returns the overall score (dimension "overall").
        """
        scores, runs = schema.scores, schema.runs
        scopes = ["overall", "dimension"] if scope == "dimension" else [scope]
        q = (sa.select(scores.c.run_id, runs.c.as_of, scores.c.scope, scores.c.entity, scores.c.dimension,
                       scores.c.field, scores.c.score)
             .join(runs, runs.c.id == scores.c.run_id)
             .where(runs.c.source_name == source_name, runs.c.status == "completed", scores.c.scope.in_(scopes),
                    sa.func.coalesce(runs.c.only, "") == ""))  # a run limited by --only has partial scores
        frame = self._frame(q)
        frame["as_of"] = pd.to_datetime(frame.as_of)
        frame.loc[frame.scope == "overall", "dimension"] = "overall"
        return frame.sort_values(["as_of", "run_id"]).reset_index(drop=True)

    def check_series(self, source_name: str, check_id: str, entity: str | None = None) -> pd.DataFrame:
        """One check over all completed runs: run_id, as_of, entity, score, failed, applicable."""
        results, runs = schema.check_results, schema.runs
        q = (sa.select(results.c.run_id, runs.c.as_of, results.c.entity, results.c.score, results.c.failed,
                       results.c.applicable)
             .join(runs, runs.c.id == results.c.run_id)
             .where(runs.c.source_name == source_name, runs.c.status == "completed",
                    results.c.check_id == check_id))
        if entity:
            q = q.where(results.c.entity == entity)
        frame = self._frame(q)
        frame["as_of"] = pd.to_datetime(frame.as_of)
        return frame.sort_values("as_of").reset_index(drop=True)

    def catalog(self, source_name: str) -> pd.DataFrame:
        """Distinct (check, entity, dimension, fields) ever measured on the source."""
        results, runs = schema.check_results, schema.runs
        latest = sa.select(sa.func.max(runs.c.id)).where(runs.c.source_name == source_name,
                                                         runs.c.status == "completed")
        q = (sa.select(results.c.check_id, results.c.entity, results.c.dimension, results.c.fields)
             .where(results.c.run_id == latest.scalar_subquery())
             .order_by(results.c.dimension, results.c.check_id, results.c.entity))
        return self._frame(q)

    def metrics_series(self, source_name: str, check_id: str, entity: str) -> pd.DataFrame:
        """A check's metrics over the completed runs: run_id, as_of, metrics (a dict)."""
        results, runs = schema.check_results, schema.runs
        q = (sa.select(runs.c.id.label("run_id"), runs.c.as_of, results.c.metrics)
             .join(runs, runs.c.id == results.c.run_id)
             .where(runs.c.source_name == source_name, runs.c.status == "completed",
                    results.c.check_id == check_id, results.c.entity == entity).order_by(runs.c.as_of))
        frame = self._frame(q)
        frame["as_of"] = pd.to_datetime(frame.as_of)
        frame["metrics"] = [_json_dict(m) for m in frame.metrics]
        return frame

    def latest_metrics(self, source_name: str, check_id: str) -> dict[str, dict]:
        """A check's metrics in the newest completed run of a source, by entity (empty before any run)."""
        results, runs = schema.check_results, schema.runs
        latest = (sa.select(sa.func.max(runs.c.id))
                  .where(runs.c.source_name == source_name, runs.c.status == "completed")
                  .join(results, results.c.run_id == runs.c.id).where(results.c.check_id == check_id))
        q = sa.select(results.c.entity, results.c.metrics).where(
            results.c.run_id == latest.scalar_subquery(), results.c.check_id == check_id)
        return {entity: _json_dict(metrics) for entity, metrics in self._frame(q).itertuples(index=False)}

    def fill_rates(self, source_name: str, entity: str) -> pd.DataFrame:
        """Each mapped field's fill rate over runs (completeness.expected's metrics): as_of, field, fill_rate."""
        rows = []
        for as_of, values in self.metrics_series(source_name, "completeness.expected", entity)[
                ["as_of", "metrics"]].itertuples(index=False):
            records = int(values.get("sum_records") or 0)
            rows += [{"as_of": as_of, "field": key.partition(":")[2], "fill_rate": int(filled or 0) / records}
                     for key, filled in values.items() if key.startswith("sum_filled:") and records]
        return pd.DataFrame(rows, columns=["as_of", "field", "fill_rate"])

    def freshness_metrics(self, source_name: str, entity: str,
                          check_id: str = "freshness.staleness") -> pd.DataFrame:
        """The freshness check's age buckets over runs: as_of, bucket, count, share (bucket order kept)."""
        results, runs = schema.check_results, schema.runs
        q = (sa.select(runs.c.as_of, results.c.metrics).join(runs, runs.c.id == results.c.run_id)
             .where(runs.c.source_name == source_name, runs.c.status == "completed",
                    results.c.check_id == check_id, results.c.entity == entity))
        rows = []
        for as_of, metrics in self._frame(q).itertuples(index=False):
            try:
                buckets = (json.loads(metrics or "{}") or {}).get("age_buckets") or {}
            except (TypeError, ValueError):
                buckets = {}
            total = sum(int(v or 0) for v in buckets.values())
            for bucket, count in buckets.items():
                rows.append({"as_of": pd.Timestamp(as_of), "bucket": bucket, "count": int(count or 0),
                             "share": (int(count or 0) / total) if total else 0.0})
        return pd.DataFrame(rows, columns=["as_of", "bucket", "count", "share"])


RECORDS_CHECK = "completeness.record"  # applicable once per live record of its entity


def _json_dict(text) -> dict:
    try:
        return json.loads(text or "{}") or {}
    except (TypeError, ValueError):
        return {}
