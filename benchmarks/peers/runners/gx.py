"""Great Expectations 1.x: an ephemeral context, a Postgres table asset, row_condition for soft deletes."""

from __future__ import annotations

import spec
import venvs

from runners import JOBS, Ctx, Job, tagged_result, write_args

name = "gx"
label = "Great Expectations"
basis = {
    "rows": "live",  # element_count of a not-null expectation on Id under the row condition
    "missing_email": "null", "missing_last_name": "null",  # expect_column_values_to_not_be_null
    "invalid_email": "nonnull", "invalid_phone": "nonnull",  # match_regex: '' is a value, and it fails
    "bad_leadsource": "nonnull", "bad_country": "nonnull",
    "dup_email": "rawnull_rows",  # expect_column_values_to_be_unique: every row of a group, '' included
    "newest_modified": "max", "stale": "older",
    "orphan_account": "live",  # UnexpectedRowsExpectation: hand-written SQL, so it can filter the target
}
notes = ("expect_column_values_to_not_be_null counts NULL only (blanks are values); regex and set "
         "expectations skip NULL but test '' and whitespace, so blanks count as invalid; "
         "expect_column_values_to_be_unique counts every row of a duplicate group (case-sensitive, '' is a "
         "value); there is no cross-table expectation, so the reference check is an UnexpectedRowsExpectation "
         "with hand-written SQL; row_condition = Column('IsDeleted') == False on every expectation.")


def version(ctx: Ctx) -> str:  # noqa: D103
    return venvs.version(venvs.ensure(ctx.work / "venvs", "gx"), "great_expectations")


def prepare(ctx: Ctx) -> Job:  # noqa: D103
    python = venvs.ensure(ctx.work / "venvs", "gx")
    folder = ctx.work / "gx"
    url = ctx.url.replace("postgresql://", "postgresql+psycopg2://", 1)
    args = write_args(folder / "args.json", {
        "url": url, "email_re": spec.EMAIL_RE, "phone_re": spec.PHONE_RE, "ls": spec.LEAD_SOURCES,
        "iso": ctx.iso, "days": spec.STALE_DAYS})
    return Job([str(python), str(JOBS / "gx_job.py"), str(args)], folder, {"HOME": str(folder)})


def parse(ctx: Ctx, stdout: str) -> dict:  # noqa: D103
    return tagged_result(stdout)
