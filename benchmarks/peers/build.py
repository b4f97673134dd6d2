"""Build the Salesforce-shaped CRM the peers are measured on, in SQL, inside PostgreSQL.

Everything is generated server-side with `generate_series` and `hashint8extended(row, salt)`, so a
build is deterministic (same N, same rows) and a 1M-contact build takes seconds, not minutes of
Python. The database is rebuilt only when N or `SCHEMA_VERSION` changes (`_peers_meta` records both).

Defects are injected at fixed rates (see `RATES`); each defect is drawn from its own salt so the
rates are independent. Values are chosen so that the spec's definitions (checks.py) and the tools'
own rules agree wherever the tools can agree:

* valid phones are North-American numbers (+1, a real area code, exchange 2-9xx): valid for
  phonenumbers whatever the contact's country; the non-E.164 spelling `(415) 734-0132` is only used
  on contacts whose MailingCountry is exactly `US`, so a tool that parses with the address country
  (cleancrm) reads it as a US number. Invalid phones are +1 with 9 or 12 digits.
* duplicate emails come from a pool of valid corporate addresses (no Gmail, no +tags, no role or
  placeholder mailbox), so cleancrm's normalised key equals lower(Email).
* LastModifiedDate skips 700-760 days before the build's anchor, so "older than 730 days" gives the
  same count for a month after the build, whenever a tool runs.
"""

from __future__ import annotations

import time

import psycopg
from psycopg import sql

SCHEMA_VERSION = 3
ACCOUNT_RATIO = 5  # 1M contacts -> 200k accounts
USERS = 200

# Fractions of rows per defect (each from an independent hash).
RATES = {
    "contact_deleted": 0.02,
    "account_deleted": 0.02,
    "last_name_null": 0.010, "last_name_blank": 0.005, "last_name_spaces": 0.005,
    "email_null": 0.020, "email_blank": 0.005, "email_spaces": 0.005,
    "email_invalid": 0.015, "email_dup_pool": 0.030,
    "phone_null": 0.03, "phone_invalid": 0.02, "phone_national": 0.35,  # national: share of US contacts
    "country_null": 0.02, "country_bad": 0.03,
    "leadsource_null": 0.05, "leadsource_bad": 0.02,
    "account_null": 0.03, "account_missing": 0.01,
    "stale": 0.10,
}

FIRST = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elena",
         "David", "Sophie", "Lukas", "Anna", "Pierre", "Marie", "Jan", "Emma", "Carlos", "Lucia"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Martinez", "Wilson",
        "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Mueller", "Schmidt", "Dubois", "Jansen"]
DOMAINS = ["acme-corp.com", "globex.net", "initech.io", "umbrella.co.uk", "hooli.com", "stark-industries.com",
           "wayne-enterprises.com", "cyberdyne.de", "soylent.fr", "vandelay.nl"]
AREA_CODES = ["212", "213", "305", "312", "404", "415", "503", "512", "617", "702", "713", "206", "303", "602"]
COUNTRIES_OK = ["US", "US", "US", "US", "GB", "DE", "FR", "CA", "NL", "AU", "ES", "IT", "SE", "CH"]
COUNTRIES_BAD = ["United States", "USA", "Germany", "UK", "us", "XX", "Deutschland", "U.S.", "France", "de"]
LEAD_SOURCES_OK = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]
LEAD_SOURCES_BAD = ["web", "Webinar", "Trade Show", "Cold Call", "LinkedIn"]
INDUSTRIES = ["Technology", "Finance", "Healthcare", "Retail", "Manufacturing", "Energy", None]


def _lit(values) -> str:
    """A PostgreSQL ARRAY[...] literal of text (NULL for None): the pick lists inlined in the SQL."""
    items = ["NULL" if v is None else "'" + v.replace("'", "''") + "'" for v in values]
    return "ARRAY[" + ", ".join(items) + "]::text[]"


# r(n, salt): a uniform number in [0, 1) per row and salt. pick(arr, n, salt): an element of arr.
FUNCTIONS = """
CREATE OR REPLACE FUNCTION pg_temp.r(n bigint, salt bigint) RETURNS double precision
  LANGUAGE sql IMMUTABLE AS $$ SELECT ((hashint8extended(n, salt) & 9007199254740991)::double precision
                                       / 9007199254740992.0) $$;
CREATE OR REPLACE FUNCTION pg_temp.pick(arr text[], n bigint, salt bigint) RETURNS text
  LANGUAGE sql IMMUTABLE AS $$ SELECT arr[1 + floor(pg_temp.r(n, salt) * array_length(arr, 1))::int] $$;
CREATE OR REPLACE FUNCTION pg_temp.digits(n bigint, salt bigint, k int) RETURNS text
  LANGUAGE sql IMMUTABLE AS $$ SELECT lpad((floor(pg_temp.r(n, salt) * (10 ^ k)))::bigint::text, k, '0') $$;
CREATE OR REPLACE FUNCTION pg_temp.sfid(prefix text, n bigint) RETURNS text
  LANGUAGE sql IMMUTABLE AS $$ SELECT prefix || lpad(n::text, 12, '0') || 'AAA' $$;
"""


def _contact_sql(n: int, accounts: int) -> str:
    q = RATES
    # Cumulative thresholds so one draw chooses among exclusive defects of a column.
    ln1, ln2, ln3 = q["last_name_null"], q["last_name_null"] + q["last_name_blank"], \
        q["last_name_null"] + q["last_name_blank"] + q["last_name_spaces"]
    e1 = q["email_null"]
    e2 = e1 + q["email_blank"]
    e3 = e2 + q["email_spaces"]
    e4 = e3 + q["email_invalid"]
    e5 = e4 + q["email_dup_pool"]
    pool = max(1, int(n * q["email_dup_pool"] / 3))  # ~3 rows per pooled address
    p1, p2 = q["phone_null"], q["phone_null"] + q["phone_invalid"]
    c1, c2 = q["country_null"], q["country_null"] + q["country_bad"]
    l1, l2 = q["leadsource_null"], q["leadsource_null"] + q["leadsource_bad"]
    a1, a2 = q["account_null"], q["account_null"] + q["account_missing"]
    return f"""
CREATE TABLE "Contact" AS
WITH base AS (
  SELECT g AS n,
         pg_temp.pick({_lit(FIRST)}, g, 11) AS fn, pg_temp.pick({_lit(LAST)}, g, 12) AS lnm,
         pg_temp.pick({_lit(DOMAINS)}, g, 13) AS dom,
         pg_temp.r(g, 2) AS r_ln, pg_temp.r(g, 3) AS r_em, pg_temp.r(g, 4) AS r_ph, pg_temp.r(g, 5) AS r_co,
         pg_temp.r(g, 6) AS r_ls, pg_temp.r(g, 7) AS r_ac, pg_temp.r(g, 8) AS r_st,
         1 + floor(pg_temp.r(g, 9) * {pool})::bigint AS q,
         CASE WHEN pg_temp.r(g, 5) < {c1} THEN NULL
              WHEN pg_temp.r(g, 5) < {c2} THEN pg_temp.pick({_lit(COUNTRIES_BAD)}, g, 51)
              ELSE pg_temp.pick({_lit(COUNTRIES_OK)}, g, 52) END AS country,
         pg_temp.pick({_lit(AREA_CODES)}, g, 41) AS area,
         (2 + floor(pg_temp.r(g, 42) * 8))::int::text || pg_temp.digits(g, 43, 2) AS exch,
         pg_temp.digits(g, 44, 4) AS line
  FROM generate_series(1, {n}) AS g
)
SELECT
  pg_temp.sfid('003', n)::varchar(18) AS "Id",
  fn AS "FirstName",
  CASE WHEN r_ln < {ln1} THEN NULL WHEN r_ln < {ln2} THEN '' WHEN r_ln < {ln3} THEN '   ' ELSE lnm END AS "LastName",
  CASE WHEN r_em < {e1} THEN NULL
       WHEN r_em < {e2} THEN ''
       WHEN r_em < {e3} THEN '  '
       -- invalid syntax, unique per row: no @, two @, a space, no dot in the domain
       WHEN r_em < {e4} THEN (ARRAY[lower(fn) || '.' || lower(lnm) || n || '.' || dom,
                                    lower(fn) || '@@' || n || dom,
                                    lower(fn) || ' ' || lower(lnm) || n || '@' || dom,
                                    lower(fn) || n || '@' || split_part(dom, '.', 1)])[1 + (n % 4)::int]
       -- the duplicate pool: the same address for every row of one q, capitalised on odd rows
       WHEN r_em < {e5} THEN CASE WHEN n % 2 = 1
            THEN initcap(lower(pg_temp.pick({_lit(FIRST)}, q, 21))) || '_'
                 || initcap(lower(pg_temp.pick({_lit(LAST)}, q, 22))) || q || '@' || pg_temp.pick({_lit(DOMAINS)}, q, 23)
            ELSE lower(pg_temp.pick({_lit(FIRST)}, q, 21)) || '_' || lower(pg_temp.pick({_lit(LAST)}, q, 22)) || q
                 || '@' || pg_temp.pick({_lit(DOMAINS)}, q, 23) END
       ELSE lower(fn) || '.' || lower(lnm) || n || '@' || dom END AS "Email",
  CASE WHEN r_ph < {p1} THEN NULL
       WHEN r_ph < {p2} THEN CASE WHEN n % 2 = 0 THEN '+1' || area || exch || substr(line, 1, 3)
                                  ELSE '+1' || area || exch || line || '12' END
       WHEN country = 'US' AND pg_temp.r(n, 45) < {q["phone_national"]}
            THEN '(' || area || ') ' || exch || '-' || line
       ELSE '+1' || area || exch || line END AS "Phone",
  country AS "MailingCountry",
  CASE WHEN r_ls < {l1} THEN NULL
       WHEN r_ls < {l2} THEN pg_temp.pick({_lit(LEAD_SOURCES_BAD)}, n, 61)
       ELSE pg_temp.pick({_lit(LEAD_SOURCES_OK)}, n, 62) END AS "LeadSource",
  CASE WHEN r_ac < {a1} THEN NULL
       WHEN r_ac < {a2} THEN pg_temp.sfid('001', {accounts} + 1 + (n % 100000))  -- no such account
       ELSE pg_temp.sfid('001', 1 + floor(pg_temp.r(n, 71) * {accounts})::bigint) END::varchar(18) AS "AccountId",
  pg_temp.sfid('005', 1 + floor(pg_temp.r(n, 72) * {USERS})::bigint)::varchar(18) AS "OwnerId",
  pg_temp.r(n, 1) < {q["contact_deleted"]} AS "IsDeleted",
  lm AS "LastModifiedDate",
  lm - make_interval(days => floor(pg_temp.r(n, 91) * 1000)::int) AS "CreatedDate"
FROM (SELECT base.*,
             -- fresh rows: 1-700 days old; stale rows: 760-3650 days; row 1 is the newest (anchor - 1 hour)
             (SELECT anchor FROM _peers_meta) - CASE WHEN n = 1 THEN interval '1 hour'
                  WHEN r_st < {q["stale"]} THEN make_interval(secs => (760 + pg_temp.r(n, 81) * 2890) * 86400)
                  ELSE make_interval(secs => (1 + pg_temp.r(n, 81) * 699) * 86400) END AS lm
      FROM base) AS b;
"""



def _account_sql(accounts: int) -> str:
    return f"""
CREATE TABLE "Account" AS
SELECT pg_temp.sfid('001', g)::varchar(18) AS "Id",
       'Account ' || g AS "Name",
       '+1' || pg_temp.pick({_lit(AREA_CODES)}, g, 141) || (2 + floor(pg_temp.r(g, 142) * 8))::int::text
            || pg_temp.digits(g, 143, 6) AS "Phone",
       pg_temp.pick({_lit(COUNTRIES_OK)}, g, 152) AS "BillingCountry",
       pg_temp.pick({_lit(INDUSTRIES)}, g, 153) AS "Industry",
       pg_temp.sfid('005', 1 + floor(pg_temp.r(g, 172) * {USERS})::bigint)::varchar(18) AS "OwnerId",
       pg_temp.r(g, 101) < {RATES["account_deleted"]} AS "IsDeleted",
       (SELECT anchor FROM _peers_meta) - make_interval(days => 1000 + (g % 1000)::int) AS "CreatedDate",
       (SELECT anchor FROM _peers_meta) - make_interval(days => (g % 700)::int) AS "LastModifiedDate"
FROM generate_series(1, {accounts}) AS g;
"""


USER_SQL = f"""
CREATE TABLE "User" AS
SELECT pg_temp.sfid('005', g)::varchar(18) AS "Id",
       pg_temp.pick({_lit(FIRST)}, g, 211) || ' ' || pg_temp.pick({_lit(LAST)}, g, 212) AS "Name",
       'user' || g || '@acme-corp.com' AS "Email",
       g % 10 <> 0 AS "IsActive"
FROM generate_series(1, {USERS}) AS g;
"""

INDEXES = """
ALTER TABLE "Contact" ADD PRIMARY KEY ("Id");
ALTER TABLE "Account" ADD PRIMARY KEY ("Id");
ALTER TABLE "User" ADD PRIMARY KEY ("Id");
CREATE INDEX "Contact_AccountId_idx" ON "Contact" ("AccountId");
CREATE INDEX "Contact_LastModifiedDate_idx" ON "Contact" ("LastModifiedDate");
"""


def ensure_database(admin_url: str, dbname: str) -> None:
    """Create the database if it does not exist (CREATE DATABASE cannot run in a transaction)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def current_build(url: str) -> dict | None:
    """The `_peers_meta` row of the database, or None when it was never built."""
    with psycopg.connect(url) as conn:
        if not conn.execute("SELECT to_regclass('_peers_meta')").fetchone()[0]:
            return None
        row = conn.execute("SELECT schema_version, contacts, accounts, anchor FROM _peers_meta").fetchone()
    return {"schema_version": row[0], "contacts": row[1], "accounts": row[2], "anchor": row[3]} if row else None


def build(url: str, contacts: int, force: bool = False, log=print) -> dict:
    """Build (or keep) the CRM of `contacts` contacts at `url`; returns its `_peers_meta` row."""
    meta = current_build(url)
    if meta and not force and meta["schema_version"] == SCHEMA_VERSION and meta["contacts"] == contacts:
        return meta
    accounts = max(1, contacts // ACCOUNT_RATIO)
    start = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute('DROP TABLE IF EXISTS "Contact", "Account", "User", _peers_meta')
        conn.execute(FUNCTIONS)
        # The anchor (build time, whole hour, naive UTC) that every date is relative to.
        conn.execute("CREATE TABLE _peers_meta AS SELECT %s::int AS schema_version, %s::int AS contacts, "
                     "%s::int AS accounts, date_trunc('hour', now() AT TIME ZONE 'utc') AS anchor",
                     (SCHEMA_VERSION, contacts, accounts))
        # Several statements per execute: the pg_temp functions live in this one session.
        conn.execute(USER_SQL)
        conn.execute(_account_sql(accounts))
        conn.execute(_contact_sql(contacts, accounts))
        conn.execute(INDEXES)
        conn.execute('VACUUM ANALYZE "Contact"')
        conn.execute('VACUUM ANALYZE "Account"')
        conn.execute('VACUUM ANALYZE "User"')
    log(f"built {contacts:,} contacts, {accounts:,} accounts in {time.perf_counter() - start:.1f} s")
    return current_build(url)
