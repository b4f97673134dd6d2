"""The push-down engine on SQLite, PostgreSQL and MariaDB: the same findings as the row engine.

`source.pushdown: always` lets the database settle the records that certainly pass the checks that
state a predicate (required fields, email syntax, ISO countries, +1 phones) and judges only the others in
Python; `never` judges every record in Python. Both must give the same results, finding for finding.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from checks.config import parse_config
from checks.engine.run import run_checks
from connectors.history import HistoryStore
from connectors.presets import build_config
from connectors.source import open_source

SETTLED = ("completeness.required,accuracy.email_syntax,consistency.country_iso,accuracy.phone_valid,"
           "freshness.staleness,consistency.orphans,freshness.newest_update,duplication.exact_email")
COLUMNS = ["check_id", "entity", "record_key", "field", "column_name", "value", "reason", "suggestion", "owner"]


def _run(url: str, mode: str, history: str, only: str | None):
    source = open_source(url)
    try:
        data = build_config(source, url)
    finally:
        source.close()
    data["source"]["pushdown"] = mode
    data["history"] = {"url": history}
    cfg = parse_config(data)
    return run_checks(cfg, now=datetime(2024, 6, 1), only=only, history=HistoryStore(history), lock=False).result


def _findings(result) -> pd.DataFrame:
    return result.findings[COLUMNS].astype(str).sort_values(COLUMNS).reset_index(drop=True)


@pytest.mark.parametrize("only", [SETTLED, None], ids=["settled-checks", "every-check"])
def test_pushdown_finds_what_the_row_engine_finds(loaded, tmp_path, only):
    url, _ = loaded("salesforce", "api")
    rows = _run(url, "never", f"sqlite:///{tmp_path / 'rows.db'}", only)
    assert len(rows.findings) > 10  # the demo's defects are there to be found
    keys = ["check_id", "entity", "applicable", "failed", "score", "metrics"]
    for mode in ("always", "auto"):  # auto: on PostgreSQL, the settled checks alone read no record into Python
        pushed = _run(url, mode, f"sqlite:///{tmp_path / (mode + '.db')}", only)
        assert (rows.check_results[keys].sort_values(keys[:2]).reset_index(drop=True)
                .equals(pushed.check_results[keys].sort_values(keys[:2]).reset_index(drop=True))), mode
        pd.testing.assert_frame_equal(_findings(rows), _findings(pushed))
        assert pushed.rows_read == rows.rows_read


# Values at the edges of what a predicate may settle: white space of every kind, null tokens in any
# case, non-ASCII text, addresses one character away from plain, codes in the wrong case.
TRICKY_EMAILS = ["a@b.co", "A.B@EXAMPLE.COM", "a..b@x.com", ".a@x.com", "a.@x.com", "a@-x.com", "a@x-.com",
                 "a@x.test", "a@x.TEST", "a@x.Invalid", "a b@x.com", " a@x.com", "a@x.com ", "a@x.com\n",
                 "a@x..com", "a@x", "a@x.c", "a@x.museum", "jürgen@x.de", "a@" + "x" * 64 + ".com",
                 "a+tag@x.io", "a@x.co.uk", "a_b%c@x-y.org", "a@@x.com", "a@x.com.", "", "   ", "Unknown", None,
                 "x" * 60 + "@y.com", "a@1.2.3.4", "a@x.123", "John.Smith@Gmail.com", "johnsmith@googlemail.com",
                 "j.o.h.n.smith+x@gmail.com", "A@X.COM", "info@x.com", "test@x.com", "JÜRGEN@x.de", "x@x.com",
                 "<a@x.com>", "no.email@gmail.com"]
TRICKY_NAMES = ["Smith", " Smith", "Smith ", "\tSmith", "Sm ith", "UNKNOWN", "unknown", "Unknown ", "n/a", "N/A",
                "-", "--", "TBD", "NaN", "nan", "None", "Müller", "", " ", None, "#N/A", "Not Available", "x", "Ⅸ"]
TRICKY_COUNTRIES = ["US", "us", "Us", "USA", "GB", "UK", "DE", "XX", "ZZ", " US", "US ", "", None, "Unknown", "FR"]
TRICKY_PHONES = ["+14155550132", "+12125551234", "+11234567890", "+12345678901", "+15555555555", "+1415555013",
                 "+141555501320", "(415) 555-0132", "+1 415 555 0132", " +14155550132", "+1415555O132",
                 "+12687654321", "+442079460958", "", None, "n/a", "+18005550100", "+19005550100"]


# As of 2024-06-01 with the default 730 days, 2022-06-02 00:00 is the last moment that is not stale.
TRICKY_MODIFIED = [pd.Timestamp("2022-06-02"), pd.Timestamp("2022-06-01 23:59:59.999999"), pd.Timestamp("2022-06-02 00:00:01"),
                   pd.Timestamp("2024-05-31"), pd.Timestamp("2199-12-31"), pd.Timestamp("1901-01-01"), None,
                   pd.Timestamp("2020-01-01")]
TRICKY_ACCOUNTS = ["1", "2", "3", "9", " 1", "unknown", None, "", "2 "]  # 3 is soft-deleted, 9 does not exist


def _tricky_frame() -> pd.DataFrame:
    n = max(len(TRICKY_EMAILS), len(TRICKY_NAMES), len(TRICKY_COUNTRIES), len(TRICKY_PHONES)) * 3
    return pd.DataFrame({
        "id": range(1, n + 1),
        # The edge values twice over, then addresses no other record has (the common case).
        "email": [TRICKY_EMAILS[i % len(TRICKY_EMAILS)] if i < 2 * len(TRICKY_EMAILS) else f"p{i}@corp{i % 7}.com"
                  for i in range(n)],
        "last_name": [TRICKY_NAMES[i % len(TRICKY_NAMES)] for i in range(n)],
        "country": [TRICKY_COUNTRIES[i % len(TRICKY_COUNTRIES)] for i in range(n)],
        "phone": [TRICKY_PHONES[i % len(TRICKY_PHONES)] for i in range(n)],
        "modified_at": [TRICKY_MODIFIED[i % len(TRICKY_MODIFIED)] for i in range(n)],
        "account_id": [TRICKY_ACCOUNTS[i % len(TRICKY_ACCOUNTS)] for i in range(n)],
    })


def _write_tricky(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    _tricky_frame().to_sql("people", engine, index=False, if_exists="replace")
    pd.DataFrame({"id": [1, 2, 3], "name": ["A", "B", "C"], "deleted": [0, 0, 1]}).to_sql(
        "orgs", engine, index=False, if_exists="replace")
    engine.dispose()


def test_pushdown_settles_no_edge_value_the_row_engine_fails(backend, tmp_path):
    url = backend.new_database("pushdown_edges")
    _write_tricky(url)
    results = {}
    for mode in ("never", "always"):
        history = f"sqlite:///{tmp_path / (mode + '.db')}"
        cfg = parse_config({
            "name": "edges", "source": {"url": url, "pushdown": mode}, "history": {"url": history},
            "entities": {"contact": {"table": "people", "key": "id", "required": ["last_name", "email"],
                                     "fields": {"email": "email", "last_name": "last_name", "country": "country",
                                                "phone": "phone", "modified_at": "modified_at",
                                                "account_id": "account_id"}},
                         "account": {"table": "orgs", "key": "id", "soft_delete": "deleted = 1",
                                     "fields": {"name": "name"}}},
            "references": [{"from": "contact.account_id", "to": "account"}],
        })
        results[mode] = run_checks(cfg, now=datetime(2024, 6, 1), only=SETTLED, history=HistoryStore(history),
                                   lock=False).result
    rows, pushed = results["never"], results["always"]
    keys = ["check_id", "entity", "applicable", "failed", "metrics"]
    assert rows.check_results[keys].sort_values(keys).reset_index(drop=True).equals(
        pushed.check_results[keys].sort_values(keys).reset_index(drop=True))
    pd.testing.assert_frame_equal(_findings(rows), _findings(pushed))
    failing = set(rows.findings.check_id)
    assert failing == set(SETTLED.split(",")) - {"freshness.newest_update"}  # edge values fail each row check


def test_predicates_settle_plain_values_and_only_values_python_passes(backend):

    from checks.phones import check_phone
    from checks.settled import filled_text, iso_country, plain_email, valid_nanp_e164
    from checks.values import email_syntax_valid, is_iso_country, missing_values
    from connectors.source.predicates import All, flag

    url = backend.new_database("pushdown_predicates")
    _write_tricky(url)
    frame = _tricky_frame()
    source = open_source(url)
    dialect = source.dialect
    try:
        def settled(column: str, parts: tuple) -> set:
            """The values of `column` whose records the database settles (the predicate names the column)."""
            sql = (f"SELECT q.{source.quote('id')} FROM (SELECT * FROM {source.quote('people')}) q "
                   f"WHERE {flag(All(parts), dialect)} = 1")
            ids = set(source.read_frame(sql).iloc[:, 0].astype(int))
            return set(frame.loc[frame.id.isin(ids), column])

        emails = settled("email", plain_email("email"))
        names = settled("last_name", filled_text("last_name"))
        countries = settled("country", iso_country("country"))
        phones = settled("phone", valid_nanp_e164("phone"))
    finally:
        source.close()
    assert {"a@b.co", "A.B@EXAMPLE.COM", "a+tag@x.io", "a@x.co.uk", "a_b%c@x-y.org"} <= emails
    assert email_syntax_valid(pd.Series(sorted(emails), dtype=object)).all()
    assert not emails & {"a@x.test", "a@x.TEST", "a@x.Invalid", "a@x.com\n", " a@x.com", "a..b@x.com", "a@-x.com"}
    assert {"Smith", "Sm ith", "x"} <= names
    assert not missing_values(pd.Series(sorted(names), dtype=object)).any()
    assert not names & {"NaN", "nan", "UNKNOWN", "Unknown ", " Smith", "\tSmith", "Müller"}
    assert countries == {"US", "GB", "DE", "FR"} and all(is_iso_country(c) for c in countries)
    assert {"+14155550132", "+12125551234", "+18005550100"} <= phones
    assert all(check_phone(p, None)[0] for p in phones)
    assert not phones & {"+12345678901", "+15555555555", "+1415555013", " +14155550132", "+12687654321"}


def test_a_predicate_renders_per_dialect():
    from connectors.source.predicates import All, AtMost, Lacks, Matches, render

    predicate = All((AtMost("e", 68), Lacks("e", ("..",)), Matches("e", r"[a-z]+[.]com")))
    expected = {
        "postgresql": """((CHAR_LENGTH("q"."e") <= 68) AND ("q"."e" IS NOT NULL AND CAST("q"."e" AS TEXT) NOT LIKE '%..%') """
                      """AND (CAST("q"."e" AS TEXT) ~ '^([a-z]+[.]com)$'))""",
        "mysql": """((CHAR_LENGTH(`q`.`e`) <= 68) AND (`q`.`e` IS NOT NULL AND CAST(`q`.`e` AS BINARY) NOT LIKE '%..%') """
                 """AND (CAST(`q`.`e` AS BINARY) REGEXP '^([a-z]+[.]com)\\\\z'))""",
        "sqlite": """((LENGTH("q"."e") <= 68) AND ("q"."e" IS NOT NULL AND "q"."e" NOT LIKE '%..%') """
                  """AND (cleancrm_full_match('^([a-z]+[.]com)$', CAST("q"."e" AS BLOB)) = 1))""",
        "duckdb": """((LENGTH("q"."e") <= 68) AND ("q"."e" IS NOT NULL AND CAST("q"."e" AS VARCHAR) NOT LIKE '%..%') """
                  """AND regexp_full_match(CAST("q"."e" AS VARCHAR), '^([a-z]+[.]com)$'))""",
        "snowflake": """((LENGTH("q"."e") <= 68) AND ("q"."e" IS NOT NULL AND CAST("q"."e" AS VARCHAR) NOT LIKE '%..%') """
                     """AND REGEXP_LIKE(CAST("q"."e" AS VARCHAR), '^([a-z]+[.]com)$'))""",
        "bigquery": """((LENGTH(`q`.`e`) <= 68) AND (`q`.`e` IS NOT NULL AND CAST(`q`.`e` AS STRING) NOT LIKE '%..%') """
                    """AND REGEXP_CONTAINS(CAST(`q`.`e` AS STRING), '^([a-z]+[.]com)$'))""",
    }
    for dialect, sql in expected.items():
        assert render(predicate, dialect) == sql, dialect


@pytest.mark.postgres
def test_the_columnar_reader_reads_and_refuses_writes(pg_url):
    from connectors.source import columnar
    from connectors.source.guard import WriteRefusedError

    source = open_source(pg_url)
    try:
        assert columnar.columnar_available(source)
        table = columnar.read_arrow(source, "SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, NULL")
        assert table.column_names == ["a", "b"] and table.column("b").to_pylist() == ["x", None]
        for statement in ("CREATE TABLE cleancrm_probe (a int)", "SELECT 1; DROP TABLE x",
                          "SELECT set_config('default_transaction_read_only', 'off', false)"):
            with pytest.raises(WriteRefusedError):
                columnar.read_arrow(source, statement)
        # Past the guard, DuckDB's own connection is read-only too.
        with pytest.raises(Exception, match="read-only|read only"):
            columnar._connection(source).execute("CREATE TABLE crm.public.cleancrm_probe (a INTEGER)")
    finally:
        source.close()


@pytest.mark.postgres
def test_the_columnar_reader_keeps_one_connection_and_runs_no_thread_of_its_own(pg_url):
    """The engine forks after columnar reads: no DuckDB thread may be running then, connection open or not."""
    import os

    from connectors.source import columnar

    def threads() -> int:
        return len(os.listdir("/proc/self/task"))

    source = open_source(pg_url)
    try:
        before = threads()
        columnar.read_arrow(source, "SELECT generate_series(1, 50000) AS n")
        con = columnar._connection(source)
        assert columnar.read_arrow(source, "SELECT 2 AS n").column("n").to_pylist() == [2]
        assert columnar._connection(source) is con  # the scanner is loaded once per process and source
        assert threads() == before
    finally:
        source.close()
    assert (os.getpid(), id(source)) not in columnar._CONNECTIONS


def test_auto_settles_only_on_a_columnar_source_when_nothing_else_reads_the_records(loaded, tmp_path):
    from checks.engine.measure import Measurer
    from checks.engine.plan import plan

    url, _ = loaded("salesforce", "api")
    source = open_source(url)
    try:
        data = build_config(source, url)
        data["history"] = {"url": f"sqlite:///{tmp_path / 'h.db'}"}
        cfg = parse_config(data)
        measurer = Measurer(cfg, source, datetime(2024, 6, 1))
        from checks.base import Context

        def decided(only: str) -> int:
            planned = [p for p in plan(cfg, only) if p.entity == "contact"]
            contexts = {i: Context("contact", measurer.now, {f: measurer.queries["contact"].field_columns(f)
                                                             for f in cfg.entities["contact"].fields},
                                   p.params, measurer.shared) for i, p in enumerate(planned)}
            rows = [i for i, p in enumerate(planned) if p.check.scope == "row"]
            entity = [i for i, p in enumerate(planned) if p.check.scope == "entity" and p.check.reads_records]
            settled, keyed = measurer._settled(planned, contexts, rows, entity)
            return len(settled) + len(keyed)

        columnar = source.dialect == "postgresql"
        # Six row checks and exact email duplicates keyed in DuckDB; newest_update is the table's aggregate.
        assert decided(SETTLED) == (7 if columnar else 0)
        assert decided(SETTLED + ",consistency.phone_e164") == 0  # judged in Python only: a full read
        assert decided(SETTLED + ",duplication.exact_phone") == 0  # an entity check reads every record
    finally:
        source.close()


@pytest.mark.postgres
def test_keys_computed_by_duckdb_stay_with_their_records_on_a_large_table(pg_server, tmp_path):
    """DuckDB scans a large Arrow table on several threads; the keys it computes must not change rows."""
    import sqlalchemy as sa

    url = pg_server.new_database("pushdown_large")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE people AS SELECT i AS id, "
            "CASE WHEN i % 97 = 0 THEN 'P' || (i % 250000) || '@Corp.com' ELSE 'p' || (i % 250000) || '@corp.com' END "
            "AS email, TIMESTAMP '2020-01-01' + i * INTERVAL '1 minute' AS created_at "
            "FROM generate_series(1, 300000) AS i"))
    engine.dispose()
    found = {}
    for mode in ("never", "always"):
        history = f"sqlite:///{tmp_path / (mode + '.db')}"
        cfg = parse_config({"name": "large", "source": {"url": url, "pushdown": mode}, "history": {"url": history},
                            "entities": {"contact": {"table": "people", "key": "id", "required": [],
                                                     "fields": {"email": "email", "created_at": "created_at"}}}})
        found[mode] = run_checks(cfg, now=datetime(2024, 6, 1), only="duplication.exact_email",
                                 history=HistoryStore(history), lock=False).result
    assert len(found["never"].findings) == 50_000  # ids 250,001-300,000 repeat an older address
    pd.testing.assert_frame_equal(_findings(found["never"]), _findings(found["always"]))
