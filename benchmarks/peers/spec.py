"""The checks every tool runs, written once: definitions, pick lists, regexes, and the reference values.

A tool reports each metric under its own definition (its *basis*): Soda counts NULL as missing
unless told about blanks, GX counts every row of a duplicate group, cleancrm only the rows beyond
the first. `reference()` computes each metric under every basis a tool uses (untimed, a few SQL
statements), so a tool's number is compared with the SQL floor's number *for the same definition*,
and the table says when that definition is not the spec's.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import psycopg

# Non-missing values must match these (PostgreSQL `~` and Python `re` read them alike).
EMAIL_RE = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
# A North-American number, E.164 or the US national spelling (what build.py writes when valid).
PHONE_RE = r"^(\+1[2-9][0-9]{2}[2-9][0-9]{6}|\([2-9][0-9]{2}\) [2-9][0-9]{2}-[0-9]{4})$"
BLANK_RE = r"^\s*$"
# Salesforce's default Contact.LeadSource picklist.
LEAD_SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]
STALE_DAYS = 730

# (id, what the spec measures, the spec's basis).
METRICS = [
    ("rows", "live contacts", "live"),
    ("missing_email", "Email missing", "null_blank"),
    ("missing_last_name", "LastName missing", "null_blank"),
    ("invalid_email", "Email not valid syntax", "nonblank"),
    ("invalid_phone", "Phone not valid", "nonblank"),
    ("bad_leadsource", "LeadSource not in picklist", "nonnull"),
    ("bad_country", "MailingCountry not ISO alpha-2", "nonnull"),
    ("dup_email", "exact email duplicates", "norm_extra"),
    ("newest_modified", "newest LastModifiedDate", "max"),
    ("stale", f"not modified for {STALE_DAYS} days", "older"),
    ("orphan_account", "AccountId not a live Account", "live"),
]
METRIC_IDS = [m[0] for m in METRICS]
SPEC_BASIS = {m[0]: m[2] for m in METRICS}

# What each basis means, printed under the table.
BASES = {
    "null": "NULL only",
    "null_blank": "NULL, '' or whitespace",
    "null_blank_token": "NULL, '', whitespace or a null token ('Unknown', 'TBD', '-'…)",
    "nonblank": "over values not NULL and not blank",
    "nonnull": "over non-NULL values (blank strings count as invalid)",
    "norm_extra": "lower(trim(Email)), blanks excluded: rows beyond the first of each group",
    "norm_rows": "lower(trim(Email)), blanks excluded: every row of a group",
    "norm_groups": "lower(trim(Email)), blanks excluded: duplicated values",
    "raw_extra": "Email as stored (case-sensitive), blanks excluded: rows beyond the first",
    "raw_rows": "Email as stored, blanks excluded: every row of a group",
    "raw_groups": "Email as stored, blanks excluded: duplicated values",
    "rawnull_extra": "Email as stored, only NULL excluded ('' forms a group): rows beyond the first",
    "rawnull_rows": "Email as stored, only NULL excluded ('' forms a group): every row of a group",
    "rawnull_groups": "Email as stored, only NULL excluded ('' forms a group): duplicated values",
    "live": "excluding soft-deleted rows (and, for references, soft-deleted targets)",
    "any": "target row exists at all (a soft-deleted Account counts as existing)",
    "max": "max(LastModifiedDate) of live rows",
    "older": f"LastModifiedDate older than {STALE_DAYS} days",
}


def iso_countries(cache: Path, cleancrm_python: Path) -> list[str]:
    """ISO 3166 alpha-2 codes exactly as cleancrm accepts them: pycountry's list in cleancrm's venv.

    cleancrm's `checks.values.is_iso_country` is `pycountry.countries.get(alpha_2=v)` on an
    uppercase two-letter value, so its own pycountry is the list; cached beside the results.
    """
    if cache.exists():
        return json.loads(cache.read_text())
    out = subprocess.run([str(cleancrm_python), "-c", "import json, pycountry; "
                          "print(json.dumps(sorted(c.alpha_2 for c in pycountry.countries)))"],
                         check=True, capture_output=True, text=True).stdout
    codes = json.loads(out)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(codes))
    return codes


def _dups(conn, key: str, where: str) -> dict[str, int]:
    groups, rows = conn.execute(
        f'SELECT count(*), coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM "Contact" '
        f'WHERE NOT "IsDeleted" AND {where} GROUP BY {key} HAVING count(*) > 1) d').fetchone()
    return {"groups": int(groups), "rows": int(rows), "extra": int(rows) - int(groups)}


def reference(url: str, iso: list[str]) -> dict[str, dict[str, object]]:
    """Every metric under every basis: {metric: {basis: value}} (not timed; the floor is)."""
    p = {"email_re": EMAIL_RE, "phone_re": PHONE_RE, "blank": BLANK_RE, "ls": LEAD_SOURCES, "iso": iso,
         "days": STALE_DAYS}
    with psycopg.connect(url) as conn:
        r = conn.execute("""
            SELECT count(*),
              count(*) FILTER (WHERE "Email" IS NULL), count(*) FILTER (WHERE "Email" ~ %(blank)s),
              count(*) FILTER (WHERE "LastName" IS NULL), count(*) FILTER (WHERE "LastName" ~ %(blank)s),
              count(*) FILTER (WHERE "Email" !~ %(blank)s AND "Email" !~ %(email_re)s),
              count(*) FILTER (WHERE "Email" !~ %(email_re)s),
              count(*) FILTER (WHERE "Phone" !~ %(blank)s AND "Phone" !~ %(phone_re)s),
              count(*) FILTER (WHERE "Phone" !~ %(phone_re)s),
              count(*) FILTER (WHERE "LeadSource" IS NOT NULL AND NOT "LeadSource" = ANY(%(ls)s)),
              count(*) FILTER (WHERE "MailingCountry" IS NOT NULL AND NOT "MailingCountry" = ANY(%(iso)s)),
              to_char(max("LastModifiedDate"), 'YYYY-MM-DD HH24:MI:SS'),
              count(*) FILTER (WHERE "LastModifiedDate" < (now() AT TIME ZONE 'utc') - make_interval(days => %(days)s))
            FROM "Contact" WHERE NOT "IsDeleted" """, p).fetchone()
        orphan_live, orphan_any = conn.execute("""
            SELECT count(*) FILTER (WHERE a."Id" IS NULL OR a."IsDeleted"), count(*) FILTER (WHERE a."Id" IS NULL)
            FROM "Contact" c LEFT JOIN "Account" a ON a."Id" = c."AccountId"
            WHERE NOT c."IsDeleted" AND c."AccountId" IS NOT NULL""").fetchone()
        blank = f"\"Email\" !~ '{BLANK_RE}'"
        dups = {"norm": _dups(conn, 'lower(btrim("Email"))', blank),
                "raw": _dups(conn, '"Email"', blank),
                "rawnull": _dups(conn, '"Email"', '"Email" IS NOT NULL')}
    out: dict[str, dict[str, object]] = {
        "rows": {"live": r[0]},
        "missing_email": {"null": r[1], "null_blank": r[1] + r[2], "null_blank_token": r[1] + r[2]},
        "missing_last_name": {"null": r[3], "null_blank": r[3] + r[4], "null_blank_token": r[3] + r[4]},
        "invalid_email": {"nonblank": r[5], "nonnull": r[6]},
        "invalid_phone": {"nonblank": r[7], "nonnull": r[8]},
        "bad_leadsource": {"nonnull": r[9]},
        "bad_country": {"nonnull": r[10]},
        "dup_email": {f"{k}_{c}": v for k, d in dups.items() for c, v in d.items()},
        "newest_modified": {"max": r[11]},
        "stale": {"older": r[12]},
        "orphan_account": {"live": orphan_live, "any": orphan_any},
    }
    return out
