"""The connector suite runs each case on SQLite, PostgreSQL and MariaDB: the `backend` fixture."""

from __future__ import annotations

import warnings
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from checks.demo.export import shape_tables, write_shape
from connectors.presets.shaping import Shaped

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", marks=pytest.mark.postgres, id="postgresql"),
    pytest.param("mysql", marks=pytest.mark.mysql, id="mariadb"),
]


class SQLiteFiles:
    """SQLite's stand-in for a server: each database is a file."""

    kind = "sqlite"

    def __init__(self, root: Path):
        self.root = root

    def new_database(self, suffix: str = "main") -> str:
        path = self.root / f"{suffix}.db"
        path.unlink(missing_ok=True)
        sa.create_engine(f"sqlite:///{path}").dispose()
        return f"sqlite:///{path}"

    def readonly_user(self, database_url: str) -> str:
        pytest.skip("SQLite has no users or privileges; its read-only mode is tested in test_source_readonly")


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request, tmp_path_factory):
    """A database server (or SQLite folder) that can make fresh databases: sqlite, postgresql, mysql."""
    if request.param == "sqlite":
        return SQLiteFiles(tmp_path_factory.mktemp("sqlite"))
    return request.getfixturevalue("pg_server" if request.param == "postgresql" else "mysql_server")


@pytest.fixture(scope="session")
def demo_tables() -> dict:
    """The demo CRM's tables (small: 400 contacts), defects and soft-deleted rows included."""
    from checks.demo import build_tables

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return build_tables(400, 11, datetime(2024, 6, 1)).tables


@pytest.fixture(scope="session")
def loaded(backend, demo_tables):
    """`loaded(shape, spelling)` → (admin URL, Shaped): the demo data in that shape, in its own database."""
    cache: dict[tuple[str, str], tuple[str, Shaped]] = {}

    def load(shape: str, spelling: str = "api") -> tuple[str, Shaped]:
        key = (shape, spelling if shape == "salesforce" else "")
        if key not in cache:
            shaped = shape_tables(demo_tables, shape, spelling)
            url = backend.new_database(f"{shape}_{key[1]}".rstrip("_"))
            write_shape(url, shaped)
            cache[key] = (url, shaped)
        return cache[key]

    return load

