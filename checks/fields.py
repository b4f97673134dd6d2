"""Per-chunk views of canonical fields that several checks share, computed once per chunk."""

from __future__ import annotations

import numpy as np
import pandas as pd

from checks import values as V
from checks.base import Context
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


def usable(frame: pd.DataFrame, fc: FieldColumn) -> pd.Series:
    """Values that are present (not null, blank or a null token)."""
    return memo(frame, f"usable:{fc.label}", lambda: ~V.is_missing(frame[fc.label]))


def countries(frame: pd.DataFrame, ctx: Context) -> pd.Series:
    """Each record's country as an ISO code (None when unknown), for phone and postal rules."""
    cols = ctx.cols("country")
    if not cols:
        return pd.Series(None, index=frame.index, dtype=object)
    return memo(frame, "countries", lambda: V.country_codes(frame[cols[0].label]))


def email_view(frame: pd.DataFrame, fc: FieldColumn) -> pd.DataFrame:
    """present, syntax_ok, placeholder, local (without +tag) and domain columns for an email field."""

    def compute():
        values = frame[fc.label]
        present = usable(frame, fc)
        syntax = np.zeros(len(frame), dtype=bool)
        if present.any():
            syntax[present.to_numpy()] = V.email_syntax_valid(values[present]).to_numpy(dtype=bool)
        syntax = pd.Series(syntax, index=frame.index)
        local, domain = V.email_parts(values)
        placeholder = present & syntax & (local.isin(V.PLACEHOLDER_LOCALS) | domain.isin(V.PLACEHOLDER_DOMAINS))
        return pd.DataFrame({"present": present, "syntax_ok": syntax, "placeholder": placeholder,
                             "local": local, "domain": domain})

    return memo(frame, f"email:{fc.label}", compute)


def phone_view(frame: pd.DataFrame, fc: FieldColumn, ctx: Context) -> pd.DataFrame:
    """present, placeholder, valid, problem, e164, region for a phone column."""

    def compute():
        values = frame[fc.label]
        present = usable(frame, fc)
        placeholder = present & V.is_placeholder_phone(values)
        checkable = present & ~placeholder
        info = pd.DataFrame({"valid": False, "problem": None, "e164": None, "region": None}, index=frame.index)
        if checkable.any():
            info.loc[checkable] = V.phone_info(V.text(values[checkable]), countries(frame, ctx)[checkable]).to_numpy()
        info["valid"] = info["valid"].astype(bool)
        info["present"], info["placeholder"] = present, placeholder
        return info

    return memo(frame, f"phone:{fc.label}", compute)


def name_view(frame: pd.DataFrame, fc: FieldColumn) -> pd.DataFrame:
    """present, junk, real (present and not junk) for a name column."""

    def compute():
        present = usable(frame, fc)
        junk = present & V.is_junk_name(frame[fc.label])
        return pd.DataFrame({"present": present, "junk": junk, "real": present & ~junk})

    return memo(frame, f"name:{fc.label}", compute)


def dates(frame: pd.DataFrame, ctx: Context, name: str) -> pd.Series | None:
    """A date field parsed to naive UTC (None when unmapped)."""
    cols = ctx.cols(name)
    if not cols:
        return None
    return memo(frame, f"date:{name}", lambda: V.to_datetime(frame[cols[0].label]))


def truthy(series: pd.Series) -> pd.Series:
    """1/true/'Yes'/'t' as True."""
    return series.astype(str).str.strip().str.lower().isin({"1", "true", "t", "yes", "y", "1.0"})
