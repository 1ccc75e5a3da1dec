"""The declared state machines, the retry schedule, and the workers driving real queues.

The queues here are small in-memory implementations of federation's protocols (the node's
database versions are exercised end to end in tests/e2e); they record what the workers did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from aiohttp import web

from activitystreams import Activity
from federation.errors import Rejected, RetryLater
from federation.fetch import HttpClient
from federation.keys import SigningKey, generate_rsa_keypair
from federation.protocols import DeliveryJob, InboxRecord
from federation.states import (
    DELIVERY_TRANSITIONS,
    DeliveryState,
    InboxState,
    RetryPolicy,
    check_transition,
)
from federation.worker import DeliveryWorker, InboxWorker, merge_inboxes

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_given_the_policy_when_failures_repeat_then_delays_double_up_to_the_cap() -> None:
    policy = RetryPolicy(
        first_delay=timedelta(seconds=30), max_delay=timedelta(minutes=4), horizon=timedelta(days=1)
    )
    delays = [
        policy.next_attempt(attempts=n, created_at=T0, now=T0) - T0  # type: ignore[operator]
        for n in range(1, 6)
    ]
    assert delays == [timedelta(seconds=s) for s in (30, 60, 120, 240, 240)]


def test_given_the_policy_when_the_next_try_would_pass_the_horizon_then_it_gives_up() -> None:
    policy = RetryPolicy(first_delay=timedelta(hours=1), horizon=timedelta(hours=2))
    assert policy.next_attempt(attempts=1, created_at=T0, now=T0) is not None
    assert (
        policy.next_attempt(attempts=1, created_at=T0, now=T0 + timedelta(hours=1, minutes=1))
        is None
    )


def test_given_a_finished_delivery_when_moved_back_to_pending_then_it_is_refused() -> None:
    check_transition(DELIVERY_TRANSITIONS, DeliveryState.GIVEN_UP, DeliveryState.PENDING)
    with pytest.raises(ValueError, match="not declared"):
        check_transition(DELIVERY_TRANSITIONS, DeliveryState.DONE, DeliveryState.PENDING)


def test_given_followers_on_shared_inboxes_when_merged_then_each_server_gets_one_delivery() -> None:
    targets = [
        ("https://mt.test/users/bob/inbox", "https://mt.test/inbox"),
        ("https://mt.test/users/sanne/inbox", "https://mt.test/inbox"),
        ("https://old.test/users/kees/inbox", None),
    ]
    assert merge_inboxes(targets) == ["https://mt.test/inbox", "https://old.test/users/kees/inbox"]


@dataclass
class MemoryInbox:
    records: list[InboxRecord]
    outcomes: dict[str, tuple[str, str | None, datetime | None]] = field(default_factory=dict)

    async def record(self, *, activity_id: str, signer: str, payload: bytes) -> bool:
        raise NotImplementedError

    async def claim(self, *, limit: int, now: datetime) -> Sequence[InboxRecord]:
        taken, self.records = self.records[:limit], self.records[limit:]
        return taken

    async def finish(
        self, record: InboxRecord, *, state: str, error: str | None, retry_at: datetime | None
    ) -> None:
        self.outcomes[record.activity_id] = (state, error, retry_at)


class Handler:
    async def handle(self, activity: Activity, *, signer: str) -> None:
        if activity.type == "Flag":
            raise Rejected("reports are not accepted here")
        if activity.type == "Like":
            raise RetryLater("the post is not known yet")
        if activity.type == "Block":
            raise RuntimeError("database went away")


def inbox_record(
    n: int, type_: str, *, attempts: int = 0, age: timedelta = timedelta()
) -> InboxRecord:
    doc = {
        "id": f"https://mt.test/a/{n}",
        "type": type_,
        "actor": "https://mt.test/users/bob",
        "object": "https://hq.test/x",
    }
    return InboxRecord(
        id=n,
        activity_id=doc["id"],
        signer="https://mt.test/users/bob",
        payload=orjson.dumps(doc),
        attempts=attempts,
        received_at=T0 - age,
    )


async def test_given_records_when_the_inbox_worker_runs_then_each_ends_in_the_right_state() -> None:
    policy = RetryPolicy(first_delay=timedelta(seconds=5), horizon=timedelta(hours=6))
    log = MemoryInbox(
        [
            inbox_record(1, "Create"),
            inbox_record(2, "Flag"),
            inbox_record(3, "Like"),
            inbox_record(4, "Block", attempts=9, age=timedelta(hours=7)),
            InboxRecord(5, "urn:x", "https://mt.test/users/bob", b"[]", 0, T0),
        ]
    )
    worker = InboxWorker(log, Handler(), policy=policy, clock=lambda: T0)

    assert await worker.run_once() == 5

    assert log.outcomes["https://mt.test/a/1"] == (InboxState.PROCESSED, None, None)
    assert log.outcomes["https://mt.test/a/2"] == (
        InboxState.REJECTED,
        "reports are not accepted here",
        None,
    )
    assert log.outcomes["https://mt.test/a/3"] == (
        InboxState.PENDING,
        "the post is not known yet",
        T0 + timedelta(seconds=5),
    )
    state, error, _ = log.outcomes["https://mt.test/a/4"]
    assert (state, "database went away" in (error or "")) == (InboxState.DEAD, True)
    assert log.outcomes["urn:x"][0] == InboxState.REJECTED  # not a JSON object: refused, kept


@dataclass
class MemoryQueue:
    jobs: list[DeliveryJob]
    outcomes: dict[int, tuple[str, int | None, datetime | None]] = field(default_factory=dict)

    async def claim(self, *, limit: int, now: datetime) -> Sequence[DeliveryJob]:
        taken, self.jobs = self.jobs[:limit], self.jobs[limit:]
        return taken

    async def finish(
        self,
        job: DeliveryJob,
        *,
        state: str,
        status: int | None,
        error: str | None,
        retry_at: datetime | None,
    ) -> None:
        self.outcomes[job.id] = (state, status, retry_at)


async def test_given_peers_answering_differently_when_delivered_then_the_status_decides() -> None:
    statuses = {"/ok": 202, "/gone": 410, "/busy": 503}

    async def inbox(request: web.Request) -> web.Response:
        return web.Response(status=statuses[request.path])

    app = web.Application()
    app.router.add_post("/{name}", inbox)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    key = SigningKey.from_pem("https://hq.test/users/alice#main-key", generate_rsa_keypair()[0])
    jobs = [
        DeliveryJob(1, f"{base}/ok", b"{}", "https://hq.test/users/alice", 0, T0),
        DeliveryJob(2, f"{base}/gone", b"{}", "https://hq.test/users/alice", 0, T0),
        DeliveryJob(3, f"{base}/busy", b"{}", "https://hq.test/users/alice", 0, T0),
        DeliveryJob(
            4, f"{base}/busy", b"{}", "https://hq.test/users/alice", 5, T0 - timedelta(days=3)
        ),
        DeliveryJob(5, "http://127.0.0.1:9/closed", b"{}", "https://hq.test/users/alice", 0, T0),
    ]
    queue = MemoryQueue(jobs)

    async def signing_key(actor: str) -> SigningKey:
        return key

    policy = RetryPolicy(first_delay=timedelta(seconds=30), horizon=timedelta(days=2))
    async with HttpClient(allow=lambda host: True, user_agent="test", timeout_seconds=3) as client:
        worker = DeliveryWorker(queue, client, signing_key, policy=policy, clock=lambda: T0)
        assert await worker.run_once() == 5
    await runner.cleanup()

    assert queue.outcomes[1] == (DeliveryState.DONE, 202, None)
    assert queue.outcomes[2] == (DeliveryState.FAILED, 410, None)
    assert queue.outcomes[3] == (DeliveryState.PENDING, 503, T0 + timedelta(seconds=30))
    assert queue.outcomes[4] == (DeliveryState.GIVEN_UP, 503, None)
    assert queue.outcomes[5] == (DeliveryState.PENDING, None, T0 + timedelta(seconds=30))


@dataclass
class MemoryPeers:
    known: dict[str, str] = field(default_factory=dict)

    async def scheme(self, host: str) -> str | None:
        return self.known.get(host)

    async def remember(self, host: str, scheme: str) -> None:
        self.known[host] = scheme


async def test_given_a_peer_crashing_on_rfc_9421_when_delivered_then_cavage_is_knocked() -> None:
    # bovine-herd 0.5.19 answers 500 to any Signature-Input (docs/interop.md); a 503 is an
    # overloaded peer, where a second knock cannot help.
    seen: list[tuple[str, str]] = []

    async def inbox(request: web.Request) -> web.Response:
        scheme = "rfc9421" if "Signature-Input" in request.headers else "cavage"
        seen.append((request.path, scheme))
        if request.path == "/busy":
            return web.Response(status=503)
        return web.Response(status=500 if scheme == "rfc9421" else 202)

    app = web.Application()
    app.router.add_post("/{name}", inbox)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    key = SigningKey.from_pem("https://hq.test/users/alice#main-key", generate_rsa_keypair()[0])
    alice = "https://hq.test/users/alice"

    async def signing_key(actor: str) -> SigningKey:
        return key

    policy = RetryPolicy(first_delay=timedelta(seconds=30), horizon=timedelta(days=2))
    peers = MemoryPeers()
    async with HttpClient(allow=lambda host: True, user_agent="test", timeout_seconds=3) as client:
        worker = DeliveryWorker(
            MemoryQueue([DeliveryJob(1, f"{base}/crashy", b"{}", alice, 0, T0)]),
            client,
            signing_key,
            policy=policy,
            clock=lambda: T0,
            peers=peers,
        )
        await worker.run_once()
        # Given cavage is remembered, the next delivery goes straight to it
        queue = MemoryQueue([DeliveryJob(2, f"{base}/crashy", b"{}", alice, 0, T0)])
        worker = DeliveryWorker(
            queue, client, signing_key, policy=policy, clock=lambda: T0, peers=peers
        )
        await worker.run_once()
        # another host (localhost): no scheme remembered for it
        busy = MemoryQueue([DeliveryJob(3, f"http://localhost:{port}/busy", b"{}", alice, 0, T0)])
        worker = DeliveryWorker(
            busy, client, signing_key, policy=policy, clock=lambda: T0, peers=peers
        )
        await worker.run_once()
    await runner.cleanup()

    assert queue.outcomes[2] == (DeliveryState.DONE, 202, None)
    assert peers.known == {f"127.0.0.1:{port}": "cavage"}
    assert seen == [
        ("/crashy", "rfc9421"),
        ("/crashy", "cavage"),
        ("/crashy", "cavage"),
        ("/busy", "rfc9421"),
    ]
    assert busy.outcomes[3] == (DeliveryState.PENDING, 503, T0 + timedelta(seconds=30))


def signed_record(n: int, signer: str, type_: str = "Create") -> InboxRecord:
    doc = {"id": f"{signer}/a/{n}", "type": type_, "actor": signer, "object": f"{signer}/x/{n}"}
    return InboxRecord(n, doc["id"], signer, orjson.dumps(doc), 0, T0)


async def test_a_sender_stuck_on_a_slow_peer_holds_up_only_its_own_activities() -> None:
    # Given bob's first activity hangs (its object sits on a slow peer), then more from bob and
    # from carol
    release = asyncio.Event()
    order: list[str] = []

    class SlowForBob:
        async def handle(self, activity: Activity, *, signer: str) -> None:
            if activity.id == "https://mt.test/users/bob/a/1":
                await release.wait()
            order.append(activity.id or "")

    bob, carol = "https://mt.test/users/bob", "https://ut.test/users/carol"
    log = MemoryInbox(
        [
            signed_record(1, bob),
            signed_record(2, carol),
            signed_record(3, bob, "Undo"),
            signed_record(4, carol),
        ]
    )
    policy = RetryPolicy(first_delay=timedelta(seconds=5), horizon=timedelta(hours=6))
    worker = InboxWorker(log, SlowForBob(), policy=policy, clock=lambda: T0, patience=0.2)

    # When the worker runs a pass
    assert await worker.run_once() == 4

    # Then carol's activities are done while bob's first still hangs, and bob's second waits
    assert order == [f"{carol}/a/2", f"{carol}/a/4"]
    assert set(log.outcomes) == {f"{carol}/a/2", f"{carol}/a/4"}

    # and once bob's slow one ends, his Undo follows it, in order
    release.set()
    await worker.drain(timeout=5)
    assert order[2:] == [f"{bob}/a/1", f"{bob}/a/3"]
    assert log.outcomes[f"{bob}/a/3"][0] == InboxState.PROCESSED
