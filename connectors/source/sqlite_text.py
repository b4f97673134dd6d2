"""Text from a SQLite CRM that is not valid UTF-8 is read with replacement characters, never an abort.

SQLite stores whatever bytes it is given in a TEXT column, and Python's sqlite3 decodes every
text value as strict UTF-8: one value written in Latin-1 by an old import stops the whole read
with "Could not decode to UTF-8 column …". A read that stops so is read again with a connection
that decodes with replacement, so such a value arrives with U+FFFD where its undecodable bytes
were, and the checks report it on its record (accuracy.mojibake: "not valid UTF-8 text").

Only reads that meet such a value pay for it: a `text_factory` of our own makes sqlite3 build
a bytes object and call it for every text value, which doubled the time of reading a clean CRM.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import OperationalError

# `str(raw, encoding=…, errors=…)` runs in C, the cheapest factory there is.
decode_text = functools.partial(str, encoding="utf-8", errors="replace")
_UNDECODABLE = "Could not decode to UTF-8"


def is_undecodable_text(exc: BaseException) -> bool:
    """Whether a read failed on a SQLite text value that is not valid UTF-8."""
    return isinstance(exc, OperationalError) and _UNDECODABLE in str(exc.orig)


@contextmanager
def replacing_undecodable(conn) -> Iterator[None]:
    """On a SQLAlchemy connection to SQLite: decode text with replacement characters inside the block."""
    dbapi_conn = conn.connection.driver_connection
    previous = dbapi_conn.text_factory
    dbapi_conn.text_factory = decode_text
    try:
        yield
    finally:
        dbapi_conn.text_factory = previous  # the pooled connection goes back to the fast strict decode
