"""The demo CRM laid out as a real CRM holds it: `Shaped`, and the frame helpers every layout uses.

A preset's `demo_shape` turns the demo's tables (entity → frame, from `checks.demo.build_tables`)
into that CRM's tables, and says what reading them back through the preset must give: the live
(not soft-deleted) row count per entity, and each contact's primary email.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa

# The order the shapes build their tables in (users first: everything else points at them).
ENTITIES = ("user", "account", "contact", "lead", "opportunity")


@dataclass
class Shaped:
    """Tables in one CRM's layout, and what reading them through the preset must give."""

    shape: str
    spelling: str
    frames: dict[str, pd.DataFrame]
    keys: dict[str, str]
    types: dict[str, dict[str, sa.types.TypeEngine]] = field(default_factory=dict)
    live_counts: dict[str, int] = field(default_factory=dict)
    contact_emails: dict[str, str | None] = field(default_factory=dict)
    entity_tables: dict[str, str] = field(default_factory=dict)


def live(frame: pd.DataFrame) -> pd.Series:
    """True for the rows that are not soft-deleted (every row, where the frame has no `deleted` flag)."""
    return frame["deleted"] == 0 if "deleted" in frame else pd.Series(True, index=frame.index)


def value(v):
    """None for a missing value (pandas 3 gives NaN in text columns), else the value."""
    return None if v is None or (not isinstance(v, str) and pd.isna(v)) else v


def int_ids(frame: pd.DataFrame, column: str = "id") -> pd.Series:
    """Integer ids (owner_id and the like hold floats or objects where some are missing)."""
    return pd.to_numeric(frame[column], errors="coerce").astype("Int64")


def live_counts(tables: dict[str, pd.DataFrame]) -> dict[str, int]:
    """Live rows per entity."""
    return {e: int(live(t).sum()) for e, t in tables.items()}


def live_emails(contacts: pd.DataFrame, key) -> dict[str, str | None]:
    """Each live contact's email, by the key `key(demo id)` the shape gives the contact."""
    kept = live(contacts)
    return {key(k): value(e) for k, e in zip(contacts.loc[kept, "id"], contacts.loc[kept, "email"], strict=True)}
