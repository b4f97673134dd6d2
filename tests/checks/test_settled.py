"""Settled-pass predicates are sound: no value they settle fails the Python rule they stand for.

Each predicate is evaluated here with Python's `re` (as SQLite's match function evaluates it) on
generated values around the edge of each rule, and compared with the rule itself.
"""

from __future__ import annotations

import random
import re

import pandas as pd

from checks.phones import check_phone
from checks.settled import filled_text, iso_country, plain_email, valid_nanp_e164
from checks.values import email_syntax_valid, is_iso_country, missing_values, placeholder_phones
from connectors.source.predicates import AtMost, Lacks, Matches, NotMatches


def holds(parts: tuple, value) -> bool:
    """The predicate parts on one value, with the semantics every dialect renders."""
    for part in parts:
        if value is None:
            return False
        if isinstance(part, Matches) and not re.fullmatch(f"^({part.pattern})$", value, re.DOTALL):
            return False
        if isinstance(part, NotMatches) and re.fullmatch(f"^({part.pattern})$", value, re.DOTALL):
            return False
        if isinstance(part, Lacks) and any(f in value for f in part.fragments):
            return False
        if isinstance(part, AtMost) and len(value) > part.length:
            return False
    return True


def _mutations(rng: random.Random, seeds: list[str], alphabet: str, n: int) -> list[str]:
    out = list(seeds)
    for _ in range(n):
        v = list(rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            op = rng.random()
            pos = rng.randrange(len(v) + 1)
            if op < 0.4:
                v.insert(pos, rng.choice(alphabet))
            elif op < 0.7 and v:
                del v[min(pos, len(v) - 1)]
            elif v:
                v[min(pos, len(v) - 1)] = rng.choice(alphabet)
        out.append("".join(v))
    return out


def test_plain_email_settles_only_addresses_email_validator_accepts():
    rng = random.Random(7)
    seeds = ["john.doe@acme.com", "a+b@x.co.uk", "j_d%x@mail-host.io", "x@y.de", "first.last@sub.domain.org",
             "a@b.test", "a@b.LOCAL", "a@host.internal", "a@1.2.3.4", "jürgen@x.de", "a@" + "b" * 63 + ".com"]
    values = _mutations(rng, seeds, "ab.@-_+%1 \t\nZü", 20_000)
    settled = [v for v in values if holds(plain_email("e"), v)]
    assert email_syntax_valid(pd.Series(settled, dtype=object)).all()
    assert len(settled) > 2_000 and "john.doe@acme.com" in settled


def test_no_special_use_domain_is_a_common_or_two_letter_top_level_domain():
    from checks.settled import _COMMON_TLDS
    from checks.values import SPECIAL_TLDS

    assert not any(t.lstrip(".").lower() in _COMMON_TLDS or len(t.lstrip(".")) == 2 for t in SPECIAL_TLDS)


def test_filled_text_settles_only_values_that_are_not_missing():
    rng = random.Random(11)
    seeds = ["Smith", "unknown", "N/A", "tbd", "none", "-", "nan", "#n/a", "not available", "O'Brien", "van der Berg"]
    values = _mutations(rng, seeds, "aAnN/ -.#\t\x1c\u00a0Ü", 20_000)
    settled = [v for v in values if holds(filled_text("v"), v)]
    assert not missing_values(pd.Series(settled, dtype=object)).any()
    assert not any(v.strip().lower() in {"nan"} for v in settled)  # pandas reads NaN as a missing number
    assert len(settled) > 2_000 and "Smith" in settled and "Unknown" not in settled


def test_iso_country_settles_exactly_the_codes():
    values = ["US", "us", "Us", "GB", "UK", "XX", "DE ", " DE", "FR", "ZZ", "EU", "USA"]
    settled = {v for v in values if holds(iso_country("c"), v)}
    assert settled == {v for v in values if len(v) == 2 and is_iso_country(v)} == {"US", "GB", "FR"}


def test_valid_nanp_e164_settles_only_valid_numbers_that_are_no_placeholders():
    rng = random.Random(5)
    values = [f"+1{rng.randint(0, 10**10 - 1):010d}" for _ in range(30_000)]
    values += ["+12345678901", "+15555555555", "+12125550000", "+11234567890", "+14155550132", "+18005550100",
               "+12687654321", "+1415555013", "+141555501320", "+1 415 555 0132", " +14155550132", "+1415555O132"]
    settled = [v for v in values if holds(valid_nanp_e164("p"), v)]
    placeholder = placeholder_phones(pd.Series(settled, dtype=object))
    assert not placeholder.any()
    assert all(check_phone(v, None)[0] and check_phone(v, "DE")[0] for v in settled)  # whatever the country
    assert "+12345678901" not in settled and "+15555555555" not in settled
    valid = [v for v in values if check_phone(v, None)[0] and not placeholder_phones(pd.Series([v], dtype=object))[0]]
    assert len(settled) > 0.8 * len(valid)  # it settles most valid numbers (other NANP regions go to Python)


def test_not_before_and_in_keys_settle_in_duckdb_as_pandas_reads_the_values():
    from datetime import UTC, datetime

    import duckdb
    import pyarrow as pa

    from connectors.source.predicates import All, InKeys, NotBefore, flag

    bound = datetime(2022, 6, 2)
    naive = [datetime(2022, 6, 2), datetime(2022, 6, 1, 23, 59, 59, 999999), datetime(2024, 5, 31),
             datetime(2199, 12, 31), datetime(2250, 1, 1), None]
    aware = [d.replace(tzinfo=UTC) if d else None for d in naive]
    table = pa.table({"naive": naive, "aware": pa.array(aware, pa.timestamp("us", tz="UTC")),
                      "text": [d.isoformat() if d else None for d in naive],
                      "key": ["1", "2", " 1", None, "9", "1"], "num": pa.array([1, 2, None, 3, 9, 1], pa.int64())})
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("q", table)
    con.register("live", pa.table({"k": ["1", "2", "3"]}))

    def settled(predicate) -> list[bool]:
        return [bool(v) for (v,) in con.execute(f"SELECT {flag(All((predicate,)), 'duckdb')} FROM q").fetchall()]

    expected = [True, False, True, True, False, False]  # from the bound on, before 2200
    assert settled(NotBefore("naive", bound)) == expected
    assert settled(NotBefore("aware", bound)) == expected
    assert settled(NotBefore("text", bound)) == [False] * 6  # text is left to pandas' reading
    keys = frozenset({"1", "2", "3"})
    assert settled(InKeys("key", "live", keys)) == [True, True, False, False, False, True]
    assert settled(InKeys("num", "live", keys)) == [True, True, False, True, False, True]


def test_email_key_sql_is_the_duplicate_key_python_computes():
    import duckdb
    import pyarrow as pa

    from checks.settled import email_key_sql
    from checks.values import email_keys
    from connectors.source.predicates import All, render

    rng = random.Random(3)
    seeds = ["John.Smith@Gmail.com", "johnsmith@googlemail.com", "j.o.h.n+tag@gmail.com", "info@acme.com",
             "test@acme.com", "x@x.com", "acme@acme.com", "a.b@acme.co.uk", "no.email@gmail.com", "Sales@X.io",
             "jane+news@acme.com", "ab@example.com", "q@test.com.au"]
    values = _mutations(rng, seeds, "aJ.+@-_x", 10_000)
    parts, steps = email_key_sql("e")
    con = duckdb.connect()
    con.register("q", pa.table({"e": values, "n": range(len(values))}))
    relation = f"(SELECT q.* FROM q WHERE {render(All(parts), 'duckdb')}) q"
    for name, expression in steps:
        relation = f"(SELECT q.*, {expression} AS {name} FROM {relation}) q"
    rows = con.execute(f"SELECT e, {steps[-1][0]} FROM {relation} ORDER BY n").fetchall()
    plain = [v for v, _ in rows]
    python = email_keys(pd.Series(plain, dtype=object)).tolist()
    assert [k for _, k in rows] == python
    assert len(rows) > 2_000 and any(k is None for k in python) and len(set(python)) < len(python)
