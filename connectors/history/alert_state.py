"""Alert state: per source and rule, whether it fires and since when, claimed before a message is sent.

Several processes (a scheduler, `cleancrm run` from cron, a watchdog) evaluate the same rules; a
state change is claimed with a conditional UPDATE (or the primary key, for a rule's first state)
so that exactly one of them sends the message. A claim whose message went nowhere is undone, so
the next evaluation tries again.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from connectors.history import schema
from connectors.history.part import StorePart


class AlertState(StorePart):
    """Reads, claims and un-claims the firing state of alert rules."""

    def state(self, source_name: str) -> pd.DataFrame:
        """The alert state rows of a source (rule, firing, since, last_value)."""
        alerts = schema.alert_state
        return self._frame(sa.select(alerts).where(alerts.c.source_name == source_name).order_by(alerts.c.rule))

    def claim(self, source_name: str, rule: str, firing: bool, value: float | None,
              now: datetime) -> tuple[bool, tuple | None]:
        """Record the rule's state; True when this call moved it (and so must send the message).

        Returns the claim flag and the previous (firing, since) to undo a claim with.
        """
        alerts = schema.alert_state
        key = (alerts.c.source_name == source_name) & (alerts.c.rule == rule)
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(alerts.c.firing, alerts.c.since).where(key)).first()
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(alerts.insert().values(source_name=source_name, rule=rule, firing=int(firing),
                                                            since=now, last_value=value))
                except IntegrityError:
                    return False, None  # another process recorded it first
                return firing, None  # a first "not firing" needs no message
            if bool(row.firing) == firing:
                conn.execute(alerts.update().where(key).values(last_value=value))
                return False, None
            res = conn.execute(alerts.update().where(key & (alerts.c.firing == row.firing))
                               .values(firing=int(firing), since=now, last_value=value))
            return res.rowcount == 1, (row.firing, row.since)

    def unclaim(self, source_name: str, rule: str, previous: tuple | None) -> None:
        """Undo a claim whose message no channel delivered: back to the previous (firing, since), or no row."""
        alerts = schema.alert_state
        key = (alerts.c.source_name == source_name) & (alerts.c.rule == rule)
        with self.engine.begin() as conn:
            if previous is None:
                conn.execute(alerts.delete().where(key))
            else:
                conn.execute(alerts.update().where(key).values(firing=previous[0], since=previous[1]))
