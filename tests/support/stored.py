"""How many rows of a run the history holds per result table, wherever the store keeps them.

Findings and record scores live in Parquet segments (`result_segments`, their row counts stored
beside them) for runs stored since revision 0004, and in their own tables for older runs: a count
here adds both, so a test asserting "nothing of the run was kept" cannot miss either place.
"""

from __future__ import annotations

import sqlalchemy as sa

SEGMENTED = ("findings", "record_scores")


def stored_rows(store, table: str, run_id: int) -> int:
    """Rows of `run_id` in the result table `table` (check_results, scores, findings, ...)."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT COUNT(*) FROM {table} WHERE run_id = :r"), {"r": run_id}).scalar()
        if table in SEGMENTED and sa.inspect(conn).has_table("result_segments"):
            rows += conn.execute(sa.text("SELECT COALESCE(SUM(row_count), 0) FROM result_segments "
                                         "WHERE run_id = :r AND kind = :k"), {"r": run_id, "k": table}).scalar()
        return int(rows)


def legacy_complete(store, run_id: int, result) -> None:
    """Store a run's results as a cleancrm before revision 0004 did: findings and record scores as rows."""
    from connectors.history import schema

    with store.engine.begin() as conn:
        for table, frame in ((schema.check_results, result.check_results), (schema.scores, result.scores),
                             (schema.findings, result.findings), (schema.record_scores, result.record_scores)):
            if frame is None or not len(frame):
                continue
            frame = frame.assign(run_id=run_id)
            names = {c.name for c in table.columns}
            rows = frame[[c for c in frame.columns if c in names]].astype(object)
            conn.execute(table.insert(), rows.where(rows.notna(), None).to_dict("records"))
        conn.execute(schema.runs.update().where(schema.runs.c.id == run_id).values(
            status="completed", overall_score=result.overall, source_fingerprint="fp"))
