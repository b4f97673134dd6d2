"""Per-chunk views of canonical fields that several checks share, computed once per chunk."""

from __future__ import annotations

import numpy as np
import pandas as pd

from checks import values as value_checks
from checks.base import Context
from checks.values import truthy  # noqa: F401 - the checks read flags through their field views
from connectors.mapping import FieldColumn

_MEMO: dict[tuple[int, str], object] = {}


def reset_memo() -> None:
    """Forget per-chunk values; the engine calls it before each chunk."""
    _MEMO.clear()


def memo(frame: pd.DataFrame, key: str, compute):
    """Compute a per-chunk value once (several checks read the same parsed phones and emails).

    Kept outside the frame: values stored in `DataFrame.attrs` are deep-copied by every pandas
    operation on it.
    """
    k = (id(frame), key)
    if k not in _MEMO:
        _MEMO[k] = compute()
    return _MEMO[k]


def distinct(frame: pd.DataFrame, fc: FieldColumn) -> tuple[np.ndarray, pd.Series]:
    """A column's row codes and distinct values (as text), for checks that work per distinct value."""

    def compute():
        codes, uniques = value_checks.distinct(frame[fc.label])
        return codes, value_checks.text(uniques)

    return memo(frame, f"distinct:{fc.label}", compute)


def per_distinct(frame: pd.DataFrame, fc: FieldColumn, name: str, vectorised, fill=None) -> pd.Series:
    """`vectorised(distinct values)` spread onto the chunk's rows, computed once per chunk."""

    def compute():
        codes, values = distinct(frame, fc)
        return value_checks.spread(codes, vectorised(values), fill, frame.index)

    return memo(frame, f"{name}:{fc.label}", compute)


def shown(frame: pd.DataFrame, fc: FieldColumn, rows: pd.Series) -> pd.Series:
    """A column's values on `rows` (the failing ones) as a finding shows them: valid Unicode text or None.

    Whatever the driver returned (numbers, bytes, undecodable text) is written as text here, so a
    finding can always be stored and displayed; only the failing rows are converted.
    """
    return value_checks.text(frame.loc[rows.to_numpy(dtype=bool), fc.label])


def usable(frame: pd.DataFrame, fc: FieldColumn) -> pd.Series:
    """Values that are present (not null, blank or a null token)."""
    column = frame[fc.label]
    if not value_checks.holds_text(column):  # numbers, timestamps: only a null is missing
        return memo(frame, f"usable:{fc.label}", column.notna)
    return ~per_distinct(frame, fc, "missing", value_checks.missing_values, fill=True)


def filled_field(frame: pd.DataFrame, ctx: Context, name: str) -> pd.Series:
    """Records holding a usable value of field `name` in any of its columns (computed once per chunk)."""
    return memo(frame, f"filled:{name}",
                lambda: pd.concat([usable(frame, fc) for fc in ctx.cols(name)], axis=1).any(axis=1))


def garbled(frame: pd.DataFrame, fc: FieldColumn) -> pd.Series:
    """Text garbled by a wrong encoding (see `values.garbled`)."""
    return per_distinct(frame, fc, "garbled", value_checks.garbled, fill=False)


def not_utf8(frame: pd.DataFrame, fc: FieldColumn) -> pd.Series:
    """Text holding bytes that were not valid UTF-8 (see `values.undecodable`)."""
    return per_distinct(frame, fc, "undecodable", value_checks.undecodable, fill=False)


def countries(frame: pd.DataFrame, ctx: Context) -> pd.Series:
    """Each record's country as an ISO code (None when unknown), for phone and postal rules."""
    cols = ctx.cols("country")
    if not cols:
        return pd.Series(None, index=frame.index, dtype=object)
    return memo(frame, "countries", lambda: value_checks.country_codes(frame[cols[0].label]))


def email_view(frame: pd.DataFrame, fc: FieldColumn) -> pd.DataFrame:
    """present, syntax_ok, placeholder, local (without +tag) and domain columns for an email field."""

    def compute():
        values = value_checks.text(frame[fc.label])  # a number or a blob in an email column is just invalid
        present = usable(frame, fc)
        syntax = np.zeros(len(frame), dtype=bool)
        if present.any():
            syntax[present.to_numpy()] = value_checks.email_syntax_valid(values[present]).to_numpy(dtype=bool)
        syntax = pd.Series(syntax, index=frame.index)
        local, domain = value_checks.email_parts(values)
        placeholder = present & syntax & value_checks.is_placeholder_email(values, (local, domain))
        return pd.DataFrame({"present": present, "syntax_ok": syntax, "placeholder": placeholder,
                             "local": local, "domain": domain})

    return memo(frame, f"email:{fc.label}", compute)


def phone_view(frame: pd.DataFrame, fc: FieldColumn, ctx: Context) -> pd.DataFrame:
    """present, placeholder, valid, problem, e164, region for a phone column."""

    def compute():
        present = usable(frame, fc)
        placeholder = present & per_distinct(frame, fc, "placeholder", value_checks.placeholder_phones, fill=False)
        checkable = (present & ~placeholder).to_numpy()
        info = value_checks.phone_info(value_checks.text(frame.loc[checkable, fc.label]), countries(frame, ctx)[checkable])
        view = info.reindex(frame.index)  # rows not checked: not valid, nothing known
        view["valid"] = view["valid"].fillna(False).astype(bool)
        for name in value_checks.PHONE_INFO[1:]:
            view[name] = view[name].astype(object).where(view[name].notna(), None)
        view["present"], view["placeholder"] = present, placeholder
        return view

    return memo(frame, f"phone:{fc.label}", compute)


def name_view(frame: pd.DataFrame, fc: FieldColumn) -> pd.DataFrame:
    """present, junk, real (present and not junk) for a name column."""

    def compute():
        present = usable(frame, fc)
        junk = present & per_distinct(frame, fc, "junk", value_checks.junk_names, fill=False)
        return pd.DataFrame({"present": present, "junk": junk, "real": present & ~junk})

    return memo(frame, f"name:{fc.label}", compute)


def dates(frame: pd.DataFrame, ctx: Context, name: str) -> pd.Series | None:
    """A date field parsed to naive UTC (None when unmapped)."""
    cols = ctx.cols(name)
    if not cols:
        return None
    return memo(frame, f"date:{name}", lambda: value_checks.to_datetime(frame[cols[0].label]))

