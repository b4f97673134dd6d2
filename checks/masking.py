"""Personal data masked by one function, wherever a value is shown or exported to someone not entitled to it.

`mask(field, value)` is that function: emails keep their first letter and domain
(`j•••@acme.com`), phones their country code and last four digits (`+1 ••• ••• 0132`), names become
initials (`J. D.`), streets and other personal text keep nothing but their first letter. Fields
that hold no personal data (countries, dates, amounts, ids) are returned as they are. The
dashboard masks for viewers, the CLI's exports with `--mask`, and the history store never keeps the
raw values of the fields a config lists under `history.mask_fields`.
"""

from __future__ import annotations

import re

import pandas as pd
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

DOT = "•••"
# Canonical fields whose values identify a person (a company's name, city or country does not).
PERSONAL_FIELDS = frozenset({"first_name", "last_name", "email", "phone", "street", "title"})
_DIGIT = re.compile(r"\d")


def mask_email(value: str) -> str:
    """`jane.doe@acme.com` → `j•••@acme.com`; text without an @ keeps its first letter only."""
    local, at, domain = value.strip().rpartition("@")
    if not at:
        return mask_text(value)
    return f"{local[:1]}{DOT}@{domain}"


def mask_phone(value: str) -> str:
    """`+1 415 555 0132` → `+1 ••• ••• 0132`: the country code (when written) and the last four digits."""
    digits = "".join(_DIGIT.findall(value))
    if len(digits) < 5:
        return DOT
    head = ""
    if value.lstrip().startswith("+"):  # calling codes are prefix-free: the first one that exists
        code = next((digits[:n] for n in (1, 2, 3) if int(digits[:n]) in COUNTRY_CODE_TO_REGION_CODE), None)
        head = f"+{code} " if code else ""
    return f"{head}{DOT} {DOT} {digits[-4:]}"


def mask_name(value: str) -> str:
    """`Jane Doe` → `J. D.`: each word's initial."""
    words = [w for w in re.split(r"[\s\-]+", value.strip()) if w]
    return " ".join(f"{w[0].upper()}." for w in words) or DOT


def mask_text(value: str) -> str:
    """Any other personal text: its first character, then dots."""
    text = value.strip()
    return f"{text[:1]}{DOT}" if text else text


_BY_FIELD = {"email": mask_email, "phone": mask_phone, "first_name": mask_name, "last_name": mask_name}


def mask(field: str | None, value):
    """The value as someone not entitled to personal data may see it (as is for non-personal fields)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return value
    if not isinstance(field, str) or field.partition(":")[0] not in PERSONAL_FIELDS:  # None, or NaN read back
        return value
    text = value if isinstance(value, str) else str(value)
    return _BY_FIELD.get(field.partition(":")[0], mask_text)(text)


def mask_columns(frame: pd.DataFrame, fields: dict[str, str]) -> pd.DataFrame:
    """A copy of `frame` with each column in `fields` (column → canonical field) masked."""
    out = frame.copy()
    for column, field in fields.items():
        if column in out:
            out[column] = [mask(field, v) for v in out[column].to_numpy(dtype=object)]
    return out


def mask_findings(frame: pd.DataFrame, only: set[str] | None = None) -> pd.DataFrame:
    """Findings (or a worklist) with `value` and `suggestion` masked by each row's `field`.

    A suggestion is masked when it carries personal data (an address, a number, or a word of the
    value), not when it is an instruction such as "re-enter the number". `only` limits masking to
    those canonical fields (the config's `history.mask_fields`).
    """
    if not len(frame) or "field" not in frame:
        return frame
    out = frame.copy()
    fields = out["field"].to_numpy(dtype=object)
    values = out["value"].to_numpy(dtype=object) if "value" in out else [None] * len(out)

    def wanted(field) -> bool:
        return only is None or (isinstance(field, str) and field.partition(":")[0] in only)

    if "suggestion" in out:
        out["suggestion"] = [mask(f, s) if wanted(f) and carries_personal_data(s, v) else s
                             for f, s, v in zip(fields, out["suggestion"].to_numpy(dtype=object), values,
                                                strict=True)]
    if "value" in out:
        out["value"] = [mask(f, v) if wanted(f) else v for f, v in zip(fields, values, strict=True)]
    return out


_WORD = re.compile(r"[^\W_]{2,}")


def carries_personal_data(suggestion, value) -> bool:
    """Whether a suggested fix repeats personal data: an address, a phone-like number, or a word of the value."""
    if not isinstance(suggestion, str) or not suggestion:
        return False
    if "@" in suggestion or len(_DIGIT.findall(suggestion)) >= 5:
        return True
    words = {w.casefold() for w in _WORD.findall(value)} if isinstance(value, str) else set()
    return bool(words & {w.casefold() for w in _WORD.findall(suggestion)})
