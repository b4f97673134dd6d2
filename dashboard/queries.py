"""Reads from the history store (cached) and from the CRM source (read-only, a few records at a time).

Every function takes the history URL first, so that `st.cache_data` keys on it; the store itself is
a cached resource. Big tables (findings, worklists) are filtered, counted and paginated in SQL by
the store.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from checks.base import ENRICHMENT_PREFIX
from checks.values import as_keys
from connectors.history import FindingFilter, HistoryStore

TTL = 60  # seconds a history read is reused; "Run now" and steward decisions clear the caches.


@st.cache_resource(show_spinner=False)
def store(url: str) -> HistoryStore:
    """The history store (migrated on first open), shared by all sessions."""
    return HistoryStore(url)


def clear() -> None:
    """Forget cached reads (after a run or a decision)."""
    st.cache_data.clear()


# -- runs ---------------------------------------------------------------------------------------
@st.cache_data(ttl=TTL, show_spinner=False)
def runs(url: str, source: str) -> pd.DataFrame:
    """All runs of the source, newest first, with their duration in seconds."""
    frame = store(url).runs.list(source)
    for col in ("started_at", "finished_at", "as_of"):
        frame[col] = pd.to_datetime(frame[col])
    frame["duration_s"] = (frame.finished_at - frame.started_at).dt.total_seconds()
    return frame


@st.cache_data(ttl=TTL, show_spinner=False)
def completed_runs(url: str, source: str) -> pd.DataFrame:
    """Completed runs, oldest first: id, as_of, overall_score."""
    return store(url).runs.completed(source)


# -- scores -------------------------------------------------------------------------------------
@st.cache_data(ttl=TTL, show_spinner=False)
def score_series(url: str, source: str, scope: str = "dimension") -> pd.DataFrame:
    """Scores of one scope over all complete runs: run_id, as_of, entity, dimension, field, score.

    Runs limited with `--only` are left out: their scores cover part of the checks.

    `scope="dimension"` also returns the overall score (dimension "overall").
    """
    return store(url).results.score_series(source, scope)


@st.cache_data(ttl=TTL, show_spinner=False)
def run_scores(url: str, run_ids: tuple[int, ...]) -> pd.DataFrame:
    """All scores of the given runs."""
    return store(url).results.scores(run_ids)


@st.cache_data(ttl=TTL, show_spinner=False)
def check_results(url: str, run_ids: tuple[int, ...]) -> pd.DataFrame:
    """Check results of the given runs (metrics left as JSON text)."""
    return store(url).results.check_results(run_ids)


@st.cache_data(ttl=TTL, show_spinner=False)
def check_series(url: str, source: str, check_id: str, entity: str | None = None) -> pd.DataFrame:
    """One check over all completed runs: run_id, as_of, entity, score, failed, applicable."""
    return store(url).results.check_series(source, check_id, entity)


@st.cache_data(ttl=TTL, show_spinner=False)
def check_catalog(url: str, source: str) -> pd.DataFrame:
    """Distinct (check, entity, dimension, fields) ever measured on the source."""
    return store(url).results.catalog(source)


@st.cache_data(ttl=TTL, show_spinner=False)
def freshness_metrics(url: str, source: str, entity: str, check_id: str = "freshness.staleness") -> pd.DataFrame:
    """The freshness check's age buckets over runs: as_of, bucket, count, share (bucket order kept)."""
    return store(url).results.freshness_metrics(source, entity, check_id)


@st.cache_data(ttl=TTL, show_spinner=False)
def fill_rates(url: str, source: str, entity: str) -> pd.DataFrame:
    """Each mapped field's fill rate over runs: as_of, field, fill_rate."""
    return store(url).results.fill_rates(source, entity)


@st.cache_data(ttl=TTL, show_spinner=False)
def metrics_series(url: str, source: str, check_id: str, entity: str) -> pd.DataFrame:
    """A check's metrics over runs: run_id, as_of, metrics (a dict)."""
    return store(url).results.metrics_series(source, check_id, entity)


@st.cache_data(ttl=TTL, show_spinner=False)
def affected_records(url: str, run_id: int) -> pd.DataFrame:
    """Per entity: records with at least one finding, and records checked (largest applicable count)."""
    return store(url).results.affected_records(run_id)


@st.cache_data(ttl=TTL, show_spinner=False)
def annotations(url: str, source: str) -> pd.DataFrame:
    """Interventions, oldest first."""
    frame = store(url).annotations.list(source)
    if not frame.empty:
        frame["date"] = pd.to_datetime(frame.date)
    return frame


@st.cache_data(ttl=15, show_spinner=False)
def heartbeat(url: str, source: str) -> dict | None:
    """The newest scheduler heartbeat of the source, if any: beat_at and next_runs."""
    beat = store(url).heartbeats.newest(source)
    if beat is None:
        return None
    return {"scheduler_id": beat.scheduler_id, "beat_at": beat.beat_at, "next_runs": beat.next_runs}


# -- findings -----------------------------------------------------------------------------------
@st.cache_data(ttl=TTL, show_spinner=False)
def findings_count(url: str, run_id: int, flt: FindingFilter) -> int:
    """How many findings match."""
    return store(url).findings.count(run_id, flt)


@st.cache_data(ttl=TTL, show_spinner=False)
def findings_page(url: str, run_id: int, flt: FindingFilter, limit: int, offset: int) -> pd.DataFrame:
    """One page of matching findings (LIMIT/OFFSET in SQL), in a stable order."""
    return store(url).findings.page(run_id, flt, limit, offset)


@st.cache_data(ttl=TTL, show_spinner=False)
def record_findings(url: str, run_id: int, entity: str, record_key: str) -> pd.DataFrame:
    """Every finding of one record in a run."""
    return store(url).findings.of_record(run_id, entity, record_key)


@st.cache_data(ttl=TTL, show_spinner=False)
def record_score(url: str, run_id: int, entity: str, record_key: str) -> dict | None:
    """The record's score row, if it has findings."""
    return store(url).findings.record_score(run_id, entity, record_key)


@st.cache_data(ttl=TTL, show_spinner=False)
def owner_directory(url: str, run_id: int) -> pd.DataFrame:
    """The CRM users the run read: owner id, name, team, active (empty when none were stored)."""
    return store(url).owners.of_run(run_id)


@st.cache_data(ttl=TTL, show_spinner=False)
def finding_fields(url: str, run_id: int, entity: str | None = None) -> list[str]:
    """Distinct fields of the run's findings, of one entity when given."""
    return store(url).findings.fields(run_id, entity)


@st.cache_data(ttl=TTL, show_spinner=False)
def owners(url: str, run_id: int) -> list[str]:
    """Distinct owners of the run's findings (NO_OWNER first when some have none)."""
    return store(url).findings.owners(run_id)


@st.cache_data(ttl=TTL, show_spinner=False)
def failing_checks(url: str, run_id: int) -> pd.DataFrame:
    """Checks with failures in a run, worst first: check_id, entity, dimension, fields, failed, applicable, score."""
    return store(url).results.failing_checks(run_id)


@st.cache_data(ttl=TTL, show_spinner=False)
def enrichment_opportunities(url: str, run_id: int) -> pd.DataFrame:
    """Per enrichment check, entity and field: records whose empty value the other fields give (check_id, entity, field, records)."""
    return store(url).findings.records_per_field(run_id, ENRICHMENT_PREFIX)


# -- worklists, comparisons ---------------------------------------------------------------------
@st.cache_data(ttl=TTL, show_spinner=False, max_entries=8)
def worklist(url: str, run_id: int, filters: dict) -> pd.DataFrame:
    """The worklist of a run for the given filters (the same shaping as the CLI export)."""
    from dashboard.logic import build_worklist

    return build_worklist(store(url), run_id, **filters)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=8)
def compared_records(url: str, run_a: int, run_b: int, status: str, check_id: str | None = None,
                     entity: str | None = None) -> pd.DataFrame:
    """The records fixed, still failing or newly failing from run A to run B (of one check when given)."""
    return store(url).findings.compared_records(run_a, run_b, status, check_id, entity)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=8)
def compare(url: str, run_a: int, run_b: int) -> pd.DataFrame:
    """Per check and entity: records fixed, still failing and newly failing from run A to run B."""
    return store(url).findings.compare(run_a, run_b)


# -- duplicates ---------------------------------------------------------------------------------
@st.cache_data(ttl=TTL, show_spinner=False)
def clusters(url: str, run_id: int) -> pd.DataFrame:
    """Duplicate clusters of a run, best score first."""
    return store(url).clusters.of_run(run_id)


@st.cache_data(ttl=TTL, show_spinner=False)
def cluster_members(url: str, run_id: int, cluster_id: str) -> pd.DataFrame:
    """Members of one cluster, survivor first."""
    return store(url).clusters.members(run_id, cluster_id)


@st.cache_data(ttl=TTL, show_spinner=False)
def decisions(url: str, source: str) -> pd.DataFrame:
    """Steward decisions on clusters of the source."""
    return store(url).decisions.list(source)


def decide(url: str, source: str, cluster_id: str, entity: str, decision: str, who: str | None = None,
           note: str | None = None) -> None:
    """Record (or replace) a steward's decision on a cluster, then forget cached reads."""
    # An empty form field means "not given".
    store(url).decisions.decide(source, cluster_id, entity, decision, decided_by=who or None, note=note or None)
    clear()


# -- interventions and the audit log --------------------------------------------------------------
def annotate(url: str, source: str, name: str, date, scope: str | None = None, note: str | None = None) -> int:
    """Record an intervention to mark on trend charts, then forget cached reads; its id."""
    ann_id = store(url).annotations.add(source, name, date, scope or None, note or None)
    clear()
    return ann_id


def audit(url: str, source: str, actor: str, action: str, detail: dict | None = None,
          records: int | None = None) -> int:
    """Append an entry to the audit log: who did what (export, decision, run, sign-in …) on how many records."""
    return store(url).audit.record(source, actor, action, detail, records)


def audit_log(url: str, source: str, action: str | None = None, limit: int | None = None) -> pd.DataFrame:
    """Audit log entries of the source, newest first (read fresh: it is what admins check)."""
    frame = store(url).audit.list(source, action, limit)
    if not frame.empty:
        frame["at"] = pd.to_datetime(frame["at"])
    return frame


# -- the CRM source (read-only) -----------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _source(url: str, schema: str | None, timeout_s: int):
    from connectors.source import open_source

    return open_source(url, timeout_s, schema)


def source_records(cfg, entity: str, keys: tuple[str, ...]) -> pd.DataFrame:
    """Current values of a few records, read from the source (read-only), indexed by key.

    Columns are the entity's canonical fields; a field mapped to several columns shows each as
    `field:column`.
    """
    from connectors.mapping import KEY, EntityQuery

    ent = cfg.entities[entity]
    source = _source(cfg.source_url(), cfg.source.schema_, min(cfg.source.statement_timeout_s, 60))
    sql, cols = EntityQuery(source, entity, ent).select(list(ent.mapped()))
    q = source.quote(KEY)
    frames = []
    for key in keys:
        # Keys are stored as text: bind an integer when the key is one, and fall back to comparing
        # as text (no index then) when the source's key column is of another type.
        bound = int(key) if str(key).isdigit() else str(key)
        frame = source.read_frame(f"SELECT * FROM ({sql}) AS q WHERE q.{q} = :k", {"k": bound})
        if frame.empty:
            wrapped = f"SELECT * FROM ({sql}) AS q WHERE CAST(q.{q} AS {_text_type(source)}) = :k"
            frame = source.read_frame(wrapped, {"k": str(key)})
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[KEY])
    if frame.empty:
        return pd.DataFrame(columns=[c.label for c in cols])
    frame[KEY] = as_keys(frame[KEY])  # as the history stores keys: `12`, not `12.0`
    return frame.drop_duplicates(KEY).set_index(KEY)


def merge_plan(cfg, cluster_rows: pd.DataFrame):
    """The cluster's merge plan from the CRM as it is now (`checks.fixes.merges`): master, others, values to set."""
    from checks.fixes.merges import plan_merges

    source = _source(cfg.source_url(), cfg.source.schema_, min(cfg.source.statement_timeout_s, 60))
    plans = plan_merges(cfg, source, cluster_rows)
    return plans[0] if plans else None


def _text_type(source) -> str:
    return {"mysql": "CHAR", "mariadb": "CHAR"}.get(source.dialect, "VARCHAR(200)" if source.dialect != "sqlite" else "TEXT")


@st.cache_data(ttl=TTL, show_spinner="Profiling the table …")
def table_profile(url: str, schema: str | None, timeout_s: int, table: str):
    """A profile of one source table from a sample (read-only): fill rates, top values, shapes."""
    from checks.app.starter import profile_table

    return profile_table(_source(url, schema, timeout_s), table)[0]


# -- incidents ----------------------------------------------------------------------------------
@st.cache_data(ttl=TTL, show_spinner=False)
def incidents(url: str, source: str) -> pd.DataFrame:
    """The source's incidents, newest first, with hours to acknowledge and to resolve."""
    return store(url).incidents.list(source)


def incident_comments(url: str, incident: int) -> pd.DataFrame:
    """An incident's comments, oldest first (not cached: people add them on the page)."""
    return store(url).incidents.comments(incident)
