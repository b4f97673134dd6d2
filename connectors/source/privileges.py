"""Could the source's login write to the CRM? Asked of the database's own privilege catalog, never tried.

cleancrm reads through a read-only session and the statement guard either way, but a login with
SELECT privileges only is what keeps the CRM safe from whatever gets past both: `can_write` says
why the login is more than that, so that a run can warn or refuse.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote

from connectors.source.database import Source

# MariaDB/MySQL privileges that change data, schema or server files, or bypass a read-only server.
_MYSQL_WRITE_PRIVILEGES = ("INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX", "CREATE VIEW",
                           "TRIGGER", "CREATE ROUTINE", "ALTER ROUTINE", "EVENT", "FILE", "SUPER",
                           "DELETE HISTORY", "CREATE TEMPORARY TABLES", "CREATE TABLESPACE", "CREATE USER")
# PostgreSQL roles whose members write server files or run server programs (COPY … TO PROGRAM).
_PG_SERVER_WRITE_ROLES = ("pg_write_server_files", "pg_execute_server_program")


def can_write(source: Source, tables: list[str]) -> str | None:
    """Why the source's login could write to the CRM (its `tables`, their schema, the server), or None."""
    if source.dialect == "postgresql":
        return _postgresql(source, tables)
    if source.dialect == "mysql":
        return _mysql(source, tables)
    if source.dialect == "sqlite":
        return _sqlite(source)
    return None


def _postgresql(source: Source, tables: list[str]) -> str | None:
    user = source.scalar("SELECT current_user")
    if source.scalar("SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user"):
        return f"the role {user} is a superuser"
    for table in tables:
        name = f"{source.quote(source.schema)}.{source.quote(table)}" if source.schema else source.quote(table)
        if source.scalar("SELECT has_table_privilege(:name, 'INSERT, UPDATE, DELETE, TRUNCATE')", {"name": name}):
            return f"the role {user} may INSERT, UPDATE, DELETE or TRUNCATE on {table}"
    schema = source.schema or source.scalar("SELECT current_schema()")
    if schema and source.scalar("SELECT has_schema_privilege(:schema, 'CREATE')", {"schema": schema}):
        return f"the role {user} may CREATE in schema {schema}"
    roles = ", ".join(f"'{role}'" for role in _PG_SERVER_WRITE_ROLES)
    member = source.scalar(f"SELECT MIN(rolname) FROM pg_catalog.pg_roles WHERE rolname IN ({roles}) "
                           "AND pg_has_role(current_user, oid, 'USAGE')")
    return f"the role {user} is a member of {member}" if member else None


def _mysql(source: Source, tables: list[str]) -> str | None:
    # information_schema names a grantee 'user'@'host' (a MariaDB role: 'role'); CURRENT_USER() is user@host.
    grantees = ("(CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', "
                "SUBSTRING_INDEX(CURRENT_USER(), '@', -1), ''''), CONCAT('''', CURRENT_ROLE(), ''''))")
    privileges = ", ".join(f"'{p}'" for p in _MYSQL_WRITE_PRIVILEGES)
    names = ", ".join(f":t{i}" for i in range(len(tables))) or "NULL"
    params = {f"t{i}": table for i, table in enumerate(tables)} | {"schema": source.schema}
    scope = "COALESCE(:schema, DATABASE())"
    sql = (
        f"SELECT PRIVILEGE_TYPE, 'every database' FROM information_schema.USER_PRIVILEGES "
        f"WHERE GRANTEE IN {grantees} AND PRIVILEGE_TYPE IN ({privileges}) "
        f"UNION ALL SELECT PRIVILEGE_TYPE, CONCAT('database ', TABLE_SCHEMA) FROM information_schema.SCHEMA_PRIVILEGES "
        f"WHERE GRANTEE IN {grantees} AND PRIVILEGE_TYPE IN ({privileges}) AND {scope} LIKE TABLE_SCHEMA "
        f"UNION ALL SELECT PRIVILEGE_TYPE, TABLE_NAME FROM information_schema.TABLE_PRIVILEGES "
        f"WHERE GRANTEE IN {grantees} AND PRIVILEGE_TYPE IN ({privileges}) AND TABLE_SCHEMA = {scope} "
        f"AND TABLE_NAME IN ({names}) "
        f"UNION ALL SELECT PRIVILEGE_TYPE, CONCAT(TABLE_NAME, '.', COLUMN_NAME) FROM information_schema.COLUMN_PRIVILEGES "
        f"WHERE GRANTEE IN {grantees} AND PRIVILEGE_TYPE IN ({privileges}) AND TABLE_SCHEMA = {scope} "
        f"AND TABLE_NAME IN ({names})"
    )
    found = source.read_frame(sql, params)
    if not len(found):
        return None
    privilege, where = found.iloc[0].tolist()
    return f"the user {source.scalar('SELECT CURRENT_USER()')} has the {privilege} privilege on {where}"


def _sqlite(source: Source) -> str | None:
    database = source.engine.url.database or ""
    if not database.startswith("file:"):
        return None  # a CSV or Excel export, copied into memory: the files are never opened for writing
    path = Path(unquote(database.removeprefix("file:").split("?")[0]))
    if path.is_file() and os.access(path, os.W_OK):
        return f"the SQLite file {path} is writable by this process (cleancrm itself opens it read-only, mode=ro)"
    return None
