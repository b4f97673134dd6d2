"""Bad data never crashes a check: property tests over every registered check, on every entity it applies to.

Each mapped column holds an arbitrary mix of what a CRM and its driver can hand over: nulls, blanks,
1 MB strings, NUL bytes, emoji and right-to-left overrides, lone surrogates and undecodable text,
numbers and bytes where text is expected, booleans, dates as text in many formats (out of range
too) and datetime objects. For every frame, `evaluate` (and `chunk_keys` for entity checks) must
return; the applicable count must be a whole number of the values the check could look at; and
every failure must name a record, give a reason, and show a value that is text (or nothing) that
can be stored.

The frames are built both as the engine builds them (`frame_from_rows` + `prepare_chunk`: text as
Python objects) and as pandas infers them (its `str` dtype where a column holds only text).
`pytest -rP` prints how many frames each check was tried on.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.base import Check, Context, prepared_column
from checks.dimensions import all_checks
from checks.engine.parallel import prepare_chunk
from checks.fields import reset_memo
from connectors.mapping import KEY, FieldColumn
from connectors.source.database import frame_from_rows

from .conftest import NOW

EXAMPLES = 12  # frames per check and entity: the 118 pairs stay well within a minute on two cores
MAX_ROWS = 6
TRIED: Counter[str] = Counter()

# -- the values -----------------------------------------------------------------------------------
MEGABYTE = 1_000_000
HUGE = [
    "a" * MEGABYTE,
    "é" * (MEGABYTE // 2),
    "7" * MEGABYTE,
    "jane" + "." * MEGABYTE + "@acme.com",
    "x" * MEGABYTE + "@" + "y" * 100 + ".com",
    " " * MEGABYTE,
    "ÃƒÂ©" * (MEGABYTE // 8),
    "2024-01-31" + "0" * MEGABYTE,
]
NULLS = [None, math.nan, np.nan, pd.NA, pd.NaT, np.float64("nan")]
BLANKS = ["", " ", "   ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u200b", "Unknown", "-", "N/A", "null", "NULL"]
ODD_TEXT = [
    "\x00", "a\x00b", "jane\x00@acme.com", "+1 415\x00 555 0132", "\x00\x00\x00",
    "😀", "👨‍👩‍👧‍👦", "Jane 😀 Doe", "😀@😀.com", "\u202e", "\u202emoc.emca@enaj", "Doe\u202eenaJ", "\u200f\u200e",
    "\ufeffJane", "\ufffd", "Jos\ufffd", "GonÃ§alves", "MÃ¼ller", "Ã", "â€™", "\u0301\u0301", "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
    "\ud800", "\udfff", "ab\udcffcd", "\udce9t\udce9", "Ren\udcc3\udca9", "\ud83d\ude00", "jane\udcff@acme.com",
    "'; DROP TABLE contacts; --", "%s%s%n", "{0}", "<script>", "\\x00", "a\rb", "\x1b[31m", "\x7f", "\x1f",
]
PLAUSIBLE = [
    "jane@acme.com", "Jane.Doe@Acme.com", "john..doe@acme.com", "info@acme.com", "test@test.com",
    "jane@gmial.com", "x@mailinator.com", "a@b", "@", "@@", "a@", "@b.com", "jane@acme.com ", "<jane@acme.com>",
    "+14155550132", "(415) 555-0132", "000-000-0000", "123-456-7890", "+44 20 7946 0018", "089 4521 7730",
    "+", "++1", "ext 12", "x", "+999 1234", "+1415555013",
    "US", "us", "USA", "United States", "Deutschland", "GB", "Narnia", "XX", "ZZ",
    "Jane", "JANE", "jane", "Doe", "asdf", "Test", "McDonald", "O'Brien", "Johnson", "Emily",
    "Acme Inc.", "ACME LLC", "New  York", " Smith", "94103", "9410", "1016 AB", "SW1A 1AA", "CA", "NY",
    "New", "Working", "Closed Won", "true", "false", "yes", "no", "1", "0", "t", "f", "1.0",
    "42", "0042", "-1", "1e3", "3.14", "NaN", "inf", "-inf", "Infinity",
]
DATE_TEXT = [
    "2024-01-31", "2024-01-31 12:34:56", "2024-01-31T12:34:56Z", "2024-01-31T12:34:56.123456+05:30",
    "2024-01-31 12:34:56.123", "31/01/2024", "01/31/2024", "31.01.2024", "2024/01/31", "31-Jan-2024",
    "Jan 31, 2024", "31 January 2024", "Wednesday, January 31, 2024", "20240131", "1706700000", "2024-W05-3",
    "2024-02-30", "2024-13-01", "2024-00-10", "24:61:61", "0000-00-00", "0000-00-00 00:00:00", "0000-01-01",
    "0001-01-01", "1677-09-21", "1677-09-20", "2262-04-11", "2262-04-12", "9999-12-31", "9999-12-31 23:59:59",
    "10000-01-01", "-0001-01-01", "1900-01-01", "1970-01-01", "2099-12-31", "2031-01-05", "yesterday", "now",
    "2026-11-23 12:00:00", "2024-01-31 25:00:00", "T", "Z",
]
DATETIMES = [
    datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999), datetime(2024, 1, 31, 12, 0),
    datetime(2026, 11, 23, 12, 0), datetime(2031, 1, 5), datetime(1970, 1, 1), datetime(1677, 9, 21),
    datetime(2024, 1, 31, tzinfo=UTC), datetime(2024, 1, 31, tzinfo=timezone(timedelta(hours=-11))),
    date(2024, 1, 31), date(1, 1, 1), date(9999, 12, 31), time(12, 30), timedelta(days=3),
    pd.Timestamp("2024-01-31"), pd.Timestamp.min, pd.Timestamp.max, pd.Timestamp("2024-01-31", tz="Europe/Paris"),
    np.datetime64("2024-01-31"), np.datetime64("NaT"), np.datetime64("9999-12-31"),
]
NUMBERS = [
    0, 1, -1, 42, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 10**30, -(10**30), 2**128,
    0.0, -0.0, 1.5, 42.0, 1e308, -1e308, 5e-324, math.inf, -math.inf, math.nan,
    np.int64(7), np.float32(2.5), np.uint64(2**64 - 1), Decimal("1.10"), Decimal("NaN"),
]
BYTES = [b"", b"\x00", b"\xff", b"\xff\xfe", b"\xc3\xa9", b"\xc3", b"jane@acme.com", b"+14155550132", b"US",
         b"Jane", b"\x80abc", bytearray(b"Doe"), memoryview(b"\xe2\x82"), b"a" * 1000]
BOOLEANS = [True, False, np.bool_(True), np.bool_(False)]

ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=24)  # lone surrogates included
GLUED = st.builds(lambda a, b, c: f"{a}@{b}.{c}", ANY_TEXT, ANY_TEXT, st.sampled_from(["com", "co.uk", "c", ""]))
KINDS = [
    st.sampled_from(NULLS),
    st.sampled_from(BLANKS),
    st.sampled_from(ODD_TEXT),
    st.sampled_from(PLAUSIBLE),
    st.sampled_from(DATE_TEXT),
    st.sampled_from(DATETIMES),
    st.sampled_from(NUMBERS),
    st.integers(-(2**128), 2**128),  # a driver hands over at most a DECIMAL as an int
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(BYTES),
    st.binary(max_size=16),
    st.sampled_from(BOOLEANS),
    ANY_TEXT,
    GLUED,
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
    st.sampled_from(HUGE),
]
VALUE = st.one_of(KINDS)


# -- which columns each check reads ---------------------------------------------------------------
PERSON_FIELDS = ("first_name", "last_name", "email", "phone", "country", "state", "postal_code", "city", "street",
                 "title", "company", "status", "converted", "account_id", "owner_id", "created_at", "modified_at")
UNIVERSE = {
    "contact": PERSON_FIELDS, "lead": PERSON_FIELDS, "user": ("first_name", "last_name", "email", "phone", "active"),
    "account": ("name", "website", "phone", "country", "state", "postal_code", "city", "street", "owner_id",
                "created_at", "modified_at"),
    "opportunity": ("name", "amount", "close_date", "is_won", "is_closed", "account_id", "owner_id", "created_at",
                    "modified_at"),
}
TWO_COLUMNS = {"phone": ("phone", "mobile")}  # a field read from a list of columns


def mapped_fields(check: Check, entity: str) -> list[str]:
    """The fields mapped for the check: those it reads, or the entity's whole set for checks that read any."""
    own = [*check.fields, *check.extra_fields, *check.entity_fields]
    if not check.fields:
        own += UNIVERSE[entity]
    return list(dict.fromkeys(own))


def labels_of(fields: list[str]) -> dict[str, list[FieldColumn]]:
    """Frame labels per field, `field:column` where a field reads several columns (as the engine names them)."""
    columns: dict[str, list[FieldColumn]] = {}
    for field in fields:
        for column in TWO_COLUMNS.get(field, (field,)):
            label = f"{field}:{column}" if field in TWO_COLUMNS else field
            columns.setdefault(field, []).append(FieldColumn(field, label, label, column))
    return columns


def pairs() -> list:
    """Every registered check on every entity it applies to."""
    out = []
    for check_id, cls in sorted(all_checks().items()):
        for entity in cls.entities:
            check = cls()
            if check.applies_to(entity, mapped_fields(check, entity)):
                out.append(pytest.param(check_id, entity, id=f"{check_id}@{entity}"))
    return out


# -- the frames -------------------------------------------------------------------------------------
def driver_frame(keys: list, data: dict[str, list]) -> pd.DataFrame:
    """As the engine reads a chunk: driver rows typed by `frame_from_rows`, then `prepare_chunk`.

    A column no single driver column could hold (naive and time-zoned datetimes mixed) stops
    `frame_from_rows` itself; the checks then get the values as they came, as Python objects.
    """
    names = [KEY, *data]
    rows = list(zip(keys, *data.values(), strict=True))
    try:
        frame = frame_from_rows(rows, names)
    except ValueError:
        columns = zip(names, zip(*rows, strict=True), strict=True)
        frame = pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in columns})
    return prepare_chunk(frame)


def inferred_frame(keys: list, data: dict[str, list]) -> pd.DataFrame:
    """As pandas infers a frame from lists (its `str` dtype for text; objects where it cannot store a value)."""
    columns = {}
    for label, values in {KEY: [str(k) for k in keys], **data}.items():
        try:
            columns[label] = pd.Series(values)
        except (TypeError, ValueError, OverflowError, UnicodeError):
            columns[label] = pd.Series(values, dtype=object)
    return pd.DataFrame(columns)


@st.composite
def bad_frames(draw, columns: dict[str, list[FieldColumn]]) -> tuple[pd.DataFrame, str]:
    """A frame whose mapped columns hold arbitrary mixes of bad values, and how it was built."""
    rows = draw(st.integers(1, MAX_ROWS))
    # A few shared values per frame, so that duplicates, repeated timestamps and distinct-value work happen.
    pool = draw(st.lists(VALUE, min_size=1, max_size=4))
    mixed = st.one_of(VALUE, st.sampled_from(pool))
    # A column holds a mix of everything, or one kind only (all numbers, all bytes, all dates …),
    # which pandas and the drivers type differently (int64, bool, datetime64 columns).
    column = st.one_of(st.lists(mixed, min_size=rows, max_size=rows),
                       st.sampled_from(KINDS).flatmap(lambda kind: st.lists(kind, min_size=rows, max_size=rows)))
    data = {fc.label: draw(column) for fcs in columns.values() for fc in fcs}
    keys = draw(st.sampled_from([list(range(1, rows + 1)), [str(k) for k in range(1, rows + 1)],
                                 [f"00Q{k:012d}" for k in range(rows)]]))
    how = draw(st.sampled_from(["driver", "inferred"]))
    return (driver_frame if how == "driver" else inferred_frame)(keys, data), how


def context(check: Check, entity: str, columns: dict[str, list[FieldColumn]], frame: pd.DataFrame) -> Context:
    """What the engine hands a check: the mapping, its parameters and the look-ups it declared."""
    keys = set(frame[KEY].astype(str))
    present = [f for f in ("first_name", "email", "phone", "owner_id", "created_at") if f in columns]
    params = {"_required": present or list(columns)[:2],
              "_references": [(f, target) for f, target in (("account_id", "account"), ("owner_id", "user"))
                              if f in columns]}
    shared = {
        "live_keys": lambda target: set(list(keys)[:2]) | {"42"},
        "inactive_users": lambda: {"1", "42", "00Q000000000001"},
        "contact_emails": lambda: {"jane@acme.com": "7", "x@mailinator.com": "8"},
        "aggregates": {entity: {"rows": len(frame), "newest": "2026-10-01 00:00:00",
                                "buckets": {"< 30 days": 1, "> 2 years": len(frame) - 1}}},
        "decisions": {},
        "table_shape": lambda target: {"columns": {c: "TEXT" for c in frame.columns if c != KEY}, "rows": len(frame)},
        # a previous run whose table differed: a column since removed, many more rows
        "previous": {"consistency.schema_change": {entity: {"columns": {"gone": "TEXT"}, "rows": 1000}}},
    }
    return Context(entity, NOW, columns, params, shared)


def assert_sound(check: Check, frame: pd.DataFrame, ctx: Context) -> None:
    """Evaluate as the engine does and check what comes back."""
    frame = frame.copy()
    reset_memo()
    try:
        if type(check).chunk_keys is not Check.chunk_keys:
            keys = check.chunk_keys(frame, ctx)
            assert isinstance(keys, pd.Series) and len(keys) == len(frame)
            frame[prepared_column(check)] = pd.Series(keys.to_numpy(dtype=object), index=frame.index, dtype=object)
        outcome = check.evaluate(frame, ctx)
    finally:
        reset_memo()
    values_read = len(frame) * max(1, sum(len(fcs) for fcs in ctx.columns.values()))
    if not check.reads_records:  # a check of the table itself counts its facts: its columns and its rows
        values_read += len(frame.columns) + 1
    assert int(outcome.applicable) == outcome.applicable, f"applicable is not a count: {outcome.applicable!r}"
    assert 0 <= outcome.applicable <= values_read
    fails = outcome.failures
    assert len(fails) <= values_read
    if not len(fails):
        return
    keys = set(frame[KEY].astype(str))
    for row in fails.to_dict("records"):
        # A missing value in a column of text is pandas' NaN: it is stored as NULL, like None.
        row = {name: None if not isinstance(v, str) and v is not None and pd.isna(v) else v for name, v in row.items()}
        key, reason, value, suggestion = row["record_key"], row["reason"], row["value"], row.get("suggestion")
        assert key is not None and (str(key) in keys or str(key).startswith("(table ")), row
        assert isinstance(reason, str) and reason.strip(), row
        assert value is None or isinstance(value, str), row
        assert suggestion is None or isinstance(suggestion, str), row
        for text in (reason, value, suggestion):
            if text is not None:
                text.encode("utf-8")  # storable: no lone surrogates reach the history


@pytest.mark.parametrize(("check_id", "entity"), pairs())
def test_bad_data_never_crashes_a_check(check_id, entity):
    check = all_checks()[check_id]()
    columns = labels_of(mapped_fields(check, entity))
    tried: Counter[str] = Counter()

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(bad_frames(columns))
    def run(built):
        frame, how = built
        tried[how] += 1
        assert_sound(check, frame, context(check, entity, columns, frame))

    run()
    TRIED[check_id] += sum(tried.values())
    print(f"{check_id}@{entity}: {sum(tried.values())} frames ({dict(tried)}); {TRIED[check_id]} for the check")
    assert sum(tried.values()) >= EXAMPLES


def test_every_registered_check_is_tried():
    tried = {p.values[0] for p in pairs()}
    assert tried == set(all_checks())
