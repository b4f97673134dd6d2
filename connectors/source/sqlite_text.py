"""Text from a SQLite CRM that is not valid UTF-8 is read with replacement characters, never an abort.

SQLite stores whatever bytes it is given in a TEXT column, and Python's sqlite3 decodes every
text value as strict UTF-8: one value written in Latin-1 by an old import stops the whole read
with "Could not decode to UTF-8 column …". Connections of a SQLite source decode with
replacement instead, so such a value arrives with U+FFFD where its undecodable bytes were, and
the checks report it on its record (accuracy.mojibake: "not valid UTF-8 text").
"""

from __future__ import annotations

import functools

# `str(raw, encoding=…, errors=…)` runs in C: a Python function here would slow every text value read.
decode_text = functools.partial(str, encoding="utf-8", errors="replace")


def decode_with_replacement(dbapi_conn, _record) -> None:
    """On connect: have the SQLite connection decode text as UTF-8 with replacement characters."""
    dbapi_conn.text_factory = decode_text
