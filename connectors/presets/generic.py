"""Any other CRM: the demo's plain names, kept where the schema has them, as a start to edit."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from connectors.presets.base import Preset
from connectors.presets.demo import Demo
from connectors.presets.shaping import Shaped
from connectors.source import Source


class Generic(Preset, name="generic"):
    """The fallback: recognises every schema, and guesses it names things as the demo does."""

    # Last: it answers for any schema, so every real CRM must be asked first.
    priority = 1_000
    entities = Demo.entities
    references = Demo.references

    def detect(self, source: Source) -> str | None:
        """Always an empty spelling: whatever no other preset recognises is generic."""
        return ""

    def demo_shape(self, tables: dict[str, pd.DataFrame], spelling: str = "", synced: datetime | None = None,
                   schema: sa.MetaData | None = None) -> Shaped:
        """A home-made CRM: the demo's tables without `accounts`, so that no known CRM matches it."""
        demo = Demo().demo_shape(tables, spelling, synced, schema)
        dropped = demo.entity_tables["account"]
        return dataclasses.replace(
            demo, shape=self.name,
            frames={n: f for n, f in demo.frames.items() if n != dropped},
            keys={n: k for n, k in demo.keys.items() if n != dropped},
            types={n: t for n, t in demo.types.items() if n != dropped},
            live_counts={e: n for e, n in demo.live_counts.items() if e != "account"},
            entity_tables={e: n for e, n in demo.entity_tables.items() if e != "account"})
