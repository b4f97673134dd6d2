"""Shared fixtures: a fresh PostgreSQL and a fresh MariaDB/MySQL database per test session.

`pg_url` and `mysql_url` give admin (read-write) URLs to a database `cleancrm_test_<random>` that
is created for the session and dropped at its end; `pg_server` / `mysql_server` can make more such
databases and SELECT-only users. When a server does not answer, tests that need it are SKIPPED with
the reason, unless CLEANCRM_REQUIRE_SERVERS=1 (CI), where they FAIL.

Servers default to the local ones; override with CLEANCRM_TEST_PG_URL / CLEANCRM_TEST_MYSQL_URL
(admin URLs; the database part is ignored).
"""

from __future__ import annotations

import os
import secrets

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

PG_ADMIN = os.environ.get("CLEANCRM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MYSQL_ADMIN = os.environ.get("CLEANCRM_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/")
START_HINT = {
    "postgresql": "start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "mysql": "start it: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd",
}


def servers_required() -> bool:
    """True when a missing server must fail the tests (CI), not skip them."""
    return os.environ.get("CLEANCRM_REQUIRE_SERVERS") == "1"


def unavailable(what: str, reason: str):
    """Skip (locally) or fail (CLEANCRM_REQUIRE_SERVERS=1) a test whose server does not answer."""
    message = f"{what} unavailable: {reason}"
    if servers_required():
        pytest.fail(f"{message} (CLEANCRM_REQUIRE_SERVERS=1, so this fails instead of skipping)", pytrace=False)
    pytest.skip(message)


class Server:
    """A database server the session may create databases and users on; it drops them at the end."""

    def __init__(self, kind: str, admin_url: str):
        self.kind = kind
        self.admin = make_url(admin_url)
        self.prefix = f"cleancrm_test_{secrets.token_hex(4)}"
        self.databases: list[str] = []
        self.users: list[str] = []
        self.error: str | None = None
        self._checked = False
        self._engine: sa.Engine | None = None

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            connect_args = {"connect_timeout": 5}
            self._engine = sa.create_engine(self.admin, isolation_level="AUTOCOMMIT", connect_args=connect_args,
                                            poolclass=sa.pool.NullPool)
        return self._engine

    def check(self) -> str | None:
        """None if the server answers, else why not (remembered)."""
        if not self._checked:
            try:
                with self.engine.connect() as conn:
                    conn.execute(sa.text("SELECT 1"))
            except Exception as exc:  # any driver or network error means "not available"
                orig = getattr(exc, "orig", exc)
                self.error = f"{self.admin.render_as_string(hide_password=True)} ({str(orig).strip().splitlines()[0]}); " \
                             + START_HINT[self.kind]
            self._checked = True
        return self.error

    def url(self, database: str, user: str | None = None, password: str | None = None) -> str:
        """URL of `database` as the admin, or as `user`."""
        url = self.admin.set(database=database)
        if user is not None:
            url = url.set(username=user, password=password)
        return url.render_as_string(hide_password=False)

    def new_database(self, suffix: str = "") -> str:
        """Create a fresh database, dropped at the end of the session; its admin URL."""
        name = f"{self.prefix}_{suffix}" if suffix else self.prefix
        with self.engine.connect() as conn:
            if self.kind == "postgresql":
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            else:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
                conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
        self.databases.append(name)
        return self.url(name)

    def readonly_user(self, database_url: str) -> str:
        """A login with SELECT privileges only on the database of `database_url`; its URL."""
        database = make_url(database_url).database
        user, password = f"{self.prefix}_ro_{secrets.token_hex(2)}", secrets.token_urlsafe(12)
        if self.kind == "postgresql":
            with self.engine.connect() as conn:
                conn.execute(sa.text(f"CREATE ROLE \"{user}\" LOGIN PASSWORD '{password}'"))
            self.users.append(user)
            db_engine = sa.create_engine(self.url(database), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
            with db_engine.connect() as conn:
                conn.execute(sa.text("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))  # PostgreSQL < 15 grants it
                conn.execute(sa.text(f'GRANT CONNECT ON DATABASE "{database}" TO "{user}"'))
                conn.execute(sa.text(f'GRANT USAGE ON SCHEMA public TO "{user}"'))
                conn.execute(sa.text(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{user}"'))
            db_engine.dispose()
        else:
            with self.engine.connect() as conn:
                for host in ("%", "localhost", "127.0.0.1"):
                    conn.execute(sa.text(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{password}'"))
                    conn.execute(sa.text(f"GRANT SELECT ON `{database}`.* TO '{user}'@'{host}'"))
            self.users.append(user)
        return self.url(database, user, password)

    def cleanup(self) -> None:
        """Drop every database and user this session created."""
        if self._engine is None or self.error:
            return
        with self.engine.connect() as conn:
            for name in self.databases:
                if self.kind == "postgresql":
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                else:
                    conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
            for user in self.users:
                if self.kind == "postgresql":
                    conn.execute(sa.text(f'DROP ROLE IF EXISTS "{user}"'))
                else:
                    for host in ("%", "localhost", "127.0.0.1"):
                        conn.execute(sa.text(f"DROP USER IF EXISTS '{user}'@'{host}'"))
        self._engine.dispose()


def _server(kind: str, admin_url: str, what: str):
    server = Server(kind, admin_url)
    if (error := server.check()) is not None:
        unavailable(what, error)
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def pg_server():
    """The PostgreSQL server (skips, or fails under CLEANCRM_REQUIRE_SERVERS=1, when it does not answer)."""
    yield from _server("postgresql", PG_ADMIN, "PostgreSQL")


@pytest.fixture(scope="session")
def mysql_server():
    """The MariaDB/MySQL server (skips, or fails under CLEANCRM_REQUIRE_SERVERS=1, when it does not answer)."""
    yield from _server("mysql", MYSQL_ADMIN, "MariaDB/MySQL")


@pytest.fixture(scope="session")
def pg_url(pg_server: Server) -> str:
    """Admin URL of a fresh PostgreSQL database for this session."""
    return pg_server.new_database()


@pytest.fixture(scope="session")
def mysql_url(mysql_server: Server) -> str:
    """Admin URL of a fresh MariaDB/MySQL database for this session."""
    return mysql_server.new_database()
