"""A hostile sender cannot stall or crash a node.

A real node receives correctly signed activities whose key, or whose object, must be fetched
from a hostile origin server (on loopback, on the node's allowlist): one that never answers,
trickles its body, streams without end, serves HTML, JSON far deeper than any parser allows, or
a valid document nested as deep as the JSON parser accepts. While those fetches hang, the node
keeps answering; each request ends with a 4xx naming the reason, or a 202 whose inbox entry ends
retried or rejected with the reason, never a 500 and never a crash. Bodies that are hostile by
themselves (deep nesting, a large document of nothing but arrays) get a 4xx or a 202 and leave
the node working. (Slow, endless, too-large and wrong-type bodies: test_negative.py and
test_bad_input.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from activitystreams.vocab import PUBLIC
from federation.keys import generate_rsa_keypair

from .harness import Api, Network, Node, eventually, free_port
from .peer import PeerActor, TestPeer

pytestmark = pytest.mark.e2e

NODE_FETCH_TIMEOUT = 10.0  # the node's HttpClient deadline (federation.fetch default)
DEEP = 1020  # orjson reads 1024 levels; Python's recursion limit is 1000


def deep_json(key: str, leaf: bytes) -> bytes:
    return f'{{"{key}":'.encode() * DEEP + leaf + b"}" * DEEP


class HostileOrigin:
    """Serves actors and objects under /<mode>/...; the mode says how it misbehaves."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.actors: dict[str, PeerActor] = {}
        self.hits: list[str] = []
        self._runner: web.AppRunner | None = None

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self.port}"

    def actor(self, mode: str, username: str = "dave") -> PeerActor:
        """An actor whose id and keyId live under /<mode>/ on this server."""
        path = f"/{mode}/users/{username}"
        if path not in self.actors:
            private_pem, public_pem = generate_rsa_keypair()
            self.actors[path] = PeerActor(
                username, f"{self.base_url}/{mode}", private_pem, public_pem
            )
        return self.actors[path]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/{mode}/{tail:.*}", self._serve)
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.2)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def close(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        mode = request.match_info["mode"]
        self.hits.append(request.path)
        as_json = {"Content-Type": "application/activity+json"}
        if mode == "hang":
            await asyncio.sleep(3600)
        if mode == "trickle":
            response = web.StreamResponse(headers=as_json)
            await response.prepare(request)
            with contextlib.suppress(ConnectionError, RuntimeError):
                await response.write(b'{"id": "')
                while True:
                    await response.write(b"x")
                    await asyncio.sleep(0.2)
            return response
        if mode == "endless":
            response = web.StreamResponse(headers=as_json)
            await response.prepare(request)
            with contextlib.suppress(ConnectionError, RuntimeError):
                await response.write(b'{"summary": "')
                while True:
                    await response.write(b"x" * 65536)
            return response
        if mode == "html":
            return web.Response(text="<html>Sign in</html>", content_type="text/html")
        if mode == "arrays":
            return web.Response(body=b"[" * 100_000 + b"]" * 100_000, headers=as_json)
        if mode == "loop":
            raise web.HTTPFound(request.path)
        if mode == "elsewhere":
            raise web.HTTPFound(f"http://localhost:{self.port}{request.path}")
        if mode == "deep":
            # A valid document, with one field nested as deep as the JSON parser accepts.
            actor = self.actors.get(request.path)
            if actor is not None:
                doc = actor.document()
                leaf = orjson.dumps(f"{actor.id}.png")
            else:
                doc = {
                    "id": f"{self.base_url}{request.path}",
                    "type": "Note",
                    "attributedTo": self.actor("deep").id,
                    "content": "<p>deep</p>",
                    "to": [PUBLIC],
                    "published": "2026-01-05T10:00:00Z",
                }
                leaf = orjson.dumps(f"{self.base_url}{request.path}")
            doc.pop("icon", None)
            doc.pop("url", None)
            body = orjson.dumps(doc)[:-1] + b',"url":' + deep_json("url", leaf) + b"}"
            return web.Response(body=body, headers=as_json)
        return web.json_response({"error": "no such mode"}, status=404)


@pytest.fixture
async def hostile() -> AsyncIterator[HostileOrigin]:
    origin = HostileOrigin()
    await origin.start()
    try:
        yield origin
    finally:
        await origin.close()


@dataclass
class Scene:
    session: aiohttp.ClientSession
    node: Node
    alice: Api
    peer: TestPeer
    carol: PeerActor

    @property
    def inbox(self) -> str:
        return f"{self.node.base_url}/inbox"


@pytest.fixture
async def scene(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer, hostile: HostileOrigin
) -> Scene:
    node = await network.node("a", users=("alice",), allow=f"{peer.netloc},{hostile.netloc}")
    return Scene(session, node, node.api(session, "alice"), peer, peer.actor("carol"))


def create(actor: PeerActor, obj: dict[str, Any] | str) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor.id}/activities/{secrets.token_hex(6)}",
        "type": "Create",
        "actor": actor.id,
        "to": [PUBLIC],
        "object": obj,
    }


def note(actor: PeerActor, text: str) -> dict[str, Any]:
    return {
        "id": f"{actor.id}/notes/{secrets.token_hex(6)}",
        "type": "Note",
        "attributedTo": actor.id,
        "content": f"<p>{text}</p>",
        "to": [PUBLIC],
        "published": "2026-01-05T10:00:00Z",
    }


async def assert_responsive(session: aiohttp.ClientSession, node: Node, rounds: int = 5) -> None:
    """NodeInfo answers in under a second, ``rounds`` times in a row."""
    for _ in range(rounds):
        started = time.monotonic()
        async with session.get(f"{node.base_url}/.well-known/nodeinfo") as resp:
            assert resp.status == 200
            await resp.read()
        assert time.monotonic() - started < 1.0, "the node stalled"
        await asyncio.sleep(0.2)


async def inbox_error(api: Api, activity_id: str) -> dict[str, Any] | None:
    fed = await api.call("GET", "/admin/federation")
    return next((e for e in fed["inbox_errors"] if e["activity_id"] == activity_id), None)


KEY_CASES: dict[str, tuple[int, str]] = {
    "hang": (401, f"timed out after {NODE_FETCH_TIMEOUT:g}"),
    "trickle": (401, f"timed out after {NODE_FETCH_TIMEOUT:g}"),
    "endless": (401, "response larger than"),
    "html": (401, "non-JSON content type 'text/html"),
    "arrays": (401, "invalid JSON"),
    "loop": (401, "too many redirects"),
    "elsewhere": (401, "redirect to another host refused"),
}


async def test_given_keys_on_a_hostile_origin_when_activities_arrive_then_the_node_stays_responsive(
    scene: Scene, hostile: HostileOrigin
) -> None:
    s = scene
    # Given signed activities whose keys the node must fetch from a hostile origin, one per way
    # of misbehaving, all sent at once
    sends = {
        mode: asyncio.ensure_future(
            s.peer.post(
                s.session,
                s.inbox,
                create(hostile.actor(mode), note(hostile.actor(mode), mode)),
                signer=hostile.actor(mode),
            )
        )
        for mode in KEY_CASES
    }
    await asyncio.sleep(0.5)

    # When the key fetches hang
    # Then the node keeps answering others at once
    await assert_responsive(s.session, s.node, rounds=10)
    assert not sends["hang"].done()

    # and every request ends within the fetch deadline with a 401 naming the reason
    started = time.monotonic()
    results = await asyncio.gather(*sends.values())
    assert time.monotonic() - started < NODE_FETCH_TIMEOUT + 5
    for mode, (code, text) in zip(sends, results, strict=True):
        status, words = KEY_CASES[mode]
        assert code == status, (mode, code, text)
        error = orjson.loads(text)["error"]
        assert "could not fetch key" in error and words in error, (mode, error)

    # and nothing of theirs was stored, while a good peer still gets through
    good = note(s.carol, "after the storm")
    code, text = await s.peer.post(s.session, s.inbox, create(s.carol, good), signer=s.carol)
    assert code == 202, (code, text)
    await s.alice.wait_status(good["id"])
    public = await s.alice.call("GET", "/timelines/public?limit=40")
    assert [p["uri"] for p in public] == [good["id"]]


async def test_given_a_key_document_nested_as_deep_as_json_allows_when_used_then_no_500(
    scene: Scene, hostile: HostileOrigin
) -> None:
    s = scene
    # Given an actor whose document has a url nested a thousand levels deep (valid JSON that
    # orjson reads, deeper than Python's recursion limit)
    dave = hostile.actor("deep")
    post = note(dave, "deep actor")

    # When dave signs a Create
    code, text = await s.peer.post(s.session, s.inbox, create(dave, post), signer=dave)

    # Then the node reads the key document without crashing (the deep url is ignored), accepts
    # the activity and stores the post
    assert code == 202, (code, text)
    await s.alice.wait_status(post["id"])
    await assert_responsive(s.session, s.node, rounds=2)

    # and a good activity from another peer is still processed
    good = note(s.carol, "still fine")
    code, text = await s.peer.post(s.session, s.inbox, create(s.carol, good), signer=s.carol)
    assert code == 202, (code, text)
    await s.alice.wait_status(good["id"])


OBJECT_CASES: dict[str, str] = {
    "trickle": f"timed out after {NODE_FETCH_TIMEOUT:g}",
    "endless": "response larger than",
    "html": "non-JSON content type 'text/html",
    "arrays": "invalid JSON",
    "elsewhere": "redirect to another host refused",
}


async def test_given_objects_on_a_hostile_origin_when_fetched_then_retried_naming_the_reason(
    scene: Scene, hostile: HostileOrigin
) -> None:
    s = scene
    # Given Creates from a good peer whose objects are only links to a hostile origin
    sent: dict[str, str] = {}
    for mode in OBJECT_CASES:
        activity = create(s.carol, f"{hostile.base_url}/{mode}/notes/{secrets.token_hex(4)}")
        code, text = await s.peer.post(s.session, s.inbox, activity, signer=s.carol)
        # When they arrive
        # Then they are accepted (the gate needs no object fetch)
        assert code == 202, (mode, code, text)
        sent[mode] = activity["id"]

    # and while the inbox worker fetches them, the node keeps answering at once
    await assert_responsive(s.session, s.node, rounds=10)

    # and each entry ends retried with a message naming the reason, not a Python exception
    async def all_errored() -> bool:
        for mode, activity_id in sent.items():
            entry = await inbox_error(s.alice, activity_id)
            assert entry is not None, mode
            error = entry["last_error"]
            assert entry["state"] in ("pending", "rejected", "dead"), (mode, entry)
            assert error.startswith("cannot fetch") and OBJECT_CASES[mode] in error, (mode, error)
        return True

    await eventually(all_errored, timeout=2 * NODE_FETCH_TIMEOUT + 20)
    await assert_responsive(s.session, s.node, rounds=2)


async def test_given_an_object_nested_as_deep_as_json_allows_when_fetched_then_no_crash(
    scene: Scene, hostile: HostileOrigin
) -> None:
    s = scene
    # Given a Create from the deep origin's actor whose Note (fetched by URL) has a url nested a
    # thousand levels deep, and the same Note embedded
    dave = hostile.actor("deep")
    by_url = create(dave, f"{hostile.base_url}/deep/notes/{secrets.token_hex(4)}")
    embedded_note = note(dave, "embedded deep")
    embedded = create(dave, embedded_note)
    embedded_body = orjson.dumps(embedded).replace(
        b'"published"', b'"url":' + deep_json("url", b'"https://x.test/"') + b',"published"', 1
    )

    # When both arrive
    results = [
        await s.peer.post(s.session, s.inbox, by_url, signer=dave),
        await s.peer.post(s.session, s.inbox, embedded_body, signer=dave),
    ]

    # Then both are accepted (the reader ignores a url nested that deep) and both posts are
    # stored: the fetched one and the embedded one
    for code, text in results:
        assert code == 202, (code, text)
    await s.alice.wait_status(by_url["object"])
    await s.alice.wait_status(embedded_note["id"])
    good = note(s.carol, "after deep")
    code, text = await s.peer.post(s.session, s.inbox, create(s.carol, good), signer=s.carol)
    assert code == 202, (code, text)
    await s.alice.wait_status(good["id"])
    fed = await s.alice.call("GET", "/admin/federation")
    assert fed["inbox_errors"] == [], fed


async def test_given_hostile_bodies_within_the_size_limit_when_posted_then_4xx_or_202_and_no_500(
    scene: Scene,
) -> None:
    s = scene
    before = await s.alice.call("GET", "/admin/federation")
    activity = create(s.carol, note(s.carol, "arrays"))
    bodies: dict[str, tuple[bytes, set[int], str]] = {
        # 100,000 nested arrays: 200 KB, far past the JSON parser's depth limit
        "deep arrays": (b"[" * 100_000 + b"]" * 100_000, {400}, "malformed json"),
        # an activity whose extra field nests 100,000 levels
        "deep field": (
            orjson.dumps(activity)[:-1] + b',"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            {400},
            "malformed json",
        ),
        # a valid activity carrying 900 KB of arrays in an unknown field
        "900 KB of arrays": (
            orjson.dumps({**activity, "x": [[0] * 8 for _ in range(50_000)]}),
            {202, 400},
            "",
        ),
        # 900 KB of a top-level array
        "top-level array": (b"[" + b"[]," * 300_000 + b"[]]", {400}, "not a json object"),
    }
    for case, (body, statuses, words) in bodies.items():
        assert len(body) < 1_000_000, case
        # Given a signed body that is hostile by its shape
        # When it is posted to the inbox
        code, text = await s.peer.post(s.session, s.inbox, body, signer=s.carol)

        # Then the node answers 4xx naming the check, or accepts it
        assert code in statuses, (case, code, text)
        if code >= 400:
            assert words in orjson.loads(text)["error"].lower(), (case, text)
        await assert_responsive(s.session, s.node, rounds=1)

    # and the one accepted activity is processed like any other
    await s.alice.wait_status(activity["object"]["id"])
    after = await s.alice.call("GET", "/admin/federation")
    assert after["inbox_errors"] == before["inbox_errors"]
