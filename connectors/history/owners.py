"""Owners: who each owner id of a run's findings is (name, team), so pages and exports show people."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from connectors.history import schema
from connectors.history.part import StorePart

COLUMNS = ["owner", "name", "team", "active"]


class Owners(StorePart):
    """Reads the CRM users a run stored with its results."""

    def of_run(self, run_id: int) -> pd.DataFrame:
        """owner, name, team, active of the run's CRM users (empty when the config maps no `user`)."""
        t = schema.owners
        frame = self._frame(sa.select(t.c.owner, t.c.name, t.c.team, t.c.active).where(t.c.run_id == run_id)
                            .order_by(t.c.owner))
        return frame.reindex(columns=COLUMNS)
