"""What a person is shown of personal data: every value on a page or in an export passes through here.

A record's values are masked by `checks.masking` (the one masking function) unless the role rules
(`dashboard.access.sees_unmasked`) let the person see that record: by its entity and its owner.
Nothing here imports streamlit.
"""

from __future__ import annotations

import pandas as pd

from checks.masking import mask, mask_findings
from dashboard.access import Person, sees_all_unmasked, sees_unmasked


def owner_text(value) -> str | None:
    """An owner id as findings store it: `16`, not `16.0`; None when missing."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _hidden_rows(person: Person | None, frame: pd.DataFrame, entity: str | None, owner) -> list[bool]:
    """Per row: True when `person` may not see that row's record unmasked."""
    entities = frame["entity"].tolist() if "entity" in frame else [entity] * len(frame)
    owners = frame["owner"].tolist() if "owner" in frame else [owner] * len(frame)
    return [not sees_unmasked(person, e, owner_text(o)) for e, o in zip(entities, owners, strict=True)]


def findings(person: Person | None, frame: pd.DataFrame, entity: str | None = None, owner=None,
             values: tuple[str, ...] = ("value", "suggestion")) -> pd.DataFrame:
    """Findings with their `values` columns masked on the rows whose record `person` may not see.

    The record of a row is read from its `entity` and `owner` columns, or given as `entity` and
    `owner` when the frame is about one record. Each of `values` is masked by the row's `field`
    as a finding's value is (a comparison has a value before and after).
    """
    if not len(frame) or sees_all_unmasked(person):
        return frame
    hidden = _hidden_rows(person, frame, entity, owner)
    if not any(hidden):
        return frame
    if "field" not in frame:  # masks go by field: without one there is nothing to mask by
        return frame
    out = frame.copy()
    own = [c for c in ("value", "suggestion") if c in values and c in frame]
    # A suggestion is masked when it repeats the value, so the value goes in with it.
    read = ["field", *[c for c in ("value", "suggestion") if c in frame]]
    masked = {c: m for c, m in mask_findings(frame[read]).items() if c in own} if own else {}
    for column in (c for c in values if c in frame and c not in own):  # another column (a value before): a value
        masked[column] = mask_findings(frame[["field"]].assign(value=frame[column]))["value"]
    for column, mask_of in masked.items():
        out[column] = [m if h else v for h, m, v in zip(hidden, mask_of, out[column], strict=True)]
    return out


def worklist(person: Person | None, frame: pd.DataFrame) -> pd.DataFrame:
    """A worklist (an export's rows) with `current_value` and `suggested_fix` masked where `person` may not see."""
    named = {"current_value": "value", "suggested_fix": "suggestion"}
    shown = findings(person, frame.rename(columns=named))
    return shown.rename(columns={v: k for k, v in named.items()})


def record_values(person: Person | None, entity: str, owner, table: pd.DataFrame) -> pd.DataFrame:
    """One record's current values (columns `field`, `value`), masked by field unless `person` may see it."""
    if sees_unmasked(person, entity, owner_text(owner)):
        return table
    return mask_findings(table)


def record_owners(records: pd.DataFrame) -> dict[str, str | None]:
    """Record key → owner id, from the `owner_id` column of source records (empty when not mapped)."""
    if "owner_id" not in records:
        return {}
    return {str(k): owner_text(v) for k, v in records["owner_id"].items()}


def side_by_side(person: Person | None, entity: str, table: pd.DataFrame,
                 owners: dict[str, str | None]) -> pd.DataFrame:
    """Records as columns (fields as rows): each column masked unless `person` may see that record."""
    out = table.copy()
    for key in out.columns:
        if not sees_unmasked(person, entity, owners.get(str(key))):
            out[key] = [mask(field, value) for field, value in zip(out.index, out[key], strict=True)]
    return out


def merge_plan(person: Person | None, entity: str, plan: pd.DataFrame,
               owners: dict[str, str | None]) -> pd.DataFrame:
    """A merge plan (field, keep_value, from_key) with the kept value masked unless `person` may see its record."""
    if plan.empty or "keep_value" not in plan:
        return plan
    out = plan.copy()
    keys = out["from_key"].tolist() if "from_key" in out else [None] * len(out)
    out["keep_value"] = [
        value if sees_unmasked(person, entity, owners.get(str(key))) else mask(field, value)
        for field, value, key in zip(out["field"], out["keep_value"], keys, strict=True)]
    return out
