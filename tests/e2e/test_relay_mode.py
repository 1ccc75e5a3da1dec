"""The company relay: a node in relay mode takes subscriptions and spreads public posts."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import aiohttp
import pytest

from activitystreams.vocab import PUBLIC
from tests.cases import load_case

from .harness import Network, Node, eventually
from .peer import TestPeer

pytestmark = pytest.mark.e2e


def relay_command(node: Node, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "node", "relay", *args],
        env=node.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_relay_subscription_follow_relay_side_accepts_every_form(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    # Given a node in relay mode, and subscribers using each form of the case
    relay = await network.node("relay", env={"PLEIN_RELAY": "1"})
    relay_actor = f"{relay.base_url}/actor"
    case = load_case("relay-subscription-follow")["input"]
    objects = [case["node_subscribes_to_company_relay"]["object"]] + [
        v["object"] for v in case["variants_relay_must_accept"]
    ]
    objects = [relay_actor if o == "https://relay.hq.test/actor" else o for o in objects]
    assert objects == [PUBLIC, "as:Public", "Public", relay_actor]

    for n, target in enumerate(objects):
        subscriber = peer.actor(f"node{n}")
        follow: dict[str, Any] = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{subscriber.id}#follows/relay-{n}",
            "type": "Follow",
            "actor": subscriber.id,
            "object": target,
            "to": [relay_actor],
        }
        status, text = await peer.post(
            session, f"{relay.base_url}/inbox", follow, signer=subscriber
        )
        assert status == 202, text

    # Then each gets an Accept from the relay that embeds its Follow as sent
    async def accepts() -> list[dict[str, Any]]:
        found = [a for a in peer.received if a.get("type") == "Accept"]
        assert len(found) == len(objects)
        return found

    got = await eventually(accepts)
    for accept in got:
        assert accept["actor"] == relay_actor
        assert accept["object"]["type"] == "Follow"
    assert sorted(a["object"]["object"] for a in got) == sorted(objects)


async def test_relay_accepts_a_subscription_carrying_a_deeply_nested_extra_field(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    # Given a relay, and a Follow of Public that carries a field nested 300 levels deep (more
    # than a JSON writer will echo back)
    relay = await network.node("relay", env={"PLEIN_RELAY": "1"})
    subscriber = peer.actor("deep")
    deep: Any = "bottom"
    for _ in range(300):
        deep = [deep]
    follow = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{subscriber.id}#follows/deep",
        "type": "Follow",
        "actor": subscriber.id,
        "object": PUBLIC,
        "x": deep,
    }

    # When it arrives (written by the stdlib: orjson writes at most 254 levels)
    body = json.dumps(follow).encode()
    status, text = await peer.post(session, f"{relay.base_url}/inbox", body, signer=subscriber)
    assert status == 202, text

    # Then the Accept embeds the Follow's own fields, not the extra one
    async def accepted() -> dict[str, Any]:
        found = [a for a in peer.received if a.get("type") == "Accept"]
        assert len(found) == 1, found
        return found[0]

    accept = await eventually(accepted)
    assert accept["object"] == {k: follow[k] for k in ("id", "type", "actor", "object")}


async def test_relay_spreads_public_posts_between_subscribed_nodes(
    network: Network, session: aiohttp.ClientSession
) -> None:
    # Given head office and Maastricht both subscribed to the company relay
    relay = await network.node("relay", env={"PLEIN_RELAY": "1"})
    hq = await network.node("hq", users=("alice",))
    mt = await network.node("mt", users=("bob",))
    for node in (hq, mt):
        relay_command(node, "subscribe", f"{relay.base_url}/actor")
    admin_hq, bob = hq.api(session, "alice"), mt.api(session, "bob")

    async def accepted(node: Node) -> bool:
        subs = await node.api(session, next(iter(node.tokens))).call("GET", "/admin/relays")
        return [s["state"] for s in subs] == ["accepted"]

    await eventually(lambda: accepted(hq))
    await eventually(lambda: accepted(mt))

    # When alice posts publicly (bob does not follow her) and posts one for followers only
    news = await admin_hq.post("All-hands on Friday in the canteen")
    inner = await admin_hq.post("followers only", visibility="followers")

    # Then the relay brings the public post to Maastricht's company timeline
    copy = await bob.wait_status(news["uri"], timeout=30)
    assert copy["content"] == news["content"]
    public = await bob.call("GET", "/timelines/public")
    assert news["uri"] in [s["uri"] for s in public]
    # and never the followers-only one
    assert await bob.find_status(inner["uri"]) is None


async def test_a_node_not_in_relay_mode_refuses_subscriptions(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    hq = await network.node("hq", users=("alice",))
    subscriber = peer.actor("node9")
    follow = {
        "id": f"{subscriber.id}#follows/1",
        "type": "Follow",
        "actor": subscriber.id,
        "object": PUBLIC,
        "to": [f"{hq.base_url}/actor"],
    }
    status, _ = await peer.post(session, f"{hq.base_url}/inbox", follow, signer=subscriber)
    assert status == 202
    alice = hq.api(session, "alice")

    async def refused() -> bool:
        state = await alice.call("GET", "/admin/federation")
        return any("not a relay" in (e["last_error"] or "") for e in state["inbox_errors"])

    await eventually(refused)
    assert not [a for a in peer.received if a.get("type") == "Accept"]
