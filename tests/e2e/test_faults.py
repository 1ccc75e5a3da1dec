"""Faults: a peer that is down (for a while, or for good), and a node SIGKILLed mid-burst.

Real node processes, real signatures, real databases (SQLite, or PostgreSQL with
PLEIN_TEST_DATABASE=postgres). What a node acknowledged (202) is never lost, what it queued is
delivered once the peer is back (or given up, visibly, after the horizon), and a SIGKILL at the
worst moment only ever means "delivered again", never "lost".
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from typing import Any

import aiohttp
import orjson
import pytest

from activitystreams.vocab import PUBLIC
from federation.keys import SigningKey
from federation.signatures.cavage import sign_request

from .harness import Api, Network, eventually
from .peer import GatedPeer, PeerActor, TestPeer

pytestmark = pytest.mark.e2e

AS = "https://www.w3.org/ns/activitystreams"


async def federation_state(api: Api) -> dict[str, Any]:
    return await api.call("GET", "/admin/federation")  # type: ignore[no-any-return]


async def peer_follows(
    session: aiohttp.ClientSession, peer: TestPeer, username: str, alice: Api, inbox: str
) -> PeerActor:
    """A peer actor follows alice and waits for her node's Accept."""
    pat = peer.actor(username)
    me = await alice.me()
    follow = {
        "@context": AS,
        "id": f"{pat.id}/follows/{secrets.token_hex(4)}",
        "type": "Follow",
        "actor": pat.id,
        "object": me["url"],
    }
    code, text = await peer.post(session, inbox, follow, signer=pat)
    assert code == 202, (code, text)

    async def accepted() -> bool:
        return any(
            a.get("type") == "Accept" and a["object"]["id"] == follow["id"] for a in peer.received
        )

    await eventually(accepted)
    return pat


def creates_received(peer: TestPeer) -> Counter[str]:
    return Counter(
        a["object"]["id"]
        for a in peer.received
        if a.get("type") == "Create" and isinstance(a.get("object"), dict)
    )


async def test_posts_made_while_a_follower_node_is_down_arrive_exactly_once_when_it_returns(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    # Given bob on B and pat on a peer server follow alice on A
    a, b = await asyncio.gather(
        network.node("a", users=("alice",)), network.node("b", users=("bob",))
    )
    alice, bob = a.api(session, "alice"), b.api(session, "bob")
    await bob.follow(f"alice@{a.netloc}")

    async def bob_follows() -> bool:
        return len(await alice.followers()) == 1

    await eventually(bob_follows)
    await peer_follows(session, peer, "pat", alice, f"{a.base_url}/users/alice/inbox")

    # When B and the peer are down, alice posts five times, and A tries each delivery repeatedly
    b.stop()
    await peer.close()
    uris = [(await alice.post(f"While B is down, number {i}"))["uri"] for i in range(5)]

    async def retried() -> bool:
        failures = (await federation_state(alice))["delivery_failures"]
        pending = [f for f in failures if f["state"] == "pending"]
        assert len(pending) == 10 and all(f["attempts"] >= 2 for f in pending), failures
        return True

    await eventually(retried)

    # When both come back
    await b.start(session)
    await peer.start()

    # Then every post reaches B once: one copy each on bob's home timeline, one inbox entry each
    async def arrived() -> bool:
        home = await bob.call("GET", "/timelines/home?limit=40")
        assert Counter(s["uri"] for s in home) == {u: 1 for u in uris}, home
        return True

    await eventually(arrived, timeout=30)

    # and the peer got each Create exactly once on the wire, in spite of the earlier tries
    async def drained() -> bool:
        state = await federation_state(alice)
        assert state["deliveries"] == {"done": 2 + 10}, state["deliveries"]
        return True

    await eventually(drained)
    assert creates_received(peer) == {u: 1 for u in uris}
    b_state = await federation_state(bob)
    assert b_state["inbox"] == {"processed": 1 + 5}, b_state  # the Accept, then five Creates
    assert b_state["inbox_errors"] == []


async def test_delivery_to_a_peer_down_past_the_horizon_is_given_up_with_the_reason(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    # Given a node whose deliveries are given up 3 s after they were queued, and pat on a peer
    # server following alice there
    a = await network.node("a", users=("alice",), env={"PLEIN_RETRY_HORIZON_SECONDS": "3"})
    alice = a.api(session, "alice")
    await peer_follows(session, peer, "pat", alice, f"{a.base_url}/users/alice/inbox")

    # When the peer goes down for good and alice posts
    await peer.close()
    news = await alice.post("Nobody will read this")

    # Then, after some retries, the delivery ends given_up, and the admin view shows it with the
    # peer's inbox, the number of tries and why it failed (the connection was refused)
    async def given_up() -> dict[str, Any]:
        state = await federation_state(alice)
        assert state["deliveries"] == {"done": 1, "given_up": 1}, state["deliveries"]
        return state

    state = await eventually(given_up, timeout=15)
    [row] = state["delivery_failures"]
    assert row["state"] == "given_up" and row["inbox"] == f"{peer.base_url}/inbox", row
    assert row["attempts"] >= 2 and row["last_status"] is None, row
    error = row["last_error"].lower()
    assert "connect" in error and peer.netloc in row["last_error"], row

    # And a given-up delivery stays given up: the peer, back, does not receive it
    await peer.start()
    await asyncio.sleep(2)  # four poll intervals of the node's delivery worker
    assert news["uri"] not in creates_received(peer)
    assert (await federation_state(alice))["deliveries"] == {"done": 1, "given_up": 1}


def signed_create(
    actor: PeerActor, key: SigningKey, inbox: str, n: int
) -> tuple[str, bytes, dict[str, str]]:
    """A Create{Note} by ``actor``, signed for ``inbox``: (note id, body, headers)."""
    note_id = f"{actor.id}/notes/burst-{n}-{secrets.token_hex(4)}"
    body = orjson.dumps(
        {
            "@context": AS,
            "id": f"{note_id}/activity",
            "type": "Create",
            "actor": actor.id,
            "to": [PUBLIC],
            "cc": [f"{actor.id}/followers"],
            "object": {
                "id": note_id,
                "type": "Note",
                "attributedTo": actor.id,
                "content": f"<p>Burst note {n}</p>",
                "to": [PUBLIC],
                "cc": [f"{actor.id}/followers"],
                "published": "2026-01-05T10:00:00Z",
            },
        }
    )
    headers = sign_request(
        method="POST",
        url=inbox,
        key=key,
        body=body,
        headers={"Content-Type": "application/activity+json"},
    )
    return note_id, body, headers


async def test_every_activity_acknowledged_before_a_sigkill_is_processed_after_restart(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    # Given node A, and 1,000 signed Create{Note} from five actors on a peer server
    a = await network.node("a", users=("alice",))
    alice = a.api(session, "alice")
    inbox = f"{a.base_url}/inbox"
    actors = [peer.actor(f"sender{i}") for i in range(5)]
    keys = [actor.key for actor in actors]  # a key is loaded from PEM once, not per request
    burst = [signed_create(actors[n % 5], keys[n % 5], inbox, n) for n in range(1000)]

    # When the peer POSTs them 20 at a time, and A is SIGKILLed once 300 have been answered 202
    acknowledged: list[str] = []
    refused: Counter[str] = Counter()
    gate = asyncio.Semaphore(20)

    async def send(note_id: str, body: bytes, headers: dict[str, str]) -> None:
        async with gate:
            if a.process is None or a.process.poll() is not None:
                refused["node down"] += 1
                return
            try:
                async with session.post(inbox, data=body, headers=headers) as resp:
                    await resp.read()
                    if resp.status != 202:
                        refused[f"HTTP {resp.status}"] += 1
                        return
            except aiohttp.ClientError as exc:
                refused[type(exc).__name__] += 1
                return
            acknowledged.append(note_id)
            if len(acknowledged) == 300:
                a.kill()

    await asyncio.gather(*(send(*item) for item in burst))
    assert 300 <= len(acknowledged) < 1000, (len(acknowledged), refused)
    # (only the kill refused anything: no request was answered with an error status)
    assert not [reason for reason in refused if reason.startswith("HTTP")], refused

    # When A is started again
    await a.start(session)

    # Then every acknowledged activity is processed: the log has nothing left pending or dead,
    # nothing errored, and at least every acknowledged activity
    async def drained() -> dict[str, Any]:
        state = await federation_state(alice)
        assert set(state["inbox"]) == {"processed"}, state["inbox"]
        return state

    state = await eventually(drained, timeout=40)
    assert state["inbox"]["processed"] >= len(acknowledged), (state, len(acknowledged))
    assert state["inbox_errors"] == []

    # and each acknowledged note is a post on A
    lookups = asyncio.Semaphore(20)

    async def stored(uri: str) -> bool:
        async with lookups:
            return await alice.find_status(uri) is not None

    found = await asyncio.gather(*(stored(uri) for uri in acknowledged))
    missing = [uri for uri, ok in zip(acknowledged, found, strict=True) if not ok]
    assert missing == [], f"{len(missing)} acknowledged activities lost, e.g. {missing[:3]}"


async def test_deliveries_queued_or_in_flight_at_a_sigkill_all_arrive_after_restart(
    network: Network, session: aiohttp.ClientSession
) -> None:
    # Given pat on a peer server that answers five deliveries, then holds every further one
    # unanswered (as a server that stored the activity but whose answer was lost)
    peer = GatedPeer(open_for=5)
    await peer.start()
    try:
        a = await network.node("a", users=("alice",))
        alice = a.api(session, "alice")
        await peer_follows(session, peer, "pat", alice, f"{a.base_url}/users/alice/inbox")
        peer.answered.clear()  # the Accept does not count towards the five

        # When alice posts 50 times, and A is SIGKILLed while deliveries hang in flight and the
        # rest are still queued
        posting = asyncio.Semaphore(10)

        async def post(i: int) -> str:
            async with posting:
                return str((await alice.post(f"Burst post {i}"))["uri"])

        uris = await asyncio.gather(*(post(i) for i in range(50)))

        async def hanging() -> bool:
            return peer.held > 0

        await eventually(hanging)
        a.kill()
        before_kill = creates_received(peer)
        assert 5 < sum(before_kill.values()) < 50, before_kill
        answered = {x["object"]["id"] for x in peer.answered if x.get("type") == "Create"}
        assert len(answered) == 5, answered

        # When the peer answers again and A restarts
        peer.release.set()
        await a.start(session)

        # Then every post reaches the peer: each at least once, all 50 distinct ones
        async def all_arrived() -> Counter[str]:
            got = creates_received(peer)
            assert set(got) == set(uris), f"{len(set(uris) - set(got))} not delivered yet"
            return got

        got = await eventually(all_arrived, timeout=30)
        # and only a delivery in flight at the kill comes twice: an answered one is never resent
        twice = {uri for uri, n in got.items() if n > 1}
        assert twice <= set(before_kill) - answered, (twice, answered)
        assert all(n <= 2 for n in got.values()), got

        async def drained() -> bool:
            state = await federation_state(alice)
            assert state["deliveries"] == {"done": 1 + 50}, state["deliveries"]
            return True

        await eventually(drained)
    finally:
        await peer.close()
