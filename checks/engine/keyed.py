"""Reading a few records again by key (a fix package's, a cluster's), as the checks read them."""

from __future__ import annotations

import pandas as pd

from checks.engine.parallel import prepare_chunk
from connectors.mapping import KEY, EntityQuery, FieldColumn
from connectors.source import Source

KEYS_PER_READ = 500  # bound parameters per SELECT (well below every driver's limit)


def read_by_keys(source: Source, query: EntityQuery, fields: list[str],
                 keys: list[str]) -> tuple[pd.DataFrame, list[FieldColumn]]:
    """The live records with these keys (as text) and the mapped `fields`: prepared as a chunk, and their columns."""
    for_keys = query.keys_select(fields)
    _, cols = query.select(fields)
    typed = query.typed_keys(keys)
    frames = [source.read_frame(*for_keys(typed[i:i + KEYS_PER_READ])) for i in range(0, len(typed), KEYS_PER_READ)]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=[KEY, *(fc.label for fc in cols)]), cols
    return prepare_chunk(pd.concat(frames, ignore_index=True)), cols
