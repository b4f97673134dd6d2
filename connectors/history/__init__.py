"""The history store: runs, their results, findings, duplicate clusters and steward decisions."""

from connectors.history.findings import NO_OWNER, FindingFilter
from connectors.history.heartbeats import Heartbeat
from connectors.history.locks import LockInfo
from connectors.history.part import dumps, utcnow
from connectors.history.store import HistoryStore

__all__ = ["NO_OWNER", "FindingFilter", "Heartbeat", "HistoryStore", "LockInfo", "dumps", "utcnow"]
