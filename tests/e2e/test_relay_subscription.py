"""Case relay-subscription-follow, the node side: a node subscribes to the company relay.

A TestPeer plays the relay (an ``Application`` actor); the node is a real process and the
subscription is made with the operator's command, ``plein relay subscribe``.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from tests.cases import load_case

from .harness import Api, Network, Node, eventually
from .peer import PeerActor, TestPeer

pytestmark = pytest.mark.e2e

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


async def plein(node: Node, *args: str) -> Result:
    """Run the ``plein`` command (asynchronously: the relay peer serves from this event loop)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "node",
        *args,
        env=node.env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return Result(proc.returncode or 0, out.decode(), err.decode())


def relay_follows(peer: TestPeer) -> list[dict[str, Any]]:
    return [a for a in peer.received if a["type"] == "Follow"]


async def subscribe(node: Node, peer: TestPeer, relay: PeerActor) -> dict[str, Any]:
    result = await plein(node, "relay", "subscribe", relay.id)
    assert result.returncode == 0, result.stderr
    assert "pending" in result.stdout
    follows = await eventually(lambda: asyncio.sleep(0, relay_follows(peer)))
    assert len(follows) == 1
    return follows[0]  # type: ignore[no-any-return]


async def relay_state(api: Api) -> list[dict[str, Any]]:
    return await api.call("GET", "/admin/relays")  # type: ignore[no-any-return]


async def test_relay_subscription_follow_accepted_then_announces_are_stored(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    # Given a node and a relay
    hq = await network.node("hq", users=("alice",))
    alice = hq.api(session, "alice")
    relay = peer.actor("relay")
    relay.type = "Application"
    carol = peer.actor("carol")

    # When the operator subscribes the node to the relay
    follow = await subscribe(hq, peer, relay)

    # Then the relay gets a Follow of the full Public IRI, from the node's actor, 'to' an array
    instance = f"{hq.base_url}/actor"
    assert follow["type"] == "Follow"
    assert follow["actor"] == instance
    assert follow["object"] == PUBLIC
    assert follow["to"] == [relay.id]
    assert follow["id"].startswith(f"{instance}#follows/relay-")
    headers = peer.received_headers[peer.received.index(follow)]
    signature = headers.get("Signature-Input", "") + headers.get("Signature", "")
    assert f"{instance}#main-key" in signature, headers  # signed with the node's own key
    subs = await relay_state(alice)
    assert [(s["relay"], s["state"]) for s in subs] == [(relay.id, "pending")]

    # When the relay accepts (by the Follow's id)
    accept = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": peer.url("/accepts/1"),
        "type": "Accept",
        "actor": relay.id,
        "object": follow["id"],
    }
    assert (await peer.post(session, f"{hq.base_url}/inbox", accept, signer=relay))[0] == 202

    # Then the subscription is accepted
    async def accepted() -> bool:
        return [s["state"] for s in await relay_state(alice)] == ["accepted"]

    await eventually(accepted)
    listed = await plein(hq, "relay", "list")
    assert listed.returncode == 0 and f"{relay.id} accepted" in listed.stdout, listed

    # When the relay announces a public post of someone the node does not follow
    note = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": peer.url("/notes/1"),
        "type": "Note",
        "attributedTo": carol.id,
        "content": "<p>Company picnic on Friday</p>",
        "to": [PUBLIC],
        "published": "2026-12-03T09:00:00Z",
    }
    peer.objects["/notes/1"] = note
    announce = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": peer.url("/announces/1"),
        "type": "Announce",
        "actor": relay.id,
        "object": note["id"],
        "to": [f"{relay.id}/followers"],
        "cc": [PUBLIC],
    }
    assert (await peer.post(session, f"{hq.base_url}/inbox", announce, signer=relay))[0] == 202

    # Then the post is stored and on the company timeline, not counted as shared by the relay
    async def on_company_timeline() -> dict[str, Any]:
        found = [s for s in await alice.call("GET", "/timelines/public") if s["uri"] == note["id"]]
        return found[0] if found else {}

    post = await eventually(on_company_timeline)
    assert "Company picnic" in post["content"]
    assert post["account"]["url"] == carol.id
    assert post["reblogs_count"] == 0
    assert await alice.call("GET", "/notifications") == []


async def test_relay_subscription_follow_rejected_is_never_sent_again(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    # Given a node subscribed to a relay
    hq = await network.node("hq", users=("alice",))
    alice = hq.api(session, "alice")
    relay = peer.actor("relay")
    relay.type = "Application"
    follow = await subscribe(hq, peer, relay)

    # When the relay rejects it (the case's Reject, embedding the Follow)
    reject = load_case("relay-subscription-follow")["input"]["relay_reply_reject"]
    reject = {
        **reject,
        "id": peer.url("/rej/1"),
        "actor": relay.id,
        "object": {**reject["object"], "id": follow["id"], "actor": follow["actor"]},
    }
    assert (await peer.post(session, f"{hq.base_url}/inbox", reject, signer=relay))[0] == 202

    # Then the subscription is rejected
    async def rejected() -> bool:
        return [s["state"] for s in await relay_state(alice)] == ["rejected"]

    await eventually(rejected)

    # When the node restarts, and the operator runs subscribe again
    hq.stop()
    await hq.start(session)
    await asyncio.sleep(3)  # several delivery polls (0.5 s) of the restarted node
    again = await plein(hq, "relay", "subscribe", relay.id)

    # Then no second Follow was ever sent, and the subscription stays rejected
    assert again.returncode != 0 and "rejected" in again.stderr, again
    await asyncio.sleep(1)
    assert len(relay_follows(peer)) == 1
    assert [s["state"] for s in await relay_state(alice)] == ["rejected"]

    # and unsubscribing forgets it (no Undo for a rejected Follow)
    gone = await plein(hq, "relay", "unsubscribe", relay.id)
    assert gone.returncode == 0, gone.stderr
    assert await relay_state(alice) == []
    assert not [a for a in peer.received if a["type"] == "Undo"]
