"""A minimal ActivityPub peer in the test process: serves actor documents and signs requests.

It stands in for "another server" when a test needs to send exactly crafted activities (the
negative tests and the real-world cases): real HTTP on loopback, real RSA signatures made with
federation's signer, and actor documents the node fetches like any other peer's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from activitystreams import build
from federation.keys import SigningKey, generate_rsa_keypair
from federation.signatures.cavage import sign_request

from .harness import free_port


@dataclass
class PeerActor:
    username: str
    base_url: str
    private_pem: str
    public_pem: str
    inbox_log: list[dict[str, Any]] = field(default_factory=list)
    also_known_as: list[str] = field(default_factory=list)  # published as alsoKnownAs
    type: str = "Person"

    @property
    def id(self) -> str:
        return f"{self.base_url}/users/{self.username}"

    @property
    def key_id(self) -> str:
        return f"{self.id}#main-key"

    @property
    def key(self) -> SigningKey:
        return SigningKey.from_pem(self.key_id, self.private_pem)

    def document(self) -> dict[str, Any]:
        return build.actor_document(
            id=self.id,
            type=self.type,
            preferred_username=self.username,
            name=self.username.title(),
            summary="",
            inbox=f"{self.id}/inbox",
            outbox=f"{self.id}/outbox",
            followers=f"{self.id}/followers",
            following=f"{self.id}/following",
            shared_inbox=f"{self.base_url}/inbox",
            key_id=self.key_id,
            public_key_pem=self.public_pem,
            manually_approves_followers=False,
            url=self.id,
            published=None,
            also_known_as=self.also_known_as,
        )


class TestPeer:
    """An aiohttp server on 127.0.0.1 with actors; records what it receives in its inboxes."""

    __test__ = False

    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.actors: dict[str, PeerActor] = {}
        self.objects: dict[str, dict[str, Any]] = {}  # path -> document served on GET
        self.received: list[dict[str, Any]] = []
        self.received_headers: list[dict[str, str]] = []  # the headers of each received POST
        self._runner: web.AppRunner | None = None

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self.port}"

    def actor(self, username: str) -> PeerActor:
        if username not in self.actors:
            private_pem, public_pem = generate_rsa_keypair()
            self.actors[username] = PeerActor(username, self.base_url, private_pem, public_pem)
        return self.actors[username]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/users/{name}", self._actor)
        app.router.add_post("/users/{name}/inbox", self._inbox)
        app.router.add_post("/inbox", self._inbox)
        app.router.add_get("/{tail:.*}", self._object)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def close(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _actor(self, request: web.Request) -> web.Response:
        actor = self.actors.get(request.match_info["name"])
        if actor is None:
            return web.json_response({"error": "no such actor"}, status=404)
        return web.Response(
            body=orjson.dumps(actor.document()), content_type="application/activity+json"
        )

    async def _inbox(self, request: web.Request) -> web.Response:
        self.received.append(orjson.loads(await request.read()))
        self.received_headers.append(dict(request.headers))
        return web.Response(status=202)

    async def _object(self, request: web.Request) -> web.Response:
        doc = self.objects.get(request.path)
        if doc is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.Response(body=orjson.dumps(doc), content_type="application/activity+json")

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    async def post(
        self,
        session: aiohttp.ClientSession,
        inbox: str,
        activity: dict[str, Any] | bytes,
        *,
        signer: PeerActor,
        content_type: str = "application/activity+json",
        tamper: Callable[[dict[str, str], bytes], tuple[dict[str, str], bytes]] | None = None,
    ) -> tuple[int, str]:
        """Sign and POST; ``tamper`` may change headers or body after signing."""
        body = activity if isinstance(activity, bytes) else orjson.dumps(activity)
        headers = sign_request(
            method="POST",
            url=inbox,
            key=signer.key,
            body=body,
            headers={"Content-Type": content_type},
        )
        if tamper is not None:
            headers, body = tamper(headers, body)
        async with session.post(inbox, data=body, headers=headers) as resp:
            return resp.status, await resp.text()


class GatedPeer(TestPeer):
    """A peer whose inbox answers the first ``open_for`` POSTs at once and then holds every
    further POST unanswered (already recorded in ``received``, as a server that stored the
    activity but whose answer never got back) until ``release`` is set."""

    __test__ = False

    def __init__(self, open_for: int) -> None:
        super().__init__()
        self.open_for = open_for
        self.answered: list[dict[str, Any]] = []  # the POSTs answered 202 before the gate shut
        self.held = 0
        self.release = asyncio.Event()

    async def _inbox(self, request: web.Request) -> web.Response:
        activity = orjson.loads(await request.read())
        self.received.append(activity)
        self.received_headers.append(dict(request.headers))
        if len(self.answered) < self.open_for and not self.release.is_set():
            self.answered.append(activity)
            return web.Response(status=202)
        if not self.release.is_set():
            self.held += 1
            await self.release.wait()
        return web.Response(status=202)
