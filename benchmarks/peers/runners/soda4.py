"""Soda v4 (`soda-postgres`): a data contract for Contact, verified locally with `verify_contract_locally`."""

from __future__ import annotations

import json

import spec
import venvs

from runners import JOBS, Ctx, Job, tagged_result, write_args

name = "soda4"
label = "Soda v4"
basis = {
    "rows": "live", "missing_email": "null_blank", "missing_last_name": "null_blank",
    "invalid_email": "nonblank", "invalid_phone": "nonblank", "bad_leadsource": "nonnull",
    "bad_country": "nonnull",
    # duplicate: non-missing rows - COUNT(DISTINCT raw value), so rows beyond the first, case-sensitive
    "dup_email": "raw_extra",
    "newest_modified": "max", "stale": "older",
    # valid_reference_data: the referenced dataset cannot be filtered, deleted accounts count
    "orphan_account": "any",
}
notes = ("missing counts NULL plus `missing_format` (here the regex '^\\s*$'); duplicate = non-missing rows "
         "minus distinct raw values (rows beyond the first, case-sensitive, blanks excluded as missing); "
         "freshness reports hours since the newest row (newest_modified is now minus that, to the second); "
         "valid_reference_data cannot filter the referenced dataset, so a soft-deleted Account counts as "
         "existing.")


def contract(ctx: Ctx, database: str) -> str:
    """The v4 contract YAML for the spec (JSON is YAML, and spares quoting rules)."""
    blank = {"regex": spec.BLANK_RE, "name": "blank"}
    stale = f"\"LastModifiedDate\" < (now() AT TIME ZONE 'utc') - interval '{spec.STALE_DAYS} days'"
    dataset = f"peers_pg/{database}/public"
    doc = {
        "dataset": f"{dataset}/Contact",
        "filter": '"IsDeleted" = false',
        "columns": [
            {"name": "Email", "missing_format": blank, "checks": [
                {"missing": {"name": "missing_email"}},
                {"invalid": {"name": "invalid_email", "valid_format": {"regex": spec.EMAIL_RE, "name": "email"}}},
                {"duplicate": {"name": "dup_email"}}]},
            {"name": "LastName", "missing_format": blank, "checks": [{"missing": {"name": "missing_last_name"}}]},
            {"name": "Phone", "missing_format": blank, "checks": [
                {"invalid": {"name": "invalid_phone", "valid_format": {"regex": spec.PHONE_RE, "name": "phone"}}}]},
            {"name": "LeadSource", "checks": [
                {"invalid": {"name": "bad_leadsource", "valid_values": spec.LEAD_SOURCES}}]},
            {"name": "MailingCountry", "checks": [{"invalid": {"name": "bad_country", "valid_values": ctx.iso}}]},
            {"name": "AccountId", "checks": [{"invalid": {"name": "orphan_account", "valid_reference_data": {
                "dataset": f"{dataset}/Account", "column": "Id"}}}]},
            {"name": "LastModifiedDate"},
        ],
        "checks": [
            {"row_count": {"name": "rows"}},
            {"freshness": {"name": "newest_modified", "column": "LastModifiedDate",
                           "threshold": {"must_be_less_than": 24}}},
            {"row_count": {"name": "stale", "qualifier": "stale", "filter": stale}},
        ],
    }
    return json.dumps(doc, indent=1)


def version(ctx: Ctx) -> str:  # noqa: D103
    return venvs.version(venvs.ensure(ctx.work / "venvs", "soda4"), "soda-core")


def prepare(ctx: Ctx) -> Job:  # noqa: D103
    python = venvs.ensure(ctx.work / "venvs", "soda4")
    folder = ctx.work / "soda4"
    folder.mkdir(parents=True, exist_ok=True)
    p = ctx.parts
    (folder / "data_source.yml").write_text(json.dumps({"type": "postgres", "name": "peers_pg", "connection": {
        "host": p["host"], "port": p["port"], "user": p["user"], "password": p["password"] or "unused",
        "database": p["database"]}}, indent=1))
    (folder / "contract.yml").write_text(contract(ctx, p["database"]))
    args = write_args(folder / "args.json", {"data_source": "data_source.yml", "contract": "contract.yml"})
    return Job([str(python), str(JOBS / "soda4_job.py"), str(args)], folder, {"HOME": str(folder)})


def parse(ctx: Ctx, stdout: str) -> dict:  # noqa: D103
    return tagged_result(stdout)
