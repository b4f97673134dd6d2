"""Schema and volume changes between runs, on SQLite, PostgreSQL and MariaDB.

The first run records each entity table's columns and live row count; the next run reports a
column added, removed or retyped and a row count that moved by more than the threshold, one
finding per change on the table, in the history like any other finding.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from checks.config import parse_config
from checks.engine.run import run_checks
from connectors.history import HistoryStore

CHECK = "consistency.schema_change"


def _config(url: str, history: str) -> dict:
    return {"name": "drift", "source": {"url": url}, "history": {"url": history},
            "entities": {"account": {"table": "firms", "key": "id", "fields": {"name": "name", "city": "city"}}}}


def _run(url: str, history: str):
    cfg = parse_config(_config(url, history))
    return run_checks(cfg, now=datetime(2026, 12, 1), only=CHECK, history=HistoryStore(history), lock=False).result


def test_columns_added_removed_retyped_and_a_drop_in_rows_are_reported(backend, tmp_path):
    url = backend.new_database("drift")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE firms (id INTEGER PRIMARY KEY, name VARCHAR(80), city VARCHAR(40), "
                             "region VARCHAR(10), score INTEGER)"))
        conn.execute(sa.text("INSERT INTO firms (id, name, city, region, score) VALUES (:i, :n, 'Lyon', 'EU', 1)"),
                     [{"i": i, "n": f"Firm {i}"} for i in range(1, 101)])
    history = f"sqlite:///{tmp_path / 'h.db'}"
    first = _run(url, history)
    assert first.findings[first.findings.check_id == CHECK].empty  # the first run records the shape only
    row = first.check_results.set_index("check_id").loc[CHECK]
    assert int(row.applicable) == 0 and int(row.failed) == 0  # nothing compared yet: not scored

    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE firms ADD COLUMN tier VARCHAR(10)"))
        conn.execute(sa.text("ALTER TABLE firms DROP COLUMN region"))
        if backend.kind == "postgresql":
            conn.execute(sa.text("ALTER TABLE firms ALTER COLUMN score TYPE VARCHAR(10)"))
        elif backend.kind == "mysql":
            conn.execute(sa.text("ALTER TABLE firms MODIFY score VARCHAR(10)"))
        conn.execute(sa.text("DELETE FROM firms WHERE id > 60"))
    engine.dispose()
    second = _run(url, history)
    found = second.findings[second.findings.check_id == CHECK]
    reasons = set(found.reason)
    assert "column tier added" in reasons
    assert any(r.startswith("column region removed (was VARCHAR") for r in reasons), reasons
    assert "live rows fell by 40% (100 → 60)" in reasons
    retyped = [r for r in reasons if r.startswith("column score changed type from INTEGER to VARCHAR")]
    assert len(retyped) == (0 if backend.kind == "sqlite" else 1), reasons  # SQLite cannot retype a column
    assert set(found.record_key) == {"(table account)"} and set(found.severity) == {"high"}
    assert len(found) == 3 + len(retyped)
    row = second.check_results.set_index("check_id").loc[CHECK]
    assert int(row.applicable) == 6 and int(row.failed) == len(found)  # five columns now, and the row count

    third = _run(url, history)  # nothing changed since the second run
    assert third.findings[third.findings.check_id == CHECK].empty
