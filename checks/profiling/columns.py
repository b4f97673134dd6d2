"""A profile of each column of a table: fill rate, distinct values, top values, shapes, range, meaning.

Read from a sample of the table (its first `SAMPLE_ROWS` rows, through the read-only source) and
its row count. The meaning is what the values are, detected from their content with the same
definitions the checks use (email syntax, phone digits, country names and codes, dates), and
from the column's name where the content cannot tell (a picklist, an identifier, free text).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from checks.normalise import country_code
from checks.values import PLAIN_EMAIL_RE, is_missing, text, to_datetime

SAMPLE_ROWS = 20_000
TOP = 10
PICKLIST_MAX = 30  # distinct values a picklist may have
CONTENT_SHARE = 0.8  # share of the filled values that must look like a kind for the column to be that kind
_PHONE = re.compile(r"^\+?[0-9 ()./-]{6,24}$")
PERSONAL = ("email", "phone", "person name", "street")


@dataclass
class ColumnProfile:
    """What one column holds, from a sample."""

    column: str
    rows: int
    filled: int
    distinct: int
    top: list[tuple[str, int]]
    frequent: list[tuple[str, int]]  # up to twice PICKLIST_MAX values, most frequent first (picklists read them)
    shapes: list[tuple[str, int]]
    minimum: str | None
    maximum: str | None
    meaning: str
    numeric: bool = False
    dates: bool = False

    @property
    def fill_rate(self) -> float:
        """Share of the sampled rows holding a value (not NULL, blank or a null token)."""
        return self.filled / self.rows if self.rows else 0.0

    def as_dict(self) -> dict:
        """For JSON and the dashboard."""
        return {"column": self.column, "fill_rate": round(self.fill_rate, 4), "filled": self.filled,
                "rows": self.rows, "distinct": self.distinct, "top": self.top, "shapes": self.shapes,
                "min": self.minimum, "max": self.maximum, "meaning": self.meaning, "personal": is_personal(self)}


@dataclass
class TableProfile:
    """A table's row count and the profile of each of its columns."""

    table: str
    row_count: int
    sampled: int
    columns: dict[str, ColumnProfile] = field(default_factory=dict)


def shape(value: str) -> str:
    """The value's shape: letters as `A`/`a`, digits as `9`, runs of the same class kept once (`Aa 9`)."""
    out = []
    for ch in value[:40]:
        cls = "A" if ch.isupper() else "a" if ch.isalpha() else "9" if ch.isdigit() else ch
        if not out or out[-1] != cls or cls not in "Aa9":
            out.append(cls)
    return "".join(out)


def exact_shape(value: str) -> str:
    """The value's shape with every character kept (`A9-999`): what an identifier pattern is made of."""
    return "".join("A" if ch.isupper() else "a" if ch.isalpha() else "9" if ch.isdigit() else ch for ch in value[:40])


def profile_frame(table: str, frame: pd.DataFrame, row_count: int | None = None) -> TableProfile:
    """The profile of each column of a sample."""
    out = TableProfile(table, len(frame) if row_count is None else int(row_count), len(frame))
    for column in frame.columns:
        out.columns[column] = profile_column(column, frame[column])
    return out


def profile_column(name: str, series: pd.Series) -> ColumnProfile:
    """One column's profile from its sampled values."""
    missing = is_missing(series).to_numpy(dtype=bool)
    present = series[~missing]
    values = text(present)
    counts = Counter(values.to_numpy(dtype=object))
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    dates = pd.api.types.is_datetime64_any_dtype(series) or _look_like_dates(series, values)
    minimum = maximum = None
    if len(present) and numeric:
        minimum, maximum = f"{present.min():g}", f"{present.max():g}"
    elif len(present) and dates:
        stamps = to_datetime(present).dropna()
        if len(stamps):
            minimum, maximum = str(stamps.min()), str(stamps.max())
    shapes = Counter(shape(v) for v in values.to_numpy(dtype=object))
    common = counts.most_common(2 * PICKLIST_MAX)
    prof = ColumnProfile(name, len(series), int((~missing).sum()), len(counts), common[:TOP], common,
                         shapes.most_common(5), minimum, maximum, "empty", numeric, dates)
    prof.meaning = meaning(name, prof, values)
    return prof


def _look_like_dates(series: pd.Series, values: pd.Series) -> bool:
    if not len(values) or pd.api.types.is_numeric_dtype(series):
        return False
    sample = values.head(500)
    if not sample.str.contains(r"\d{4}|\d{1,2}[./-]\d{1,2}[./-]\d{2}", regex=True).all():
        return False
    return to_datetime(sample).notna().mean() >= 0.95


def meaning(name: str, prof: ColumnProfile, values: pd.Series) -> str:
    """What the column holds: email, phone, country, postal code, date, number, flag, picklist, identifier, person name, free text."""
    if not prof.filled:
        return "empty"
    sample = values.head(2000).to_numpy(dtype=object)
    share = lambda hits: hits / len(sample)  # noqa: E731
    if prof.dates:
        return "date"
    if share(sum(bool(PLAIN_EMAIL_RE.fullmatch(v.strip())) for v in sample)) >= CONTENT_SHARE:
        return "email"
    folded = {v.strip().lower() for v, _ in prof.top}
    if prof.distinct <= 3 and folded <= {"0", "1", "true", "false", "t", "f", "yes", "no", "y", "n", "0.0", "1.0"}:
        return "flag"
    if not prof.numeric and share(sum(bool(_PHONE.match(v.strip())) and 7 <= _digits(v) <= 15 for v in sample)) \
            >= CONTENT_SHARE and prof.distinct > PICKLIST_MAX:
        return "phone"
    distinct_values = list(dict.fromkeys(sample))[:500]
    if not prof.numeric and len(distinct_values) and sum(country_code(v) is not None for v in distinct_values) \
            / len(distinct_values) >= CONTENT_SHARE and prof.distinct <= 300:
        return "country"
    words = _name_words(name)
    if words & {"zip", "zipcode", "postal", "postalcode", "postcode", "plz", "postleitzahl", "codepostal", "cp",
                "codigopostal"}:
        return "postal code"
    if prof.numeric:
        return "identifier" if prof.distinct == prof.filled and prof.filled > PICKLIST_MAX and _is_key(words) \
            else "number"
    if words & {"firstname", "lastname", "first", "last", "surname", "vorname", "nachname", "prenom", "nom",
                "nombre", "apellido", "apellidos", "fullname"}:
        return "person name"
    if prof.distinct <= PICKLIST_MAX and prof.filled >= 3 * prof.distinct:
        return "picklist"
    shapes = Counter(exact_shape(v) for v in sample)
    if prof.distinct >= 0.95 * prof.filled and shapes.most_common(1)[0][1] >= 0.95 * len(sample) and \
            " " not in shapes.most_common(1)[0][0]:
        return "identifier"
    if words & {"street", "address", "strasse", "adresse", "rue", "calle", "direccion"}:
        return "street"
    return "free text"


def _digits(value: str) -> int:
    return sum(ch.isdigit() for ch in value)


def _is_key(words: set[str]) -> bool:
    return any(w == "id" or w.endswith("id") or w in ("key", "nr", "no", "number", "num") for w in words)


def _name_words(name: str) -> set[str]:
    """The column name's words and their run-together form: `PostalCode` → {postal, code, postalcode}."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name.removesuffix("__c").removesuffix("__C"))
    words = [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]
    return set(words) | {"".join(words)}


def is_personal(prof: ColumnProfile) -> bool:
    """Whether the column holds personal data (emails, phones, names of people, street addresses)."""
    return prof.meaning in PERSONAL

