"""The demo CRM in other shapes and other databases: for tests, and for trying the presets.

`shape_tables` lays the demo tables (from `checks.demo.build_tables`) out as a CRM holds them,
through that CRM's preset (`connectors.presets`): the demo's own schema, Salesforce (API names,
Heroku Connect's lowercase, Fivetran's snake_case), SuiteCRM, a HubSpot export, or a generic
home-made CRM. `write_shape` writes a shape into any SQLAlchemy URL (SQLite, PostgreSQL,
MariaDB/MySQL); `write_hubspot_export` writes HubSpot-style CSV or XLSX files.

    python -m checks.demo.export --url postgresql+psycopg://me@localhost/crm_try --shape suitecrm
"""

from __future__ import annotations

import argparse
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from connectors.presets import get_preset, preset_names
from connectors.presets.shaping import Shaped


def shape_tables(tables: dict[str, pd.DataFrame], shape: str = "demo", spelling: str = "api",
                 synced: datetime | None = None) -> Shaped:
    """The demo tables (entity → frame) in one CRM's layout; `spelling` matters where it has several."""
    from checks.demo.schema import metadata

    return get_preset(shape).demo_shape(tables, spelling, synced, metadata)


def infer_type(values: pd.Series) -> sa.types.TypeEngine:
    """A portable column type for a frame column (strings get a length MariaDB accepts)."""
    present = [v for v in values if v is not None and not (not isinstance(v, str) and pd.isna(v))]
    if pd.api.types.is_bool_dtype(values.dtype) or present and all(isinstance(v, bool | np.bool_) for v in present):
        return sa.Boolean()
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return sa.DateTime()
    if pd.api.types.is_integer_dtype(values.dtype):
        return sa.BigInteger()
    if pd.api.types.is_float_dtype(values.dtype):
        return sa.Float()
    if present and all(isinstance(v, datetime | pd.Timestamp) for v in present):
        return sa.DateTime()
    if present and all(isinstance(v, date) for v in present):
        return sa.Date()
    if present and all(isinstance(v, int | np.integer) for v in present):
        return sa.BigInteger()
    longest = max((len(str(v)) for v in present), default=0)
    return sa.String(255) if longest <= 255 else sa.Text()


def _python_rows(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain Python values (drivers reject numpy scalars and NaN)."""
    out = frame.astype(object).where(frame.notna(), None)
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column].dtype):
            out[column] = [None if v is None else v.to_pydatetime() for v in out[column]]
    rows = out.to_dict("records")
    for row in rows:
        for k, v in row.items():
            if isinstance(v, np.generic):
                row[k] = v.item()
    return rows


def write_frames(url: str | sa.Engine, frames: dict[str, pd.DataFrame], keys: dict[str, str] | None = None,
                 types: dict[str, dict[str, sa.types.TypeEngine]] | None = None, schema: str | None = None,
                 batch: int = 5_000) -> None:
    """Create (replacing) one table per frame in any SQLAlchemy database and insert the rows."""
    engine = sa.create_engine(url) if isinstance(url, str) else url
    metadata = sa.MetaData(schema=schema)
    tables = []
    for name, frame in frames.items():
        given = (types or {}).get(name, {})
        key = (keys or {}).get(name)
        columns = [sa.Column(col, given.get(col) or infer_type(frame[col]), primary_key=col == key,
                             autoincrement=False) for col in frame.columns]
        tables.append((sa.Table(name, metadata, *columns), frame))
    try:
        metadata.drop_all(engine)
        metadata.create_all(engine)
        with engine.begin() as conn:
            for table, frame in tables:
                rows = _python_rows(frame)
                for start in range(0, len(rows), batch):
                    conn.execute(table.insert(), rows[start:start + batch])
    finally:
        if isinstance(url, str):
            engine.dispose()


def write_shape(url: str | sa.Engine, shaped: Shaped, schema: str | None = None) -> Shaped:
    """Write a shaped CRM into the database at `url` (its tables are replaced)."""
    write_frames(url, shaped.frames, shaped.keys, shaped.types, schema)
    return shaped


def write_hubspot_export(target: Path | str, shaped: Shaped, fmt: str = "csv") -> list[Path]:
    """HubSpot-style export files, every value as text.

    CSV: `contacts.csv` and `companies.csv` in the folder `target`. XLSX: one workbook with a sheet
    per table, `target` itself if it ends in .xlsx, else `target/hubspot.xlsx`.
    """
    if shaped.shape != "hubspot":
        raise ValueError("write_hubspot_export needs shape_tables(..., 'hubspot')")
    target = Path(target)
    out = target.parent if target.suffix == ".xlsx" else target
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        paths = []
        for name, frame in shaped.frames.items():
            path = out / f"{name}.csv"
            frame.to_csv(path, index=False, encoding="utf-8-sig")  # HubSpot's exports carry a BOM
            paths.append(path)
        return paths
    if fmt == "xlsx":
        path = target if target.suffix == ".xlsx" else out / "hubspot.xlsx"
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            for name, frame in shaped.frames.items():
                frame.to_excel(writer, sheet_name=name, index=False)
        return [path]
    raise ValueError(f"fmt {fmt!r}: use csv or xlsx")


def export_demo(url: str, shape: str = "demo", spelling: str = "api", contacts: int = 2000, seed: int = 42,
                as_of: datetime | None = None) -> Shaped:
    """Generate the demo CRM and write it in `shape` to `url` (a database URL, or a folder for hubspot)."""
    from checks.demo import _default_as_of, build_tables

    tables = build_tables(contacts, seed, as_of or _default_as_of()).tables
    shaped = shape_tables(tables, shape, spelling)
    if shape == "hubspot":
        write_hubspot_export(url, shaped, "xlsx" if url.endswith(".xlsx") else "csv")
    else:
        write_shape(url, shaped)
    return shaped


def _spellings() -> list[str]:
    """The column spellings of the presets that have several."""
    return list(dict.fromkeys(s for name in preset_names() for s in get_preset(name).spellings if s))


def main(argv: list[str] | None = None) -> None:
    """Command line: write the demo CRM in a CRM's shape into a database (or HubSpot files into a folder)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy URL to write into (its tables are replaced); "
                        "for --shape hubspot, a folder for the CSV files or a path ending in .xlsx")
    parser.add_argument("--shape", choices=preset_names(), default="demo")
    parser.add_argument("--spelling", choices=_spellings(), default="api", help="Salesforce: api, lower or snake")
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    shaped = export_demo(args.url, args.shape, args.spelling, args.contacts, args.seed)
    print(f"wrote {args.shape} ({', '.join(f'{k}: {len(v)} rows' for k, v in shaped.frames.items())})")


if __name__ == "__main__":
    main()
