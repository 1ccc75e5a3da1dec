"""Bad input at the inbox: a clear 4xx naming the failed check, and nothing changes.

Every case POSTs one crafted request to node A's inbox from a real signing peer, then proves that
A's database did not change: a correctly signed activity sent afterwards is processed (the inbox
worker takes records in order, so it is a barrier), and A's queue counts, timelines, posts and
notifications then differ from before by exactly that one good post.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import pytest

from activitystreams.vocab import PUBLIC
from federation.signatures.cavage import sign_request

from .harness import Api, Network, Node, eventually
from .peer import PeerActor, TestPeer

pytestmark = pytest.mark.e2e

ACTIVITY_JSON = "application/activity+json"


def create_note(actor: PeerActor, text: str) -> dict[str, Any]:
    note_id = f"{actor.id}/notes/{secrets.token_hex(6)}"
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{note_id}/activity",
        "type": "Create",
        "actor": actor.id,
        "to": [PUBLIC],
        "cc": [f"{actor.id}/followers"],
        "object": {
            "id": note_id,
            "type": "Note",
            "attributedTo": actor.id,
            "content": f"<p>{text}</p>",
            "to": [PUBLIC],
            "cc": [f"{actor.id}/followers"],
            "published": "2026-01-05T10:00:00Z",
        },
    }


async def snapshot(api: Api) -> dict[str, Any]:
    """What an incoming activity could change on the node, as seen through its API."""
    fed = await api.call("GET", "/admin/federation")
    public = await api.call("GET", "/timelines/public?limit=40")
    home = await api.call("GET", "/timelines/home?limit=40")
    notes = await api.call("GET", "/notifications")
    return {
        "inbox": fed["inbox"],
        "inbox_errors": fed["inbox_errors"],
        "deliveries": fed["deliveries"],
        "public": sorted(s["uri"] for s in public),
        "home": sorted(s["uri"] for s in home),
        "notifications": len(notes),
        "followers": [a["url"] for a in await api.followers()],
    }


@dataclass
class Scene:
    session: aiohttp.ClientSession
    node: Node
    alice: Api
    peer: TestPeer
    carol: PeerActor
    mallory: PeerActor

    @property
    def inbox(self) -> str:
        return f"{self.node.base_url}/inbox"

    @property
    def user_inbox(self) -> str:
        return f"{self.node.base_url}/users/alice/inbox"

    async def raw_post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        async with self.session.post(url, data=body, headers=headers) as resp:
            return resp.status, await resp.text()


async def unsigned(s: Scene) -> tuple[int, str]:
    body = orjson.dumps(create_note(s.carol, "unsigned"))
    return await s.raw_post(s.inbox, body, {"Content-Type": "application/activity+json"})


async def body_changed_after_signing(s: Scene) -> tuple[int, str]:
    def swap(headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
        return headers, body.replace(b"original", b"forged!!")

    return await s.peer.post(
        s.session, s.user_inbox, create_note(s.carol, "original"), signer=s.carol, tamper=swap
    )


async def key_of_another_actor(s: Scene) -> tuple[int, str]:
    # keyId is mallory's, the activity claims to be carol's
    return await s.peer.post(s.session, s.inbox, create_note(s.carol, "impostor"), signer=s.mallory)


async def malformed_json(s: Scene) -> tuple[int, str]:
    return await s.peer.post(s.session, s.inbox, b'{"type": "Create", "actor": ', signer=s.carol)


async def wrong_content_type(s: Scene) -> tuple[int, str]:
    return await s.peer.post(
        s.session, s.inbox, create_note(s.carol, "plain"), signer=s.carol, content_type="text/plain"
    )


async def body_too_large(s: Scene) -> tuple[int, str]:
    activity = create_note(s.carol, "big " + "x" * 1_100_000)
    # Its own connection: the node answers 413 before reading the body and then closes the
    # connection without saying "Connection: close", so a pooled connection would be dead.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as own:
        return await s.peer.post(own, s.inbox, activity, signer=s.carol)


CASES: dict[str, tuple[Callable[[Scene], Awaitable[tuple[int, str]]], set[int], str]] = {
    "unsigned": (unsigned, {401}, "signature"),
    "digest": (body_changed_after_signing, {401}, "digest"),
    "other-actor-key": (key_of_another_actor, {401, 403}, "actor"),
    "malformed-json": (malformed_json, {400}, "json"),
    "content-type": (wrong_content_type, {415}, "content type"),
    "too-large": (body_too_large, {413}, "limit"),
}


async def scene(network: Network, session: aiohttp.ClientSession, peer: TestPeer) -> Scene:
    # Node A allows only the test peer's host
    node = await network.node("a", users=("alice",), allow=peer.netloc)
    return Scene(
        session, node, node.api(session, "alice"), peer, peer.actor("carol"), peer.actor("mallory")
    )


async def send_good_post_and_wait(s: Scene) -> str:
    """The barrier: a valid activity from carol, accepted and processed."""
    good = create_note(s.carol, "a correct post")
    code, text = await s.peer.post(s.session, s.inbox, good, signer=s.carol)
    assert code == 202, (code, text)
    uri: str = good["object"]["id"]
    await s.alice.wait_status(uri)
    return uri


async def assert_only_the_good_post_changed(
    s: Scene, before: dict[str, Any], good_uri: str
) -> None:
    async def settled() -> bool:
        after = await snapshot(s.alice)
        assert after["inbox"] == {"processed": before["inbox"].get("processed", 0) + 1}, after
        assert after["inbox_errors"] == before["inbox_errors"]
        assert after["deliveries"] == before["deliveries"]
        assert after["public"] == sorted([*before["public"], good_uri])
        assert after["home"] == before["home"]
        assert after["notifications"] == before["notifications"]
        assert after["followers"] == before["followers"]
        return True

    await eventually(settled, timeout=5)


async def test_bad_inbox_requests_get_4xx_and_change_nothing(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    # Given node A, which allows the peer, and one earlier post from the peer
    s = await scene(network, session, peer)
    await send_good_post_and_wait(s)

    for case, (send, statuses, words) in CASES.items():
        before = await snapshot(s.alice)

        # When the peer sends the bad request
        code, text = await send(s)

        # Then it gets the expected 4xx with a JSON error naming the check
        assert code in statuses, (case, code, text)
        error = orjson.loads(text)["error"]
        assert isinstance(error, str) and words in error.lower(), (case, error)

        # and nothing changed on A: only the next good post does
        good_uri = await send_good_post_and_wait(s)
        await assert_only_the_good_post_changed(s, before, good_uri)
    public = await s.alice.call("GET", "/timelines/public?limit=40")
    assert len(public) == 1 + len(CASES)
    for word in ("unsigned", "forged", "original", "impostor", "plain", "big "):
        assert not any(word in p["content"] for p in public), word


async def test_domain_not_allowed_gets_403_and_changes_nothing(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    # Given node A, which allows only the test peer, and a second server A does not allow
    s = await scene(network, session, peer)
    stranger = TestPeer()
    await stranger.start()
    try:
        await send_good_post_and_wait(s)
        before = await snapshot(s.alice)
        eve = stranger.actor("eve")

        # When the stranger's actor sends a correctly signed activity, to both inboxes
        for inbox in (s.inbox, s.user_inbox):
            code, text = await stranger.post(
                session, inbox, create_note(eve, "from outside"), signer=eve
            )

            # Then A refuses it with 403 naming the allowlist
            assert code == 403, (code, text)
            error = orjson.loads(text)["error"]
            assert "not allowed" in error and stranger.netloc in error, error

        # and nothing changed on A
        good_uri = await send_good_post_and_wait(s)
        await assert_only_the_good_post_changed(s, before, good_uri)

        # and a GET of a post is refused too: unsigned with 401, signed by the stranger with 403
        news = await s.alice.post("Public on the intranet")
        async with session.get(news["uri"], headers={"Accept": ACTIVITY_JSON}) as resp:
            assert resp.status == 401
            assert "signature" in (await resp.json(content_type=None))["error"].lower()
        headers = sign_request(
            method="GET", url=news["uri"], key=eve.key, headers={"Accept": ACTIVITY_JSON}
        )
        async with session.get(news["uri"], headers=headers) as resp:
            assert resp.status == 403
            assert "not allowed" in (await resp.json(content_type=None))["error"]
        # while the actor document stays open, for key bootstrap
        async with session.get(f"{s.node.base_url}/users/alice") as resp:
            assert resp.status == 200
            assert (await resp.json(content_type=None))["type"] == "Person"
    finally:
        await stranger.close()
