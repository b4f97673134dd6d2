"""Closing the loop: each run finds out what became of the fix packages made before it.

For every recent package of the source, the run reads the package's records again (read-only,
only the columns the package changes) and sorts each change: applied as proposed, applied
differently, not applied, reverted (found as proposed by an earlier run, back to the old value
now), or record gone. It also counts, per entity, the findings the package targeted that are gone
and those still failing, and the package's records that fail a check they passed when the package
was made. The first run that finds a package applied marks it on the trend charts (an annotation).
"""

from __future__ import annotations

import pandas as pd

from checks.config import Config
from checks.engine.keyed import read_by_keys
from checks.values import value_text
from connectors.errors import CleanCRMError
from connectors.history.fix_packages import RECORDS
from connectors.mapping import KEY, EntityQuery
from connectors.source import Source

AS_PROPOSED, DIFFERENTLY, NOT_APPLIED, REVERTED, GONE = (
    "applied as proposed", "applied differently", "not applied", "reverted", "record gone")
FIXED, STILL_FAILING, NEWLY_FAILING = "findings fixed", "findings still failing", "records newly failing"
TRACKED = 20  # the newest packages of a source each run looks at


def track_packages(cfg: Config, source: Source, store, run_id: int) -> list[str]:
    """Find and store what run `run_id` sees of the source's recent packages; warnings, never an error."""
    try:
        packages = store.fix_packages.list(cfg.name, limit=TRACKED)
    except CleanCRMError as exc:
        return [f"fix packages not tracked: {exc}"]
    packages = packages[packages.run_id < run_id]
    if not len(packages):
        return []
    warnings = []
    failing: dict[int, set] = {}  # run id → its failing keys, read once for every package of that run

    def failing_of(run: int) -> set[tuple[str, str, str]]:
        if run not in failing:
            failing[run] = _failing(store, run)
        return failing[run]

    for package in packages.itertuples():
        try:
            _track_one(cfg, source, store, run_id, package, failing_of)
        except CleanCRMError as exc:
            warnings.append(f"fix package {package.package_id} not tracked: {str(exc).splitlines()[0]}")
    return warnings


def _failing(store, run_id: int) -> set[tuple[str, str, str]]:
    keys = store.findings.failing_keys(run_id)
    return set(zip(keys.check_id, keys.entity, keys.record_key.astype(str), strict=True))


def _current_values(cfg: Config, source: Source, entity: str, changes: pd.DataFrame) -> dict[tuple[str, str], object]:
    """(record key, column) → the value the CRM holds now, for the package's changes of one entity."""
    query = EntityQuery(source, entity, cfg.entities[entity])
    fields = sorted(set(changes.field))
    labels = {(fc.field, fc.column): fc.label for f in fields for fc in query.field_columns(f)}
    frame, _ = read_by_keys(source, query, fields, sorted(set(changes.record_key)))
    out = {}
    for (_field, column), label in labels.items():
        if label in frame:
            for key, value in zip(frame[KEY].tolist(), frame[label].tolist(), strict=True):
                out[(key, column)] = value
    return out


def _track_one(cfg: Config, source: Source, store, run_id: int, package, failing_of) -> None:
    changes = store.fix_packages.changes(int(package.id))
    if not len(changes):
        return
    statuses, applied_runs = [], []
    for entity, group in changes.groupby("entity", sort=False):
        if entity not in cfg.entities:
            raise CleanCRMError(f"entity {entity!r} is no longer in the config")
        current = _current_values(cfg, source, str(entity), group)
        for row in group.itertuples():
            key = (row.record_key, row.column_name)
            applied_run = None if pd.isna(row.applied_run_id) else int(row.applied_run_id)
            if key not in current:
                status = GONE
            else:
                now = value_text(current[key])
                if now == row.new_value:
                    status, applied_run = AS_PROPOSED, applied_run or run_id
                elif now == row.old_value:
                    status = REVERTED if applied_run else NOT_APPLIED
                else:
                    status = DIFFERENTLY
            statuses.append(status)
            applied_runs.append(applied_run)
    changes = changes.assign(status=statuses, applied_run_id=applied_runs)
    counts = changes.groupby(["entity", "field", "status"]).size().rename("count").reset_index()
    counts = pd.concat([counts, _finding_counts(package, changes, failing_of(run_id), failing_of(int(package.run_id)))],
                       ignore_index=True)
    made = changes.status.isin([AS_PROPOSED, DIFFERENTLY])
    store.fix_packages.save_status(run_id, int(package.id), changes[["entity", "record_key", "column_name", "status",
                                                                      "applied_run_id"]], counts, bool(made.any()))
    if made.any() and pd.isna(package.applied_run_id):
        entities = sorted(set(changes.entity))
        store.annotations.add(cfg.name, f"Fix package {package.package_id} applied",
                              pd.Timestamp(package.created_at).to_pydatetime(),
                              entities[0] if len(entities) == 1 else None,
                              f"first found applied by run {run_id}: {int((changes.status == AS_PROPOSED).sum())} of "
                              f"{len(changes)} changes as proposed")


def _finding_counts(package, changes: pd.DataFrame, now_failing: set, before: set) -> pd.DataFrame:
    """Per entity: targeted findings gone and still failing, and records failing a check they passed before."""
    targeted = {(check, e, k) for cs, e, k in zip(changes.checks, changes.entity, changes.record_key, strict=True)
                for check in str(cs).split("; ")}
    records = set(zip(changes.entity, changes.record_key, strict=True))
    newly = {(e, k) for c, e, k in now_failing if (e, k) in records and (c, e, k) not in before}
    rows = []
    for entity in sorted({e for e, _ in records}):
        mine = {t for t in targeted if t[1] == entity}
        rows += [(entity, RECORDS, FIXED, len(mine - now_failing)), (entity, RECORDS, STILL_FAILING, len(mine & now_failing)),
                 (entity, RECORDS, NEWLY_FAILING, len({k for e, k in newly if e == entity}))]
    return pd.DataFrame(rows, columns=["entity", "field", "status", "count"])


VALUE_STATUSES = (AS_PROPOSED, DIFFERENTLY, NOT_APPLIED, REVERTED, GONE)
RECORD_STATUSES = (FIXED, STILL_FAILING, NEWLY_FAILING)


def status_tables(status: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A run's view of its packages (`FixPackages.status`) as two tables, for `compare` and the Impact page.

    Per package, entity and field: how many changes were applied as proposed, differently, not at
    all, reverted, or lost with their record. Per package and entity: the targeted findings fixed
    and still failing, and the records newly failing.
    """
    def pivot(rows: pd.DataFrame, index: list[str], columns: tuple[str, ...]) -> pd.DataFrame:
        if not len(rows):
            return pd.DataFrame(columns=[*index, *columns])
        table = rows.pivot_table(index=index, columns="status", values="count", aggfunc="sum", fill_value=0)
        return table.reindex(columns=list(columns), fill_value=0).astype(int).reset_index().rename_axis(columns=None)

    values = status[status.field != RECORDS]
    records = status[status.field == RECORDS]
    return (pivot(values, ["package_id", "entity", "field"], VALUE_STATUSES),
            pivot(records, ["package_id", "entity"], RECORD_STATUSES))
