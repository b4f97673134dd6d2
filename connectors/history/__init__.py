"""The history store: runs, their results, findings, duplicate clusters and steward decisions."""

from connectors.history.store import HistoryStore, dumps, utcnow

__all__ = ["HistoryStore", "dumps", "utcnow"]
