"""Workers that drain the inbox log and the delivery queue kept in the node's database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

import orjson

from activitystreams import InvalidDocument, parse_activity

from .errors import FederationError, FetchError, Rejected, RetryLater
from .fetch import CAVAGE, RFC9421, HttpClient
from .keys import SigningKey
from .protocols import (
    ActivityHandler,
    DeliveryJob,
    DeliveryQueue,
    InboxLog,
    InboxRecord,
    PeerPreferences,
)
from .states import DeliveryState, InboxState, RetryPolicy

__all__ = [
    "KNOCK_AGAIN",
    "PERMANENT_STATUSES",
    "DeliveryWorker",
    "InboxWorker",
    "merge_inboxes",
]

log = logging.getLogger("plein.federation")

# Statuses after which retrying cannot help: the peer refused the activity itself.
PERMANENT_STATUSES = frozenset({400, 403, 404, 405, 410, 413, 415, 422})
# Statuses on which a first knock with an unproven signature scheme is retried with the other.
# 401 is the answer RFC 9421 asks for; some servers answer 400, and some crash on a header they
# cannot parse (bovine-herd 0.5.19 answers 500 to any Signature-Input: docs/interop.md). Not
# 502/503/504 (a proxy or an overloaded peer: a second knock cannot help). A 500 to the second
# knock too stays the row's outcome, so real errors stay visible.
KNOCK_AGAIN = frozenset({400, 401, 500})


def merge_inboxes(targets: list[tuple[str, str | None]]) -> list[str]:
    """One inbox per target: the shared inbox where a peer has one, duplicates merged."""
    seen: dict[str, None] = {}
    for inbox, shared in targets:
        seen[shared or inbox] = None
    return list(seen)


class _Loop:
    """Claim-and-run loop, woken early by ``wake()`` and otherwise polling."""

    def __init__(self, poll_seconds: float) -> None:
        self._poll = poll_seconds
        self._event = asyncio.Event()

    def wake(self) -> None:
        self._event.set()

    async def run_once(self) -> int:
        raise NotImplementedError

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                done = await self.run_once()
            except Exception:  # a storage hiccup must not kill the worker
                log.exception("worker pass failed")
                done = 0
            if done:
                continue
            self._event.clear()
            waits = {asyncio.ensure_future(self._event.wait()), asyncio.ensure_future(stop.wait())}
            _, pending = await asyncio.wait(
                waits, timeout=self._poll, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()
        await self.drain(timeout=5)

    async def drain(self, timeout: float) -> None:
        """Let work still in flight finish when the worker stops."""


class InboxWorker(_Loop):
    """Applies logged activities: one sender's in the order they came, senders side by side.

    Each sender (the signer) has a lane; its records run one after the other (an Undo after its
    Follow, a Delete after its Create), while other senders' lanes run at the same time. A lane
    stuck on a slow peer (fetching an object can take the fetch deadline) holds up only that
    sender: ``run_once`` waits at most ``patience`` seconds for the lanes it started and then
    claims more work, up to ``batch`` records in flight.
    """

    def __init__(
        self,
        log_: InboxLog,
        handler: ActivityHandler,
        *,
        policy: RetryPolicy,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        batch: int = 50,
        poll_seconds: float = 2.0,
        patience: float = 1.0,
    ) -> None:
        super().__init__(poll_seconds)
        self._log = log_
        self._handler = handler
        self._policy = policy
        self._clock = clock
        self._batch = batch
        self._patience = patience
        self._lanes: dict[str, asyncio.Task[None]] = {}  # signer -> its latest record's task
        self._in_flight: set[asyncio.Task[None]] = set()

    async def run_once(self) -> int:
        room = self._batch - len(self._in_flight)
        if room <= 0:  # every slot holds a slow record: wait for one to end
            await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
            return 1
        records = await self._log.claim(limit=room, now=self._clock())
        started = [self._start(record) for record in records]
        if started:
            await asyncio.wait(started, timeout=self._patience)
        return len(records)

    def _start(self, record: InboxRecord) -> asyncio.Task[None]:
        before = self._lanes.get(record.signer)
        task = asyncio.create_task(self._after(before, record))
        self._lanes[record.signer] = task
        self._in_flight.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._in_flight.discard(t)
            if self._lanes.get(record.signer) is t:
                del self._lanes[record.signer]

        task.add_done_callback(done)
        return task

    async def _after(self, before: asyncio.Task[None] | None, record: InboxRecord) -> None:
        if before is not None:
            await asyncio.wait([before])
        await self._process(record)

    async def drain(self, timeout: float) -> None:
        """Let the records in flight finish (on stop); unfinished ones keep their lease."""
        if self._in_flight:
            _, pending = await asyncio.wait(self._in_flight, timeout=timeout)
            for task in pending:
                task.cancel()

    async def _process(self, record: InboxRecord) -> None:
        try:
            activity = parse_activity(orjson.loads(record.payload))
            await self._handler.handle(activity, signer=record.signer)
        except (Rejected, InvalidDocument) as exc:
            await self._log.finish(
                record, state=InboxState.REJECTED, error=exc.message, retry_at=None
            )
            return
        except Exception as exc:  # errored: retried with backoff, kept past the horizon
            message = exc.message if isinstance(exc, FederationError) else repr(exc)
            if not isinstance(exc, RetryLater):
                log.exception("inbox record %s failed", record.activity_id)
            retry_at = self._policy.next_attempt(
                attempts=record.attempts + 1, created_at=record.received_at, now=self._clock()
            )
            state = InboxState.PENDING if retry_at else InboxState.DEAD
            await self._log.finish(record, state=state, error=message, retry_at=retry_at)
            return
        await self._log.finish(record, state=InboxState.PROCESSED, error=None, retry_at=None)


class DeliveryWorker(_Loop):
    def __init__(
        self,
        queue: DeliveryQueue,
        client: HttpClient,
        signing_key: Callable[[str], Awaitable[SigningKey]],
        *,
        policy: RetryPolicy,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        concurrency: int = 16,
        poll_seconds: float = 2.0,
        peers: PeerPreferences | None = None,
    ) -> None:
        super().__init__(poll_seconds)
        self._queue = queue
        self._client = client
        self._signing_key = signing_key
        self._peers = peers
        self._policy = policy
        self._clock = clock
        self._concurrency = concurrency

    async def run_once(self) -> int:
        jobs = await self._queue.claim(limit=self._concurrency, now=self._clock())
        if jobs:
            await asyncio.gather(*(self._deliver(job) for job in jobs))
        return len(jobs)

    async def _post(self, job: DeliveryJob, key: SigningKey) -> tuple[int, str]:
        """POST with the double-knock, remembering per peer host which scheme works.

        Without a peer memory, draft-cavage only. An unknown peer gets RFC 9421 first and, on
        401, 400 or 500, draft-cavage at once. A remembered scheme is used directly; when it gets a
        401 (the peer changed, or its key cache is stale), the other scheme is tried once. The
        scheme that earns a 2xx is remembered.
        """
        if self._peers is None:
            return await self._client.post(job.inbox, job.payload, key=key, scheme=CAVAGE)
        host = urlsplit(job.inbox).netloc.lower()
        known = await self._peers.scheme(host)
        first = known if known in (RFC9421, CAVAGE) else RFC9421
        status, text = await self._client.post(job.inbox, job.payload, key=key, scheme=first)
        used = first
        if status == 401 or (known is None and status in KNOCK_AGAIN):
            used = CAVAGE if first == RFC9421 else RFC9421
            status, text = await self._client.post(job.inbox, job.payload, key=key, scheme=used)
        if 200 <= status < 300 and used != known:
            await self._peers.remember(host, used)
        return status, text

    async def _deliver(self, job: DeliveryJob) -> None:
        status: int | None = None
        try:
            key = await self._signing_key(job.signer)
            status, text = await self._post(job, key)
            error = None if 200 <= status < 300 else f"HTTP {status}: {text[:200]}"
        except FetchError as exc:
            error = exc.message
        except Exception as exc:
            log.exception("delivery %s failed", job.id)
            error = repr(exc)
        if error is None:
            await self._queue.finish(
                job, state=DeliveryState.DONE, status=status, error=None, retry_at=None
            )
            return
        if status in PERMANENT_STATUSES:
            await self._queue.finish(
                job, state=DeliveryState.FAILED, status=status, error=error, retry_at=None
            )
            return
        retry_at = self._policy.next_attempt(
            attempts=job.attempts + 1, created_at=job.created_at, now=self._clock()
        )
        state = DeliveryState.PENDING if retry_at else DeliveryState.GIVEN_UP
        await self._queue.finish(job, state=state, status=status, error=error, retry_at=retry_at)
