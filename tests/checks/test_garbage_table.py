"""A CRM full of garbage is measured and stored like any other; undecodable text is a finding, not an abort.

The demo schema in SQLite, its 100,000 contacts holding random garbage: blobs and numbers in text
columns, text that is not UTF-8 (bytes cast to TEXT, as an old Latin-1 import leaves them), NUL
bytes, emoji, right-to-left overrides, dates in every format and out of range, megabyte strings.
The real engine (`run_checks`, with a history store) must complete the run, store it, and count
every live row. A text value that is not UTF-8 must reach the user as a finding on its record,
shown with U+FFFD, where sqlite3 alone stops the read.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from checks.config import parse_config
from checks.demo.schema import create_schema
from checks.engine import run_checks
from connectors.history import HistoryStore
from connectors.presets.demo import Demo

from .conftest import NOW, build_tiny_crm, tiny_config

CONTACTS = 100_000
JOSE_LATIN1 = "4a6f73e9"  # "José" in Latin-1: not UTF-8
TEXT_COLUMNS = ("first_name", "last_name", "email", "phone", "mobile", "street", "city", "state", "postal_code",
                "country", "title")
DATE_COLUMNS = ("created_at", "modified_at")

GARBAGE = [
    None, "", " ", "   ", "\t\n", "\u00a0", "Unknown", "N/A", "\x00", "Jane\x00Doe", "😀", "Jane 😀", "\u202eenaJ",
    "\u200f\u200e", "\ufeff", "GonÃ§alves", "MÃ¼ller", "'; DROP TABLE contacts; --", "asdf", "JANE", "jane",
    "jane@acme.com", "Jane.Doe@Acme.com", "john..doe@acme.com", "info@acme.com", "test@test.com", "x@mailinator.com",
    "jane@gmial.com", "@", "a@b", "+14155550132", "(415) 555-0132", "000-000-0000", "123-456-7890", "+",
    "US", "USA", "United States", "Narnia", "94103", "9410", "CA",
    0, 1, -1, 42, 2**63 - 1, -(2**63), 1.5, 1e308, -1e308, float("inf"), float("-inf"), True, False,
    b"", b"\x00", b"\xff", b"\xff\xfe\xfd", b"jane@acme.com", b"\xc3\xa9", b"\xc3", b"+14155550132",
    "2024-01-31", "31/01/2024", "01/31/2024", "Jan 31, 2024", "0000-00-00", "0000-00-00 00:00:00", "9999-12-31",
    "9999-12-31 23:59:59", "10000-01-01", "0001-01-01", "1677-09-21", "2262-04-12", "yesterday",
]
DATE_GARBAGE = [*GARBAGE, "2024-01-31 12:34:56", "2026-11-23 12:00:00", "2031-01-05 00:00:00", "2026-11-13 02:00:00",
                "2024-01-31T12:34:56Z", "2024-01-31 12:34:56.123456789", 1706700000, 1706700000.5]
MEGABYTE = ["a" * 1_000_000, "7" * 1_000_000, "é" * 500_000]


def _garbage(rng: random.Random, pool: list, row: int):
    """One value: from the pool, or made up for this row so that values are not all alike."""
    roll = rng.random()
    if roll < 0.15:
        return rng.randbytes(rng.randint(1, 8))  # a blob; a third of them become TEXT that is not UTF-8
    if roll < 0.25:
        return "".join(chr(rng.choice([rng.randint(32, 0x7e), rng.randint(0xa0, 0x2fff), rng.randint(0x1f300, 0x1faff)]))
                       for _ in range(rng.randint(1, 12)))
    if roll < 0.30:
        return f"person{row}@example{row % 97}.com"
    if roll < 0.35:
        return rng.randint(-(2**63), 2**63 - 1)
    return rng.choice(pool)


def build_garbage_crm(path: Path, seed: int = 11) -> tuple[Path, int]:
    """The demo schema in SQLite with 100,000 garbage contacts; (the file, how many contacts are live)."""
    engine = sa.create_engine(f"sqlite:///{path}")
    create_schema(engine)
    engine.dispose()
    rng = random.Random(seed)
    con = sqlite3.connect(path)
    users = [(i, _garbage(rng, GARBAGE, i), _garbage(rng, GARBAGE, i), _garbage(rng, GARBAGE, i), i % 2,
              _garbage(rng, DATE_GARBAGE, i), _garbage(rng, DATE_GARBAGE, i)) for i in range(1, 21)]
    con.executemany("INSERT INTO users (id, first_name, last_name, email, is_active, created_at, modified_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", users)
    accounts = [(i, _garbage(rng, GARBAGE, i), _garbage(rng, GARBAGE, i), _garbage(rng, GARBAGE, i), rng.randint(0, 25),
                 _garbage(rng, DATE_GARBAGE, i), _garbage(rng, DATE_GARBAGE, i), int(i % 10 == 0)) for i in range(1, 51)]
    con.executemany("INSERT INTO accounts (id, name, country, phone, owner_id, created_at, modified_at, deleted) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", accounts)
    leads = [(i, *(_garbage(rng, GARBAGE, i) for _ in range(5)), _garbage(rng, DATE_GARBAGE, i),
              _garbage(rng, DATE_GARBAGE, i)) for i in range(1, 51)]
    con.executemany("INSERT INTO leads (id, first_name, last_name, email, company, status, created_at, modified_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", leads)
    deals = [(i, _garbage(rng, GARBAGE, i), rng.randint(1, 50), rng.choice(["Closed Won", "Negotiation", None, b"\xff"]),
              _garbage(rng, GARBAGE, i), _garbage(rng, DATE_GARBAGE, i), _garbage(rng, DATE_GARBAGE, i))
             for i in range(1, 31)]
    con.executemany("INSERT INTO opportunities (id, name, account_id, stage, amount, close_date, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", deals)
    columns = (*TEXT_COLUMNS, *DATE_COLUMNS, "owner_id", "account_id", "deleted")
    rows = []
    for i in range(1, CONTACTS + 1):
        values = [_garbage(rng, GARBAGE, i) for _ in TEXT_COLUMNS]
        values += [_garbage(rng, DATE_GARBAGE, i) for _ in DATE_COLUMNS]
        values += [rng.choice([None, rng.randint(1, 25), "7", b"\x07", 1.0]), rng.choice([None, rng.randint(0, 60), "x"]),
                   int(i % 50 == 0)]
        rows.append((i, *values))
    for row, big in zip((101, 202, 303), MEGABYTE, strict=True):  # a few megabyte values, in name and street
        rows[row - 1] = (row, big, big, *rows[row - 1][3:6], big, *rows[row - 1][7:])
    con.executemany(f"INSERT INTO contacts (id, {', '.join(columns)}) VALUES ({', '.join('?' * (len(columns) + 1))})",
                    rows)
    # Blobs become TEXT holding their bytes, most of them not UTF-8: what sqlite3 cannot decode.
    for column in (*TEXT_COLUMNS, *DATE_COLUMNS):
        con.execute(f"UPDATE contacts SET {column} = CAST({column} AS TEXT) "  # noqa: S608 - our own column names
                    f"WHERE typeof({column}) = 'blob' AND id % 3 = 0")
    con.execute(f"UPDATE contacts SET last_name = CAST(x'{JOSE_LATIN1}' AS TEXT), first_name = 'Ana', deleted = 0 "
                "WHERE id = 1")
    con.execute("UPDATE contacts SET last_name = x'ffff', first_name = 'Ana', deleted = 0 WHERE id = 2")
    con.commit()
    live = con.execute("SELECT COUNT(*) FROM contacts WHERE NOT (deleted = 1)").fetchone()[0]
    con.close()
    return path, live


def garbage_config(db: Path, history: Path) -> dict:
    """The demo preset's mapping of the garbage CRM, with a history store of its own."""
    return {"name": "garbage", "source": {"url": f"sqlite:///{db}"}, "history": {"url": f"sqlite:///{history}"},
            "entities": Demo.entities, "references": [dict(r) for r in Demo.references]}


def contacts_only(db: Path, folder: Path):
    """The tiny CRM's config with its contacts alone (the other tables are empty)."""
    data = tiny_config(db, folder / "history.db")
    data["entities"] = {"contact": data["entities"]["contact"]}
    data["references"] = []
    return parse_config(data, folder)


@pytest.mark.slow
def test_a_table_of_garbage_is_measured_and_stored(tmp_path):
    db, live = build_garbage_crm(tmp_path / "crm.db")
    with pytest.raises(sqlite3.OperationalError, match="decode"):  # what a plain sqlite3 read does with it
        sqlite3.connect(db).execute("SELECT * FROM contacts").fetchall()
    cfg = parse_config(garbage_config(db, tmp_path / "history.db"), tmp_path)
    store = HistoryStore(cfg.history_url())

    outcome = run_checks(cfg, now=NOW, history=store)

    result = outcome.result
    assert result.rows_read["contact"] == live
    runs = store.runs.list("garbage")
    assert runs.status.tolist() == ["completed"]
    contact_results = result.check_results[result.check_results.entity == "contact"]
    assert len(contact_results) > 20
    assert (contact_results.applicable >= 0).all()
    # Every live row is counted once by the checks that look at every record.
    for check_id in ("completeness.record", "completeness.contactability"):
        assert contact_results.set_index("check_id").loc[check_id, "applicable"] == live
    stored = store.findings.of_run(outcome.run_id)
    assert len(stored) == len(result.findings)
    assert stored.value.dropna().map(type).eq(str).all()
    for key, shown in (("1", "Jos\ufffd"), ("2", "\ufffd\ufffd")):  # TEXT that is not UTF-8; a blob
        found = store.findings.of_record(outcome.run_id, "contact", key)
        undecodable = found[(found.check_id == "accuracy.mojibake") & (found.column_name == "last_name")]
        assert undecodable[["value", "reason"]].values.tolist() == [[shown, "not valid UTF-8 text"]]


def test_text_that_is_not_utf8_is_a_finding_not_an_abort(tmp_path):
    names = [{"id": 1, "first_name": "Ana", "last_name": "Lima", "email": "ana@acme.com", "phone": "+14155550132",
              "country": "US", "created_at": "2024-01-31", "modified_at": "2026-11-01"},
             {"id": 2, "first_name": "José", "last_name": "Silva", "email": "jose@acme.com", "phone": "+14155550133",
              "country": "US", "created_at": "2024-01-31", "modified_at": "2026-11-01"}]
    folder = tmp_path / "crm"
    folder.mkdir()
    db = build_tiny_crm(folder / "crm.db", {"contacts": names})
    con = sqlite3.connect(db)
    con.execute(f"UPDATE contacts SET first_name = CAST(x'{JOSE_LATIN1}' AS TEXT) WHERE id = 2")
    con.commit()
    con.close()

    outcome = run_checks(contacts_only(db, folder), now=NOW)

    findings = outcome.result.findings
    mine = findings[(findings.record_key == "2") & (findings.check_id == "accuracy.mojibake")]
    assert mine[["field", "value", "reason", "suggestion"]].values.tolist() == [
        ["first_name", "Jos\ufffd", "not valid UTF-8 text", "retype the text: its characters cannot be recovered"]]
    assert outcome.result.rows_read["contact"] == 2
    assert not ((findings.record_key == "1") & (findings.check_id == "accuracy.mojibake")).any()


def test_the_engine_reads_undecodable_text_in_every_column(tmp_path):
    rows = {"contacts": [{"id": i, "first_name": "Ana", "last_name": "Lima", "email": f"a{i}@acme.com"}
                         for i in range(1, 4)]}
    folder = tmp_path / "crm"
    folder.mkdir()
    db = build_tiny_crm(folder / "crm.db", rows)
    con = sqlite3.connect(db)
    con.execute("UPDATE contacts SET email = CAST(x'ff40fe2e636f6d' AS TEXT), phone = CAST(x'2b31c0' AS TEXT), "
                "country = CAST(x'55d3' AS TEXT), created_at = CAST(x'32303234ff' AS TEXT) WHERE id = 3")
    con.commit()
    con.close()
    findings = run_checks(contacts_only(db, folder), now=NOW).result.findings
    third = findings[findings.record_key == "3"]
    # Each undecodable value is a finding on its record, shown with U+FFFD where its bytes were.
    shown = {column: sorted(set(group.value)) for column, group in third.dropna(subset=["value"]).groupby("column_name")}
    assert shown == {"email": ["\ufffd@\ufffd.com"], "phone": ["+1\ufffd"], "country": ["U\ufffd"],
                     "created_at": ["2024\ufffd"]}
    assert set(third.check_id) >= {"accuracy.email_syntax", "accuracy.phone_placeholder", "consistency.country_iso",
                                   "accuracy.impossible_dates"}
