"""What every part of the history store shares: its engine, reads into frames, and stored values.

Times are stored as naive UTC and JSON columns as sorted JSON, whichever part writes them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from connectors.errors import HistoryError


def utcnow() -> datetime:
    """Naive UTC now, as stored."""
    return datetime.now(UTC).replace(tzinfo=None)


def dumps(obj) -> str:
    """JSON for metrics columns."""
    return json.dumps(obj, default=str, sort_keys=True)


def short_error(exc: BaseException) -> str:
    """The first line of a driver error: enough to say why, without the SQL and the link."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class StorePart:
    """One part of the history store: the tables of one concern, read and written on the store's engine.

    Args:
        engine: The history store's engine (shared by all parts).
    """

    def __init__(self, engine: sa.Engine):
        self.engine = engine

    def _frame(self, query) -> pd.DataFrame:
        """The rows of a SELECT as a frame; a failed read is a HistoryError naming why."""
        try:
            with self.engine.connect() as conn:
                res = conn.execute(query)
                return pd.DataFrame(res.fetchall(), columns=list(res.keys()))
        except SQLAlchemyError as exc:
            raise HistoryError(f"history: read failed ({short_error(exc)})") from None
