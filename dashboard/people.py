"""People, not ids: owner names and teams from the CRM users each run read, for filters and tables.

The run keeps each CRM user's name and team (`store.owners`); a history without them (an older
run, a config that maps no `user`) shows the ids as they are. Nothing here imports streamlit.
"""

from __future__ import annotations

import pandas as pd

from checks.app.export import sort_key
from connectors.history import NO_OWNER


def labels(directory: pd.DataFrame) -> dict[str, str]:
    """Owner id → `Ann Smith (16)`; ids without a name are left out (shown as they are)."""
    named = directory[directory.name.notna()] if len(directory) else directory
    return {str(r.owner): f"{r.name} ({r.owner})" for r in named.itertuples()}


def label(owner, names: dict[str, str]) -> str:
    """How an owner is shown: their name and id, the id, or NO_OWNER."""
    if owner is None or (isinstance(owner, float) and pd.isna(owner)):
        return NO_OWNER
    return names.get(str(owner), str(owner))


def ordered(owners: list[str]) -> list[str]:
    """Owner ids for a picker: NO_OWNER first, then as numbers where they all are (2 before 10)."""
    named = pd.Series([o for o in owners if o != NO_OWNER], dtype=object)
    return [NO_OWNER] * (NO_OWNER in owners) + named.sort_values(key=sort_key, kind="stable").tolist()


def teams(directory: pd.DataFrame) -> list[str]:
    """The teams of the CRM users, sorted."""
    return sorted(directory.team.dropna().unique()) if len(directory) else []


def team_owners(directory: pd.DataFrame, team: str) -> tuple[str, ...]:
    """The owner ids of a team's users."""
    return tuple(str(o) for o in directory.loc[directory.team == team, "owner"])


def numbers_where_numeric(series: pd.Series) -> pd.Series:
    """Ids as numbers when they all are (a table then sorts 2 before 10), else unchanged."""
    key = sort_key(series)
    return key.astype("Int64") if key is not series else series
