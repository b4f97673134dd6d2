"""The hand-written SQL floor: three statements through psycopg, in the project's venv."""

from __future__ import annotations

import spec

from runners import JOBS, Ctx, Job, tagged_result, write_args

name = "sql"
label = "hand-written SQL"
basis = dict(spec.SPEC_BASIS)
notes = ("missing = NULL or blank (~ '^\\s*$'); duplicates = lower(btrim(Email)) groups, reported as rows "
         "beyond the first (also groups and rows); references = no live Account.")


def version(ctx: Ctx) -> str:  # noqa: D103
    import psycopg

    with psycopg.connect(ctx.url) as conn:
        server = conn.execute("SHOW server_version").fetchone()[0].split()[0]
    return f"PG {server}, psycopg {psycopg.__version__}"


def prepare(ctx: Ctx) -> Job:  # noqa: D103
    folder = ctx.work / "sql"
    args = write_args(folder / "args.json", {
        "url": ctx.url, "email_re": spec.EMAIL_RE, "phone_re": spec.PHONE_RE, "blank": spec.BLANK_RE,
        "ls": spec.LEAD_SOURCES, "iso": ctx.iso, "days": spec.STALE_DAYS})
    return Job([str(ctx.root / ".venv" / "bin" / "python"), str(JOBS / "sql_job.py"), str(args)], folder)


def parse(ctx: Ctx, stdout: str) -> dict:  # noqa: D103
    return tagged_result(stdout)
