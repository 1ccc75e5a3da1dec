"""Sending with the double-knock: RFC 9421 first, draft-cavage on 401/400, remembered per peer.

Real node processes deliver to in-process peers that verify with our own verifiers and accept
only draft-cavage, or both schemes; and two real nodes federate with each other.
"""

from __future__ import annotations

import sqlite3
from typing import Any
from urllib.parse import urldefrag

import aiohttp
import asyncpg
import orjson
import pytest
from aiohttp import web

from federation.errors import SignatureError
from federation.fetch import CAVAGE, RFC9421
from federation.keys import load_public_key
from federation.signatures import cavage, rfc9421

from .harness import Network, Node, eventually
from .peer import PeerActor, TestPeer

pytestmark = pytest.mark.e2e


class KnockPeer(TestPeer):
    """A peer whose inboxes verify signatures and accept only the schemes in ``accepts``.

    Every POST is logged in ``knocks`` as (scheme, status); a refused scheme gets 401, as RFC
    9421 asks and as a server that does not know it answers.
    """

    __test__ = False

    def __init__(self, accepts: set[str]) -> None:
        super().__init__()
        self.accepts = accepts
        self.knocks: list[tuple[str, int]] = []

    async def _public_key(self, key_id: str) -> Any:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                urldefrag(key_id)[0], headers={"Accept": "application/activity+json"}
            ) as resp,
        ):
            doc = orjson.loads(await resp.read())
        keys = doc["publicKey"] if isinstance(doc["publicKey"], list) else [doc["publicKey"]]
        entry = next((k for k in keys if k["id"] == key_id), keys[0])
        return load_public_key(entry["publicKeyPem"])

    async def _inbox(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        scheme = RFC9421 if "signature-input" in headers else CAVAGE
        status = 202
        try:
            if scheme not in self.accepts:
                raise SignatureError(f"{scheme} signatures are not accepted here")
            if scheme == RFC9421:
                sig = rfc9421.parse_signature(headers)
                rfc9421.verify_request(
                    method=request.method,
                    url=f"http://{headers['host']}{request.raw_path}",
                    headers=headers,
                    body=body,
                    public_key=await self._public_key(sig.key_id),
                    signature=sig,
                )
            else:
                params = cavage.signature_params_from_headers(headers)
                cavage.verify_request(
                    method=request.method,
                    target=request.raw_path,
                    headers=headers,
                    body=body,
                    public_key=await self._public_key(params.key_id),
                    params=params,
                )
        except SignatureError:
            status = 401
        self.knocks.append((scheme, status))
        if status == 202:
            self.received.append(orjson.loads(body))
        return web.Response(status=status)


async def remembered(node: Node, host: str) -> str | None:
    """The ``peers`` row of ``node`` for ``host``, read straight from its database."""
    if node.database_url.startswith("sqlite://"):
        with sqlite3.connect(node.database_url.removeprefix("sqlite://")) as db:
            row = db.execute(
                "SELECT signature_scheme FROM peers WHERE host = ?", (host,)
            ).fetchone()
        return row[0] if row else None
    conn = await asyncpg.connect(node.database_url)
    try:
        value = await conn.fetchval("SELECT signature_scheme FROM peers WHERE host = $1", host)
    finally:
        await conn.close()
    return value if isinstance(value, str) else None


async def follow(
    session: aiohttp.ClientSession, peer: TestPeer, actor: PeerActor, node: Node, user: str
) -> None:
    target = f"{node.base_url}/users/{user}"
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": peer.url(f"/follows/{actor.username}-{user}"),
        "type": "Follow",
        "actor": actor.id,
        "object": target,
    }
    status, text = await peer.post(session, f"{target}/inbox", activity, signer=actor)
    assert status == 202, text


def received(peer: TestPeer, kind: str) -> list[dict[str, Any]]:
    return [a for a in peer.received if a.get("type") == kind]


async def started_peer(accepts: set[str]) -> KnockPeer:
    peer = KnockPeer(accepts)
    await peer.start()
    return peer


async def test_given_a_cavage_only_peer_when_delivering_then_the_second_knock_federates(
    network: Network, session: aiohttp.ClientSession
) -> None:
    peer = await started_peer({CAVAGE})
    try:
        hq = await network.node("hq", users=("alice",))
        alice = hq.api(session, "alice")
        dora = peer.actor("dora")

        # Given dora follows alice, when hq sends its Accept: RFC 9421 first, then cavage.
        await follow(session, peer, dora, hq, "alice")
        await eventually(lambda: _async(received(peer, "Accept")))
        assert peer.knocks == [(RFC9421, 401), (CAVAGE, 202)]
        assert await remembered(hq, peer.netloc) == CAVAGE

        # Then the next delivery uses the remembered scheme directly.
        peer.knocks.clear()
        post = await alice.post("Canteen opens Monday")
        await eventually(lambda: _async(received(peer, "Create")))
        assert peer.knocks == [(CAVAGE, 202)]
        assert received(peer, "Create")[0]["object"]["id"] == post["uri"]
    finally:
        await peer.close()


async def test_given_an_rfc_9421_peer_when_delivering_then_it_is_used_and_a_later_401_switches(
    network: Network, session: aiohttp.ClientSession
) -> None:
    peer = await started_peer({RFC9421, CAVAGE})
    try:
        hq = await network.node("hq", users=("alice",))
        alice = hq.api(session, "alice")
        erin = peer.actor("erin")

        await follow(session, peer, erin, hq, "alice")
        await eventually(lambda: _async(received(peer, "Accept")))
        assert peer.knocks == [(RFC9421, 202)]
        assert await remembered(hq, peer.netloc) == RFC9421

        # When the peer stops accepting RFC 9421, a 401 makes hq try cavage once and remember.
        peer.accepts = {CAVAGE}
        peer.knocks.clear()
        await alice.post("Parking closed on Friday")
        await eventually(lambda: _async(received(peer, "Create")))
        assert peer.knocks == [(RFC9421, 401), (CAVAGE, 202)]
        assert await remembered(hq, peer.netloc) == CAVAGE
    finally:
        await peer.close()


async def test_given_two_nodes_when_they_federate_then_both_speak_rfc_9421(
    network: Network, session: aiohttp.ClientSession
) -> None:
    hq = await network.node("hq", users=("alice",))
    mt = await network.node("mt", users=("bob",))
    alice, bob = hq.api(session, "alice"), mt.api(session, "bob")

    await alice.follow(f"bob@{mt.netloc}")

    async def accepted() -> bool:
        return any(a["acct"].startswith("bob") for a in await alice.following())

    await eventually(accepted)
    post = await bob.post("Hello from Maastricht")
    await alice.wait_status(post["uri"])
    assert await remembered(hq, mt.netloc) == RFC9421  # the Follow
    assert await remembered(mt, hq.netloc) == RFC9421  # the Accept and the Create


async def _async(value: Any) -> Any:
    return value
