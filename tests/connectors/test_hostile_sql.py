"""Hostile SQL, on a login that CAN write (a superuser, as a careless admin would configure it).

Every attack is tried as a config fragment (soft_delete, filter, a field's sql, a join's on) and as a
raw statement through `Source.scalar` and `Source.stream`: each must be refused with a clear message
(or, for a pure delay, cut by the statement timeout), and afterwards nothing may have happened: no
file at the paths the attacks name, every table of the source with the same checksum, no new object
or large object, the session's read-only mode, timeout and variables as they were.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from checks.config import parse_config
from checks.demo.export import shape_tables, write_shape
from connectors.errors import ConfigError, SourceError
from connectors.mapping import EntityQuery, validate_mapping
from connectors.presets import build_config
from connectors.source import WriteRefusedError, open_source
from connectors.source.fragments import fragment_problem
from connectors.source.guard import judge
from connectors.source.protocol import compiled_from_catalog, single_statement_cursor

CLEANCRM = Path(sys.executable).with_name("cleancrm")
TOKEN = secrets.token_hex(3)
FILES = f"/tmp/cleancrm-hostile-{TOKEN}"  # every file an attack tries to write starts with this
INTRUDER = f"intruder_{TOKEN}"  # every table an attack tries to create


# -- the attacks --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Attack:
    """One hostile text: where it may go, and what must happen to it."""

    name: str
    sql: str
    dialects: tuple[str, ...] = ("postgresql", "mysql")
    # Config keys the fragment is tried under (a fragment attack), or () for a raw statement only.
    keys: tuple[str, ...] = ("soft_delete", "filter", "sql", "on")
    # "refused" by the guard; "bounded": a delay the guard lets through and the statement timeout cuts;
    # "read": a plain read of other tables, which is allowed and changes nothing.
    outcome: str = "refused"
    # What becomes of the SELECT cleancrm would build around the fragment, sent as it is: refused by
    # the guard or failing in the database ("refused"), cut by the timeout, or a harmless read.
    pasted: str = ""

    def pasted_outcome(self) -> str:
        return self.pasted or self.outcome

    def text(self) -> str:
        return self.sql.format(files=FILES, intruder=INTRUDER)


PG, MY = ("postgresql",), ("mysql",)
FRAGMENT_ATTACKS = [
    # PostgreSQL dollar-quoted text hid a `;` from the old pattern guard; it then ran a shell command.
    Attack("dollar-quote-copy-to-program",
           "1 = $$'$$) AND 1 = 0; COPY (SELECT 1) TO PROGRAM $$touch {files}-dollar$$; SELECT 1 WHERE ($$'$$ = $$'$$",
           PG),
    Attack("commit-begin-read-write-create-update",
           "1 = 1) AND 1 = 0; COMMIT; BEGIN READ WRITE; CREATE TABLE {intruder} (a int); "
           "UPDATE contacts SET first_name = 'Mallory'; SELECT 1 WHERE (1 = 1", PG),
    Attack("commit-start-transaction-read-write", "1 = 1); COMMIT; START TRANSACTION READ WRITE; "
           "CREATE TABLE {intruder} (a int); UPDATE contacts SET first_name = 'Mallory'; SELECT (1", MY),
    Attack("quoted-set-config", "\"set_config\"('default_transaction_read_only', 'off', false) = 'off'", PG),
    Attack("quoted-pg-read-file", "\"pg_read_file\"('/etc/passwd') IS NOT NULL", PG),
    Attack("uppercase-pg-read-file", "PG_READ_FILE('/etc/passwd') IS NOT NULL", PG),
    Attack("schema-qualified-set-config", "pg_catalog.set_config('statement_timeout', '0', false) = '0'", PG),
    Attack("query-to-xml-copy", "query_to_xml('COPY (SELECT 1) TO PROGRAM ''touch {files}-xml''', true, true, '') "
           "IS NOT NULL", PG),
    Attack("lo-export", "lo_export(lo_import('/etc/passwd'), '{files}-lo') = 1", PG),
    Attack("dblink", "EXISTS (SELECT 1 FROM dblink('dbname=postgres', 'CREATE TABLE {intruder} (a int)') AS t(a text))",
           PG),
    Attack("copy-to-file", "1 = 1); COPY contacts TO '{files}-copy'; SELECT (1", PG),
    Attack("do-block", "1 = 1); DO $$ BEGIN CREATE TABLE {intruder} (a int); END $$; SELECT (1", PG),
    Attack("pg-sleep", "pg_sleep(100) IS NULL", PG, keys=("filter", "sql"), pasted="bounded"),
    Attack("executable-comment-into-outfile", "1 = 1) /*!INTO OUTFILE '{files}-outfile1'*/ /*", MY),
    Attack("executable-comment-inline", "deleted = 1 /*! INTO OUTFILE '{files}-outfile2' */", MY),
    Attack("hash-comment-hides-the-rest", "1 = 1) INTO OUTFILE '{files}-outfile3' #", MY),
    Attack("dash-comment-hides-the-rest", "1 = 1) INTO OUTFILE '{files}-outfile4' -- ", MY),
    Attack("trailing-comment", "deleted = 0 -- ) THEN 1 ELSE 0 END) = 0 OR (1 = 1", PG),
    Attack("load-file", "LOAD_FILE('/etc/passwd') IS NOT NULL", MY),
    Attack("sleep", "SLEEP(100) = 0", MY, keys=("filter", "sql"), pasted="bounded"),
    Attack("benchmark", "BENCHMARK(500000000, MD5('x')) = 0", MY, keys=("filter",), pasted="bounded"),
    Attack("get-lock", "GET_LOCK('cleancrm', 1) = 1", MY),
    # Read as one string by sqlglot and by the server in its default sql_mode, but not in every mode.
    Attack("backslash-quote", "first_name = 'a\\' OR SLEEP(5) = 0 OR first_name = '", MY, pasted="read"),
    Attack("assign-user-variable", "(SELECT @x := 1) = 1", MY),
    Attack("select-into-variable", "(SELECT first_name FROM users LIMIT 1 INTO @y) IS NULL", MY),
    Attack("semicolon-after-doubled-quotes", "first_name = 'O''Brien'''; UPDATE contacts SET first_name = 'Mallory'; "
           "SELECT (1"),
    Attack("call", "1 = 1); CALL {intruder}(); SELECT (1"),
    Attack("select-for-update", "EXISTS (SELECT 1 FROM accounts FOR UPDATE)"),
    Attack("select-for-share", "EXISTS (SELECT 1 FROM accounts FOR SHARE)", PG),
    Attack("lock-in-share-mode", "EXISTS (SELECT 1 FROM accounts LOCK IN SHARE MODE)", MY),
    Attack("select-into-table", "(SELECT first_name INTO {intruder} FROM users LIMIT 1) IS NULL", PG),
    Attack("union-select-reads-another-table",
           "(SELECT first_name FROM users WHERE users.id = contacts.owner_id UNION SELECT 'x' LIMIT 1) IS NOT NULL",
           keys=("filter", "sql"), outcome="read"),
]
STATEMENT_ATTACKS = [
    Attack("copy-to-program", "COPY (SELECT 1) TO PROGRAM 'touch {files}-raw-copy'", PG),
    Attack("select-then-copy", "SELECT 1; COPY (SELECT 1) TO PROGRAM 'touch {files}-raw-copy2'", PG),
    Attack("dollar-quote-hides-semicolon",
           "SELECT $$'$$; COPY (SELECT 1) TO PROGRAM $$touch {files}-raw-dollar$$; SELECT $$'$$", PG),
    Attack("commit-begin-read-write", "COMMIT; BEGIN READ WRITE; CREATE TABLE {intruder} (a int)", PG),
    Attack("commit-start-transaction", "COMMIT; START TRANSACTION READ WRITE; CREATE TABLE {intruder} (a int)", MY),
    Attack("quoted-set-config", "SELECT \"set_config\"('default_transaction_read_only', 'off', false)", PG),
    Attack("quoted-pg-read-file", "SELECT \"pg_read_file\"('/etc/passwd')", PG),
    Attack("uppercase-pg-read-file", "SELECT PG_READ_FILE('/etc/passwd')", PG),
    Attack("schema-qualified-pg-read-file", "SELECT pg_catalog.pg_read_file('/etc/passwd')", PG),
    Attack("lo-export", "SELECT lo_export(lo_import('/etc/passwd'), '{files}-raw-lo')", PG),
    Attack("dblink", "SELECT * FROM dblink('dbname=postgres', 'SELECT 1') AS t(a int)", PG),
    Attack("query-to-xml", "SELECT query_to_xml('COPY (SELECT 1) TO PROGRAM ''touch {files}-raw-xml''', true, true, '')",
           PG),
    Attack("do-block", "DO $$ BEGIN CREATE TABLE {intruder} (a int); END $$", PG),
    Attack("data-modifying-cte", "WITH x AS (UPDATE contacts SET first_name = 'Mallory' RETURNING 1) SELECT * FROM x", PG),
    Attack("explain-analyze-delete", "EXPLAIN ANALYZE DELETE FROM contacts", PG),
    Attack("select-into-table", "SELECT * INTO {intruder} FROM contacts", PG),
    Attack("advisory-lock", "SELECT pg_advisory_lock(1)", PG),
    Attack("prepare-delete", "PREPARE p AS DELETE FROM contacts", PG),
    Attack("listen", "LISTEN cleancrm", PG),
    Attack("set-read-write", "SET default_transaction_read_only = off", PG),
    Attack("set-characteristics", "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", PG),
    Attack("set-statement-timeout", "SET statement_timeout = 0", PG),
    Attack("set-search-path", "SET search_path = pg_temp, public", PG),
    Attack("set-role", "SET ROLE postgres", PG),
    Attack("reset-all", "RESET ALL", PG),
    Attack("pg-sleep", "SELECT pg_sleep(100)", PG, outcome="bounded"),
    Attack("into-outfile", "SELECT id FROM contacts INTO OUTFILE '{files}-raw-outfile1'", MY),
    Attack("executable-comment", "SELECT id FROM contacts /*! INTO OUTFILE '{files}-raw-outfile2' */", MY),
    Attack("dash-comment-is-not-a-comment", "SELECT id FROM contacts --1 INTO OUTFILE '{files}-raw-outfile3'", MY),
    Attack("into-dumpfile", "SELECT id FROM contacts LIMIT 1 INTO DUMPFILE '{files}-raw-dumpfile'", MY),
    Attack("load-file", "SELECT LOAD_FILE('/etc/passwd')", MY),
    Attack("load-data", "LOAD DATA INFILE '/etc/passwd' INTO TABLE contacts", MY),
    Attack("get-lock", "SELECT GET_LOCK('cleancrm', 1)", MY),
    Attack("do-sleep", "DO SLEEP(1)", MY),
    Attack("lock-tables", "LOCK TABLES contacts WRITE", MY),
    Attack("handler", "HANDLER contacts OPEN", MY),
    Attack("select-into-variable", "SELECT 1 INTO @y", MY),
    Attack("assign-user-variable", "SELECT @x := 1", MY),
    Attack("set-read-write", "SET SESSION TRANSACTION READ WRITE", MY),
    Attack("set-tx-read-only", "SET @@session.tx_read_only = 0", MY),
    Attack("set-statement-time", "SET SESSION max_statement_time = 0", MY),
    Attack("set-sql-mode", "SET sql_mode = 'NO_BACKSLASH_ESCAPES'", MY),
    Attack("set-global", "SET GLOBAL read_only = 0", MY),
    Attack("set-statement-for", "SET STATEMENT max_statement_time = 0 FOR SELECT SLEEP(5)", MY),
    Attack("sleep", "SELECT SLEEP(100)", MY, outcome="bounded"),
    Attack("benchmark", "SELECT BENCHMARK(500000000, MD5('x'))", MY, outcome="bounded"),
    Attack("select-then-drop", "SELECT 1; DROP TABLE contacts"),
    Attack("semicolon-after-doubled-quotes", "SELECT 'O''Brien'';'; UPDATE contacts SET first_name = 'Mallory'"),
    Attack("comment-hides-nothing-but-two-statements", "SELECT 1 /* */ ; DROP TABLE contacts"),
    Attack("call", "CALL {intruder}()"),
    Attack("select-for-update", "SELECT * FROM contacts FOR UPDATE"),
    Attack("lock-in-share-mode", "SELECT * FROM contacts LOCK IN SHARE MODE", MY),
    Attack("insert", "INSERT INTO contacts (id, first_name, deleted) VALUES (999999, 'Mallory', 0)"),
    Attack("update", "UPDATE contacts SET first_name = 'Mallory'"),
    Attack("create-table", "CREATE TABLE {intruder} (a int)"),
    Attack("union-select-reads-another-table", "SELECT first_name FROM contacts UNION SELECT first_name FROM users",
           outcome="read"),
]
DIALECT_IDS = {"postgresql": "postgresql", "mysql": "mariadb"}
MARKS = {"postgresql": pytest.mark.postgres, "mysql": pytest.mark.mysql}

# The SELECT cleancrm builds around each kind of fragment (connectors.mapping.EntityQuery), and the
# probe validation sends for soft_delete and filter.
AROUND = {
    "soft_delete": ["SELECT contacts.id FROM contacts WHERE (CASE WHEN ({sql}) THEN 1 ELSE 0 END) = 0",
                    "SELECT 1 FROM contacts WHERE ({sql}) AND 1 = 0"],
    "filter": ["SELECT contacts.id FROM contacts WHERE ({sql})", "SELECT 1 FROM contacts WHERE ({sql}) AND 1 = 0"],
    "sql": ["SELECT contacts.id, ({sql}) AS title FROM contacts"],
    "on": ["SELECT contacts.id FROM contacts LEFT JOIN accounts ON {sql}"],
}
CONFIG_KEY = {"soft_delete": "entities.contact.soft_delete", "filter": "entities.contact.filter",
              "sql": "entities.contact.fields.title.sql", "on": "entities.contact.fields.account_id.join[0].on"}


def fragment_cases() -> list:
    return [pytest.param(dialect, attack, key, marks=MARKS[dialect],
                         id=f"{DIALECT_IDS[dialect]}-{attack.name}-as-{key}")
            for attack in FRAGMENT_ATTACKS for dialect in attack.dialects for key in attack.keys]


def statement_cases() -> list:
    return [pytest.param(dialect, attack, marks=MARKS[dialect], id=f"{DIALECT_IDS[dialect]}-{attack.name}")
            for attack in STATEMENT_ATTACKS for dialect in attack.dialects]


# -- the CRM, and what "nothing happened" means --------------------------------------------------------
@dataclass
class Crm:
    """A demo CRM in a database of its own, read through a source opened with the superuser's URL."""

    dialect: str
    admin_url: str
    source: object
    baseline: dict
    session: str


LOADED: dict[str, Crm] = {}  # one CRM per server for the whole module


@pytest.fixture(scope="module", autouse=True)
def _close_sources():
    yield
    for crm in LOADED.values():
        crm.source.close()
    LOADED.clear()


@pytest.fixture
def crms(request, demo_tables):
    """`crms(dialect)`: the demo CRM on that server (loaded once), with its state before any attack."""

    def crm(dialect: str) -> Crm:
        if dialect not in LOADED:
            server = request.getfixturevalue("pg_server" if dialect == "postgresql" else "mysql_server")
            url = server.new_database("hostile")
            write_shape(url, shape_tables(demo_tables, "demo"))
            source = open_source(url, timeout_s=1)
            LOADED[dialect] = Crm(dialect, url, source, state(dialect, url), session_settings(source))
        return LOADED[dialect]

    return crm


def state(dialect: str, admin_url: str) -> dict:
    """Checksums of every table of the CRM's database, and counts of what else an attack could create."""
    engine = sa.create_engine(admin_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            if dialect == "postgresql":
                tables = conn.execute(sa.text(
                    "SELECT schemaname, tablename FROM pg_tables "
                    "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2")).all()
                sums = {f"{schema}.{table}": conn.execute(sa.text(
                    f"SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{schema}\".\"{table}\" t"
                )).scalar() for schema, table in tables}
                others = conn.execute(sa.text(
                    "SELECT (SELECT count(*) FROM pg_largeobject_metadata), (SELECT count(*) FROM pg_class c JOIN "
                    "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', "
                    "'information_schema', 'pg_toast')), (SELECT count(*) FROM pg_proc p JOIN pg_namespace n "
                    "ON n.oid = p.pronamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')), "
                    "(SELECT count(*) FROM pg_extension), (SELECT count(*) FROM pg_namespace)")).one()
            else:
                tables = [row[0] for row in conn.execute(sa.text("SHOW FULL TABLES")).all()]
                listed = ", ".join(f"`{t}`" for t in tables)
                sums = {name: checksum for name, checksum in conn.execute(sa.text(f"CHECKSUM TABLE {listed}")).all()}
                others = conn.execute(sa.text(
                    "SELECT (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()), "
                    "(SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()), "
                    "(SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()), "
                    "IS_USED_LOCK('cleancrm')")).one()
        return {"tables": sums, "others": tuple(others)}
    finally:
        engine.dispose()


SESSION_SQL = {
    "postgresql": "SELECT concat_ws('|', current_setting('default_transaction_read_only'), "
                  "current_setting('transaction_read_only'), current_setting('statement_timeout'), "
                  "current_setting('search_path'), current_setting('standard_conforming_strings'), current_user)",
    "mysql": "SELECT CONCAT_WS('|', @@session.tx_read_only, @@session.max_statement_time, @@session.sql_mode, "
             "CURRENT_USER(), COALESCE(@x, '-'), COALESCE(@y, '-'))",
}


def session_settings(source) -> str:
    return source.scalar(SESSION_SQL[source.dialect])


def files_written() -> list[str]:
    return sorted(glob.glob(f"{FILES}*"))


def assert_nothing_happened(crm: Crm) -> None:
    assert files_written() == []
    assert session_settings(crm.source) == crm.session
    assert state(crm.dialect, crm.admin_url) == crm.baseline


def assert_refused(crm: Crm, sql: str, outcome: str, *, by_guard: bool = True) -> None:
    """`sql` through Source.scalar and Source.stream: refused (by the guard), cut by the timeout, or read."""
    for run in (crm.source.scalar, lambda text: list(crm.source.stream(text))):
        if outcome == "read":
            run(sql)
            continue
        if outcome == "bounded":  # it may also finish at once (`AND 1 = 0`); it never runs for long
            start = time.perf_counter()
            try:
                run(sql)
            except WriteRefusedError:
                pass
            except SourceError as exc:
                assert "statement timeout of 1 s" in str(exc) and "\n" not in str(exc)
            assert time.perf_counter() - start < 10
            continue
        with pytest.raises(SourceError) as caught:
            run(sql)
        message = str(caught.value)
        assert "\n" not in message
        if by_guard or isinstance(caught.value, WriteRefusedError):
            assert isinstance(caught.value, WriteRefusedError), message
            assert message.startswith("source: refused ") and message.endswith("; the CRM source is read-only")
        else:
            assert message.startswith("source: query failed (")


def with_fragment(crm: Crm, key: str, fragment: str) -> dict:
    """The demo CRM's config with `fragment` under one of the contact entity's SQL keys."""
    config = build_config(crm.source, crm.admin_url, "demo")
    contact = config["entities"]["contact"]
    if key in ("soft_delete", "filter"):
        contact[key] = fragment
    elif key == "sql":
        contact["fields"]["title"] = {"sql": fragment}
    else:
        contact["fields"]["account_id"] = {"column": "accounts.id", "join": [{"table": "accounts", "on": fragment}]}
    return config


# -- the attacks, tried ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("dialect", "attack", "key"), fragment_cases())
def test_hostile_fragment_is_refused_and_changes_nothing(crms, dialect, attack, key):
    crm = crms(dialect)
    fragment = attack.text()
    cfg = parse_config(with_fragment(crm, key, fragment))
    errors = validate_mapping(cfg, crm.source)
    if attack.outcome == "read":
        assert errors == []
    else:
        assert len(errors) == 1, errors
        assert errors[0].startswith(f"{CONFIG_KEY[key]}: ") and "; write one SQL expression, e.g. " in errors[0]
        with pytest.raises(ConfigError, match=CONFIG_KEY[key].replace("[", r"\[")):
            EntityQuery(crm.source, "contact", cfg.entities["contact"])
    for around in AROUND[key]:  # and should it ever get into a SELECT, the guard and the database stop it
        assert_refused(crm, around.format(sql=fragment), attack.pasted_outcome(), by_guard=False)
    assert_nothing_happened(crm)


@pytest.mark.parametrize(("dialect", "attack"), statement_cases())
def test_hostile_statement_is_refused_and_changes_nothing(crms, dialect, attack):
    crm = crms(dialect)
    assert_refused(crm, attack.text(), attack.outcome)
    assert_nothing_happened(crm)


@pytest.mark.parametrize("dialect", [pytest.param(d, marks=MARKS[d], id=DIALECT_IDS[d]) for d in DIALECT_IDS])
def test_the_checks_would_see_a_write(crms, dialect):
    """The same server, asked by the superuser directly (no cleancrm), does write the file: the checks see it."""
    crm = crms(dialect)
    path = f"{FILES}-control"
    engine = sa.create_engine(crm.admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            if dialect == "postgresql":
                conn.exec_driver_sql(f"COPY (SELECT 1) TO PROGRAM 'touch {path}'")
            else:
                conn.exec_driver_sql(f"SELECT 1 INTO OUTFILE '{path}'")
        assert files_written() == [path]
    finally:
        engine.dispose()
        Path(path).unlink(missing_ok=True)
    assert files_written() == []


HARMLESS = {
    "postgresql": ['"Contact"."IsDeleted" = TRUE', '"Contact"."FirstName" || \' \' || "Contact"."LastName"',
                   "email_addresses.id = rel.email_address_id AND rel.deleted = 0", "LOWER(TRIM(email)) LIKE '%@example.com'",
                   "COALESCE(NULLIF(phone, ''), mobile)", "created_at > CURRENT_DATE - INTERVAL '30 days'",
                   "date_trunc('month', modified_at) = date_trunc('month', now())", "email ~ '^[^@]+@[^@]+$'",
                   "CAST(amount AS NUMERIC) > 0", "EXTRACT(YEAR FROM created_at) >= 2020", "status IN ('a', 'b')",
                   "(SELECT COUNT(*) FROM emails WHERE emails.contact_id = contacts.id) > 0", "x::text = 'a;b'"],
    "mysql": ["deleted = 1", "REPLACE(phone, '-', '') <> ''", "IFNULL(title, '') = ''", "DATE(created_at) >= CURDATE()",
              "DATE_FORMAT(created_at, '%Y') = '2024'", "CONCAT(first_name, ' ', last_name)", "`Contact`.`IsDeleted` = 1",
              "IF(status = 'Active', 1, 0)", "created_at > NOW() - INTERVAL 30 DAY", "LOCATE('@', email) > 0",
              "SUBSTRING_INDEX(email, '@', -1) = 'example.com'", "note = \"it's\""],
    "sqlite": ["deleted = 1", "CASE WHEN stage IN ('Closed Won', 'Closed Lost') THEN 1 ELSE 0 END",
               "date(created_at) > date('now', '-30 day')", "strftime('%Y', created_at) = '2024'",
               "IIF(active, 1, 0)", "substr(phone, 1, 3) = '+49'", "julianday('now') - julianday(modified_at) < 365"],
}


@pytest.mark.parametrize(("dialect", "fragment"), [
    pytest.param(dialect, fragment, id=f"{dialect}-{i}") for dialect, fragments in HARMLESS.items()
    for i, fragment in enumerate(fragments)])
def test_harmless_fragments_are_accepted(dialect, fragment):
    assert fragment_problem(fragment, dialect) is None


def test_every_dialect_faces_many_attacks():
    counts = {d: sum(len(a.keys) for a in FRAGMENT_ATTACKS if d in a.dialects)
              + sum(1 for a in STATEMENT_ATTACKS if d in a.dialects) for d in DIALECT_IDS}
    assert min(counts.values()) >= 60, counts


# -- one statement per call, whatever gets past the guard --------------------------------------------------
@pytest.mark.postgres
def test_psycopg_server_refuses_several_statements_in_one(crms):
    crm = crms("postgresql")
    import psycopg

    assert hasattr(psycopg.Cursor, "_execute_send")  # the method the single-statement cursor overrides
    raw = crm.source.engine.raw_connection()  # the guard is not on this path: only the protocol is
    try:
        cursor = raw.cursor()
        assert isinstance(cursor, single_statement_cursor())
        with pytest.raises(psycopg.errors.SyntaxError, match="cannot insert multiple commands into a prepared statement"):
            cursor.execute(f"SELECT 1; CREATE TABLE {INTRUDER} (a int)")
        raw.rollback()
        cursor.execute("SELECT 1")  # one statement still runs
        assert cursor.fetchone() == (1,)
    finally:
        raw.close()
    assert_nothing_happened(crm)


@pytest.mark.mysql
def test_pymysql_connects_without_multi_statements_even_when_asked(crms):
    crm = crms("mysql")
    from pymysql.constants import CLIENT

    asking = sa.make_url(crm.admin_url).update_query_dict({"client_flag": str(CLIENT.MULTI_STATEMENTS)})
    source = open_source(asking.render_as_string(hide_password=False))
    raw = source.engine.raw_connection()
    try:
        assert not raw.driver_connection.client_flag & CLIENT.MULTI_STATEMENTS
        cursor = raw.cursor()
        with pytest.raises(source.engine.dialect.loaded_dbapi.ProgrammingError, match="syntax"):
            cursor.execute(f"SELECT 1; CREATE TABLE {INTRUDER} (a int)")
    finally:
        raw.close()
        source.close()
    assert_nothing_happened(crm)


def test_sqlite3_refuses_several_statements_in_one(tmp_path):
    path = tmp_path / "crm.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE contacts (id INTEGER)"))
    engine.dispose()
    source = open_source(f"sqlite:///{path}")
    raw = source.engine.raw_connection()
    try:
        with pytest.raises((sqlite3.ProgrammingError, sqlite3.Warning), match="one statement at a time"):
            raw.cursor().execute(f"SELECT 1; CREATE TABLE {INTRUDER} (a int)")
    finally:
        raw.close()
        source.close()
    assert sa.inspect(sa.create_engine(f"sqlite:///{path}")).get_table_names() == ["contacts"]


@pytest.mark.postgres
def test_sqlalchemy_reflection_parses_and_is_known_as_catalog_reflection(crms):
    """Every statement SQLAlchemy's reflection sends parses; those it compiles from pg_catalog are recognised."""
    crm = crms("postgresql")
    seen = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, context))

    sa.event.listen(crm.source.engine, "before_cursor_execute", listen)
    try:
        inspector = sa.inspect(crm.source.engine)
        inspector.get_table_names()
        inspector.get_view_names()
        inspector.get_columns("contacts")
        crm.source.scalar("SELECT COUNT(*) FROM contacts")
    finally:
        sa.event.remove(crm.source.engine, "before_cursor_execute", listen)
    catalog = [statement for statement, context in seen if compiled_from_catalog(context)]
    assert catalog and all("pg_catalog" in statement for statement in catalog)
    assert not compiled_from_catalog(seen[-1][1])  # our own text is never taken for reflection
    assert all(judge(statement.replace("%%", "%"), "postgresql").parsed for statement, _ in seen)


# -- a whole run, the drill-down and the exports, through a SELECT-only role -----------------------------
def checksum(backend_kind: str, url: str) -> dict:
    if backend_kind == "sqlite":
        return {"file": hashlib.sha256(Path(sa.make_url(url).database).read_bytes()).hexdigest()}
    return state("postgresql" if backend_kind == "postgresql" else "mysql", url)["tables"]


def write_config(folder: Path, url: str) -> tuple[Path, dict]:
    """A config reading `url`, its password (if any) from the environment as a user would keep it."""
    password = sa.make_url(url).password
    env = dict(os.environ)
    stored = url
    if password:
        env["CLEANCRM_SOURCE_PASSWORD"] = password
        stored = url.replace(f":{password}@", ":${CLEANCRM_SOURCE_PASSWORD}@")
    source = open_source(url)
    try:
        config = build_config(source, stored, "demo")
    finally:
        source.close()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cleancrm.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path, env


def sh(*args, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLEANCRM), *map(str, args)], capture_output=True, text=True, env=env, timeout=600)


def test_run_drilldown_and_exports_leave_the_crm_unchanged(backend, loaded, tmp_path):
    admin_url, _ = loaded("demo")
    before = checksum(backend.kind, admin_url)
    if backend.kind == "sqlite":
        run_url = admin_url  # SQLite has no roles: the file is opened mode=ro
    else:
        refused_config, env = write_config(tmp_path / "superuser", admin_url)
        refused = sh("run", "--config", refused_config, "--json", "--require-read-only-role", env=env)
        lines = [line for line in refused.stderr.splitlines() if line.strip()]
        assert refused.returncode == 2 and len(lines) == 1, refused.stderr
        assert lines[0].startswith("error: source: a read-only role is required, and the ")
        assert not (refused_config.parent / "cleancrm-history.db").exists()  # nothing stored
        run_url = backend.readonly_user(admin_url)
    config, env = write_config(tmp_path / "reader", run_url)
    flags = [] if backend.kind == "sqlite" else ["--require-read-only-role"]
    ran = sh("run", "--config", config, "--json", *flags, env=env)
    assert ran.returncode == 0, ran.stderr
    doc = json.loads(ran.stdout)
    if backend.kind == "sqlite":  # this process may write the file, even though cleancrm opens it mode=ro
        assert len(doc["warnings"]) == 1 and "is writable by this process" in doc["warnings"][0]
        assert f"warning: {doc['warnings'][0]}" in ran.stderr
    else:
        assert doc["warnings"] == [] and "warning: source" not in ran.stderr
    # the drill-down: the dashboard's read of a few records, by key
    cfg = parse_config(yaml.safe_load(config.read_text()) | {"source": {"url": run_url}})
    source = open_source(run_url)
    try:
        for entity, ent in cfg.entities.items():
            sql, _ = EntityQuery(source, entity, ent).select(list(ent.fields))
            keys = source.read_frame(f"SELECT q.__key FROM ({sql}) AS q ORDER BY q.__key")["__key"].tolist()[:3]
            for key in keys:
                frame = source.read_frame(f"SELECT * FROM ({sql}) AS q WHERE q.__key = :k", {"k": key})
                assert len(frame) >= 1
    finally:
        source.close()
    # the worklist exports
    for command in ("findings", "duplicates"):
        out = tmp_path / f"{command}.csv"
        exported = sh(command, "--config", config, "--run", "latest", "--format", "csv", "--out", out, env=env)
        assert exported.returncode == 0, exported.stderr
        assert out.exists()
    assert checksum(backend.kind, admin_url) == before
