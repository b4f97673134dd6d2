"""How statements reach the database: one statement per call, and the text the driver really sends.

Each driver runs one statement per call, so that nothing after a `;` can run even if a statement
got past the guard: psycopg always uses the extended query protocol (the server refuses several
commands in one prepared statement), PyMySQL connects without CLIENT.MULTI_STATEMENTS (the server
then takes a `;` as a syntax error), and sqlite3 refuses several statements in `execute`.
"""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ColumnClause, TextClause

from connectors.errors import SourceError

# Schemas of the catalog tables SQLAlchemy's reflection reads.
_CATALOG_SCHEMAS = frozenset({"pg_catalog", "information_schema"})


@cache
def single_statement_cursor() -> type:
    """A psycopg cursor class that sends every statement with the extended query protocol."""
    import psycopg

    class SingleStatementCursor(psycopg.Cursor):
        """A psycopg cursor whose statements are one each: always Parse/Bind/Execute."""

        def _execute_send(self, query, *, force_extended: bool = False, binary: bool | None = None) -> None:
            # psycopg sends a statement without parameters with the simple query protocol, which
            # runs every statement of the string; the extended protocol lets the server refuse them.
            super()._execute_send(query, force_extended=True, binary=binary)

    return SingleStatementCursor


def without_multi_statements(_dialect, _record, _cargs, cparams: dict) -> None:
    """SQLAlchemy `do_connect` hook: PyMySQL connects without CLIENT.MULTI_STATEMENTS, whatever the URL says."""
    from pymysql.constants import CLIENT

    cparams["client_flag"] = int(cparams.get("client_flag", 0)) & ~CLIENT.MULTI_STATEMENTS


def check_single_statements(dbapi_conn, _record) -> None:
    """SQLAlchemy `connect` hook: refuse a PyMySQL connection that could run several statements in one."""
    from pymysql.constants import CLIENT

    if dbapi_conn.client_flag & CLIENT.MULTI_STATEMENTS:
        dbapi_conn.close()
        raise SourceError("source.url: the MySQL connection allows several statements in one (CLIENT.MULTI_STATEMENTS); "
                          "remove client_flag from the URL")


def sent_text(cursor, statement: str, parameters, context) -> str:
    """The statement as the driver will send it to the server, its parameters bound as the driver binds them.

    PyMySQL formats the parameters into the text itself; psycopg binds them on the server, and its
    client-side cursor writes the same statement with the values as literals; sqlite3 sends the
    text as it is, with `?` for each parameter.
    """
    # SQLAlchemy calls `cursor.execute(statement)` without parameters only when asked to.
    params = None if not parameters and getattr(context, "no_parameters", False) else parameters
    if type(cursor).__module__.split(".")[0] == "psycopg":
        import psycopg

        return psycopg.ClientCursor(cursor.connection).mogrify(statement, params)
    if hasattr(cursor, "mogrify"):
        text = cursor.mogrify(statement, params)
        return text.decode() if isinstance(text, bytes) else text
    return statement


def compiled_from_catalog(context) -> bool:
    """Whether SQLAlchemy compiled the statement itself from catalog tables only (reflection), without text."""
    statement = getattr(getattr(context, "compiled", None), "statement", None)
    if not isinstance(statement, sa.Select):
        return False
    tables = []
    for element in visitors.iterate(statement):
        if isinstance(element, TextClause) or (isinstance(element, ColumnClause) and element.is_literal):
            return False
        if isinstance(element, sa.Table):
            tables.append(element)
    return bool(tables) and all(table.schema in _CATALOG_SCHEMAS for table in tables)
