"""The `cleancrm` command: demo, init, run, findings, duplicates, dashboard, schedule and the rest.

Exit codes: 0 the command did its job; 1 a quality gate (`--fail-under`) was not met; 2 an error,
reported on one line per problem, naming the place and the fix.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from connectors.errors import CleanCRMError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Data-quality monitor for CRM databases.")

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Path of cleancrm.yml.")]


def _fail(exc: CleanCRMError) -> None:
    for line in str(exc).splitlines():
        typer.echo(f"error: {line}", err=True)
    raise typer.Exit(exc.exit_code)


def _guard(fn):
    """Turn our errors, and stores or files failing underneath, into one-line messages and exit code 2."""
    import functools

    from sqlalchemy.exc import SQLAlchemyError

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except CleanCRMError as exc:
            _fail(exc)
        except SQLAlchemyError as exc:  # a store failing where no part of ours could say more
            cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            _fail(CleanCRMError(f"history: {cause[0] if cause else type(exc).__name__}; check that the history "
                                "store is reachable and writable"))
        except BrokenPipeError:
            raise  # the reader of our output went away (`| head`): not a file problem
        except OSError as exc:  # a file that cannot be read or written (permissions, disk full)
            _fail(CleanCRMError(f"{exc.filename or 'file'}: {exc.strerror or exc}; check the path, its "
                                "permissions and the free space"))

    return wrapper


def _parse_when(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CleanCRMError(f"{option}: {value!r} is not an ISO date or time; e.g. 2026-11-23 or 2026-11-23T06:00") from None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _history(config: Path):
    from checks.config import load_config
    from connectors.history import HistoryStore

    cfg = load_config(config)
    return cfg, HistoryStore(cfg.history_url())


@app.command()
@_guard
def demo(out: Annotated[Path, typer.Option(help="Folder to write the demo CRM into.")] = Path("demo"),
         contacts: Annotated[int, typer.Option(min=50, help="Number of contacts.")] = 5000,
         seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same CRM.")] = 42,
         as_of: Annotated[str | None, typer.Option(help="The demo's today (ISO date); default: today.")] = None,
         history: Annotated[bool, typer.Option(help="Backfill 12 weekly runs of history.")] = True) -> None:
    """Generate a demo CRM (SQLite) with known defects, its ground truth, a config and a history."""
    from checks.demo import build_and_write

    when = _parse_when(as_of, "--as-of")
    result = build_and_write(out, contacts, seed, when, history=history,
                             progress=lambda i, n: typer.echo(f"  history run {i}/{n}", err=True) if sys.stderr.isatty() else None)
    typer.echo(f"Demo CRM written to {result.db_path} ({result.counts['contact']} contacts) in {result.seconds:.1f} s")
    typer.echo(f"Ground truth: {result.ground_truth_path}")
    typer.echo(f"Config: {result.config_path}")
    typer.echo(f"Next: cleancrm run --config {result.config_path}   |   cleancrm dashboard --config {result.config_path}")


@app.command()
@_guard
def init(url: Annotated[str, typer.Option(help="Database URL of the CRM (read-only), or csv:///folder.")],
         out: Annotated[Path, typer.Option(help="Where to write the starter config.")] = Path("cleancrm.yml"),
         schema: Annotated[str | None, typer.Option(help="Database schema holding the CRM tables.")] = None,
         preset: Annotated[str | None, typer.Option(help="salesforce, suitecrm, hubspot or demo; default: detect.")] = None,
         suggest: Annotated[bool, typer.Option(help="Write the rules a profile of the data suggests (marked "
                                               "suggested: true).")] = True) -> None:
    """Reflect a CRM database, detect its preset and write a starter config that runs as is.

    A password in `--url` is not written: the config reads it from $CLEANCRM_SOURCE_PASSWORD.
    """
    from checks.app.starter import starter_config
    from checks.config import SECRET_VARIABLES, interpolate_env, without_password
    from connectors.presets import to_yaml
    from connectors.source import open_source

    live_url = interpolate_env(url, "--url")
    source = open_source(live_url, schema=schema)
    variable = SECRET_VARIABLES["source.url"]
    stored_url = without_password(url, f"${{{variable}}}")
    try:
        starter = starter_config(source, stored_url, preset, suggest_rules=suggest, live_url=live_url,
                                 schema=schema)
    finally:
        source.close()
    config = starter.config
    if not config["entities"]:
        raise CleanCRMError(f"--url: no CRM tables recognised in {source.url_for_display}; write the mapping by hand from cleancrm.example.yml")
    _write_private(out, to_yaml(config, "init"))
    spelling = starter.spelling
    typer.echo(f"Detected {starter.detected}{f' ({spelling} names)' if spelling else ''}: {', '.join(config['entities'])}")
    rules = sum(len(e.get("rules", [])) for e in config["entities"].values())
    if rules:
        typer.echo(f"Suggested {rules} rules from a profile of the data (suggested: true in {out}); "
                   "keep, edit or drop them")
    for line in starter.dropped:
        typer.echo(f"left out: {line}", err=True)
    if starter.unmapped:
        custom = [t for t in starter.unmapped if t.endswith("__c")]
        shown = ", ".join(custom[:12] or starter.unmapped[:12])
        more = len(custom or starter.unmapped) - 12
        typer.echo(f"Not mapped: {len(starter.unmapped)} other tables"
                   + (f", {len(custom)} of them custom objects ({shown}{' …' if more > 0 else ''})" if custom
                      else f" ({shown}{' …' if more > 0 else ''})")
                   + "; profile them with: cleancrm profile --url URL")
    typer.echo(f"Wrote {out}; check it with: cleancrm run --config {out}")
    if stored_url != url:
        typer.echo(f"The password is not in {out}: it reads ${{{variable}}}; export {variable} with the password "
                   "before running cleancrm", err=True)


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner may read and write (0600): a config names hosts, users and variables."""
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)  # a file that existed keeps its mode otherwise
        handle.write(text)


@app.command()
@_guard
def run(config: ConfigOpt,
        json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
        now: Annotated[str | None, typer.Option(help="Measure as of this time (ISO); default: now.")] = None,
        only: Annotated[str | None, typer.Option(help="A dimension, entity or check id (comma-separated).")] = None,
        fail_under: Annotated[float | None, typer.Option(help="Exit 1 when the overall score is below this.")] = None,
        require_read_only_role: Annotated[bool, typer.Option(
            "--require-read-only-role", help="Refuse to run (exit 2) when the source's login could write to the CRM.")] = False,
        timings: Annotated[bool, typer.Option(
            "--timings", help="Also print the wall time of each stage (start-up, reads, checks, store).")] = False,
        ) -> None:
    """Run the checks once and store the results in the history.

    A source login that could write to the CRM gets a warning (stderr, and `warnings` in the JSON);
    with --require-read-only-role, the run is refused before anything is stored.
    """
    from checks.app.progress import terminal_progress
    from checks.app.report import result_json, summary_table
    from checks.config import load_config
    from checks.engine import run_checks
    from checks.engine.stages import Stages, seconds_since_process_start

    cfg = load_config(config)
    _check_alert_rules(cfg)  # the run ends by evaluating them: a broken rule is refused before it starts
    progress = None if json_out else terminal_progress()
    stages = Stages()
    started = seconds_since_process_start()
    stages.add("start-up (process start, imports, config)", started)
    try:
        outcome = run_checks(cfg, now=_parse_when(now, "--now"), only=only, progress=progress,
                             require_read_only_role=require_read_only_role, stages=stages)
    finally:
        _evaluate_alerts(cfg)  # cron and Airflow users get alerts too, for failed runs as well
    if progress:
        progress.close()
    for warning in outcome.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if json_out:
        typer.echo(json.dumps(result_json(outcome), indent=2, default=str))
    else:
        typer.echo(summary_table(outcome))
    if timings:
        typer.echo("\n" + stages.table(started + outcome.seconds), err=json_out)
    score = outcome.result.overall
    if fail_under is not None and (score is None or score < fail_under):
        typer.echo(f"Quality gate failed: overall score {score if score is None else round(score, 1)} < {fail_under}",
                   err=True)
        raise typer.Exit(1)


def _check_alert_rules(cfg) -> None:
    if cfg.alerts.rules:
        from checks.app.alerts import validate_rules

        validate_rules(cfg)


def _evaluate_alerts(cfg) -> None:
    url = cfg.history_url()
    if not cfg.alerts.rules or (url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists()):
        return  # no rules, or no history yet: a run refused before it started writes nothing
    from sqlalchemy.exc import SQLAlchemyError

    from checks.app.alerts import evaluate
    from connectors.history import HistoryStore

    try:
        evaluate(cfg, HistoryStore(cfg.history_url()))
    except (CleanCRMError, SQLAlchemyError) as exc:  # (inside the run's `finally`: never hide its error)
        typer.echo(f"warning: alerts not evaluated: {str(exc).splitlines()[0]}", err=True)


@app.command()
@_guard
def findings(config: ConfigOpt,
             run_ref: Annotated[str, typer.Option("--run", help="Run id or 'latest'.")] = "latest",
             check: Annotated[str | None, typer.Option(help="Only this check id.")] = None,
             dimension: Annotated[str | None, typer.Option(help="Only this dimension.")] = None,
             entity: Annotated[str | None, typer.Option(help="Only this entity.")] = None,
             owner: Annotated[str | None, typer.Option(help="Only this owner; '(no owner)' for none.")] = None,
             severity: Annotated[str | None, typer.Option(help="Only this severity.")] = None,
             fmt: Annotated[str, typer.Option("--format", help="csv, json or xlsx.")] = "csv",
             out: Annotated[Path | None, typer.Option(help="File to write (xlsx needs one); default stdout.")] = None,
             mask: Annotated[bool, typer.Option("--mask", help="Mask personal data (emails, phones, names …).")] = False,
             ) -> None:
    """The offending records of a run as a worklist: record id, reason, value and suggested fix."""
    from checks.app.export import build_worklist, mask_worklist

    cfg, store = _history(config)
    run_id = store.runs.resolve(run_ref, cfg.name)
    work = build_worklist(store, run_id, check=check, dimension=dimension, entity=entity, owner=owner,
                          severity=severity)
    if mask:
        work = mask_worklist(work)
    _emit(work, fmt, out)
    _audit_export(cfg, store, work, {"command": "findings", "format": fmt.lower(), "run": run_id, "check": check,
                                     "dimension": dimension, "entity": entity, "owner": owner,
                                     "severity": severity, "out": str(out) if out else "stdout", "masked": mask})


@app.command()
@_guard
def fixes(config: ConfigOpt,
          out: Annotated[Path, typer.Option(help="Folder to write the package into (new or empty).")],
          run_ref: Annotated[str, typer.Option("--run", help="Run id or 'latest'.")] = "latest",
          check: Annotated[list[str] | None, typer.Option(help="Only this check id (repeatable).")] = None,
          entity: Annotated[list[str] | None, typer.Option(help="Only this entity (repeatable).")] = None,
          owner: Annotated[list[str] | None, typer.Option(help="Only this owner (repeatable); '(no owner)' for none.")] = None,
          min_confidence: Annotated[float, typer.Option(min=0.0, max=1.0, help="Fixes at least this sure go into the "
                                                        "apply file, the others into the review file.")] = 0.8,
          fmt: Annotated[str, typer.Option("--format", help="salesforce, hubspot, csv or sql.")] = "csv") -> None:
    """A fix package for a run: import-ready update files, their rollback files, review and reasons, a manifest.

    The CRM is only read: the current values are read when the package is made, and the package is
    applied with the CRM's own import tool (or, for sql, by a DBA).
    """
    from checks.app.fix_package import make_package, write_package
    from connectors.history.audit import cli_actor

    if (out / "manifest.json").exists():
        raise CleanCRMError(f"--out: {out} holds a fix package already; choose a new folder")
    cfg, store = _history(config)
    run_id = store.runs.resolve(run_ref, cfg.name)
    package = make_package(cfg, store, run_id, fmt.lower(), created_by=cli_actor(), check=check, entity=entity,
                           owner=owner, min_confidence=min_confidence, audit={"out": str(out)})
    write_package(package.files, out)
    typer.echo(f"Fix package {package.manifest['package_id']} written to {out}")
    typer.echo(package.outcomes.to_string(index=False))
    for name, info in package.manifest["entities"].items():
        typer.echo(f"{name}: {info['apply_records']} records to update ({info['apply_changes']} values), "
                   f"{info['review_changes']} for review")
    typer.echo(f"Apply: see {out / 'README.txt'}; undo with the rollback files.")


@app.command()
@_guard
def merges(config: ConfigOpt,
           out: Annotated[Path, typer.Option(help="Folder to write the package into (new or empty).")],
           run_ref: Annotated[str, typer.Option("--run", help="Run id or 'latest'.")] = "latest",
           entity: Annotated[list[str] | None, typer.Option(help="Only this entity (repeatable).")] = None,
           tier: Annotated[list[str] | None, typer.Option(help="Only clusters of this tier (repeatable): exact, likely, "
                                                          "confirmed, review; default all but review.")] = None,
           fmt: Annotated[str, typer.Option("--format", help="salesforce, hubspot, csv or sql.")] = "csv") -> None:
    """A merge package for a run's duplicate clusters: master updates first (with rollback), then the merge calls."""
    from checks.app.fix_package import write_package
    from checks.app.merge_package import make_merge_package
    from checks.fixes.merges import DEFAULT_TIERS
    from connectors.history.audit import cli_actor

    if (out / "manifest.json").exists():
        raise CleanCRMError(f"--out: {out} holds a package already; choose a new folder")
    cfg, store = _history(config)
    run_id = store.runs.resolve(run_ref, cfg.name)
    package = make_merge_package(cfg, store, run_id, fmt.lower(), created_by=cli_actor(), entity=entity,
                                 tiers=tuple(tier) if tier else DEFAULT_TIERS)
    write_package(package.files, out)
    typer.echo(f"Merge package {package.manifest['package_id']} written to {out}")
    for name, info in package.manifest["entities"].items():
        typer.echo(f"{name}: {info['clusters']} clusters, {info['records_merged']} records to merge in "
                   f"{info['merge_calls']} calls, {info['masters_updated']} masters to update first")


def _audit_export(cfg, store, frame, detail: dict) -> None:
    """Record an export in the audit log: who, which command and format, its filters, masked or not."""
    from connectors.history.audit import cli_actor

    store.audit.record(cfg.name, cli_actor(), "export", {k: v for k, v in detail.items() if v is not None},
                       records=len(frame))


def _emit(frame, fmt: str, out: Path | None) -> None:
    from checks.app.export import csv_text, write_export

    fmt = fmt.lower()
    if fmt not in ("csv", "json", "xlsx"):
        raise CleanCRMError(f"--format: {fmt!r} is not supported; use csv, json or xlsx")
    if fmt == "json":
        text = frame.to_json(orient="records", indent=1, force_ascii=False)
        (out.write_text(text) if out else typer.echo(text))
    elif fmt == "xlsx" and out is None:
        raise CleanCRMError("--out: an xlsx export needs a file; add --out worklist.xlsx")
    elif out is not None:
        write_export(frame, out, fmt)
    else:
        typer.echo(csv_text(frame), nl=False)
    if out is not None:
        typer.echo(f"{len(frame)} rows written to {out}", err=True)


@app.command()
@_guard
def compare(config: ConfigOpt, run_a: Annotated[str, typer.Argument(help="Earlier run id.")],
            run_b: Annotated[str, typer.Argument(help="Later run id or 'latest'.")],
            fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table") -> None:
    """Per check: records fixed, still failing and newly failing between two runs; and what became of fix packages."""
    from checks.engine.fix_tracking import status_tables

    cfg, store = _history(config)
    a, b = store.runs.resolve(run_a, cfg.name), store.runs.resolve(run_b, cfg.name)
    table = store.findings.compare(a, b)
    if fmt == "json":
        typer.echo(table.to_json(orient="records", indent=1))
    elif fmt == "csv":
        typer.echo(table.to_csv(index=False), nl=False)
    else:
        typer.echo(f"Run {a} → run {b}")
        typer.echo(table.to_string(index=False) if len(table) else "no findings in either run")
        typer.echo(f"Total: fixed {int(table.fixed.sum())}, still failing {int(table.still_failing.sum())}, "
                   f"newly failing {int(table.newly_failing.sum())}")
        values, records = status_tables(store.fix_packages.status(b))
        if len(values) or len(records):
            typer.echo(f"\nFix packages, as run {b} found them:")
            typer.echo(values.to_string(index=False))
            typer.echo(records.to_string(index=False))


@app.command()
@_guard
def annotate(config: ConfigOpt, name: Annotated[str, typer.Argument(help="What was done, e.g. 'Phone clean-up'.")],
             date: Annotated[str, typer.Option(help="When it happened (ISO date or time).")],
             scope: Annotated[str | None, typer.Option(help="Entity, dimension or check it touched.")] = None,
             note: Annotated[str | None, typer.Option(help="Free text.")] = None) -> None:
    """Record an intervention (a clean-up, an import) to mark on trend charts and compare around."""
    cfg, store = _history(config)
    ann_id = store.annotations.add(cfg.name, name, _parse_when(date, "--date"), scope, note)
    typer.echo(f"Annotation {ann_id} recorded: {name} on {date}")


@app.command()
@_guard
def runs(config: ConfigOpt, limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20) -> None:
    """List the runs in the history with status, score and errors."""
    cfg, store = _history(config)
    table = store.runs.list(cfg.name).head(limit)
    if not len(table):
        typer.echo(f"No runs yet; run one with: cleancrm run --config {config}")
        return
    cols = ["id", "as_of", "status", "trigger", "overall_score", "error"]
    typer.echo(table[cols].to_string(index=False))


@app.command()
@_guard
def profile(config: Annotated[Path | None, typer.Option("--config", "-c", help="Profile the tables of this "
                                                        "config's entities.")] = None,
            url: Annotated[str | None, typer.Option(help="Or profile every table of this database (read-only).")] = None,
            entity: Annotated[str | None, typer.Option(help="Only this entity (with --config).")] = None,
            json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Profile the CRM's columns: fill rate, distinct values, top values, shapes, min/max and what each holds."""
    from checks.app.starter import profile_table
    from checks.config import interpolate_env, load_config
    from checks.profiling.columns import is_personal
    from connectors.source import open_source

    if (config is None) == (url is None):
        raise CleanCRMError("profile: give --config FILE or --url URL (one of them)")
    if config is not None:
        cfg = load_config(config)
        source = open_source(cfg.source_url(), cfg.source.statement_timeout_s, cfg.source.schema_)
        if entity is not None and entity not in cfg.entities:
            raise CleanCRMError(f"--entity: {entity!r} is not mapped in {config}; use one of {', '.join(cfg.entities)}")
        tables = {e: ent.table for e, ent in cfg.entities.items() if entity in (None, e)}
    else:
        source = open_source(interpolate_env(url, "--url"))
        tables = {t: t for t in source.tables()}
    try:
        profiles = {name: profile_table(source, table)[0] for name, table in tables.items()}
    finally:
        source.close()
    if json_out:
        typer.echo(json.dumps({name: {"table": p.table, "rows": p.row_count, "sampled": p.sampled,
                                      "columns": [c.as_dict() for c in p.columns.values()]}
                               for name, p in profiles.items()}, indent=2, default=str))
        return
    for name, prof in profiles.items():
        typer.echo(f"\n{name} (table {prof.table}, {prof.row_count:,} rows, {prof.sampled:,} sampled)")
        typer.echo(f"  {'column':28} {'filled':>7} {'distinct':>8}  {'holds':14} {'top values':40} shapes")
        for col in prof.columns.values():
            top = ", ".join(f"{v[:14]} ({n})" for v, n in col.top[:3])
            shapes = ", ".join(s for s, _ in col.shapes[:2])
            holds = col.meaning + (" *" if is_personal(col) else "")
            typer.echo(f"  {col.column[:28]:28} {col.fill_rate:>7.1%} {col.distinct:>8,}  {holds:14} "
                       f"{top[:40]:40} {shapes[:30]}")
    typer.echo("\n* personal data: masked in findings and exports with --mask, and on the dashboard for those "
               "who may not see every record")


@app.command("checks")
@_guard
def list_checks(config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="List what runs on this config: its checks and rules per entity, and what is "
        "skipped and why.")] = None) -> None:
    """List every check with its dimension, entities and what it measures."""
    from checks.dimensions import all_checks

    if config is None:
        for cid, cls in sorted(all_checks().items()):
            first = (cls.__doc__ or "").strip().splitlines()[0]
            typer.echo(f"{cid:34} {cls.dimension:13} {','.join(cls.entities):40} {first}")
        return
    from checks.config import load_config
    from checks.engine.plan import not_planned, plan

    cfg = load_config(config)
    for p in plan(cfg):
        about = getattr(p.check, "description", None) or (type(p.check).__doc__ or "").strip().splitlines()[0]
        typer.echo(f"{p.check.id:34} {p.check.dimension:13} {p.entity:12} {about}")
    for cid, entity, reason in not_planned(cfg):
        typer.echo(f"{cid:34} {'skipped':13} {entity:12} {reason}")


@app.command()
@_guard
def duplicates(config: ConfigOpt, run_ref: Annotated[str, typer.Option("--run", help="Run id or 'latest'.")] = "latest",
               fmt: Annotated[str, typer.Option("--format", help="csv, json or xlsx.")] = "csv",
               out: Annotated[Path | None, typer.Option(help="File to write.")] = None,
               mask: Annotated[bool, typer.Option("--mask", help="Mask personal data in the merge plans.")] = False,
               ) -> None:
    """The merge worklist: duplicate clusters with tier, score, members, survivor and merge plan."""
    from checks.app.export import duplicate_worklist, mask_duplicate_worklist

    cfg, store = _history(config)
    run_id = store.runs.resolve(run_ref, cfg.name)
    work = duplicate_worklist(store, run_id)
    if mask:
        work = mask_duplicate_worklist(work)
    _emit(work, fmt, out)
    _audit_export(cfg, store, work, {"command": "duplicates", "format": fmt.lower(), "run": run_id,
                                     "out": str(out) if out else "stdout", "masked": mask})


@app.command()
@_guard
def decide(config: ConfigOpt, cluster: Annotated[str, typer.Argument(help="Cluster id (from `cleancrm duplicates`).")],
           decision: Annotated[str, typer.Argument(help="not_duplicate or confirmed.")],
           note: Annotated[str | None, typer.Option(help="Why, for the next steward.")] = None,
           run_ref: Annotated[str, typer.Option("--run", help="The run whose cluster it is: id or 'latest'.")] = "latest",
           ) -> None:
    """Decide a duplicate cluster: `not_duplicate` keeps its records apart in every duplicate check, `confirmed` marks it."""
    from connectors.history.audit import cli_actor

    cfg, store = _history(config)
    run_id = store.runs.resolve(run_ref, cfg.name)
    members = store.clusters.members(run_id, cluster)
    if not len(members):
        raise CleanCRMError(f"cluster: run {run_id} has no cluster {cluster!r}; `cleancrm duplicates` lists them")
    entity = str(members.entity.iloc[0])
    keys = [str(k) for k in members.record_key]
    store.decisions.decide(cfg.name, cluster, entity, decision, cli_actor(), note, keys)
    store.audit.record(cfg.name, cli_actor(), "decision", {"cluster": cluster, "entity": entity, "decision": decision,
                                                           "run": run_id, "members": keys})
    typer.echo(f"Cluster {cluster} ({entity}, records {', '.join(keys)}): {decision}")


@app.command()
@_guard
def decisions(config: ConfigOpt,
              undo: Annotated[str | None, typer.Option(help="Take back the decision on this cluster id.")] = None) -> None:
    """The stewards' decisions on duplicate clusters: who, when, the records and the note; `--undo` takes one back."""
    from connectors.history.audit import cli_actor

    cfg, store = _history(config)
    if undo:
        if not store.decisions.undo(cfg.name, undo):
            raise CleanCRMError(f"--undo: no decision on cluster {undo!r}; `cleancrm decisions` lists them")
        store.audit.record(cfg.name, cli_actor(), "decision", {"cluster": undo, "decision": "undone"})
        typer.echo(f"Decision on cluster {undo} undone; the next run judges its records afresh")
        return
    table = store.decisions.list(cfg.name)
    if not len(table):
        typer.echo("No decisions yet; `cleancrm decide` records one")
        return
    table = table.assign(records=[", ".join(k) for k in table.member_keys])
    typer.echo(table[["cluster_id", "entity", "decision", "records", "decided_by", "decided_at", "note"]]
               .to_string(index=False))


@app.command()
@_guard
def dashboard(config: ConfigOpt = Path("cleancrm.yml"),
              port: Annotated[int | None, typer.Option(help="Port to serve on.")] = None,
              address: Annotated[str | None, typer.Option(
                  help="Address to bind to; default dashboard.address (127.0.0.1). Another one needs "
                       "dashboard.users.")] = None) -> None:
    """Open the Streamlit dashboard on the history of this config.

    Without users in the config it serves this computer only: another address is refused (exit 2).
    """
    import subprocess

    from checks.config import load_config

    load_config(config)  # report config errors here, not in the browser
    # The dashboard is the layer above: started as a module, never imported from here. The module
    # checks the address (and refuses with exit 2), so both ways of starting it apply one rule.
    command = [sys.executable, "-m", "dashboard", "--config", str(config.resolve())]
    if port:
        command += ["--port", str(port)]
    if address:
        command += ["--address", address]
    raise typer.Exit(subprocess.run(command).returncode)


@app.command("hash-password")
@_guard
def hash_password(rounds: Annotated[int, typer.Option(min=4, max=16, help="bcrypt cost; each step doubles the time.")] = 12,
                  ) -> None:
    """Print a bcrypt hash of a password for dashboard.users[].password_hash.

    The password is asked for twice on a terminal, or read from the first line of standard input
    (`printf '%s' "$PW" | cleancrm hash-password`); only the hash is printed.
    """
    import getpass

    import bcrypt

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise CleanCRMError("password: the two entries differ; run the command again")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CleanCRMError("password: none given; type one, or pipe it on standard input")
    secret = password.encode("utf-8")
    if len(secret) > 72:  # bcrypt reads 72 bytes at most: refuse rather than cut silently
        raise CleanCRMError("password: longer than 72 bytes, which bcrypt cannot hash; choose a shorter one")
    typer.echo(bcrypt.hashpw(secret, bcrypt.gensalt(rounds)).decode("ascii"))


@app.command()
@_guard
def schedule(config: ConfigOpt,
             next_only: Annotated[bool, typer.Option("--next", help="Print the next run times and exit.")] = False,
             scheduler_id: Annotated[str | None, typer.Option(help="Name of this scheduler's heartbeat.")] = None,
             heartbeat_s: Annotated[float, typer.Option(help="Seconds between heartbeats.")] = 30.0) -> None:
    """Run the checks on the config's cron schedules until stopped (Ctrl-C or SIGTERM)."""
    import logging

    from checks.app.schedule import next_run_times, serve
    from checks.config import load_config

    cfg = load_config(config)
    if next_only:
        for name, when in next_run_times(cfg).items():
            typer.echo(f"{name}: {when.isoformat()}")
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    serve(cfg, scheduler_id=scheduler_id, heartbeat_s=heartbeat_s)


alerts_app = typer.Typer(help="Alert rules.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


@alerts_app.command("check")
@_guard
def alerts_check(config: ConfigOpt) -> None:
    """Evaluate the alert rules now (a cron watchdog for a scheduler that stopped beating)."""
    from checks.config import load_config

    cfg = load_config(config)
    _check_alert_rules(cfg)
    _evaluate_alerts(cfg)


def main() -> None:
    """Entry point."""
    app()


if __name__ == "__main__":
    main()
