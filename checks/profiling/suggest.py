"""Rules a profile suggests: picklists, identifier patterns, ranges, required and expected fields.

What the data itself says it should be, for the team to accept or drop (`init` writes them as
active rules marked `suggested: true`):

- a low-cardinality text column is a picklist of its frequent values; a rare value that is a
  near-miss of a frequent one (another case or spacing, one typo) is drift, left out of the list so
  that it is reported with the frequent value as its fix;
- an identifier-like text column whose values share one shape gets that shape as its pattern;
- numbers that are never negative must stay so; dates stay after 1990 (or their oldest year) and
  creation or modification dates are never in the future;
- a field filled in at least 99% of the records is required, one filled in at least 90% expected.
"""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd

from checks.conditions import near_miss
from checks.profiling.columns import ColumnProfile, TableProfile, exact_shape

REQUIRED_FILL = 0.99
EXPECTED_FILL = 0.90
DRIFT_SHARE = 0.02  # a value this rare among the filled ones may be drift of a frequent one
PATTERN_SHARE = 0.98
# Fields the built-in checks judge already: no suggested rule repeats them.
JUDGED = {"email", "phone", "country", "postal_code", "state", "owner_id", "account_id", "is_won", "is_closed",
          "active", "converted", "first_name", "last_name", "name", "company", "street", "city", "title",
          "website"}
FUTURE_NEVER = {"created_at", "modified_at"}


def picklist(prof: ColumnProfile) -> tuple[list[str], dict[str, str]] | None:
    """(allowed values, drift value → its fix) of a picklist column, or None if it is not one."""
    if prof.meaning != "picklist" or not prof.frequent:
        return None
    rare_below = max(2, DRIFT_SHARE * prof.filled)
    frequent = [v for v, n in prof.frequent if n > rare_below]
    if not frequent:
        return None
    drift = {}
    for value, n in prof.frequent:
        if n <= rare_below and (fix := near_miss(value, frequent)):
            drift[value] = fix
    allowed = [v for v, _ in prof.frequent if v not in drift]
    return allowed, drift


def shape_pattern(values: list[str]) -> str | None:
    """A regular expression of the one shape `values` share (`[A-Z]{2}-[0-9]{4}`), or None."""
    shapes = Counter(exact_shape(v) for v in values)
    top, count = shapes.most_common(1)[0] if shapes else ("", 0)
    if not top or count < PATTERN_SHARE * len(values):
        return None
    classes = {"A": "[A-Z]", "a": "[a-z]", "9": "[0-9]"}
    parts = []
    for run in re.finditer(r"(.)\1*", top):
        ch, n = run.group(1), len(run.group(0))
        piece = classes.get(ch, re.escape(ch))
        parts.append(piece if n == 1 else f"{piece}{{{n}}}")
    return "".join(parts)


def suggest(entity: str, mapped: dict[str, str], profile: TableProfile, samples: pd.DataFrame) -> dict:
    """Suggested rules, required and expected fields for an entity whose fields map to `profile`'s columns."""
    rules, required, expected = [], [], []
    for field, column in mapped.items():
        prof = profile.columns.get(column)
        if prof is None or not prof.filled:
            continue
        if prof.fill_rate >= REQUIRED_FILL:
            required.append(field)
        elif prof.fill_rate >= EXPECTED_FILL:
            expected.append(field)
        if field in JUDGED:
            continue
        base = {"suggested": True}
        if (listed := picklist(prof)) is not None:
            allowed, drift = listed
            said = f"; drift seen: {', '.join(sorted(drift))}" if drift else ""
            rules.append({"id": f"{entity}_{field}_values", "kind": "allowed_values", "field": field,
                          "values": allowed, "description": f"{field} is one of its {len(allowed)} values{said}",
                          **base})
        elif prof.meaning == "identifier" and not prof.numeric:
            values = [v for v in samples[column].dropna().astype(str) if v.strip()]
            if (pattern := shape_pattern(values)) is not None:
                rules.append({"id": f"{entity}_{field}_pattern", "kind": "pattern", "field": field, "regex": pattern,
                              "description": f"{field} has the shape of its values", **base})
        elif prof.meaning == "number" and prof.minimum is not None and float(prof.minimum) >= 0:
            rules.append({"id": f"{entity}_{field}_range", "kind": "range", "field": field, "min": 0,
                          "description": f"{field} is not negative", **base})
        elif prof.meaning == "date" and prof.minimum is not None:
            oldest = pd.Timestamp(prof.minimum)
            low = "1990-01-01" if oldest.year >= 1990 else f"{oldest.year}-01-01"
            rule = {"id": f"{entity}_{field}_range", "kind": "range", "field": field, "min": low,
                    "description": f"{field} is a plausible date", **base}
            if field in FUTURE_NEVER:
                rule["max"] = "now + 1 day"
            rules.append(rule)
    return {"rules": rules, "required": required, "expected": expected}
