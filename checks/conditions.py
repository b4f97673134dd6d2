"""The small declarative forms of the team's rules: `when:` conditions and range bounds.

A rule's `when` (`{stage: Closed Won}`, `{amount: {above: 0}}`, `{country: [US, CA]}`) and its
bounds (`0`, `2020-01-01`, `now - 10 years`) are read here, once, for the config's validation and
for the rule's evaluation alike, so a condition means the same wherever it is read. Text is
compared as the CRM users read it: case and surrounding or repeated spaces ignored. The same forms
compile to SQL predicates for the push-down engine (`dimensions.rules._certainly_holds`), which
state only where Python would certainly agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from checks.values import distinct, is_missing, spread, text, to_datetime, truthy

_RELATIVE = re.compile(r"^\s*(now|today)\s*(?:([+-])\s*(\d+)\s*(year|month|week|day|hour)s?)?\s*$", re.I)
TEST_KEYS = ("not", "filled", "above", "below", "min", "max")
ORDERED_TESTS = ("above", "below", "min", "max")


@dataclass(frozen=True)
class Bound:
    """A range bound: a number, a timestamp, or an offset from the run's time (`now - 10 years`)."""

    number: float | None = None
    when: pd.Timestamp | None = None
    relative: tuple[str, int, str] | None = None  # (anchor, signed amount, unit)

    @property
    def is_date(self) -> bool:
        """Whether the bound compares dates (else numbers)."""
        return self.number is None

    def at(self, now: datetime) -> float | pd.Timestamp:
        """The bound's value for a run at `now` (naive UTC)."""
        if self.number is not None:
            return self.number
        if self.when is not None:
            return self.when
        anchor, amount, unit = self.relative
        base = pd.Timestamp(now)
        if anchor == "today":
            base = base.normalize()
        offset = pd.DateOffset(**{f"{unit}s": amount})
        return base + offset


def parse_bound(value: Any) -> Bound:
    """A bound from the config; raises ValueError saying what is accepted."""
    if isinstance(value, bool):
        raise ValueError("a bound is a number, a date or `now - N days|weeks|months|years`, not true/false")
    if isinstance(value, (int, float)):
        return Bound(number=float(value))
    if isinstance(value, (date, datetime)):
        return Bound(when=pd.Timestamp(value).tz_localize(None) if pd.Timestamp(value).tzinfo else pd.Timestamp(value))
    if isinstance(value, str):
        if m := _RELATIVE.match(value):
            anchor, sign, amount, unit = m.groups()
            signed = 0 if amount is None else int(amount) * (-1 if sign == "-" else 1)
            return Bound(relative=(anchor.lower(), signed, (unit or "day").lower()))
        try:
            return Bound(number=float(value))
        except ValueError:
            pass
        stamp = pd.to_datetime(value, errors="coerce", utc=True)
        if not pd.isna(stamp):
            return Bound(when=stamp.tz_localize(None))
    raise ValueError(f"{value!r} is not a number, a date or `now - N days|weeks|months|years`")


def normal_text(series: pd.Series) -> pd.Series:
    """Values as compared by rules: text, case folded, spaces trimmed and collapsed (None when missing)."""
    codes, uniques = distinct(series)  # once per distinct value: picklists and stages repeat a lot
    folded = [None if v is None else " ".join(v.split()).casefold() for v in text(uniques).to_numpy(dtype=object)]
    return spread(codes, folded, None, series.index)


def normal_value(value: Any) -> str:
    """One config value as `normal_text` reads the CRM's (true/false as the CRM's 1/0 flags read)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return " ".join(str(value).split()).casefold()


def when_problems(when: dict[str, Any] | None, mapped: list[str], where: str) -> list[str]:
    """What is wrong with a `when` condition, each `<where>.when.<field>: problem; fix`."""
    problems = []
    for name, test in (when or {}).items():
        key = f"{where}.when.{name}"
        if name not in mapped:
            problems.append(f"{key}: field {name!r} is not mapped on this entity; map it under fields or "
                            "custom_fields, or drop the condition")
        if isinstance(test, dict):
            unknown = [k for k in test if k not in TEST_KEYS]
            if unknown or not test:
                problems.append(f"{key}: {', '.join(map(repr, unknown)) or 'an empty test'} is not a test; "
                                f"use a value, a list of values, or one of {', '.join(TEST_KEYS)}")
            for k in ORDERED_TESTS:
                if k in test:
                    try:
                        parse_bound(test[k])
                    except ValueError as exc:
                        problems.append(f"{key}.{k}: {exc}")
            if "filled" in test and not isinstance(test["filled"], bool):
                problems.append(f"{key}.filled: give true or false")
        elif test is None:
            problems.append(f"{key}: no value; give a value, a list of values or {{filled: false}}")
    return problems


def when_mask(frame: pd.DataFrame, labels: dict[str, str], when: dict[str, Any] | None,
              now: datetime) -> pd.Series:
    """True for the records `when` selects; `labels` gives each field's frame column."""
    mask = pd.Series(True, index=frame.index)
    for name, test in (when or {}).items():
        mask &= _holds(frame[labels[name]], test, now)
    return mask


def _holds(series: pd.Series, test: Any, now: datetime) -> pd.Series:
    if isinstance(test, list):
        return normal_text(series).isin({normal_value(v) for v in test})
    if not isinstance(test, dict):
        return _equals(series, test)
    out = pd.Series(True, index=series.index)
    if "not" in test:
        excluded = test["not"] if isinstance(test["not"], list) else [test["not"]]
        out &= ~normal_text(series).isin({normal_value(v) for v in excluded}) | is_missing(series)
    if "filled" in test:
        out &= ~is_missing(series) if test["filled"] else is_missing(series)
    ordered = [k for k in ORDERED_TESTS if k in test]
    if ordered:
        bounds = {k: parse_bound(test[k]) for k in ordered}
        values = compared_values(series, any(b.is_date for b in bounds.values()))
        for k, bound in bounds.items():
            out &= within(values, k, bound.at(now))
    return out


def _equals(series: pd.Series, value: Any) -> pd.Series:
    if isinstance(value, bool):  # a flag: the CRM's 1/'true'/'yes' read as true
        flags = truthy(series)
        return (flags if value else ~flags & ~is_missing(series)).astype(bool)
    return normal_text(series) == normal_value(value)


def compared_values(series: pd.Series, as_dates: bool) -> pd.Series:
    """The values as numbers or as naive-UTC timestamps (NaN/NaT where they read as neither)."""
    if as_dates:
        return to_datetime(series)
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.astype(float)
    return pd.to_numeric(text(series).str.strip(), errors="coerce")


def within(values: pd.Series, test: str, bound) -> pd.Series:
    """`values` against a bound by the name of the test (NaN/NaT: false)."""
    ops = {"above": np.greater, "below": np.less, "min": np.greater_equal, "max": np.less_equal}
    result = ops[test](values, bound)
    return pd.Series(np.asarray(result, dtype=bool), index=values.index) & values.notna()


def near_miss(value: str, candidates) -> str | None:
    """The candidate `value` stands for: another case or spacing of it, or one typo away (two in a longer word).

    A typo is a letter wrong, missing, added or two swapped (optimal string alignment); the
    allowed values of a rule and the frequent values of a profiled picklist are read alike.
    """
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    by_fold = {normal_value(c): c for c in candidates}
    folded = normal_value(value)
    if folded in by_fold:
        return by_fold[folded] if by_fold[folded] != value else None
    allowed = 1 if len(folded) <= 6 else 2
    best = process.extractOne(folded, list(by_fold), scorer=OSA.distance, score_cutoff=allowed)
    return by_fold[best[0]] if best else None
