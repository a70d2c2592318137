"""Leases: work that one process of the station does at a time, fenced by an epoch.

A lease is a row: its name (``mount:main``, ``miner``), its holder (a process's random id)
and when it runs out, on the caller's clock (time is injected: the store never reads a
clock of its own). Taking a lease that ran out, or was never taken, raises its **epoch**
by one; renewing keeps it. Work done under a lease carries the epoch it was taken with,
and :meth:`LeaseRepository.current` tells a writer whether that epoch still holds: a
holder that stalled past its expiry (a long GC pause, a frozen VM) finds its epoch gone
and stops, instead of acting beside the process that took over.

Every change is one conditional statement, so two processes taking the same lease at once
cannot both get it, on SQLite or PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from qfzz.store._database import Database
from qfzz.store._schema import leases


@dataclass(frozen=True, slots=True)
class Lease:
    name: str
    holder: str
    epoch: int
    expires_at: float


class LeaseRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def acquire(self, name: str, holder: str, *, now: float, ttl: float) -> Lease | None:
        """Take the lease ``name`` for ``holder`` until ``now + ttl``, or renew it if
        ``holder`` holds it; None while another holder's lease runs. Taking it (new, or
        after it ran out) raises the epoch; renewing keeps it."""
        if ttl <= 0:
            raise ValueError("a lease needs a positive ttl")
        until = now + ttl
        with self._db.write() as conn:
            renewed = conn.execute(
                update(leases)
                .where(leases.c.name == name, leases.c.holder == holder, leases.c.expires_at > now)
                .values(expires_at=until)
                .returning(leases.c.epoch)
            ).scalar()
            if renewed is not None:
                return Lease(name, holder, int(renewed), until)
            taken = conn.execute(
                update(leases)
                .where(leases.c.name == name, leases.c.expires_at <= now)
                .values(holder=holder, epoch=leases.c.epoch + 1, expires_at=until)
                .returning(leases.c.epoch)
            ).scalar()
            if taken is not None:
                return Lease(name, holder, int(taken), until)
        try:
            with self._db.write() as conn:
                conn.execute(
                    insert(leases).values(name=name, holder=holder, epoch=1, expires_at=until)
                )
        except IntegrityError:  # another process made it first, and holds it
            return None
        return Lease(name, holder, 1, until)

    def release(self, lease: Lease, *, now: float) -> bool:
        """Give the lease up at once (a clean stop): the next taker need not wait for it
        to run out. Only the epoch that was taken can release it."""
        with self._db.write() as conn:
            done = conn.execute(
                update(leases)
                .where(
                    leases.c.name == lease.name,
                    leases.c.holder == lease.holder,
                    leases.c.epoch == lease.epoch,
                )
                .values(expires_at=now)
            )
            return bool(done.rowcount)

    def current(self, name: str, *, now: float) -> Lease | None:
        """The lease as it holds now (None: nobody holds it): a writer fences itself by
        comparing the epoch it works under with this one's."""
        with self._db.read() as conn:
            row = conn.execute(
                select(leases.c.holder, leases.c.epoch, leases.c.expires_at).where(
                    leases.c.name == name, leases.c.expires_at > now
                )
            ).first()
        return None if row is None else Lease(name, row[0], int(row[1]), float(row[2]))
