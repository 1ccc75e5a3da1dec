"""Nothing accepted is lost: queued deliveries survive a SIGKILL and a peer's downtime.

(The give-up horizon is days long and cannot be waited out in a test; it is covered by the unit
tests of the retry policy.)
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from .harness import Api, Network, eventually
from .peer import TestPeer

pytestmark = pytest.mark.e2e


async def federation_state(api: Api) -> dict[str, Any]:
    return await api.call("GET", "/admin/federation")  # type: ignore[no-any-return]


async def peer_follows(
    session: aiohttp.ClientSession, peer: TestPeer, username: str, alice: Api, inbox: str
) -> None:
    """A peer actor follows alice and waits for her node's Accept."""
    pat = peer.actor(username)
    me = await alice.me()
    follow = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{pat.id}/follows/1",
        "type": "Follow",
        "actor": pat.id,
        "object": me["url"],
    }
    code, text = await peer.post(session, inbox, follow, signer=pat)
    assert code == 202, (code, text)

    async def accepted() -> bool:
        return any(a.get("type") == "Accept" for a in peer.received)

    await eventually(accepted)


def creates_received(peer: TestPeer) -> Counter[str]:
    return Counter(
        a["object"]["id"]
        for a in peer.received
        if a.get("type") == "Create" and isinstance(a.get("object"), dict)
    )


async def test_sigkilled_sender_delivers_every_queued_post_after_restart(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    # Given alice on A followed by bob on B and by pat on a peer server
    a, b = await asyncio.gather(
        network.node("a", users=("alice",)), network.node("b", users=("bob",))
    )
    alice, bob = a.api(session, "alice"), b.api(session, "bob")
    await bob.follow(f"alice@{a.netloc}")

    async def bob_follows() -> bool:
        return len(await alice.followers()) == 1

    await eventually(bob_follows)
    await peer_follows(session, peer, "pat", alice, f"{a.base_url}/users/alice/inbox")

    # When B and the peer are down, alice posts five times
    b.stop()
    await peer.close()
    posts = [await alice.post(f"Update number {i}") for i in range(5)]
    uris = {p["uri"] for p in posts}

    # Then A shows ten pending deliveries (five per server), each already failed once with an error
    async def all_tried() -> list[dict[str, Any]]:
        state = await federation_state(alice)
        tried = [f for f in state["delivery_failures"] if f["state"] == "pending"]
        assert state["deliveries"].get("pending") == 10, state["deliveries"]
        assert len(tried) == 10 and all(f["attempts"] >= 1 and f["last_error"] for f in tried)
        return tried

    failures = await eventually(all_tried)
    assert {f["inbox"] for f in failures} == {f"{b.base_url}/inbox", f"{peer.base_url}/inbox"}

    # When A is killed (no shutdown hook runs), B and the peer come back, and A restarts
    a.kill()
    await b.start(session)
    await peer.start()
    await a.start(session)

    # Then all five posts arrive at B, and at the peer, exactly once
    async def arrived() -> bool:
        home = await bob.call("GET", "/timelines/home?limit=40")
        assert Counter(s["uri"] for s in home if s["uri"] in uris) == {u: 1 for u in uris}
        assert creates_received(peer) == {u: 1 for u in uris}
        return True

    await eventually(arrived, timeout=30)

    # and A's queue is drained: nothing pending, nothing failed
    async def drained() -> bool:
        state = await federation_state(alice)
        assert state["deliveries"] == {"done": state["deliveries"].get("done", 0)}, state
        return True

    await eventually(drained)
    # and B processed each activity once, with no error
    b_state = await federation_state(bob)
    assert b_state["inbox_errors"] == []
    assert set(b_state["inbox"]) == {"processed"}


async def test_peer_down_for_a_while_gets_everything_when_it_returns(
    network: Network, session: aiohttp.ClientSession
) -> None:
    # Given bob on B follows alice on A, and has an earlier post of hers
    a, b = await asyncio.gather(
        network.node("a", users=("alice",)), network.node("b", users=("bob",))
    )
    alice, bob = a.api(session, "alice"), b.api(session, "bob")
    await bob.follow(f"alice@{a.netloc}")

    async def bob_follows() -> bool:
        return len(await alice.followers()) == 1

    await eventually(bob_follows)
    earlier = await alice.post("Before the outage")
    await bob.wait_status(earlier["uri"])

    # When B is down, alice posts three times, edits the first, deletes the second, likes the
    # earlier post, and A keeps retrying in the meantime
    b.stop()
    first = await alice.post("Outage post one")
    second = await alice.post("Outage post two")
    third = await alice.post("Outage post three")
    await alice.call("PUT", f"/statuses/{first['id']}", {"status": "Outage post one, edited"})
    await alice.call("DELETE", f"/statuses/{second['id']}")
    await alice.call("POST", f"/statuses/{earlier['id']}/favourite")

    async def retried() -> bool:
        failures = (await federation_state(alice))["delivery_failures"]
        return len(failures) >= 6 and all(f["last_error"] for f in failures)

    await eventually(retried)

    # When B comes back (A was never restarted)
    await b.start(session)

    # Then B has everything: the edit, the deletion, the new post and the like count
    async def caught_up() -> bool:
        one = await bob.find_status(first["uri"])
        assert one is not None and "edited" in one["content"], one
        assert await bob.find_status(second["uri"]) is None
        assert await bob.find_status(third["uri"]) is not None
        old = await bob.find_status(earlier["uri"])
        assert old is not None and old["favourites_count"] == 1, old
        return True

    await eventually(caught_up, timeout=30)
    home = [s["uri"] for s in await bob.call("GET", "/timelines/home?limit=40")]
    assert sorted(home) == sorted([earlier["uri"], first["uri"], third["uri"]])


class HoldingPeer(TestPeer):
    """A peer whose inbox can hang: the request is in flight, unanswered, while held."""

    __test__ = False

    def __init__(self) -> None:
        super().__init__()
        self.hold = False
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def _inbox(self, request: web.Request) -> web.Response:
        if self.hold:
            await request.read()
            self.entered.set()
            await self.release.wait()
            return web.Response(status=503)
        return await super()._inbox(request)


async def test_delivery_in_flight_when_the_sender_is_killed_is_redone_after_restart(
    network: Network, session: aiohttp.ClientSession
) -> None:
    # Given pat on a peer server follows alice on A
    peer = HoldingPeer()
    await peer.start()
    try:
        a = await network.node("a", users=("alice",))
        alice = a.api(session, "alice")
        await peer_follows(session, peer, "pat", alice, f"{a.base_url}/users/alice/inbox")

        # When alice posts and A is killed while its delivery to the peer hangs in flight
        peer.hold = True
        news = await alice.post("Sent during the crash")
        await asyncio.wait_for(peer.entered.wait(), timeout=10)
        a.kill()
        peer.hold = False
        peer.release.set()
        await a.start(session)

        # Then the restarted node delivers it again, soon
        async def redelivered() -> bool:
            return creates_received(peer) == {news["uri"]: 1}

        await eventually(redelivered, timeout=8)
    finally:
        await peer.close()
