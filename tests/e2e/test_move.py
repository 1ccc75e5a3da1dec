"""Case move-between-nodes: an employee moves from the hq node to the maastricht node.

Given / When / Then, with real node processes; the invalid variants come from a TestPeer that
sends exactly crafted Moves.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from .harness import Api, Network, Node, eventually
from .peer import TestPeer

pytestmark = pytest.mark.e2e

ACTIVITY_JSON = "application/activity+json"


async def actor_doc(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with session.get(url, headers={"Accept": ACTIVITY_JSON}) as resp:
        assert resp.status == 200, url
        doc: dict[str, Any] = await resp.json(content_type=None)
        return doc


async def following_urls(api: Api) -> list[str]:
    return sorted(a["url"] for a in await api.following())


async def settled(api: Api) -> dict[str, Any]:
    async def check() -> dict[str, Any]:
        state: dict[str, Any] = await api.call("GET", "/admin/federation")
        return {} if state["inbox"].get("pending") else state

    return await eventually(check)


def inbox(node: Node) -> str:
    return f"{node.base_url}/inbox"


async def test_move_between_nodes_moves_every_follower(
    network: Network, session: aiohttp.ClientSession
) -> None:
    # Given alice on hq with three followers on a third node (ops) and one on hq itself,
    # and her new account alice on mt
    hq, mt, ops = await asyncio.gather(
        network.node("hq", users=("alice", "erin")),
        network.node("mt", users=("alice",)),
        network.node("ops", users=("bob", "carol", "dave")),
    )
    old, new = hq.api(session, "alice"), mt.api(session, "alice")
    erin = hq.api(session, "erin")
    followers = [ops.api(session, u) for u in ("bob", "carol", "dave")]
    old_uri, new_uri = f"{hq.base_url}/users/alice", f"{mt.base_url}/users/alice"
    for api in [*followers, erin]:
        await api.follow(f"alice@{hq.netloc}")

    async def four_followers() -> bool:
        return len(await old.followers()) == 4

    await eventually(four_followers)

    # A Move to an account that does not list alice@hq is refused, and changes nothing
    status, data = await old.request("POST", "/accounts/move", {"target": f"alice@{mt.netloc}"})
    assert status == 400 and "alsoKnownAs" in data["error"], data
    assert "movedTo" not in await actor_doc(session, old_uri)

    # When the new account names the old one, and alice moves from hq to mt
    me = await new.call(
        "PATCH", "/accounts/update_credentials", {"also_known_as": [f"alice@{hq.netloc}"]}
    )
    assert me["also_known_as"] == [old_uri]
    assert (await actor_doc(session, new_uri))["alsoKnownAs"] == [old_uri]
    moved = await new.request("POST", "/statuses", {"status": "still here"})
    assert moved[0] == 200  # the new account posts normally
    result = await old.call("POST", "/accounts/move", {"target": f"alice@{mt.netloc}"})
    assert result["moved_to"] == new_uri and result["followers_not_moved"] == []

    # Then the old actor document shows movedTo, and the old account can no longer post
    doc = await actor_doc(session, old_uri)
    assert doc["movedTo"] == new_uri
    status, data = await old.request("POST", "/statuses", {"status": "hello?"})
    assert status == 400 and "moved" in data["error"], data

    # and every follower, remote and local, follows the new account and no longer the old
    async def all_moved() -> bool:
        for api in [*followers, erin]:
            assert await following_urls(api) == [new_uri], api.token
        assert sorted(a["url"] for a in await new.followers()) == sorted(
            [f"{ops.base_url}/users/{u}" for u in ("bob", "carol", "dave")]
            + [f"{hq.base_url}/users/erin"]
        )
        assert await old.followers() == []
        return True

    await eventually(all_moved, timeout=30)
    state = await settled(followers[0])
    assert state["inbox"].get("rejected", 0) == 0, state

    # and a post of the new account reaches them
    hello = await new.post("Hello from Maastricht")
    for api in followers:
        await api.wait_status(hello["uri"])

    # and the Move delivered again (a retry) changes nothing: no second follow
    result = await old.call("POST", "/accounts/move", {"target": f"alice@{mt.netloc}"})
    assert result["followers_not_moved"] == []
    await settled(followers[0])
    assert len(await new.followers()) == 4


async def test_move_between_nodes_invalid_variants_change_nothing(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    # Given bob on hq follows alice, a person on another server (the peer)
    hq = await network.node("hq", users=("bob",))
    bob = hq.api(session, "bob")
    alice, alice_new, someone = peer.actor("alice"), peer.actor("alice2"), peer.actor("someone")
    await bob.follow(alice.id)
    follow = await eventually(
        lambda: asyncio.sleep(0, [a for a in peer.received if a["type"] == "Follow"])
    )
    accept = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{alice.id}#accepts/1",
        "type": "Accept",
        "actor": alice.id,
        "object": follow[0],
    }
    assert (await peer.post(session, inbox(hq), accept, signer=alice))[0] == 202

    async def follows_alice() -> bool:
        return await following_urls(bob) == [alice.id]

    await eventually(follows_alice)

    def move(n: int, obj: str) -> dict[str, Any]:
        return {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{alice.id}#moves/{n}",
            "type": "Move",
            "actor": alice.id,
            "object": obj,
            "target": alice_new.id,
        }

    # When alice sends a Move to an account whose alsoKnownAs is empty,
    # and a Move of someone else
    for activity in (move(1, alice.id), move(2, someone.id)):
        assert (await peer.post(session, inbox(hq), activity, signer=alice))[0] == 202

    # Then both are rejected with the reason, and bob still follows alice only
    state = await settled(bob)
    reasons = {e["activity_id"]: e["last_error"] for e in state["inbox_errors"]}
    assert "alsoKnownAs" in reasons[f"{alice.id}#moves/1"], reasons
    assert "may only move itself" in reasons[f"{alice.id}#moves/2"], reasons
    assert state["inbox"]["rejected"] == 2, state
    assert await following_urls(bob) == [alice.id]
    assert not [a for a in peer.received if a["type"] in ("Undo", "Move")]
    assert [a["object"] for a in peer.received if a["type"] == "Follow"] == [alice.id]

    # When the new account now lists alice (the node cached it without: the check fetches it
    # fresh) and alice moves again
    alice_new.also_known_as = [alice.id]
    assert (await peer.post(session, inbox(hq), move(3, alice.id), signer=alice))[0] == 202

    # Then bob follows the new account (a Follow sent to it) and not the old (an Undo sent)
    async def moved() -> bool:
        return (
            await following_urls(bob) in ([], [alice_new.id])
            and any(a["type"] == "Follow" and a["object"] == alice_new.id for a in peer.received)
            and any(a["type"] == "Undo" for a in peer.received)
        )

    await eventually(moved)
    undo = [a for a in peer.received if a["type"] == "Undo"]
    assert len(undo) == 1 and undo[0]["object"]["object"] == alice.id
    assert (
        bob.token
        and (await bob.call("GET", f"/accounts/lookup?acct={alice.id}"))["moved_to"] == alice_new.id
    )
    state = await settled(bob)
    assert state["inbox"]["processed"] >= 2, state
