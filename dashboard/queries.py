"""Reads from the history store (cached) and from the CRM source (read-only, a few records at a time).

Every function takes the history URL first, so that `st.cache_data` keys on it; the store itself is
a cached resource. Big tables (findings, worklists) are filtered, counted and paginated in SQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
import streamlit as st

from connectors.history import HistoryStore, utcnow
from connectors.history import schema as hs

TTL = 60  # seconds a history read is reused; "Run now" and steward decisions clear the caches.


@st.cache_resource(show_spinner=False)
def store(url: str) -> HistoryStore:
    """The history store (migrated on first open), shared by all sessions."""
    return HistoryStore(url)


def clear() -> None:
    """Forget cached reads (after a run or a decision)."""
    st.cache_data.clear()


def _frame(url: str, query) -> pd.DataFrame:
    with store(url).engine.connect() as conn:
        res = conn.execute(query)
        return pd.DataFrame(res.fetchall(), columns=list(res.keys()))


# -- runs ---------------------------------------------------------------------------------------
@st.cache_data(ttl=TTL, show_spinner=False)
def runs(url: str, source: str) -> pd.DataFrame:
    """All runs of the source, newest first, with their duration in seconds."""
    r = hs.runs
    frame = _frame(url, sa.select(r).where(r.c.source_name == source).order_by(r.c.id.desc()))
    for col in ("started_at", "finished_at", "as_of"):
        frame[col] = pd.to_datetime(frame[col])
    frame["duration_s"] = (frame.finished_at - frame.started_at).dt.total_seconds()
    return frame


@st.cache_data(ttl=TTL, show_spinner=False)
def completed_runs(url: str, source: str) -> pd.DataFrame:
    """Completed runs, oldest first: id, as_of, overall_score."""
    r = hs.runs
    q = (sa.select(r.c.id, r.c.as_of, r.c.overall_score, r.c.only)
         .where(r.c.source_name == source, r.c.status == "completed").order_by(r.c.as_of, r.c.id))
    frame = _frame(url, q)
    frame["as_of"] = pd.to_datetime(frame.as_of)
    return frame


# -- scores -------------------------------------------------------------------------------------
@st.cache_data(ttl=TTL, show_spinner=False)
def score_series(url: str, source: str, scope: str = "dimension") -> pd.DataFrame:
    """Scores of one scope over all complete runs: run_id, as_of, entity, dimension, field, score.

    Runs limited with `--only` are left out: their scores cover part of the checks.

    `scope="dimension"` also returns the overall score (dimension "overall").
    """
    s, r = hs.scores, hs.runs
    scopes = ["overall", "dimension"] if scope == "dimension" else [scope]
    q = (sa.select(s.c.run_id, r.c.as_of, s.c.scope, s.c.entity, s.c.dimension, s.c.field, s.c.score)
         .join(r, r.c.id == s.c.run_id)
         .where(r.c.source_name == source, r.c.status == "completed", s.c.scope.in_(scopes),
                sa.func.coalesce(r.c.only, "") == ""))  # a run limited by --only has partial scores
    frame = _frame(url, q)
    frame["as_of"] = pd.to_datetime(frame.as_of)
    frame.loc[frame.scope == "overall", "dimension"] = "overall"
    return frame.sort_values(["as_of", "run_id"]).reset_index(drop=True)


@st.cache_data(ttl=TTL, show_spinner=False)
def run_scores(url: str, run_ids: tuple[int, ...]) -> pd.DataFrame:
    """All scores of the given runs."""
    if not run_ids:
        return pd.DataFrame(columns=["run_id", "scope", "entity", "dimension", "field", "score"])
    s = hs.scores
    return _frame(url, sa.select(s).where(s.c.run_id.in_(list(run_ids))))


@st.cache_data(ttl=TTL, show_spinner=False)
def check_results(url: str, run_ids: tuple[int, ...]) -> pd.DataFrame:
    """Check results of the given runs (metrics left as JSON text)."""
    c = hs.check_results
    return _frame(url, sa.select(c).where(c.c.run_id.in_(list(run_ids))))


@st.cache_data(ttl=TTL, show_spinner=False)
def check_series(url: str, source: str, check_id: str, entity: str | None = None) -> pd.DataFrame:
    """One check over all completed runs: run_id, as_of, entity, score, failed, applicable."""
    c, r = hs.check_results, hs.runs
    q = (sa.select(c.c.run_id, r.c.as_of, c.c.entity, c.c.score, c.c.failed, c.c.applicable)
         .join(r, r.c.id == c.c.run_id)
         .where(r.c.source_name == source, r.c.status == "completed", c.c.check_id == check_id))
    if entity:
        q = q.where(c.c.entity == entity)
    frame = _frame(url, q)
    frame["as_of"] = pd.to_datetime(frame.as_of)
    return frame.sort_values("as_of").reset_index(drop=True)


@st.cache_data(ttl=TTL, show_spinner=False)
def check_catalog(url: str, source: str) -> pd.DataFrame:
    """Distinct (check, entity, dimension, fields) ever measured on the source."""
    c, r = hs.check_results, hs.runs
    latest = sa.select(sa.func.max(r.c.id)).where(r.c.source_name == source, r.c.status == "completed")
    q = (sa.select(c.c.check_id, c.c.entity, c.c.dimension, c.c.fields)
         .where(c.c.run_id == latest.scalar_subquery()).order_by(c.c.dimension, c.c.check_id, c.c.entity))
    return _frame(url, q)


@st.cache_data(ttl=TTL, show_spinner=False)
def freshness_metrics(url: str, source: str, entity: str, check_id: str = "freshness.staleness") -> pd.DataFrame:
    """The freshness check's age buckets over runs: as_of, bucket, count, share (bucket order kept)."""
    c, r = hs.check_results, hs.runs
    q = (sa.select(r.c.as_of, c.c.metrics).join(r, r.c.id == c.c.run_id)
         .where(r.c.source_name == source, r.c.status == "completed", c.c.check_id == check_id,
                c.c.entity == entity))
    rows = []
    for as_of, metrics in _frame(url, q).itertuples(index=False):
        try:
            buckets = (json.loads(metrics or "{}") or {}).get("age_buckets") or {}
        except (TypeError, ValueError):
            buckets = {}
        total = sum(int(v or 0) for v in buckets.values())
        for bucket, count in buckets.items():
            rows.append({"as_of": pd.Timestamp(as_of), "bucket": bucket, "count": int(count or 0),
                         "share": (int(count or 0) / total) if total else 0.0})
    return pd.DataFrame(rows, columns=["as_of", "bucket", "count", "share"])


@st.cache_data(ttl=TTL, show_spinner=False)
def affected_records(url: str, run_id: int) -> pd.DataFrame:
    """Per entity: records with at least one finding, and records checked (largest applicable count)."""
    rs, c = hs.record_scores, hs.check_results
    bad = _frame(url, sa.select(rs.c.entity, sa.func.count().label("affected"))
                 .where(rs.c.run_id == run_id, rs.c.failed_checks > 0).group_by(rs.c.entity))
    checked = _frame(url, sa.select(c.c.entity, sa.func.max(c.c.applicable).label("checked"))
                     .where(c.c.run_id == run_id).group_by(c.c.entity))
    out = checked.merge(bad, on="entity", how="left").fillna({"affected": 0})
    out["affected"] = out.affected.astype(int)
    return out.sort_values("entity").reset_index(drop=True)


@st.cache_data(ttl=TTL, show_spinner=False)
def annotations(url: str, source: str) -> pd.DataFrame:
    """Interventions, oldest first."""
    frame = store(url).annotations(source)
    if not frame.empty:
        frame["date"] = pd.to_datetime(frame.date)
    return frame


@st.cache_data(ttl=15, show_spinner=False)
def heartbeat(url: str, source: str) -> dict | None:
    """The newest scheduler heartbeat of the source, if any: beat_at and next_runs."""
    h = hs.heartbeats
    frame = _frame(url, sa.select(h).where(h.c.source_name == source).order_by(h.c.beat_at.desc()).limit(1))
    if frame.empty:
        return None
    row = frame.iloc[0]
    try:
        next_runs = json.loads(row.next_runs or "{}")
    except ValueError:
        next_runs = {}
    return {"scheduler_id": row.scheduler_id, "beat_at": pd.Timestamp(row.beat_at).to_pydatetime(),
            "next_runs": next_runs}


# -- findings -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FindingFilter:
    """What the Records page and worklists filter findings by; empty means any."""

    dimension: str | None = None
    check_id: str | None = None
    entity: str | None = None
    owner: str | None = None
    severity: str | None = None
    search: str | None = None


def finding_query(run_id: int, flt: FindingFilter, columns=None):
    """SELECT over findings of a run joined to their check's dimension, filtered."""
    f, c = hs.findings, hs.check_results
    cols = columns if columns is not None else [
        f.c.id, f.c.entity, f.c.record_key, c.c.dimension, f.c.check_id, f.c.field, f.c.column_name, f.c.value,
        f.c.reason, f.c.suggestion, f.c.severity, f.c.owner]
    q = (sa.select(*cols)
         .join(c, (c.c.run_id == f.c.run_id) & (c.c.check_id == f.c.check_id) & (c.c.entity == f.c.entity))
         .where(f.c.run_id == run_id))
    if flt.dimension:
        q = q.where(c.c.dimension == flt.dimension)
    if flt.check_id:
        q = q.where(f.c.check_id == flt.check_id)
    if flt.entity:
        q = q.where(f.c.entity == flt.entity)
    if flt.owner:
        q = q.where(f.c.owner.is_(None) if flt.owner == NO_OWNER else f.c.owner == flt.owner)
    if flt.severity:
        q = q.where(f.c.severity == flt.severity)
    if flt.search:
        like = f"%{flt.search.strip().lower()}%"
        q = q.where(sa.or_(sa.func.lower(f.c.record_key).like(like), sa.func.lower(f.c.value).like(like),
                           sa.func.lower(f.c.reason).like(like), sa.func.lower(sa.func.coalesce(f.c.owner, "")).like(like)))
    return q


NO_OWNER = "(no owner)"


@st.cache_data(ttl=TTL, show_spinner=False)
def findings_count(url: str, run_id: int, flt: FindingFilter) -> int:
    """How many findings match."""
    q = finding_query(run_id, flt, [sa.func.count()])
    with store(url).engine.connect() as conn:
        return int(conn.execute(q).scalar() or 0)


@st.cache_data(ttl=TTL, show_spinner=False)
def findings_page(url: str, run_id: int, flt: FindingFilter, limit: int, offset: int) -> pd.DataFrame:
    """One page of matching findings (LIMIT/OFFSET in SQL), in a stable order."""
    f = hs.findings
    q = finding_query(run_id, flt).order_by(f.c.entity, f.c.check_id, f.c.record_key, f.c.id).limit(limit).offset(offset)
    return _frame(url, q)


@st.cache_data(ttl=TTL, show_spinner=False)
def record_findings(url: str, run_id: int, entity: str, record_key: str) -> pd.DataFrame:
    """Every finding of one record in a run."""
    return _frame(url, finding_query(run_id, FindingFilter(entity=entity))
                  .where(hs.findings.c.record_key == record_key).order_by(hs.findings.c.check_id))


@st.cache_data(ttl=TTL, show_spinner=False)
def record_score(url: str, run_id: int, entity: str, record_key: str) -> dict | None:
    """The record's score row, if it has findings."""
    rs = hs.record_scores
    frame = _frame(url, sa.select(rs).where(rs.c.run_id == run_id, rs.c.entity == entity, rs.c.record_key == record_key))
    return None if frame.empty else frame.iloc[0].to_dict()


@st.cache_data(ttl=TTL, show_spinner=False)
def owners(url: str, run_id: int) -> list[str]:
    """Distinct owners of the run's findings (NO_OWNER first when some have none)."""
    f = hs.findings
    frame = _frame(url, sa.select(f.c.owner).where(f.c.run_id == run_id).distinct())
    values = sorted(str(v) for v in frame.owner.dropna())
    return ([NO_OWNER] if frame.owner.isna().any() else []) + values


@st.cache_data(ttl=TTL, show_spinner=False)
def failing_checks(url: str, run_id: int) -> pd.DataFrame:
    """Checks with failures in a run, worst first: check_id, entity, dimension, fields, failed, applicable, score."""
    c = hs.check_results
    q = (sa.select(c.c.check_id, c.c.entity, c.c.dimension, c.c.fields, c.c.severity, c.c.failed, c.c.applicable,
                   c.c.score)
         .where(c.c.run_id == run_id, c.c.failed > 0).order_by(c.c.failed.desc()))
    return _frame(url, q)


# -- worklists, comparisons ---------------------------------------------------------------------
@st.cache_data(ttl=TTL, show_spinner=False, max_entries=8)
def worklist(url: str, run_id: int, filters: dict) -> pd.DataFrame:
    """The worklist of a run for the given filters (the same shaping as the CLI export)."""
    from dashboard.logic import build_worklist

    return build_worklist(store(url), run_id, **filters)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=8)
def compare(url: str, run_a: int, run_b: int) -> pd.DataFrame:
    """Per check and entity: records fixed, still failing and newly failing from run A to run B."""
    return store(url).compare(run_a, run_b)


# -- duplicates ---------------------------------------------------------------------------------
@st.cache_data(ttl=TTL, show_spinner=False)
def clusters(url: str, run_id: int) -> pd.DataFrame:
    """Duplicate clusters of a run, best score first."""
    d = hs.duplicate_clusters
    return _frame(url, sa.select(d).where(d.c.run_id == run_id).order_by(d.c.score.desc(), d.c.cluster_id))


@st.cache_data(ttl=TTL, show_spinner=False)
def cluster_members(url: str, run_id: int, cluster_id: str) -> pd.DataFrame:
    """Members of one cluster, survivor first."""
    m = hs.cluster_members
    q = (sa.select(m).where(m.c.run_id == run_id, m.c.cluster_id == cluster_id)
         .order_by(m.c.is_survivor.desc(), m.c.record_key))
    return _frame(url, q)


@st.cache_data(ttl=TTL, show_spinner=False)
def decisions(url: str, source: str) -> pd.DataFrame:
    """Steward decisions on clusters of the source."""
    d = hs.cluster_decisions
    return _frame(url, sa.select(d).where(d.c.source_name == source))


def decide(url: str, source: str, cluster_id: str, entity: str, decision: str, who: str | None = None,
           note: str | None = None) -> None:
    """Record (or replace) a steward's decision on a cluster, then forget cached reads."""
    if decision not in ("not_duplicate", "confirmed"):
        raise ValueError(f"decision must be not_duplicate or confirmed, not {decision!r}")
    d = hs.cluster_decisions
    with store(url).engine.begin() as conn:
        conn.execute(d.delete().where(d.c.source_name == source, d.c.cluster_id == cluster_id))
        conn.execute(d.insert().values(source_name=source, cluster_id=cluster_id, entity=entity, decision=decision,
                                       decided_at=utcnow(), decided_by=who or None, note=note or None))
    clear()


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
    sql, cols = EntityQuery(source, entity, ent).select(list(ent.fields))
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
    frame[KEY] = frame[KEY].map(_key_text)
    return frame.drop_duplicates(KEY).set_index(KEY)


def _text_type(source) -> str:
    return {"mysql": "CHAR", "mariadb": "CHAR"}.get(source.dialect, "VARCHAR(200)" if source.dialect != "sqlite" else "TEXT")


def _key_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
