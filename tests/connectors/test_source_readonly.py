"""Read-only, twice: our statement guard, and the database itself with the guard bypassed."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from checks.config import parse_config
from connectors.errors import SourceError
from connectors.mapping import EntityQuery, validate_mapping
from connectors.presets import build_config, detect_preset
from connectors.source import WriteRefusedError, open_source

WRITES = {
    "insert": "INSERT INTO contacts (id, first_name, deleted) VALUES (999999, 'Mallory', 0)",
    "update": "UPDATE contacts SET first_name = 'Mallory'",
    "delete": "DELETE FROM contacts",
    "create": "CREATE TABLE intruder (x INTEGER)",
    "drop": "DROP TABLE contacts",
}
# What each database says when it refuses a write in a read-only session.
READONLY_MESSAGE = {"sqlite": "readonly database", "postgresql": "read-only transaction", "mysql": "READ ONLY transaction"}


def snapshot(admin_url: str) -> tuple:
    """Tables, row count and a digest of names, read as the admin."""
    engine = sa.create_engine(admin_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            tables = tuple(sorted(sa.inspect(conn).get_table_names()))
            n = conn.execute(sa.text("SELECT COUNT(*) FROM contacts")).scalar()
            names = tuple(conn.execute(sa.text("SELECT first_name FROM contacts ORDER BY id")).scalars())
        return tables, n, hash(names)
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", list(WRITES))
def test_guard_refuses_writes_and_ddl(loaded, kind):
    url, _ = loaded("demo")
    before = snapshot(url)
    source = open_source(url)
    try:
        with pytest.raises(WriteRefusedError, match="read-only"):
            source.scalar(WRITES[kind])
        with pytest.raises(WriteRefusedError):
            list(source.stream(WRITES[kind]))
        with source.engine.connect() as conn, pytest.raises(WriteRefusedError):
            conn.execute(sa.text(WRITES[kind]))
    finally:
        source.close()
    assert snapshot(url) == before


@pytest.mark.parametrize("kind", list(WRITES))
def test_database_refuses_writes_with_the_guard_bypassed(loaded, kind):
    """A raw DBAPI connection from the pool skips our guard; the session's read-only mode must hold.

    Found on MariaDB 10.11: `SET SESSION TRANSACTION READ ONLY` refuses DDL too (error 1792), like
    PostgreSQL's read-only transactions and SQLite's mode=ro; only temporary tables and files written
    by SELECT ... INTO OUTFILE escape it there, and our guard refuses those.
    """
    url, _ = loaded("demo")
    before = snapshot(url)
    source = open_source(url)
    raw = source.engine.raw_connection()
    try:
        cur = raw.cursor()
        with pytest.raises(source.engine.dialect.loaded_dbapi.Error) as caught:
            cur.execute(WRITES[kind])
            raw.commit()
        assert READONLY_MESSAGE[source.dialect].lower() in str(caught.value).lower()
        raw.rollback()
    finally:
        raw.close()
        source.close()
    assert snapshot(url) == before


def test_postgresql_stays_read_only_after_set_config(loaded):
    """`SELECT set_config('default_transaction_read_only', 'off', false)` is a SELECT; it must not unlock."""
    url, _ = loaded("demo")
    if not url.startswith("postgresql"):
        pytest.skip("set_config is PostgreSQL's")
    source = open_source(url)
    try:
        with pytest.raises(WriteRefusedError, match="changes the session"):
            source.scalar("SELECT set_config('default_transaction_read_only', 'off', false)")
        raw = source.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("SELECT set_config('default_transaction_read_only', 'off', false)")
            raw.commit()
            with pytest.raises(source.engine.dialect.loaded_dbapi.Error, match="read-only transaction"):
                cur.execute(WRITES["insert"])  # psycopg's read_only still opens BEGIN READ ONLY
            raw.rollback()
        finally:
            raw.close()
    finally:
        source.close()


def test_guard_refuses_session_unlocks_and_file_writes(loaded, tmp_path):
    url, _ = loaded("demo")
    source = open_source(url)
    try:
        attempts = {
            "sqlite": ["PRAGMA query_only = OFF", "PRAGMA query_only(0)"],
            "postgresql": ["SET default_transaction_read_only = off", "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
                           "SELECT * INTO intruder FROM contacts", "SET statement_timeout = 0"],
            "mysql": ["SET SESSION TRANSACTION READ WRITE", "SET @@session.tx_read_only = 0",
                      "SET SESSION max_statement_time = 0", f"SELECT id INTO OUTFILE '{tmp_path}/x.txt' FROM contacts"],
        }[source.dialect]
        for sql in attempts + ["SELECT 1; DROP TABLE contacts", "WITH x AS (SELECT 1) DELETE FROM contacts"]:
            with pytest.raises(WriteRefusedError):
                source.scalar(sql)
        assert source.scalar("SELECT COUNT(*) FROM contacts WHERE first_name <> 'x; DROP TABLE contacts'") > 0
    finally:
        source.close()


def test_everything_works_through_a_select_only_user(backend, loaded):
    url, shaped = loaded("suitecrm")
    ro_url = backend.readonly_user(url)
    source = open_source(ro_url)
    try:
        assert sorted(source.tables()) == sorted(shaped.frames)
        assert detect_preset(source) == ("suitecrm", "")
        cfg = parse_config(build_config(source, ro_url))
        assert validate_mapping(cfg, source) == []
        for name, ent in cfg.entities.items():
            sql, _ = EntityQuery(source, name, ent).select(list(ent.fields))
            assert sum(len(c) for c in source.stream(sql, chunk_size=50)) == shaped.live_counts[name]
        # and the privileges refuse writes and DDL even with guard and read-only session both bypassed
        raw = source.engine.raw_connection()
        try:
            cur = raw.cursor()
            if source.dialect == "mysql":
                cur.execute("SET SESSION TRANSACTION READ WRITE")
            else:
                cur.execute("SET default_transaction_read_only = off")
                raw.commit()
                raw.driver_connection.read_only = False
            for sql in ("INSERT INTO users (id, deleted) VALUES ('x', 0)", "UPDATE contacts SET deleted = 1",
                        "DELETE FROM contacts", "CREATE TABLE intruder (x INTEGER)", "DROP TABLE contacts"):
                with pytest.raises(source.engine.dialect.loaded_dbapi.Error, match="(?i)denied|must be owner"):
                    cur.execute(sql)
                raw.rollback()
        finally:
            raw.close()
    finally:
        source.close()
    # and the user is limited to this database: MariaDB refuses the login to another one, PostgreSQL its catalog
    if ro_url.startswith("mysql"):
        with pytest.raises(SourceError, match="cannot connect.*denied"):
            open_source(ro_url.rsplit("/", 1)[0] + "/mysql")
    else:
        other = open_source(ro_url.rsplit("/", 1)[0] + "/postgres")
        try:
            with pytest.raises(SourceError, match="permission denied"):
                other.scalar("SELECT COUNT(*) FROM pg_authid")
        finally:
            other.close()
