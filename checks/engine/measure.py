"""Measuring a run: each entity read once, row checks chunk by chunk, entity checks on the whole.

Each entity is read once, in chunks, with only the columns its checks need; row checks run chunk
by chunk, entity-wide checks (duplicates, bulk updates) on the few columns they need, gathered.
Table-wide figures come from one SQL aggregate per table.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from checks.base import FAILURE_COLUMNS, Check, Context, Outcome, prepared_column
from checks.config import Config
from checks.engine.lookups import LOOKUPS, owner_directory
from checks.engine.parallel import ChunkJob, ChunkRunner, key_ranges, prepare_chunk
from checks.engine.plan import Planned
from checks.engine.settle import measure_keyed_settled, measure_settled, read_records, settled_checks
from checks.engine.stages import Stages
from checks.fields import reset_memo
from checks.scoring import record_scores, score_table
from checks.values import to_datetime
from connectors.mapping import KEY, EntityQuery
from connectors.source import Source
from connectors.source.columnar import columnar_available

Progress = Callable[[str, str, int, int], None]  # (entity, stage, done, total)


@dataclass
class RunResult:
    """Everything a run measured, ready to be stored."""

    check_results: pd.DataFrame
    scores: pd.DataFrame
    findings: pd.DataFrame
    record_scores: pd.DataFrame
    overall: float | None
    rows_read: dict[str, int] = field(default_factory=dict)
    seconds_by_dimension: dict[str, float] = field(default_factory=dict)
    clusters: pd.DataFrame | None = None
    cluster_members: pd.DataFrame | None = None
    stages: Stages = field(default_factory=Stages)
    owners: pd.DataFrame | None = None  # the CRM users: owner id, name, team, active


class Measurer:
    """Runs planned checks against a source."""

    def __init__(self, cfg: Config, source: Source, now: datetime, progress: Progress | None = None,
                 decisions: dict[str, dict[str, str]] | None = None, stages: Stages | None = None,
                 previous: dict[str, dict[str, dict]] | None = None,
                 not_duplicates: dict[str, frozenset[tuple[str, str]]] | None = None):
        self.cfg, self.source, self.now, self.progress = cfg, source, now, progress
        self.stages = stages or Stages()
        self.queries = {e: EntityQuery(source, e, ent) for e, ent in cfg.entities.items()}
        # What checks may ask about other entities: each registered look-up, read at most once a run.
        self.lookups = {name: cls(self) for name, cls in LOOKUPS.items()}
        # `previous`: check id → entity → that check's metrics in the previous run (what changed since).
        # `not_duplicates`: entity → record pairs stewards said are not duplicates (every duplicate check).
        self.shared = {**self.lookups, "aggregates": {}, "decisions": decisions or {}, "previous": previous or {},
                       "not_duplicates": not_duplicates or {}}
        self.timings: dict[str, float] = {}  # seconds per dimension, over all entities

    def aggregates(self, entity: str) -> dict | None:
        """One SQL aggregate for the table: rows, newest/oldest update, age buckets."""
        from checks.dimensions.freshness import AGE_BUCKETS, OLDEST_BUCKET

        query = self.queries[entity]
        cols = query.field_columns("modified_at")
        if not cols:
            return None
        sql, _ = query.select(["modified_at"])
        m = self.source.quote("modified_at")
        params, cases = {}, []
        lower = None
        for days, _label in AGE_BUCKETS:
            params[f"t{days}"] = self._bind(self.now - pd.Timedelta(days=days))
            cond = f"q.{m} >= :t{days}" + (f" AND q.{m} < :t{lower}" if lower else "")
            cases.append(f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)")
            lower = days
        cases.append(f"SUM(CASE WHEN q.{m} < :t{lower} THEN 1 ELSE 0 END)")
        agg = f"SELECT COUNT(*), MAX(q.{m}), MIN(q.{m}), {', '.join(cases)} FROM ({sql}) q"
        row = self.source.read_frame(agg, params).iloc[0].tolist()
        labels = [label for _, label in AGE_BUCKETS] + [OLDEST_BUCKET]
        newest = to_datetime(pd.Series([row[1]])).iat[0]
        return {"rows": int(row[0] or 0), "newest": None if pd.isna(newest) else str(newest),
                "buckets": {lbl: int(v or 0) for lbl, v in zip(labels, row[3:], strict=True)}}

    def _bind(self, ts: datetime):
        # SQLite keeps dates as text: compare with text of the same shape.
        return ts.strftime("%Y-%m-%d %H:%M:%S") if self.source.dialect == "sqlite" else ts

    def _key_boundaries(self, query: EntityQuery) -> list:
        """Every chunk_size-th live key, in key order: where the workers' ranges start."""
        keys = self.source.read_frame(query.boundaries_sql(), {"size": self.cfg.source.chunk_size})
        if not len(keys):
            return []
        # Plain Python values to bind; a key repeated (a non-unique key) starts one range only.
        return [k for k in dict.fromkeys(keys.iloc[:, 0].tolist()) if k is not None and k == k]

    def _prepare_lookups(self, planned: list[Planned]) -> None:
        """Read the look-ups the entity's checks declare now, so forked workers inherit them."""
        for p in planned:
            for name in p.check.lookups:
                self.lookups[name].prepare(p.params)

    def _settled(self, planned: list[Planned], contexts: dict[int, Context], row_checks: list[int],
                 entity_checks: list[int]) -> tuple[list, list[int]]:
        """The row checks the database settles, and the keyed entity checks DuckDB keys, by `source.pushdown`.

        Keyed entity checks (exact duplicates) are keyed in DuckDB on a columnar source only.
        `auto` settles records only where that was measured faster than the row engine: on a
        source read as columns (PostgreSQL, `connectors.source.columnar`), when each row check of
        the entity settles and every entity check reading records is keyed, so that the read of
        every record into Python is spared. Otherwise the row engine judges the records it reads anyway.
        """
        mode = self.cfg.source.pushdown
        if mode == "never":
            return [], []
        settled = settled_checks(planned, contexts, row_checks, self.source.dialect)
        columnar = columnar_available(self.source)
        keyed = [i for i in entity_checks if columnar and planned[i].check.settled_key(contexts[i]) is not None]
        if mode == "auto" and (not columnar or len(settled) < len(row_checks) or len(keyed) < len(entity_checks)):
            return [], []
        return settled, keyed

    # -- measuring -----------------------------------------------------------------------------
    def measure_entity(self, entity: str, planned: list[Planned]) -> tuple[dict[int, Outcome], pd.Series, float]:
        """Outcomes per planned check (by position), owners by key, rows read."""
        ent = self.cfg.entities[entity]
        mapped = list(ent.mapped())
        fields = set(ent.required) | {"owner_id"} & set(mapped)
        for p in planned:
            fields |= set(p.check.needed_fields(mapped))
            fields |= {f for f, _ in p.params.get("_references", [])}
        query = self.queries[entity]
        sql, cols = query.select(sorted(fields))
        columns: dict[str, list] = {}
        for fc in cols:
            columns.setdefault(fc.field, []).append(fc)
        if any(p.check.dimension == "freshness" for p in planned):
            with self.stages.timed(f"{entity}: freshness aggregate"):
                self.shared["aggregates"][entity] = self.aggregates(entity)
        contexts = {i: Context(entity, self.now, columns, p.params, self.shared) for i, p in enumerate(planned)}
        outcomes = {i: Outcome.empty() for i in range(len(planned))}
        timings = {i: 0.0 for i in range(len(planned))}
        row_checks = [i for i, p in enumerate(planned) if p.check.scope == "row"]
        entity_checks = [i for i, p in enumerate(planned) if p.check.scope == "entity" and p.check.reads_records]
        from_aggregate = [i for i, p in enumerate(planned) if p.check.scope == "entity" and not p.check.reads_records]
        with self.stages.timed(f"{entity}: push-down plan"):
            settled, keyed_in_sql = self._settled(planned, contexts, row_checks, entity_checks)
        full_read = True
        if settled or keyed_in_sql:
            positions = {s.position for s in settled} | set(keyed_in_sql)
            row_checks = [i for i in row_checks if i not in positions]
            entity_checks = [i for i in entity_checks if i not in positions]
            fields = {"owner_id"} & set(mapped)
            for i, p in enumerate(planned):
                if i not in positions:
                    fields |= set(p.check.needed_fields(mapped)) | set(p.check.read_fields(mapped, p.params))
            sql, _ = query.select(sorted(fields))
            full_read = bool(row_checks or entity_checks)
        keyed = [i for i in entity_checks if type(planned[i].check).chunk_keys is not Check.chunk_keys]
        # The entity pass reads the prepared keys of keyed checks and the fields of the others.
        entity_fields = [f for i in entity_checks for f in (planned[i].check.entity_fields if i in keyed
                                                            else planned[i].check.needed_fields(mapped))]
        keep = list(dict.fromkeys([KEY] + [fc.label for f in entity_fields for fc in columns.get(f, [])])) \
            if entity_checks else []
        aggregates = self.shared["aggregates"].get(entity)
        # The freshness aggregate has counted the rows already; otherwise one COUNT(*).
        if aggregates:
            total = aggregates["rows"]
        else:
            with self.stages.timed(f"{entity}: row count"):
                total = self.source.scalar(query.count_sql()) or 0
        with self.stages.timed(f"{entity}: look-ups"):
            self._prepare_lookups(planned)
        owner_label = columns["owner_id"][0].label if "owner_id" in columns else None
        pushed_owners: list[pd.Series] = []  # owners of the records the push-down judged
        if settled or keyed_in_sql:
            pushed_fields = {"owner_id"} & set(mapped) | {
                f for i in [s.position for s in settled] + keyed_in_sql
                for f in planned[i].check.read_fields(mapped, planned[i].params)}
            pushed_sql = query.select(sorted(pushed_fields))[0]
            # Read once for all of them when read as columns (the keyed checks are only keyed then).
            with self.stages.timed(f"{entity}: push-down read"):
                records = read_records(self.source, pushed_sql) if columnar_available(self.source) else None
            if settled:
                with self.stages.timed(f"{entity}: push-down row checks"):
                    done, owners = measure_settled(self.source, pushed_sql, settled, planned, contexts, int(total),
                                                   owner_label, self.cfg.source.chunk_size, timings, records)
                outcomes.update(done)
                pushed_owners.append(owners)
            for i in keyed_in_sql:
                with self.stages.timed(f"{entity}: {planned[i].check.id} (push-down)"):
                    outcomes[i], owners = measure_keyed_settled(records, i, planned, contexts, owner_label,
                                                                timings)
                pushed_owners.append(owners)
            if records is not None:
                records.close()
        job = ChunkJob(planned, contexts, row_checks, keyed, keep, owner_label, self.source,
                       query.range_select(sorted(fields)), self.cfg.source.chunk_size)
        read = 0

        def on_rows(n: int) -> None:
            nonlocal read
            read += n
            if self.progress:
                self.progress(entity, "rows", read, total)

        # Without a full read, every check was settled or judged on its open records: nothing else to read.
        results = []
        if full_read:
            with self.stages.timed(f"{entity}: read and row checks"):
                runner = ChunkRunner(job, total, on_rows)
                if runner.parallel:
                    runner.submit_ranges(key_ranges(self._key_boundaries(query)))
                else:
                    for chunk in self.source.stream(sql, self.cfg.source.chunk_size):
                        runner.measure_here(prepare_chunk(chunk))
                results = runner.finish()
        rows = sum(r.rows for r in results) if full_read else int(total)
        for position, i in enumerate(row_checks):
            outcomes[i] = Outcome.combine([r.outcomes[position] for r in results])
        for r in results:
            for i, secs in r.seconds.items():
                timings[i] += secs
        if entity_checks:
            gathered = [r.gathered for r in results if r.gathered is not None]
            whole = pd.concat(gathered, ignore_index=True) if gathered else pd.DataFrame(columns=keep)
            for i in keyed:  # aligned with the gathered chunks, in order
                keys = np.concatenate([r.keys[i] for r in results]) if results else np.empty(0, dtype=object)
                whole[prepared_column(planned[i].check)] = pd.Series(keys, index=whole.index, dtype=object)
            whole = whole.drop_duplicates(KEY).reset_index(drop=True)
            for i in entity_checks:
                t = time.perf_counter()
                outcomes[i] = planned[i].check.evaluate(whole, contexts[i])
                seconds = time.perf_counter() - t
                timings[i] += seconds
                self.stages.add(f"{entity}: {planned[i].check.id}", seconds)
            reset_memo()
            for lookup in self.lookups.values():
                lookup.after_entity(entity, whole)
        for i in from_aggregate:  # answered from the table's aggregate: no record to give them
            t = time.perf_counter()
            outcomes[i] = planned[i].check.evaluate(pd.DataFrame(columns=[KEY]), contexts[i])
            timings[i] += time.perf_counter() - t
        owners = [r.owners for r in results if r.owners is not None] + pushed_owners
        owner_series = pd.concat(owners) if owners else pd.Series(dtype=object)
        owner_series = owner_series[~owner_series.index.duplicated()]
        for i, p in enumerate(planned):
            self.timings[p.check.dimension] = self.timings.get(p.check.dimension, 0.0) + timings[i]
        return outcomes, owner_series, rows


def measure(cfg: Config, source: Source, planned: list[Planned], now: datetime,
            progress: Progress | None = None, decisions: dict[str, dict[str, str]] | None = None,
            stages: Stages | None = None, previous: dict[str, dict[str, dict]] | None = None,
            not_duplicates: dict[str, frozenset[tuple[str, str]]] | None = None) -> RunResult:
    """Run the planned checks and score them; each stage's time added to `stages`."""
    m = Measurer(cfg, source, now, progress, decisions, stages, previous, not_duplicates)
    result_rows, finding_parts, owners, rows_read = [], [], {}, {}
    cluster_parts, member_parts = [], []
    for entity in cfg.entities:
        mine = [p for p in planned if p.entity == entity]
        if not mine:
            continue
        outcomes, owner_series, rows = m.measure_entity(entity, mine)
        owners[entity], rows_read[entity] = owner_series, rows
        for i, p in enumerate(mine):
            out = outcomes[i]
            if out.clusters is not None:
                cluster_parts.append(out.clusters[0])
                member_parts.append(out.clusters[1])
            failed = len(out.failures)
            score = None if out.applicable == 0 else round(100 * (1 - min(failed, out.applicable) / out.applicable), 4)
            result_rows.append({"check_id": p.check.id, "entity": entity, "dimension": p.check.dimension,
                                "fields": ",".join(p.check.reported_fields(cfg.entities[entity].mapped(), p.params)),
                                "severity": p.severity, "weight": p.weight, "applicable": out.applicable,
                                "failed": failed, "score": score, "metrics": json.dumps(out.metrics, default=str)})
            if failed:
                f = out.failures.reindex(columns=FAILURE_COLUMNS)
                if p.check.advice:  # every finding says what to do, when no value can be proposed
                    f["suggestion"] = f.suggestion.astype(object).where(f.suggestion.notna(), p.check.advice)
                finding_parts.append(f.assign(check_id=p.check.id, entity=entity, severity=p.severity))
    with m.stages.timed("scores and findings"):
        results = pd.DataFrame(result_rows)
        findings = pd.concat(finding_parts, ignore_index=True) if finding_parts else pd.DataFrame(
            columns=[*FAILURE_COLUMNS, "check_id", "entity", "severity"])
        findings["owner"] = None
        for entity, series in owners.items():
            mask = findings.entity == entity
            if mask.any() and len(series):
                findings.loc[mask, "owner"] = findings.loc[mask, "record_key"].map(series)
        if len(results):
            scores, overall = score_table(results, cfg.scoring)
        else:
            scores, overall = pd.DataFrame(columns=["scope", "entity", "dimension", "field", "score"]), None
        rec = record_scores(findings, results, cfg.scoring, owners) if len(results) else pd.DataFrame()
        clusters = pd.concat(cluster_parts, ignore_index=True) if cluster_parts else None
        members = pd.concat(member_parts, ignore_index=True) if member_parts else None
    with m.stages.timed("owners"):
        directory = owner_directory(m)
    return RunResult(results, scores, findings, rec, overall, rows_read, m.timings, clusters, members, m.stages,
                     directory)
