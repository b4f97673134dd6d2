"""One run at a time per source: a lock row in the history store, with an expiry.

The lock is taken with an INSERT that the primary key makes atomic across processes and hosts
sharing the history store; a lock whose holder died is taken over once it has expired.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from checks.errors import RunLockedError
from connectors import history_schema as hs
from connectors.history import HistoryStore, utcnow

DEFAULT_TTL = timedelta(hours=2)


def holder_id() -> str:
    """`host:pid` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def acquire(store: HistoryStore, source_name: str, ttl: timedelta = DEFAULT_TTL,
            now: datetime | None = None, holder: str | None = None) -> str:
    """Take the source's lock or raise RunLockedError naming who holds it."""
    now = now or utcnow()
    holder = holder or holder_id()
    t = hs.run_locks
    with store.engine.begin() as conn:
        conn.execute(t.delete().where(t.c.source_name == source_name, t.c.expires_at < now))
        try:
            conn.execute(t.insert().values(source_name=source_name, holder=holder, acquired_at=now,
                                           expires_at=now + ttl))
        except IntegrityError:
            row = conn.execute(sa.select(t.c.holder, t.c.acquired_at).where(t.c.source_name == source_name)).first()
            who = f"{row.holder} since {row.acquired_at:%Y-%m-%d %H:%M} UTC" if row else "another process"
            raise RunLockedError(f"source {source_name!r}: a run is already in progress ({who}); wait for it to finish") from None
    return holder


def release(store: HistoryStore, source_name: str, holder: str) -> None:
    """Give the lock back (only if we still hold it)."""
    t = hs.run_locks
    with store.engine.begin() as conn:
        conn.execute(t.delete().where(t.c.source_name == source_name, t.c.holder == holder))


@contextmanager
def run_lock(store: HistoryStore, source_name: str, ttl: timedelta = DEFAULT_TTL) -> Iterator[str]:
    """Hold the source's lock for the duration of a run."""
    holder = acquire(store, source_name, ttl)
    try:
        yield holder
    finally:
        release(store, source_name, holder)
