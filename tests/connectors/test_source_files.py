"""CSV and XLSX exports as a source: HubSpot-shaped headers, every value kept as text."""

from __future__ import annotations

import pandas as pd
import pytest

from connectors.errors import SourceError
from connectors.mapping import KEY, EntityQuery
from connectors.source import WriteRefusedError, open_source

HEADER = ["Record ID", "First Name", "Last Name", "Email", "Phone Number", "Postal Code", "Country/Region",
          "State/Region", "Create Date"]
ROWS = [
    ["51000000001", "Anna", "Schmidt", "anna@example.de", "+49 30 1234567", "01067", "Germany", "", "2024-01-05 13:22"],
    ["51000000002", "Joe", "Bloggs", "", "0044 20 7946 0000", "02134", "United States", "MA", "2023-12-31 09:00"],
    ["51000000003", "Zoë", "Ång", "zoe@example.se", "", "00100", "Sweden", "", ""],
]


def write_csv(path):
    frame = pd.DataFrame(ROWS, columns=HEADER)
    frame.to_csv(path, index=False, encoding="utf-8-sig")
    return frame


def check_source(source, table):
    assert source.columns(table) == HEADER
    frame = source.read_frame(f"SELECT * FROM {source.quote(table)} ORDER BY {source.quote('Record ID')}")
    assert list(frame["Postal Code"]) == ["01067", "02134", "00100"]  # leading zeros kept
    assert list(frame["Record ID"]) == ["51000000001", "51000000002", "51000000003"]  # not numbers
    assert list(frame["Phone Number"])[:2] == ["+49 30 1234567", "0044 20 7946 0000"]
    assert pd.isna(frame["Email"][1])  # an empty cell is NULL, as in a database
    assert frame["First Name"][2] == "Zoë"
    assert list(frame["Country/Region"]) == ["Germany", "United States", "Sweden"]


def test_csv_folder_keeps_text_and_odd_headers(tmp_path):
    write_csv(tmp_path / "Contacts Export.csv")
    source = open_source(f"csv:///{tmp_path}")
    assert source.tables() == ["contacts_export"]
    check_source(source, "contacts_export")


def test_csv_single_file(tmp_path):
    write_csv(tmp_path / "contacts.csv")
    source = open_source(f"csv:///{tmp_path / 'contacts.csv'}")
    check_source(source, "contacts")


def test_xlsx_sheets_keep_text(tmp_path):
    path = tmp_path / "export.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame(ROWS, columns=HEADER).to_excel(writer, sheet_name="Contacts", index=False)
        pd.DataFrame({"Record ID": ["9"], "Company name": ["ACME"]}).to_excel(writer, sheet_name="Companies", index=False)
    source = open_source(f"xlsx:///{path}")
    assert sorted(source.tables()) == ["companies", "contacts"]
    check_source(source, "contacts")


def test_mapping_reads_columns_with_spaces_and_slashes(tmp_path):
    from checks.config import parse_config

    write_csv(tmp_path / "contacts.csv")
    url = f"csv:///{tmp_path}"
    cfg = parse_config({"source": {"url": url}, "entities": {"contact": {
        "table": "contacts", "key": "Record ID",
        "fields": {"postal_code": "Postal Code", "country": "Country/Region", "phone": ["Phone Number"]}}}})
    source = open_source(url)
    sql, _ = EntityQuery(source, "contact", cfg.entities["contact"]).select(["postal_code", "country", "phone"])
    frame = source.read_frame(sql)
    assert list(frame[KEY]) == ["51000000001", "51000000002", "51000000003"]
    assert list(frame["postal_code"]) == ["01067", "02134", "00100"]


def test_file_source_is_read_only(tmp_path):
    write_csv(tmp_path / "contacts.csv")
    source = open_source(f"csv:///{tmp_path}")
    with pytest.raises(WriteRefusedError):
        source.scalar("DELETE FROM contacts")
    raw = source.engine.raw_connection()
    with pytest.raises(Exception, match="readonly|read-only|query_only"):
        raw.cursor().execute("DELETE FROM contacts")
    assert source.scalar("SELECT COUNT(*) FROM contacts") == 3


@pytest.mark.parametrize(("setup", "url", "message"), [
    (lambda d: None, "csv:///{d}/nowhere", "not found; check the path"),
    (lambda d: None, "csv:///{d}", "no .csv files in"),
    (lambda d: (d / "empty.csv").write_bytes(b""), "csv:///{d}", "empty.csv is empty"),
    (lambda d: (d / "latin.csv").write_bytes("Name\nM\xfcller\n".encode("latin-1")), "csv:///{d}", "save it as UTF-8 CSV"),
    (lambda d: (d / "book.xlsx").write_text("not a workbook"), "xlsx:///{d}/book.xlsx", "save it as an Excel .xlsx"),
    (lambda d: None, "xlsx:///{d}", "is a folder"),
])
def test_bad_exports_give_one_line_messages(tmp_path, setup, url, message):
    setup(tmp_path)
    with pytest.raises(SourceError) as caught:
        open_source(url.format(d=tmp_path))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value) and str(caught.value).startswith("source.url: ")
