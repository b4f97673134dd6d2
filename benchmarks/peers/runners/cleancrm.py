"""cleancrm: `cleancrm run --config … --only <check ids> --json`, counts read from its JSON and history."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
from collections import Counter

import spec

from runners import Ctx, Job

name = "cleancrm"
label = "cleancrm"
# metric -> (check id, field whose findings count when the check covers several fields)
CHECKS = {
    "missing_email": ("completeness.required", "email"),
    "missing_last_name": ("completeness.required", "last_name"),
    "invalid_email": ("accuracy.email_syntax", None),
    "invalid_phone": ("accuracy.phone_valid", None),
    "bad_country": ("consistency.country_iso", None),
    "dup_email": ("duplication.exact_email", None),
    "newest_modified": ("freshness.newest_update", None),
    "stale": ("freshness.staleness", None),
    "orphan_account": ("consistency.orphans", None),
    "bad_leadsource": ("rule.lead_source_picklist", None),
}
ONLY = sorted({c for c, _ in CHECKS.values()})
basis = {
    "rows": "live",  # rows_read.contact
    "missing_email": "null_blank_token", "missing_last_name": "null_blank_token",
    "invalid_email": "nonblank", "invalid_phone": "nonblank",
    # an allowed_values rule: blank values and null tokens are not judged (the data has none in LeadSource)
    "bad_leadsource": "nonnull",
    "bad_country": "nonnull",
    # normalised key (lowercase, +tags, Gmail dots; placeholder/role/invalid addresses not keyed),
    # every record but the oldest of a group fails
    "dup_email": "norm_extra",
    "newest_modified": "max", "stale": "older", "orphan_account": "live",
}
notes = ("missing = NULL, blank or a null token ('Unknown', 'TBD', '-'; the data has none in Email/LastName); "
         "completeness.required reports both fields as one check, so the per-field split is read from "
         "`cleancrm findings` (untimed; else the store's findings table); duplicates = rows beyond the oldest of each normalised-address group "
         "(lowercased, +tags dropped, Gmail dots ignored, invalid/placeholder/role addresses not keyed); "
         "phone validity is phonenumbers with the address country as region; orphans exclude soft deletes on "
         "both sides; LeadSource is an allowed_values rule of the config (a custom field), exact values only.")


def _config(ctx: Ctx) -> str:
    """cleancrm.yml for the peers database: the Salesforce preset's mapping, cut to the spec's fields.

    Account and User map no field the selected checks read (Account only as the orphans target), so
    `--only <check ids>`, which selects a check on every entity, runs the spec's checks on Contact alone.
    """
    p = ctx.parts
    auth = p["user"] + (f":{p['password']}" if p["password"] else "")
    return f"""name: peers
preset: salesforce
source:
  url: postgresql+psycopg://{auth}@{p['host']}:{p['port']}/{p['database']}
  schema: public
history:
  url: sqlite:///history.db
entities:
  contact:
    table: Contact
    key: Id
    soft_delete: '"Contact"."IsDeleted" = TRUE'
    fields: {{first_name: FirstName, last_name: LastName, email: Email, phone: Phone, account_id: AccountId,
             country: MailingCountry, created_at: CreatedDate, modified_at: LastModifiedDate}}
    required: [last_name, email]
    custom_fields: {{lead_source: LeadSource}}
    rules:
      - {{id: lead_source_picklist, kind: allowed_values, field: lead_source, values: {json.dumps(spec.LEAD_SOURCES)}}}
  account:
    table: Account
    key: Id
    soft_delete: '"Account"."IsDeleted" = TRUE'
    fields: {{name: Name}}
    required: []
references:
  - {{from: contact.account_id, to: account, name: contact_account}}
checks:
  freshness.staleness: {{params: {{days: {spec.STALE_DAYS}}}}}
"""


def _cleancrm(ctx: Ctx) -> str:
    return str(ctx.root / ".venv" / "bin" / "cleancrm")


def version(ctx: Ctx) -> str:  # noqa: D103
    out = subprocess.run([str(ctx.root / ".venv" / "bin" / "python"), "-c",
                          "import importlib.metadata as m; print(m.version('cleancrm'))"],
                         capture_output=True, text=True, check=True).stdout.strip()
    sha = subprocess.run(["git", "-C", str(ctx.root), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()
    return f"{out} ({sha}+worktree)" if sha else out


def setup(ctx: Ctx) -> None:
    """Once per benchmark: a fresh history store, created by the warm-up with the current code's schema.

    A store left by an older checkout may not match the working tree's migrations (the run then fails to
    store), and a store growing over many runs would make later runs slower than earlier ones.
    """
    for suffix in ("", "-wal", "-shm", "-journal"):
        (ctx.work / "cleancrm" / f"history.db{suffix}").unlink(missing_ok=True)


def prepare(ctx: Ctx) -> Job:  # noqa: D103
    folder = ctx.work / "cleancrm"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cleancrm.yml").write_text(_config(ctx))
    return Job([_cleancrm(ctx), "run", "--config", str(folder / "cleancrm.yml"), "--only", ",".join(ONLY),
                "--json"], folder)


def _per_field(ctx: Ctx, run_id: int, check_id: str) -> tuple[Counter | None, str]:
    """Findings per field of one check of a run, through `cleancrm findings` (untimed), else the store.

    The run's JSON gives completeness.required as one count for both fields; the split is in the findings.
    """
    folder = ctx.work / "cleancrm"
    proc = subprocess.run([_cleancrm(ctx), "findings", "--config", str(folder / "cleancrm.yml"), "--run", str(run_id),
                           "--check", check_id, "--entity", "contact", "--format", "csv"],
                          capture_output=True, text=True, cwd=folder)
    if proc.returncode == 0:
        return Counter(r["field"] for r in csv.DictReader(io.StringIO(proc.stdout))), ""
    problem = f"`cleancrm findings` exited {proc.returncode} ({proc.stderr.strip()[-200:] or 'no message'})"
    db = sqlite3.connect(folder / "history.db")
    try:  # the history store's findings table, where this version of cleancrm still writes one
        rows = db.execute("SELECT field, count(*) FROM findings WHERE run_id = ? AND check_id = ? "
                          "AND entity = 'contact' GROUP BY field", (run_id, check_id)).fetchall()
    except sqlite3.Error:
        rows = []
    finally:
        db.close()
    return (Counter(dict(rows)), problem) if rows else (None, problem + "; no findings rows in the store")


def parse(ctx: Ctx, stdout: str) -> dict:  # noqa: D103
    if "{" not in stdout:
        raise ValueError("cleancrm printed no JSON")
    run = json.loads(stdout[stdout.index("{"):])
    results = {c["id"]: c for c in run["checks"] if c["entity"] == "contact"}
    out: dict[str, object] = {"rows": run["rows_read"].get("contact"), "_errors": list(run.get("errors") or [])}
    fields: dict[str, Counter | None] = {}
    for metric, (check_id, field) in CHECKS.items():
        c = results.get(check_id)
        if c is None:
            out[metric] = None
        elif metric == "newest_modified":
            # freshness.newest_update "fails" only past its days; the timestamp is in the run's metrics
            out[metric] = _newest(ctx, run["run_id"], check_id)
        elif field:
            if check_id not in fields:
                fields[check_id], problem = _per_field(ctx, run["run_id"], check_id)
                if problem:
                    out["_errors"].append(f"per-field counts of {check_id}: {problem}")
                out[f"_{check_id}_failed"] = c["failed"]  # both fields together, from the JSON
            counts = fields[check_id]
            out[metric] = counts.get(field, 0) if counts is not None else None
        else:
            out[metric] = c["failed"]
    out["_other_entities"] = sorted({f"{c['id']}@{c['entity']}" for c in run["checks"] if c["entity"] != "contact"})
    return out


def _newest(ctx: Ctx, run_id: int, check_id: str) -> str | None:
    db = sqlite3.connect(ctx.work / "cleancrm" / "history.db")
    try:
        row = db.execute("SELECT metrics FROM check_results WHERE run_id = ? AND check_id = ? AND entity = 'contact'",
                         (run_id, check_id)).fetchone()
    finally:
        db.close()
    newest = json.loads(row[0] or "{}").get("newest_update") if row else None
    return newest[:19] if newest else None


def extra_notes(metrics: dict, ref: dict) -> list[str]:
    """When the per-field split was not available: the combined required count against the floor's sum."""
    combined = metrics.get("_completeness.required_failed")
    if combined is None or metrics.get("missing_email") is not None:
        return []
    total = ref["missing_email"]["null_blank_token"] + ref["missing_last_name"]["null_blank_token"]
    return [f"completeness.required failed {combined} for Email and LastName together; the floor's "
            f"missing_email + missing_last_name = {total} ({'=' if combined == total else '!'}); "
            "per field n/a (see the error above)"]
