"""One run at a time per source: a lock row in the history store, with an expiry.

The lock is taken with an INSERT that the primary key makes atomic across processes and hosts
sharing the history store. While a run holds it, a background thread pushes its expiry forward
every third of the TTL, so a long run keeps its lock while a lock whose holder died (killed,
crashed, host lost) expires at most one TTL after its last renewal and is then taken over. The
run the dead holder left `running` is turned into a failed one by the next lock holder
(`store.runs.mark_interrupted`, called by `checks.engine.run_checks`).

A holder that is merely frozen (SIGSTOP, a suspended VM) for longer than the TTL loses its lock;
the renewal thread notices and logs it.

A holder on this host whose process is gone (its `host:pid` names no live process) holds nothing:
its lock is taken over at once rather than after the TTL, so the run after a crash or a kill starts
straight away. A holder on another host, or one whose process still runs, is waited for.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import psutil
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from connectors.errors import RunLockedError
from connectors.history import schema
from connectors.history.part import StorePart, utcnow

DEFAULT_TTL = timedelta(minutes=5)
log = logging.getLogger("cleancrm.locks")


@dataclass(frozen=True)
class LockInfo:
    """Who holds a source's lock, and until when (naive UTC)."""

    holder: str
    acquired_at: datetime
    expires_at: datetime


def holder_id() -> str:
    """`host:pid` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_is_gone(holder: str) -> bool:
    """True when `holder` is a `host:pid` of this host whose process no longer runs (a zombie is gone too)."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another host, or a name that is not ours to judge: wait for its TTL
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # a live process of another user
    try:
        return psutil.Process(int(pid)).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True  # it ended between the two looks
    except psutil.Error:
        return False


class Locks(StorePart):
    """Takes, renews and gives back the per-source run lock."""

    def acquire(self, source_name: str, ttl: timedelta = DEFAULT_TTL, now: datetime | None = None,
                holder: str | None = None) -> str:
        """Take the source's lock or raise RunLockedError naming who holds it.

        Args:
            source_name: The source (`cfg.name`).
            ttl: How long the lock lasts without renewal.
            now: Naive UTC time to use instead of the clock (tests).
            holder: Holder name to record; default `host:pid`.

        Returns:
            The holder name, to give back to `release`.

        Raises:
            RunLockedError: Another live holder has the lock.
        """
        now = now or utcnow()
        holder = holder or holder_id()
        locks = schema.run_locks
        values = {"source_name": source_name, "holder": holder, "acquired_at": now, "expires_at": now + ttl}
        with self.engine.begin() as conn:
            conn.execute(locks.delete().where(locks.c.source_name == source_name, locks.c.expires_at < now))
            try:
                with conn.begin_nested():
                    conn.execute(locks.insert().values(**values))
                return holder
            except IntegrityError:
                row = conn.execute(sa.select(locks.c.holder, locks.c.acquired_at, locks.c.expires_at)
                                   .where(locks.c.source_name == source_name)).first()
            if row is not None and holder_is_gone(row.holder):
                try:
                    with conn.begin_nested():  # if another run takes it over first, its insert wins
                        conn.execute(locks.delete().where(locks.c.source_name == source_name,
                                                          locks.c.holder == row.holder))
                        conn.execute(locks.insert().values(**values))
                    log.info("source %r: took over the lock of %s, whose process is gone", source_name, row.holder)
                    return holder
                except IntegrityError:
                    row = conn.execute(sa.select(locks.c.holder, locks.c.acquired_at, locks.c.expires_at)
                                       .where(locks.c.source_name == source_name)).first()
            who = (f"{row.holder} since {row.acquired_at:%Y-%m-%d %H:%M:%S} UTC, lock expires "
                   f"{row.expires_at:%H:%M:%S} UTC unless renewed") if row else "another process"
            raise RunLockedError(f"source {source_name!r}: a run is already in progress ({who}); "
                                 "wait for it to finish")

    def renew(self, source_name: str, holder: str, ttl: timedelta = DEFAULT_TTL,
              now: datetime | None = None) -> bool:
        """Push the lock's expiry to `now + ttl`; False if `holder` no longer holds it."""
        locks = schema.run_locks
        with self.engine.begin() as conn:
            res = conn.execute(locks.update().where(locks.c.source_name == source_name, locks.c.holder == holder)
                               .values(expires_at=(now or utcnow()) + ttl))
            return bool(res.rowcount)

    def release(self, source_name: str, holder: str) -> None:
        """Give the lock back (only if we still hold it)."""
        locks = schema.run_locks
        with self.engine.begin() as conn:
            conn.execute(locks.delete().where(locks.c.source_name == source_name, locks.c.holder == holder))

    def info(self, source_name: str) -> LockInfo | None:
        """The source's current lock, or None when it is free (expired, or its holder's process gone)."""
        locks = schema.run_locks
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(locks.c.holder, locks.c.acquired_at, locks.c.expires_at)
                               .where(locks.c.source_name == source_name)).first()
        if row is None or row.expires_at < utcnow() or holder_is_gone(row.holder):
            return None
        return LockInfo(row.holder, row.acquired_at, row.expires_at)

    @contextmanager
    def run_lock(self, source_name: str, ttl: timedelta = DEFAULT_TTL) -> Iterator[str]:
        """Hold the source's lock for the duration of a run, renewing it in the background.

        Args:
            source_name: The source (`cfg.name`).
            ttl: Expiry of a lock whose holder stopped renewing it (died).

        Yields:
            The holder name.

        Raises:
            RunLockedError: Another run holds the lock.
        """
        holder = self.acquire(source_name, ttl)
        renewer = _Renewer(self, source_name, holder, ttl)
        renewer.start()
        try:
            yield holder
        finally:
            renewer.stopped.set()
            renewer.join()
            try:
                self.release(source_name, holder)
            except SQLAlchemyError as exc:
                # The store failing is the run's error already (or news for the next call); the lock
                # left behind is taken over by the next run here, and expires for other hosts.
                log.info("source %r: could not give the run lock back (%s)", source_name,
                         str(exc).splitlines()[0])


class _Renewer(threading.Thread):
    """Renews a held lock every ttl/3 until stopped."""

    def __init__(self, locks: Locks, source_name: str, holder: str, ttl: timedelta):
        super().__init__(name=f"cleancrm-lock-{source_name}", daemon=True)
        self.locks = locks
        self.source_name = source_name
        self.holder = holder
        self.ttl = ttl
        self.stopped = threading.Event()
        self.lost = False

    def run(self) -> None:
        interval = max(self.ttl.total_seconds() / 3, 0.05)
        while not self.stopped.wait(interval):
            try:
                if not self.locks.renew(self.source_name, self.holder, self.ttl):
                    self.lost = True
                    log.warning("source %r: the run lock of %s expired and was lost (process frozen for "
                                "longer than %s?)", self.source_name, self.holder, self.ttl)
                    return
            except SQLAlchemyError as exc:  # a busy or briefly unreachable store: try again next time
                log.warning("source %r: could not renew the run lock (%s)", self.source_name,
                            str(exc).splitlines()[0])
