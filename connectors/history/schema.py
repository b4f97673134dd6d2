"""Tables of the history store. Changes go through Alembic migrations (connectors/history/migrations).

Only the parts of `HistoryStore` in this package read and write them; an import contract keeps
`checks` and the dashboard from importing this module.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.mysql import LONGBLOB

metadata = MetaData()

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_name", String(200), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("as_of", DateTime, nullable=False, doc="The 'now' the checks measured against."),
    Column("status", String(20), nullable=False, doc="running, completed or failed."),
    Column("error", Text),
    Column("trigger", String(40), nullable=False, server_default="cli"),
    Column("config_hash", String(64)),
    Column("source_fingerprint", String(64)),
    Column("tool_version", String(40)),
    Column("overall_score", Float),
    Column("only", String(200), doc="Dimension or check the run was limited to, if any."),
)

check_results = Table(
    "check_results", metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("check_id", String(100), primary_key=True),
    Column("entity", String(40), primary_key=True),
    Column("dimension", String(40), nullable=False),
    Column("fields", String(400), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("weight", Float, nullable=False),
    Column("applicable", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("score", Float),
    Column("metrics", Text, doc="JSON of check-specific figures (age buckets, newest update …)."),
)

scores = Table(
    "scores", metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("scope", String(20), nullable=False, doc="overall, dimension, entity, entity_dimension or field."),
    Column("entity", String(40)),
    Column("dimension", String(40)),
    Column("field", String(100)),
    Column("score", Float),
    Index("ix_scores_run", "run_id", "scope"),
)

findings = Table(
    "findings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("check_id", String(100), nullable=False),
    Column("entity", String(40), nullable=False),
    Column("record_key", String(200), nullable=False),
    Column("field", String(100)),
    Column("column_name", String(200)),
    Column("value", Text),
    Column("reason", Text, nullable=False),
    Column("suggestion", Text),
    Column("severity", String(20), nullable=False),
    Column("owner", String(200)),
    Index("ix_findings_run_check", "run_id", "check_id", "entity"),
    Index("ix_findings_run_key", "run_id", "entity", "record_key"),
)

record_scores = Table(
    "record_scores", metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("entity", String(40), primary_key=True),
    Column("record_key", String(200), primary_key=True),
    Column("score", Float, nullable=False),
    Column("failed_checks", Integer, nullable=False),
    Column("owner", String(200)),
)

annotations = Table(
    "annotations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_name", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("date", DateTime, nullable=False),
    Column("scope", String(200), doc="Entity, dimension or check the intervention touched; empty = all."),
    Column("note", Text),
    Column("created_at", DateTime, nullable=False),
)

# Revision 0002: duplicate clusters, steward decisions, and the scheduling tables.
duplicate_clusters = Table(
    "duplicate_clusters", metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("cluster_id", String(64), primary_key=True),
    Column("entity", String(40), nullable=False),
    Column("tier", String(20), nullable=False),
    Column("score", Float),
    Column("size", Integer, nullable=False),
    Column("survivor_key", String(200)),
    Column("merge_plan", Text, doc="JSON list of {field, keep_value, from_key, why}."),
    # Revision 0005: how the records matched (a key shared as written, or the fields that agreed).
    Column("matched_on", Text),
)

cluster_members = Table(
    "cluster_members", metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("cluster_id", String(64), primary_key=True),
    Column("record_key", String(200), primary_key=True),
    Column("entity", String(40), nullable=False),
    Column("is_survivor", Integer, nullable=False, server_default="0"),
    Column("match_score", Float),
)

cluster_decisions = Table(
    "cluster_decisions", metadata,
    Column("source_name", String(200), primary_key=True),
    Column("cluster_id", String(64), primary_key=True),
    Column("entity", String(40), nullable=False),
    Column("decision", String(20), nullable=False, doc="not_duplicate or confirmed."),
    Column("decided_at", DateTime, nullable=False),
    Column("decided_by", String(200)),
    Column("note", Text),
    # Revision 0005: the cluster's members when it was decided, so the decision holds for each pair.
    Column("member_keys", Text, doc="JSON list of the record keys of the cluster decided."),
)

run_locks = Table(
    "run_locks", metadata,
    Column("source_name", String(200), primary_key=True),
    Column("holder", String(200), nullable=False, doc="host:pid of the process holding the lock."),
    Column("acquired_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

heartbeats = Table(
    "heartbeats", metadata,
    Column("scheduler_id", String(200), primary_key=True),
    Column("source_name", String(200), nullable=False),
    Column("beat_at", DateTime, nullable=False),
    Column("next_runs", Text, doc="JSON {schedule name: ISO time of its next run}."),
)

alert_state = Table(
    "alert_state", metadata,
    Column("source_name", String(200), primary_key=True),
    Column("rule", String(200), primary_key=True),
    Column("firing", Integer, nullable=False),
    Column("since", DateTime, nullable=False),
    Column("last_value", Float),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_name", String(200), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("actor", String(200), nullable=False, doc="Who: a signed-in user, or `cli:<os user>`."),
    Column("action", String(40), nullable=False,
           doc="sign_in, sign_in_failed, export, fix_package, decision, run, annotation."),
    Column("detail", Text, doc="What: JSON of the filters, format, cluster or run concerned."),
    Column("records", Integer, doc="How many records it touched or carried out."),
)

# Revision 0004: a run's findings and record scores as Parquet segments (connectors.history.segments);
# `findings` and `record_scores` keep the rows of runs stored before it.
result_segments = Table(
    "result_segments", metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(20), primary_key=True, doc="findings or record_scores."),
    Column("part", Integer, primary_key=True, doc="Order of the segment within the run's rows of its kind."),
    Column("row_count", Integer, nullable=False),
    Column("token", String(32), nullable=False, doc="Random per segment: tells a cached copy from a rewritten one."),
    Column("data", LargeBinary().with_variant(LONGBLOB(), "mysql", "mariadb"), nullable=False,
           doc="The rows as a zstd-compressed Parquet file."),
)

# Revision 0005: fix packages, the changes they propose, and what each later run found of them.
fix_packages = Table(
    "fix_packages", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("package_id", String(200), nullable=False),
    Column("source_name", String(200), nullable=False),
    Column("run_id", Integer, nullable=False, doc="The run whose findings the package fixes."),
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(200)),
    Column("format", String(20), nullable=False),
    Column("manifest", Text, doc="The package's manifest.json."),
    Column("applied_run_id", Integer, doc="The first later run that found any of its changes made."),
    Index("ix_fix_packages_source", "source_name", "id"),
    UniqueConstraint("package_id", name="uq_fix_packages_package_id"),
)

fix_changes = Table(
    "fix_changes", metadata,
    Column("package", Integer, ForeignKey("fix_packages.id", ondelete="CASCADE"), primary_key=True),
    Column("entity", String(40), primary_key=True),
    Column("record_key", String(200), primary_key=True),
    Column("column_name", String(200), primary_key=True),
    Column("field", String(100), nullable=False),
    Column("old_value", Text, doc="The value read from the CRM when the package was made."),
    Column("new_value", Text, doc="The value the apply file sets."),
    Column("checks", Text, doc="The checks whose findings the change fixes, `; `-separated."),
    Column("status", String(30), doc="What the newest run after the package found (fix_tracking.STATUSES)."),
    Column("applied_run_id", Integer, doc="The first run that found the change as proposed."),
)

fix_status = Table(
    "fix_status", metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("package", Integer, ForeignKey("fix_packages.id", ondelete="CASCADE"), primary_key=True),
    Column("entity", String(40), primary_key=True),
    Column("field", String(100), primary_key=True, doc="A field, or `(records)` for counts of records."),
    Column("status", String(30), primary_key=True),
    Column("count", Integer, nullable=False),
)

owners = Table(
    "owners", metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("owner", String(200), primary_key=True, doc="The owner id as findings carry it."),
    Column("name", String(400), doc="The CRM user's name (first and last), as the run read it."),
    Column("team", String(200), doc="The user's team, where the config maps `user.team`."),
    Column("active", Integer, doc="1 active, 0 inactive, NULL unknown."),
)

incidents = Table(
    "incidents", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_name", String(200), nullable=False),
    Column("rule", String(200), nullable=False, doc="The alert rule whose breach opened it."),
    Column("kind", String(40), nullable=False),
    Column("scope", String(200)),
    Column("summary", Text),
    Column("run_id", Integer, doc="The run that breached, where there is one."),
    Column("owner", String(200), doc="Who it is routed to (config `incidents.routes`)."),
    Column("status", String(20), nullable=False, doc="open, acknowledged or resolved."),
    Column("opened_at", DateTime, nullable=False),
    Column("acknowledged_at", DateTime),
    Column("acknowledged_by", String(200)),
    Column("resolved_at", DateTime),
    Column("resolved_by", String(200)),
    Column("resolution", Text, doc="Why it was resolved."),
    Index("ix_incidents_source", "source_name", "status"),
)

incident_comments = Table(
    "incident_comments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident", Integer, ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("author", String(200), nullable=False),
    Column("text", Text, nullable=False),
)
