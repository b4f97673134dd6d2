"""The SQL floor, timed as a fresh process: the fewest statements that compute the spec.

1. one aggregate over live contacts with a FILTER per metric; 2. one GROUP BY for duplicates;
3. one anti-join for references to live accounts.
"""

import json
import sys

import psycopg

AGGREGATE = """
SELECT count(*),
  count(*) FILTER (WHERE "Email" IS NULL OR "Email" ~ %(blank)s),
  count(*) FILTER (WHERE "LastName" IS NULL OR "LastName" ~ %(blank)s),
  count(*) FILTER (WHERE "Email" !~ %(blank)s AND "Email" !~ %(email_re)s),
  count(*) FILTER (WHERE "Phone" !~ %(blank)s AND "Phone" !~ %(phone_re)s),
  count(*) FILTER (WHERE "LeadSource" IS NOT NULL AND NOT "LeadSource" = ANY(%(ls)s)),
  count(*) FILTER (WHERE "MailingCountry" IS NOT NULL AND NOT "MailingCountry" = ANY(%(iso)s)),
  to_char(max("LastModifiedDate"), 'YYYY-MM-DD HH24:MI:SS'),
  count(*) FILTER (WHERE "LastModifiedDate" < (now() AT TIME ZONE 'utc') - make_interval(days => %(days)s))
FROM "Contact" WHERE NOT "IsDeleted"
"""
DUPLICATES = """
SELECT count(*), coalesce(sum(n), 0) FROM (
  SELECT count(*) AS n FROM "Contact" WHERE NOT "IsDeleted" AND "Email" !~ %(blank)s
  GROUP BY lower(btrim("Email")) HAVING count(*) > 1) d
"""
ORPHANS = """
SELECT count(*) FROM "Contact" c WHERE NOT c."IsDeleted" AND c."AccountId" IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM "Account" a WHERE a."Id" = c."AccountId" AND NOT a."IsDeleted")
"""


def main(args_path: str) -> None:  # noqa: D103
    a = json.load(open(args_path))
    with psycopg.connect(a["url"], autocommit=True) as conn:
        r = conn.execute(AGGREGATE, a).fetchone()
        groups, rows = conn.execute(DUPLICATES, a).fetchone()
        orphans = conn.execute(ORPHANS).fetchone()[0]
    out = {"rows": r[0], "missing_email": r[1], "missing_last_name": r[2], "invalid_email": r[3],
           "invalid_phone": r[4], "bad_leadsource": r[5], "bad_country": r[6], "newest_modified": r[7],
           "stale": r[8], "dup_email": int(rows) - int(groups), "orphan_account": orphans,
           "_dup_groups": int(groups), "_dup_rows": int(rows)}
    print("PEERS_RESULT " + json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
