"""The background side of a node: inbox and delivery workers, their lease heartbeat and wake-ups.

One node is either one process (``plein run``: web server and workers together, on SQLite or
PostgreSQL) or, on PostgreSQL, several web processes and several ``plein worker`` processes on
any number of machines sharing the database. Jobs are rows (the inbox log and the delivery queue);
:class:`node.stores.Leases` makes a claim safe between processes. Across processes a web process
wakes the workers with PostgreSQL ``NOTIFY``; polling every ``poll_seconds`` stays the backstop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from tortoise import connections

from federation.worker import DeliveryWorker, InboxWorker

from .handlers import InboxHandler
from .runtime import Runtime
from .services.accounts import signing_key
from .stores import DbDeliveryQueue, DbInboxLog, DbPeerPreferences, worker_identity

__all__ = ["DELIVERY_CHANNEL", "INBOX_CHANNEL", "Notifier", "Queues", "WorkerSet"]

log = logging.getLogger("plein.node")

INBOX_CHANNEL = "plein_inbox"
DELIVERY_CHANNEL = "plein_delivery"


@dataclass(slots=True)
class Queues:
    """This process's handles on the node's two job tables, under one worker identity."""

    inbox: DbInboxLog
    delivery: DbDeliveryQueue
    owner: str

    @classmethod
    def open(cls, rt: Runtime) -> Queues:
        owner = worker_identity()
        lease = timedelta(seconds=rt.settings.lease_seconds)
        return cls(
            inbox=DbInboxLog(postgres=rt.postgres, owner=owner, lease=lease),
            delivery=DbDeliveryQueue(postgres=rt.postgres, owner=owner, lease=lease),
            owner=owner,
        )


class Notifier:
    """Wakes the worker processes of a multi-process node with PostgreSQL NOTIFY.

    ``wake(channel)`` is called right after a job row is committed. Wake-ups that come before the
    channel's NOTIFY is sent are folded into it (a worker claims everything due anyway). A NOTIFY
    that fails is only logged: the row is committed and the workers' polling picks it up.
    """

    def __init__(self) -> None:
        self._sending: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def wake(self, channel: str) -> None:
        if channel in self._sending:
            return
        self._sending.add(channel)
        task = asyncio.create_task(self._notify(channel))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _notify(self, channel: str) -> None:
        try:
            self._sending.discard(channel)
            await connections.get("default").execute_script(f"NOTIFY {channel}")
        except Exception:
            log.warning("NOTIFY %s failed; the workers will poll", channel, exc_info=True)


def asyncpg_dsn(db_url: str) -> str:
    """The node's database URL as asyncpg takes it (tortoise's pool options dropped)."""
    parts = urlsplit(db_url)
    scheme = "postgresql" if parts.scheme in ("postgres", "asyncpg", "psycopg") else parts.scheme
    return urlunsplit((scheme, parts.netloc, parts.path, "", ""))


@dataclass
class WorkerSet:
    """The workers one process runs: inbox, delivery, or both; plus the lease heartbeat."""

    rt: Runtime
    queues: Queues
    inbox: bool = True
    delivery: bool = True
    listen: bool = False  # on PostgreSQL, LISTEN for wake-ups from web processes
    inbox_worker: InboxWorker = field(init=False)
    delivery_worker: DeliveryWorker = field(init=False)

    def __post_init__(self) -> None:
        settings = self.rt.settings
        self.inbox_worker = InboxWorker(
            self.queues.inbox,
            InboxHandler(self.rt),
            policy=settings.inbox_policy,
            poll_seconds=settings.poll_seconds,
        )
        self.delivery_worker = DeliveryWorker(
            self.queues.delivery,
            self.rt.client,
            lambda actor: signing_key(self.rt, actor),
            policy=settings.delivery_policy,
            poll_seconds=settings.poll_seconds,
            peers=DbPeerPreferences(),
        )

    def start(self, stop: asyncio.Event) -> list[asyncio.Task[None]]:
        """Start the workers; they run until ``stop`` is set."""
        tasks = [asyncio.create_task(self._heartbeat(stop))]
        if self.inbox:
            tasks.append(asyncio.create_task(self.inbox_worker.run(stop)))
        if self.delivery:
            tasks.append(asyncio.create_task(self.delivery_worker.run(stop)))
        if self.listen:
            tasks.append(asyncio.create_task(self._listen(stop)))
        return tasks

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        """Renew this process's leases three times per lease period while it lives."""
        interval = self.rt.settings.lease_seconds / 3
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
            try:
                now = self.rt.clock()
                await self.queues.inbox.leases.renew(now)
                await self.queues.delivery.leases.renew(now)
            except Exception:  # the database is away: the next beat tries again
                log.warning("lease renewal failed", exc_info=True)

    async def _listen(self, stop: asyncio.Event) -> None:
        """LISTEN on the wake-up channels on a connection of its own; reconnect when it drops."""
        wakers: dict[str, Callable[[], None]] = {}
        if self.inbox:
            wakers[INBOX_CHANNEL] = self.inbox_worker.wake
        if self.delivery:
            wakers[DELIVERY_CHANNEL] = self.delivery_worker.wake

        def on_notify(_conn: Any, _pid: int, channel: str, _payload: str) -> None:
            wakers[channel]()

        dsn = asyncpg_dsn(self.rt.settings.db_url)
        while not stop.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(dsn)
                for channel in wakers:
                    await conn.add_listener(channel, on_notify)
                for wake in wakers.values():  # rows may have come while we were not listening
                    wake()
                while not stop.is_set() and not conn.is_closed():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=5)
            except (OSError, asyncpg.PostgresError):
                log.warning("LISTEN connection lost; polling until it is back", exc_info=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=2)
            finally:
                if conn is not None and not conn.is_closed():
                    await conn.close()
