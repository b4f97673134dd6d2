"""CSV and Excel exports as a source: loaded into an in-memory SQLite database, then read-only.

`csv:///exports` loads every `*.csv` in the folder (one table per file, named after the file);
`csv:///exports/contacts.csv` loads one file; `xlsx:///book.xlsx` loads one table per sheet. As
with `sqlite:///`, a path after three slashes is relative (to the config's folder) and a fourth
slash makes it absolute.
Every cell is read as text so that postal codes and phone numbers keep their leading zeros.
"""

from __future__ import annotations

import re
import sqlite3
import zipfile
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import StaticPool

from connectors.errors import SourceError
from connectors.source.database import Source
from connectors.source.guard import refuse_writes
from connectors.source.predicates import register_sqlite_functions


def table_name_for(stem: str) -> str:
    """A table name from a file or sheet name: lowercase words joined by underscores."""
    name = re.sub(r"[^0-9a-zA-Z]+", "_", stem).strip("_").lower()
    return name or "sheet"


def _read_frames(path: Path, scheme: str) -> dict[str, pd.DataFrame]:
    if scheme == "csv":
        files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
        if not files:
            raise SourceError(f"source.url: no .csv files in {path}; point csv:/// at a folder of exports or one file")
        frames = {}
        for f in files:
            name = table_name_for(f.stem)
            if name in frames:
                raise SourceError(f"source.url: {f.name} and another file both become table {name!r}; rename one of them")
            try:
                frames[name] = pd.read_csv(f, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            except pd.errors.EmptyDataError:
                raise SourceError(f"source.url: {f.name} is empty (not even a header row); export it again or remove it") from None
            except (pd.errors.ParserError, UnicodeDecodeError) as exc:
                raise SourceError(f"source.url: cannot read {f.name} ({_first(exc)}); save it as UTF-8 CSV") from None
        return frames
    if path.is_dir():
        raise SourceError(f"source.url: {path} is a folder; {scheme}:/// takes one workbook file")
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False)
    except ImportError as exc:
        raise SourceError(f"source.url: cannot read {path.name} ({_first(exc)}); save it as .xlsx") from None
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as exc:
        raise SourceError(f"source.url: cannot read {path.name} ({_first(exc)}); save it as an Excel .xlsx workbook") from None
    return {table_name_for(name): frame for name, frame in sheets.items()}


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def open_file_source(url: str):
    """Load an export into memory and return a read-only Source over it."""
    scheme, _, rest = url.partition(":///")
    if not rest:
        raise SourceError(f"source.url: {url!r} should look like {scheme}:///absolute/path")
    path = Path(rest)  # like sqlite:///: three slashes then a relative path, four for an absolute one
    if not path.exists():
        raise SourceError(f"source.url: {path} not found; check the path of the export")
    frames = _read_frames(path, scheme.lower())
    # Empty strings in an export mean "no value": store them as NULL, as a database would.
    raw = sqlite3.connect(":memory:", check_same_thread=False)
    for name, frame in frames.items():
        frame = frame.replace({"": None})
        frame.to_sql(name, raw, index=False)
    raw.execute("PRAGMA query_only = ON")
    register_sqlite_functions(raw)
    engine = sa.create_engine("sqlite://", creator=lambda: raw, poolclass=StaticPool)
    event.listen(engine, "before_cursor_execute", refuse_writes)
    return Source(engine=engine, url_for_display=f"{scheme}:///{path}")
