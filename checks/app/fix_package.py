"""Fix packages: a run's fixes as files the CRM's own import tool applies, with the file that undoes them.

cleancrm never writes to the CRM. A package holds, per entity:
- `<entity>.apply.csv`: the record key and only the columns that change, one row per record with
  all of its fixes merged, under the CRM's column names (Salesforce API names, HubSpot internal
  property names); a blank cell leaves that column of that record as it is;
- `<entity>.rollback.csv`: the same records and columns with the values read from the CRM when the
  package was made: importing it puts every changed value back;
- `<entity>.review.csv`: fixes below the confidence threshold, or that would make another check
  fail, or that cannot be written: for a person to decide;
- with `--format sql`, `<entity>.apply.sql` and `<entity>.rollback.sql` instead of the two CSVs:
  UPDATE statements with every value a quoted literal of the CRM's dialect, each guarded by the
  value it expects to find, for a DBA to review and run;
and `reasons.csv` (every proposed change with its checks, reasons and confidence), `manifest.json`
(package id, run, config hash, filters, counts, SHA-256 of every file) and `README.txt`.

Formats follow the import tools' rules: Salesforce Data Loader takes `Id` first, API names, UTF-8
and ISO dates, and `#N/A` to set a value to null; HubSpot's import matches on `Record ID`. No cell
of an apply or rollback file starts a spreadsheet formula (a record whose value would is sent to
review); E.164 phone numbers (`+` and digits) are numbers, not formulas, and are kept as they are.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import secrets
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from checks.app.export import build_worklist, export_bytes, starts_formula
from checks.config import Config
from checks.engine.run import open_checked_source
from checks.fixes.proposals import APPLY, DEFAULT_MIN_CONFIDENCE, REVIEW, Change, EntityFixes, propose
from checks.values import value_text
from connectors.errors import CleanCRMError
from connectors.source import Source


@dataclass(frozen=True)
class PackageFormat:
    """How one import tool wants its files."""

    name: str
    key_header: str | None  # None: the CRM's key column name
    null: str  # what sets a value to null
    how_to_apply: str


FORMATS = {
    "salesforce": PackageFormat(
        "salesforce", "Id", "#N/A",
        "Data Loader (or Bulk API 2.0): operation Update, object of the entity's table, map the columns by "
        "name; keep 'Insert null values' off, so that a blank cell leaves a field as it is."),
    "hubspot": PackageFormat(
        "hubspot", "Record ID", "",
        "HubSpot: Import > File from computer > One object, 'Update existing records' matched on Record ID; "
        "a blank cell leaves a property as it is (an import cannot clear a property)."),
    "csv": PackageFormat(
        "csv", None, "",
        "Any import tool that updates records by key: the first column is the key; a blank cell leaves a "
        "column as it is."),
    "sql": PackageFormat(
        "sql", None, "NULL",
        "A DBA reviews <entity>.apply.sql and runs it in one transaction; each UPDATE changes a record only "
        "if it still holds the values read when the package was made."),
}

REASON_COLUMNS = ["entity", "record_id", "field", "column", "current_value", "proposed_value", "checks", "reasons",
                  "confidence", "destination", "review_reason"]
# Phone numbers as written (`+1 (415) 555-0100`): no letter, `=`, `@`, `!` or `|`, so they cannot
# name a function, a cell or a command; a spreadsheet reads them as a number or arithmetic.
_NUMBER = re.compile(r"^[+\-]?[\d ().\-/]+$")
FORMULA_REVIEW = "a value would start a spreadsheet formula; set it in the CRM by hand"


def formula_risk(value) -> bool:
    """Text a spreadsheet would run as a formula, except a plain number such as an E.164 phone."""
    return starts_formula(value) and not _NUMBER.match(value)


def guard_formulas(fixes: list[EntityFixes]) -> None:
    """Send to review every record with a changed value, old or new, that would start a formula."""
    for ent in fixes:
        risky = {c.record_key for c in ent.changes if formula_risk(c.current) or formula_risk(c.proposed)}
        for change in ent.changes:
            if change.record_key in risky and not change.review:
                change.review = FORMULA_REVIEW
        for cid, key in {(cid, c.record_key) for c in ent.changes if c.record_key in risky for cid in c.checks}:
            ent.outcomes.loc[(ent.outcomes.check_id == cid) & (ent.outcomes.record_key == key), "outcome"] = REVIEW


def _text(value, null: str) -> str:
    """A value as an import file writes it: ISO dates, whole numbers without `.0`, null as the format says."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return null
    if isinstance(value, datetime | pd.Timestamp):
        return value.isoformat(sep="T")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _records(changes: list[Change]) -> tuple[list[str], dict[str, dict[str, Change]]]:
    """The changed columns in first-seen order, and each record's changes by column."""
    columns: dict[str, None] = {}
    records: dict[str, dict[str, Change]] = {}
    for c in changes:
        columns.setdefault(c.column)
        records.setdefault(c.record_key, {})[c.column] = c
    return list(columns), records


def import_csv(ent: EntityFixes, changes: list[Change], fmt: PackageFormat, new: bool) -> bytes:
    """An apply (`new`) or rollback file: key first, then the changed columns; UTF-8 without BOM."""
    columns, records = _records(changes)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([fmt.key_header or ent.key_column, *columns])
    for key in sorted(records, key=_key_order):
        row = records[key]
        writer.writerow([key, *[_text(row[c].proposed if new else row[c].current, fmt.null) if c in row else ""
                                for c in columns]])
    return buf.getvalue().encode("utf-8")


def clear_file(ent: EntityFixes, changes: list[Change], fmt: PackageFormat) -> bytes | None:
    """The fields a fix filled that were empty, where the format's import cannot empty a field again.

    A blank cell leaves a field as it is in a generic import and in HubSpot's, so the rollback file
    cannot put the emptiness back: these fields are listed to clear by hand. (Salesforce takes
    `#N/A`, SQL takes NULL: their rollback files do it.)
    """
    if fmt.null:
        return None
    empty = [c for c in changes if value_text(c.current) in (None, "")]
    if not empty:
        return None
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([fmt.key_header or ent.key_column, "column", "was"])
    for c in sorted(empty, key=lambda c: (_key_order(c.record_key), c.column)):
        writer.writerow([c.record_key, c.column, "null" if value_text(c.current) is None else "empty text"])
    return buf.getvalue().encode("utf-8")


def _key_order(key: str):
    return (0, int(key), "") if key.lstrip("-").isdigit() else (1, 0, key)


def update_script(ent: EntityFixes, changes: list[Change], source: Source, new: bool, package_id: str) -> bytes:
    """UPDATE statements for the source's dialect, literals rendered by SQLAlchemy, each guarded by the old values."""
    types = source.column_types(ent.table)
    columns, records = _records(changes)
    table = sa.table(ent.table, *[sa.column(c, types.get(c, sa.String())) for c in {ent.key_column, *columns}],
                     schema=source.schema)
    key_type = types.get(ent.key_column)
    lines = [f"-- cleancrm fix package {package_id}: {'apply' if new else 'rollback'} for {ent.entity} "
             f"({len(records)} records). cleancrm never runs this; review it, then run it in one transaction.",
             "BEGIN;" if source.dialect != "mysql" else "START TRANSACTION;"]
    for key in sorted(records, key=_key_order):
        row = records[key]
        typed_key = int(key) if key_type is not None and _python_type(key_type) is int else key
        stmt = sa.update(table).where(table.c[ent.key_column] == typed_key)
        for column, change in row.items():
            expected = change.current if new else change.proposed
            stmt = stmt.where(table.c[column].is_(None) if expected is None else table.c[column] == expected)
        stmt = stmt.values({column: (change.proposed if new else change.current) for column, change in row.items()})
        # As compiled: a value's own line breaks stay inside its literal.
        lines.append(f"{stmt.compile(dialect=source.engine.dialect, compile_kwargs={'literal_binds': True})};")
    lines.append("COMMIT;")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _python_type(kind) -> type | None:
    try:
        return kind.python_type
    except NotImplementedError:
        return None


def reasons_frame(fixes: list[EntityFixes]) -> pd.DataFrame:
    """Every proposed change: where, from what to what, which checks and why, how sure, and where it went."""
    rows = [{"entity": c.entity, "record_id": c.record_key, "field": c.field, "column": c.column,
             "current_value": c.current, "proposed_value": c.proposed, "checks": "; ".join(c.checks),
             "reasons": "; ".join(c.reasons), "confidence": round(c.confidence, 2),
             "destination": REVIEW if c.review else APPLY, "review_reason": c.review}
            for ent in fixes for c in ent.changes]
    return pd.DataFrame(rows, columns=REASON_COLUMNS)


def outcome_table(fixes: list[EntityFixes]) -> pd.DataFrame:
    """Per check and entity: the records it found, and how many got a fix to apply, to review, or none and why."""
    frames = [ent.outcomes.assign(entity=ent.entity) for ent in fixes if len(ent.outcomes)]
    if not frames:
        return pd.DataFrame(columns=["check_id", "entity", "records", "apply", "review", "fixed since the run",
                                     "no value to propose", "advice only", "applicable share"])
    all_ = pd.concat(frames, ignore_index=True)
    table = pd.crosstab([all_.check_id, all_.entity], all_.outcome)
    for col in (APPLY, REVIEW, "fixed since the run", "no value to propose", "advice only"):
        if col not in table:
            table[col] = 0
    table.insert(0, "records", table.sum(axis=1))
    table["applicable share"] = (table[APPLY] / table.records).round(3)
    return table.reset_index()[["check_id", "entity", "records", APPLY, REVIEW, "fixed since the run",
                                "no value to propose", "advice only", "applicable share"]]


def sha256(data: bytes) -> str:
    """The hex SHA-256 of a file's bytes, as the manifest lists it."""
    return hashlib.sha256(data).hexdigest()


def build_package(cfg: Config, source: Source, fixes: list[EntityFixes], fmt_name: str, *, run: dict,
                  filters: dict, min_confidence: float, created_by: str) -> dict[str, bytes]:
    """The package's files by name (manifest last, with the checksums of all the others)."""
    fmt = FORMATS[fmt_name]
    guard_formulas(fixes)
    created = datetime.now(UTC).replace(microsecond=0)
    # The time tells packages apart for people; the random tail for the history, within one second.
    package_id = f"{cfg.name}-run{run['id']}-{created.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"
    files: dict[str, bytes] = {}
    entities = {}
    for ent in fixes:
        apply = [c for c in ent.changes if not c.review]
        review = [c for c in ent.changes if c.review]
        names = []
        if apply:
            if fmt.name == "sql":
                files[f"{ent.entity}.apply.sql"] = update_script(ent, apply, source, True, package_id)
                files[f"{ent.entity}.rollback.sql"] = update_script(ent, apply, source, False, package_id)
                names += [f"{ent.entity}.apply.sql", f"{ent.entity}.rollback.sql"]
            else:
                files[f"{ent.entity}.apply.csv"] = import_csv(ent, apply, fmt, True)
                files[f"{ent.entity}.rollback.csv"] = import_csv(ent, apply, fmt, False)
                names += [f"{ent.entity}.apply.csv", f"{ent.entity}.rollback.csv"]
                if clears := clear_file(ent, apply, fmt):
                    files[f"{ent.entity}.rollback_clear.csv"] = clears
                    names.append(f"{ent.entity}.rollback_clear.csv")
        if review:
            files[f"{ent.entity}.review.csv"] = export_bytes(reasons_frame([EntityFixes(
                ent.entity, ent.table, ent.key_column, review, ent.outcomes)]), "csv")
            names.append(f"{ent.entity}.review.csv")
        entities[ent.entity] = {"table": ent.table, "key": ent.key_column, "apply_records": len({c.record_key for c in apply}),
                                "apply_changes": len(apply), "review_changes": len(review), "files": names}
    files["reasons.csv"] = export_bytes(reasons_frame(fixes), "csv")
    outcomes = outcome_table(fixes)
    files["README.txt"] = _readme(package_id, fmt, entities).encode("utf-8")
    manifest = {
        "package_id": package_id, "created_at": created.isoformat(), "created_by": created_by, "format": fmt.name,
        "run": run, "config": {"name": cfg.name, "hash": cfg.fingerprint()},
        "config_changed_since_run": bool(run.get("config_hash")) and run.get("config_hash") != cfg.fingerprint(),
        "filters": filters, "min_confidence": min_confidence, "entities": entities,
        "checks": {f"{r['check_id']} on {r['entity']}": {k: (float(v) if k == "applicable share" else int(v))
                                                    for k, v in r.items() if k not in ("check_id", "entity")}
                   for r in outcomes.to_dict("records")},
        "files": {name: sha256(data) for name, data in sorted(files.items())},
    }
    files["manifest.json"] = (json.dumps(manifest, indent=1, ensure_ascii=False, default=str) + "\n").encode("utf-8")
    return files




def _readme(package_id: str, fmt: PackageFormat, entities: dict) -> str:
    lines = [f"cleancrm fix package {package_id} ({fmt.name})", "",
             "How to apply: " + fmt.how_to_apply, "",
             "How to undo: apply the rollback file of each entity the same way; it holds the values read from the "
             "CRM when this package was made. Where a fix filled an empty field and the import cannot empty it "
             "again, <entity>.rollback_clear.csv lists the fields to clear.", "",
             "Files:"]
    for entity, info in entities.items():
        lines.append(f"- {entity} (table {info['table']}, key {info['key']}): {info['apply_records']} records to "
                     f"update, {info['review_changes']} changes for review: {', '.join(info['files']) or 'none'}")
    lines += ["- reasons.csv: every proposed change with its checks, reasons and confidence",
              "- manifest.json: package id, run, config hash, counts and the SHA-256 of every file", "",
              "Run cleancrm again after applying: `cleancrm compare` shows the findings this package fixed."]
    return "\n".join(lines) + "\n"


def write_package(files: dict[str, bytes], out: Path) -> None:
    """Write the files into `out`, which must not hold a package already."""
    out.mkdir(parents=True, exist_ok=True)
    if (out / "manifest.json").exists():
        raise CleanCRMError(f"--out: {out} holds a fix package already; choose a new folder")
    for name, data in files.items():
        (out / name).write_bytes(data)


def applied_changes(fixes: list[EntityFixes]) -> pd.DataFrame:
    """The changes of the apply files, as the history keeps them (values as text)."""
    return pd.DataFrame([{"entity": c.entity, "record_key": c.record_key, "column_name": c.column, "field": c.field,
                          "old_value": value_text(c.current), "new_value": value_text(c.proposed),
                          "checks": "; ".join(c.checks)} for ent in fixes for c in ent.changes if not c.review],
                        columns=["entity", "record_key", "column_name", "field", "old_value", "new_value", "checks"])


@dataclass
class Package:
    """A fix package made for a run: its files by name, its manifest, and what became of each finding."""

    files: dict[str, bytes]
    manifest: dict
    outcomes: pd.DataFrame  # outcome_table: per check and entity
    changes: pd.DataFrame  # applied_changes: what the apply files change, as the history keeps it

    def zip_bytes(self) -> bytes:
        """The package as one zip, its files in a folder named after the package."""
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in self.files.items():
                archive.writestr(f"{self.manifest['package_id']}/{name}", data)
        return buf.getvalue()


def make_package(cfg: Config, store, run_id: int, fmt: str, *, created_by: str, check=None, entity=None, owner=None,
                 min_confidence: float = DEFAULT_MIN_CONFIDENCE, audit: dict | None = None,
                 keep: bool = True) -> Package:
    """The fix package of a run's findings matching the filters (one value or a list each).

    One code path for the CLI and the dashboard. Reads the CRM (read-only) and records the reading
    in the audit log. `keep`: store the package in the history, so that later runs track it
    (`keep_package`); a preview that nobody downloads is not kept.

    Raises CleanCRMError for an unknown format or when no finding matches.
    """
    if fmt not in FORMATS:
        raise CleanCRMError(f"--format: {fmt!r} is not a package format; use {', '.join(FORMATS)}")
    run = store.runs.list(cfg.name).set_index("id").loc[run_id]
    work = build_worklist(store, run_id, check=check, entity=entity, owner=owner)
    if not len(work):
        raise CleanCRMError(f"--run {run_id}: no findings match these filters; `cleancrm findings` lists them")
    filters = {k: v for k, v in (("check", check), ("entity", entity), ("owner", owner)) if v}
    source = open_checked_source(cfg)
    try:
        # Judged as of the run, so that a check that reads the date agrees with the run's findings.
        proposed = propose(cfg, source, work, min_confidence=min_confidence,
                           now=pd.Timestamp(run["as_of"]).to_pydatetime())
        files = build_package(cfg, source, proposed, fmt, run={"id": run_id, "as_of": str(run["as_of"]),
                                                               "config_hash": run["config_hash"] or ""},
                              filters=filters, min_confidence=min_confidence, created_by=created_by)
    finally:
        source.close()
    manifest = json.loads(files["manifest.json"])
    store.audit.record(cfg.name, created_by, "fix_package",
                       {"package": manifest["package_id"], "run": run_id, "format": fmt, **filters,
                        **({} if keep else {"preview": True}), **(audit or {})},
                       records=sum(e["apply_records"] for e in manifest["entities"].values()))
    package = Package(files, manifest, outcome_table(proposed), applied_changes(proposed))
    if keep:
        keep_package(store, cfg.name, package, created_by)
    return package


def keep_package(store, source_name: str, package: Package, created_by: str) -> None:
    """Store a package in the history (once), so that the next runs can tell which of its changes were made."""
    if not store.fix_packages.has(package.manifest["package_id"]):
        store.fix_packages.record(source_name, package.manifest, package.changes, created_by)
