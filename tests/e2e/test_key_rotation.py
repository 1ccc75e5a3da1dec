"""Keys on a real node: Ed25519 Multikeys (FEP-521a) and key rotation (case sig-key-rotation).

A test peer on loopback serves actor documents and counts every GET of them, so the tests can
say exactly how often the node fetched a key: once at first contact, once more after a rotation,
and never again for repeated bad signatures within the minute.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ed25519

from activitystreams import build, parse_actor
from activitystreams.vocab import PUBLIC
from federation.keys import SigningKey, generate_rsa_keypair, multibase_from_public_key
from federation.signatures.cavage import sign_request

from .harness import Api, Network, Node, eventually
from .peer import PeerActor, TestPeer

pytestmark = pytest.mark.e2e


class CountingPeer(TestPeer):
    """A TestPeer that counts the GETs of each actor document."""

    __test__ = False

    def __init__(self) -> None:
        super().__init__()
        self.actor_gets: dict[str, int] = {}

    async def _actor(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.actor_gets[name] = self.actor_gets.get(name, 0) + 1
        return await super()._actor(request)


@dataclass
class Ed25519Actor(PeerActor):
    """A peer actor whose document also lists an Ed25519 Multikey under assertionMethod."""

    ed25519: ed25519.Ed25519PrivateKey = field(default_factory=ed25519.Ed25519PrivateKey.generate)

    @property
    def ed25519_key_id(self) -> str:
        return f"{self.id}#ed25519-key"

    @property
    def ed25519_signing_key(self) -> SigningKey:
        return SigningKey(key_id=self.ed25519_key_id, private_key=self.ed25519)

    def document(self) -> dict[str, Any]:
        doc = super().document()
        with_key = build.actor_document(
            id=self.id,
            type="Person",
            preferred_username=self.username,
            name=doc["name"],
            summary="",
            inbox=doc["inbox"],
            outbox=doc["outbox"],
            followers=doc["followers"],
            following=doc["following"],
            shared_inbox=doc["endpoints"]["sharedInbox"],
            key_id=self.key_id,
            public_key_pem=self.public_pem,
            manually_approves_followers=False,
            url=self.id,
            published=None,
            ed25519_key_id=self.ed25519_key_id,
            ed25519_public_multibase=multibase_from_public_key(self.ed25519.public_key()),
        )
        assert {k: v for k, v in with_key.items() if k not in ("@context", "assertionMethod")} == {
            k: v for k, v in doc.items() if k != "@context"
        }
        return with_key


@pytest.fixture
async def counting_peer() -> AsyncIterator[CountingPeer]:
    p = CountingPeer()
    await p.start()
    try:
        yield p
    finally:
        await p.close()


def create_note(actor: PeerActor, text: str) -> dict[str, Any]:
    note_id = f"{actor.id}/notes/{secrets.token_hex(6)}"
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{note_id}/activity",
        "type": "Create",
        "actor": actor.id,
        "to": [PUBLIC],
        "object": {
            "id": note_id,
            "type": "Note",
            "attributedTo": actor.id,
            "content": f"<p>{text}</p>",
            "to": [PUBLIC],
            "published": "2026-01-05T10:00:00Z",
        },
    }


async def post_signed(
    session: aiohttp.ClientSession, inbox: str, activity: dict[str, Any], key: SigningKey
) -> tuple[int, str]:
    body = orjson.dumps(activity)
    headers = sign_request(
        method="POST",
        url=inbox,
        key=key,
        body=body,
        headers={"Content-Type": "application/activity+json"},
    )
    async with session.post(inbox, data=body, headers=headers) as resp:
        return resp.status, await resp.text()


async def processed(api: Api) -> int:
    fed = await api.call("GET", "/admin/federation")
    return int(fed["inbox"].get("processed", 0))


def inbox(node: Node) -> str:
    return f"{node.base_url}/users/alice/inbox"


def rotate(actor: PeerActor) -> tuple[str, str]:
    """Give the actor a new RSA key (same keyId); return the old (private, public) PEMs."""
    old = (actor.private_pem, actor.public_pem)
    actor.private_pem, actor.public_pem = generate_rsa_keypair()
    return old


async def test_given_actor_with_multikey_when_it_signs_with_ed25519_then_accepted(
    network: Network, session: aiohttp.ClientSession, counting_peer: CountingPeer
) -> None:
    # Given a node, and a peer actor whose document lists an Ed25519 Multikey beside RSA
    hq = await network.node("hq", users=("alice",))
    alice = hq.api(session, "alice")
    peer = counting_peer
    rsa_private, rsa_public = generate_rsa_keypair()
    dana = Ed25519Actor("dana", peer.base_url, rsa_private, rsa_public)
    peer.actors["dana"] = dana

    # When dana signs an inbox POST with her Ed25519 key (keyId #ed25519-key)
    note = create_note(dana, "signed with ed25519")
    status, text = await post_signed(session, inbox(hq), note, dana.ed25519_signing_key)

    # Then the node resolves the Multikey, accepts and processes it
    assert status == 202, text
    await alice.wait_status(note["object"]["id"])
    fetched = peer.actor_gets["dana"]
    assert fetched >= 1

    # and her next Ed25519-signed request is verified from the cache, with no fetch
    again = create_note(dana, "signed again")
    status, text = await post_signed(session, inbox(hq), again, dana.ed25519_signing_key)
    assert status == 202, text
    assert peer.actor_gets["dana"] == fetched

    # When she rotates her Ed25519 key (her document serves the new one)
    old_ed25519 = dana.ed25519
    dana.ed25519 = ed25519.Ed25519PrivateKey.generate()
    note = create_note(dana, "signed with the rotated ed25519 key")
    status, text = await post_signed(session, inbox(hq), note, dana.ed25519_signing_key)

    # Then the new key is fetched and accepted, and the old one is refused
    assert status == 202, text
    await alice.wait_status(note["object"]["id"])
    old_key = SigningKey(dana.ed25519_key_id, old_ed25519)
    status, text = await post_signed(session, inbox(hq), create_note(dana, "stale"), old_key)
    assert status == 401, text

    # and a signature by another Ed25519 key under the same keyId is refused
    impostor = SigningKey(dana.ed25519_key_id, ed25519.Ed25519PrivateKey.generate())
    status, text = await post_signed(session, inbox(hq), create_note(dana, "forged"), impostor)
    assert status == 401, text
    assert "does not verify" in orjson.loads(text)["error"]

    # and her RSA key keeps working beside it
    note = create_note(dana, "signed with rsa")
    status, text = await post_signed(session, inbox(hq), note, dana.key)
    assert status == 202, text
    await alice.wait_status(note["object"]["id"])


async def test_given_local_person_when_fetching_actor_then_ed25519_multikey_listed(
    network: Network, session: aiohttp.ClientSession
) -> None:
    hq = await network.node("hq", users=("alice",))
    actor_id = f"{hq.base_url}/users/alice"
    async with session.get(actor_id, headers={"Accept": "application/activity+json"}) as resp:
        assert resp.status == 200
        doc = await resp.json(content_type=None)
    [multikey] = doc["assertionMethod"]
    assert multikey["id"] == f"{actor_id}#ed25519-key"
    assert multikey["type"] == "Multikey"
    assert multikey["controller"] == actor_id
    assert multikey["publicKeyMultibase"].startswith("z6Mk")
    assert "https://w3id.org/security/multikey/v1" in doc["@context"]
    # what a peer reads: both keys
    actor = parse_actor(doc)
    assert [k.id for k in actor.public_keys] == [f"{actor_id}#main-key"]
    assert [k.id for k in actor.multikeys] == [f"{actor_id}#ed25519-key"]


async def test_sig_key_rotation_new_key_after_first_contact_is_refetched_once(
    network: Network, session: aiohttp.ClientSession, counting_peer: CountingPeer
) -> None:
    # Given a node that has fetched and cached bob's key (first contact)
    hq = await network.node("hq", users=("alice",))
    alice = hq.api(session, "alice")
    peer = counting_peer
    bob = peer.actor("bob")
    first = create_note(bob, "before rotation")
    status, text = await post_signed(session, inbox(hq), first, bob.key)
    assert status == 202, text
    await alice.wait_status(first["object"]["id"])
    assert peer.actor_gets["bob"] == 1

    # When bob rotates his key seconds later (his document now serves the new key) and signs
    # with the new key under the same keyId
    old_private, _ = rotate(bob)
    second = create_note(bob, "after rotation")
    status, text = await post_signed(session, inbox(hq), second, bob.key)

    # Then the node refetches the key once and accepts
    assert status == 202, text
    await alice.wait_status(second["object"]["id"])
    assert peer.actor_gets["bob"] == 2

    # When bad signatures follow right after (the old key, then a key nobody published)
    for private_pem in (old_private, generate_rsa_keypair()[0]):
        bad = create_note(bob, "bad signature")
        key = SigningKey.from_pem(bob.key_id, private_pem)
        status, text = await post_signed(session, inbox(hq), bad, key)

        # Then they get 401 and trigger no further fetch
        assert status == 401, text
        assert "does not verify" in orjson.loads(text)["error"]
        assert peer.actor_gets["bob"] == 2

    # and the new key keeps working from the cache
    third = create_note(bob, "still fine")
    status, text = await post_signed(session, inbox(hq), third, bob.key)
    assert status == 202, text
    await alice.wait_status(third["object"]["id"])
    assert peer.actor_gets["bob"] == 2
    assert await alice.find_status(bad["object"]["id"]) is None


async def test_sig_key_rotation_by_actor_update_needs_no_refetch(
    network: Network, session: aiohttp.ClientSession, counting_peer: CountingPeer
) -> None:
    # Given a node that knows bob's key
    hq = await network.node("hq", users=("alice",))
    alice = hq.api(session, "alice")
    peer = counting_peer
    bob = peer.actor("bob")
    first = create_note(bob, "hello")
    status, text = await post_signed(session, inbox(hq), first, bob.key)
    assert status == 202, text
    await alice.wait_status(first["object"]["id"])
    assert peer.actor_gets["bob"] == 1

    # When bob sends an Update of himself carrying a new key, signed with the old key
    old_document = bob.document()
    old_key = bob.key
    rotate(bob)
    new_document = bob.document()
    new_document.pop("@context")
    update = {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": f"{bob.id}#updates/1",
        "type": "Update",
        "actor": bob.id,
        "to": [PUBLIC],
        "object": new_document,
    }
    # (and his server still serves the old document: a refetch would bring back the old key)
    peer.actors["bob"] = OldDocument(bob, old_document)
    before = await processed(alice)
    status, text = await post_signed(session, inbox(hq), update, old_key)
    assert status == 202, text

    async def update_applied() -> bool:
        return await processed(alice) == before + 1

    await eventually(update_applied)

    # Then a request signed with the new key is accepted at once, without any fetch
    second = create_note(bob, "signed with the new key")
    status, text = await post_signed(session, inbox(hq), second, bob.key)
    assert status == 202, text
    await alice.wait_status(second["object"]["id"])
    assert peer.actor_gets["bob"] == 1

    # and once bob's server serves the new document too, the replaced key is refused: the one
    # refetch it may cause brings the new key again
    peer.actors["bob"] = bob
    status, text = await post_signed(session, inbox(hq), create_note(bob, "old key"), old_key)
    assert status == 401, text
    assert peer.actor_gets["bob"] <= 2


class OldDocument(PeerActor):
    """Serves a frozen document (a server whose cache lags behind the actor's Update)."""

    frozen: dict[str, Any]

    def __init__(self, actor: PeerActor, frozen: dict[str, Any]) -> None:
        super().__init__(actor.username, actor.base_url, actor.private_pem, actor.public_pem)
        self.frozen = frozen

    def document(self) -> dict[str, Any]:
        return self.frozen
