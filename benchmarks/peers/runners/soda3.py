"""Soda Core v3 (`soda-core-postgres`): SodaCL checks on a filtered view of Contact, via `Scan`."""

from __future__ import annotations

import json

import spec
import venvs

from runners import JOBS, Ctx, Job, tagged_result, write_args

name = "soda3"
label = "Soda Core v3"
basis = {
    "rows": "live", "missing_email": "null_blank", "missing_last_name": "null_blank",
    "invalid_email": "nonblank", "invalid_phone": "nonblank", "bad_leadsource": "nonnull",
    "bad_country": "nonnull",
    # duplicate_count: GROUP BY the raw column WHERE col IS NOT NULL, counting values with >1 row
    "dup_email": "rawnull_groups",
    "newest_modified": "max", "stale": "older",
    # reference check: LEFT JOIN Account; the target side cannot be filtered, deleted accounts count
    "orphan_account": "any",
}
notes = ("missing_count counts NULL plus what `missing regex` matches (here '^\\s*$', so blanks too); "
         "duplicate_count = number of distinct raw values occurring more than once (case-sensitive, "
         "'' is a value); the reference check cannot filter the target, so a soft-deleted Account counts "
         "as existing, and its source filter must name the SOURCE alias (the dataset filter is ambiguous "
         "in its JOIN). Failed-row samples are collected by default (extra queries).")

_Q = "'"


def _yaml_str(s: str) -> str:
    return _Q + s.replace(_Q, _Q * 2) + _Q


def sodacl(ctx: Ctx) -> str:
    """The SodaCL for the spec."""
    iso = ", ".join(_yaml_str(c) for c in ctx.iso)
    ls = ", ".join(_yaml_str(v) for v in spec.LEAD_SOURCES)
    blank = _yaml_str(spec.BLANK_RE)
    stale = _yaml_str(f'"LastModifiedDate" < (now() AT TIME ZONE {_Q}utc{_Q}) - interval {_Q}{spec.STALE_DAYS} days{_Q}')
    return f"""
filter "Contact" [live]:
  where: '"IsDeleted" = false'

checks for "Contact" [live]:
  - row_count > 0:
      name: rows
  - missing_count("Email") = 0:
      name: missing_email
      missing regex: {blank}
  - missing_count("LastName") = 0:
      name: missing_last_name
      missing regex: {blank}
  - invalid_count("Email") = 0:
      name: invalid_email
      missing regex: {blank}
      valid regex: {_yaml_str(spec.EMAIL_RE)}
  - invalid_count("Phone") = 0:
      name: invalid_phone
      missing regex: {blank}
      valid regex: {_yaml_str(spec.PHONE_RE)}
  - invalid_count("LeadSource") = 0:
      name: bad_leadsource
      valid values: [{ls}]
  - invalid_count("MailingCountry") = 0:
      name: bad_country
      valid values: [{iso}]
  - duplicate_count("Email") = 0:
      name: dup_email
  - freshness("LastModifiedDate") < 1d:
      name: newest_modified
  - row_count = 0:
      name: stale
      filter: {stale}

# The reference check joins Contact AS SOURCE to Account AS TARGET: "IsDeleted" alone is ambiguous.
filter "Contact" [live_source]:
  where: 'SOURCE."IsDeleted" = false'

checks for "Contact" [live_source]:
  - values in ("AccountId") must exist in "Account" ("Id"):
      name: orphan_account
"""


def version(ctx: Ctx) -> str:  # noqa: D103
    return venvs.version(venvs.ensure(ctx.work / "venvs", "soda3"), "soda-core")


def prepare(ctx: Ctx) -> Job:  # noqa: D103
    python = venvs.ensure(ctx.work / "venvs", "soda3")
    folder = ctx.work / "soda3"
    p = ctx.parts
    (folder / ".soda").mkdir(parents=True, exist_ok=True)
    # v3 reads its telemetry switch from .soda/config.yml (cwd) or ~/.soda/config.yml, not the scan config.
    (folder / ".soda" / "config.yml").write_text("send_anonymous_usage_stats: false\n")
    (folder / "configuration.yml").write_text(f"""data_source peers_pg:
  type: postgres
  host: {p['host']}
  port: {p['port']}
  username: {p['user']}
  password: {json.dumps(p['password'] or 'unused')}
  database: {p['database']}
  schema: public
""")
    (folder / "checks.yml").write_text(sodacl(ctx))
    args = write_args(folder / "args.json", {"configuration": "configuration.yml", "checks": "checks.yml"})
    return Job([str(python), str(JOBS / "soda3_job.py"), str(args)], folder, {"HOME": str(folder)})


def parse(ctx: Ctx, stdout: str) -> dict:  # noqa: D103
    return tagged_result(stdout)
