"""A SQLite read that meets text that is not valid UTF-8 goes on with replacement characters, once per row."""

from __future__ import annotations

import sqlite3

from connectors.source import open_source


def test_a_read_meeting_undecodable_text_yields_every_row_once_in_order(tmp_path):
    db = tmp_path / "crm.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY, last_name TEXT)")
    con.executemany("INSERT INTO contacts VALUES (?, ?)", [(i, f"name{i}") for i in range(1, 11)])
    con.execute("UPDATE contacts SET last_name = CAST(X'4dfc6c6c6572' AS TEXT) WHERE id = 7")  # Müller in Latin-1
    con.commit()
    con.close()
    source = open_source(f"sqlite:///{db}")
    try:
        chunks = list(source.stream("SELECT id, last_name FROM contacts ORDER BY id", chunk_size=3))
        rows = [row for chunk in chunks for row in chunk.itertuples(index=False)]
        assert [r.id for r in rows] == list(range(1, 11))  # rows 1-6 came before the bad one: not again
        assert rows[6].last_name == "M\ufffdller"
        assert rows[7].last_name == "name8"
        # The pooled connection decodes strictly (and fast) again afterwards.
        assert source.read_frame("SELECT last_name FROM contacts WHERE id = 8").iloc[0, 0] == "name8"
        assert source.read_frame("SELECT last_name FROM contacts WHERE id = 7").iloc[0, 0] == "M\ufffdller"
    finally:
        source.close()
