"""Ed25519 keys as Multikeys: conversions, signatures, resolving ``#ed25519-key`` and refetch."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ed25519

from activitystreams import Actor, build
from federation.errors import SignatureError
from federation.fetch import HttpClient
from federation.keys import (
    SigningKey,
    ed25519_public_key_from_multibase,
    generate_ed25519_keypair,
    generate_rsa_keypair,
    load_public_key,
    multibase_from_public_key,
    multibase_to_pem,
    pem_to_multibase,
)
from federation.protocols import StoredKey
from federation.resolve import REFETCH_INTERVAL, KeyResolver
from federation.signatures import sign_request, verify_request

NOW = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)
FEP_KEY = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"


def test_given_ed25519_public_key_when_converted_then_multibase_and_pem_round_trip() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    multibase = multibase_from_public_key(private.public_key())
    assert multibase.startswith("z6Mk") and len(multibase) == 48
    pem = multibase_to_pem(multibase)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert pem_to_multibase(pem) == multibase
    loaded = load_public_key(pem)
    assert isinstance(loaded, ed25519.Ed25519PublicKey)
    assert multibase_from_public_key(ed25519_public_key_from_multibase(multibase)) == multibase


def test_given_published_multikey_when_loaded_then_ed25519_key() -> None:
    key = ed25519_public_key_from_multibase(FEP_KEY)
    assert multibase_from_public_key(key) == FEP_KEY


@pytest.mark.parametrize("value", ["", "zzz", "z0", "6Mk", "z" + "1" * 60])
def test_given_peer_garbage_multibase_when_loaded_then_signature_error(value: str) -> None:
    with pytest.raises(SignatureError, match="invalid Multikey"):
        ed25519_public_key_from_multibase(value)
    with pytest.raises(SignatureError):
        multibase_to_pem(value)


def test_given_rsa_pem_when_asked_for_multibase_then_refused() -> None:
    with pytest.raises(SignatureError, match="not an Ed25519"):
        pem_to_multibase(generate_rsa_keypair()[1])


def test_given_key_published_as_multibase_when_verifying_ed25519_signature_then_valid() -> None:
    private_pem, public_pem = generate_ed25519_keypair()
    published = pem_to_multibase(public_pem)  # what the actor document carries
    key = SigningKey.from_pem("https://hq.test/users/alice#ed25519-key", private_pem)
    body = b'{"type": "Like"}'
    headers = sign_request(
        method="POST", url="https://maastricht.test/inbox", key=key, body=body, now=NOW
    )
    verify_request(
        method="POST",
        target="/inbox",
        headers=headers,
        body=body,
        public_key=load_public_key(multibase_to_pem(published)),
        now=NOW,
    )
    other = pem_to_multibase(generate_ed25519_keypair()[1])
    with pytest.raises(SignatureError, match="does not verify"):
        verify_request(
            method="POST",
            target="/inbox",
            headers=headers,
            body=body,
            public_key=load_public_key(multibase_to_pem(other)),
            now=NOW,
        )


# --- KeyResolver: a real loopback server serves the actor document ----------------------------


@dataclass
class MemoryStore:
    """An ActorStore that keeps what it is told (the node's is DbActorStore)."""

    remembered: list[Actor] = field(default_factory=list)

    async def key(self, key_id: str) -> StoredKey | None:
        return None

    async def remember(self, actor: Actor) -> None:
        self.remembered.append(actor)


@dataclass
class Peer:
    port: int = 0
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    gets: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    state = Peer()

    async def serve(request: web.Request) -> web.Response:
        state.gets.append(request.path)
        doc = state.docs.get(request.path)
        if doc is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.Response(
            body=json.dumps(doc).encode(), headers={"Content-Type": "application/activity+json"}
        )

    app = web.Application()
    app.router.add_get("/{tail:.*}", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield state
    finally:
        await runner.cleanup()


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    async with HttpClient(allow=lambda host: True, user_agent="test") as c:
        yield c


def actor_doc(actor_id: str, rsa_pem: str, multikey: dict[str, Any] | None) -> dict[str, Any]:
    doc = build.actor_document(
        id=actor_id,
        type="Person",
        preferred_username="bob",
        name=None,
        summary=None,
        inbox=f"{actor_id}/inbox",
        outbox=f"{actor_id}/outbox",
        followers=f"{actor_id}/followers",
        following=f"{actor_id}/following",
        shared_inbox=None,
        key_id=f"{actor_id}#main-key",
        public_key_pem=rsa_pem,
        manually_approves_followers=False,
        url=None,
        published=None,
    )
    if multikey is not None:
        doc["assertionMethod"] = [multikey]
    return doc


def resolver(
    store: MemoryStore, client: HttpClient, clock: list[float] | None = None
) -> KeyResolver:
    instance = SigningKey.from_pem("https://hq.test/actor#main-key", generate_ed25519_keypair()[0])

    async def instance_key() -> SigningKey:
        return instance

    now = clock if clock is not None else [0.0]
    return KeyResolver(store, client, instance_key, clock=lambda: now[0])


async def test_given_actor_with_multikey_when_resolving_its_key_id_then_ed25519_pem(
    peer: Peer, client: HttpClient
) -> None:
    bob = peer.url("/users/bob")
    rsa_pem = generate_rsa_keypair()[1]
    ed_pem = generate_ed25519_keypair()[1]
    multikey = {
        "id": f"{bob}#ed25519-key",
        "type": "Multikey",
        "controller": bob,
        "publicKeyMultibase": pem_to_multibase(ed_pem),
    }
    peer.docs["/users/bob"] = actor_doc(bob, rsa_pem, multikey)
    store = MemoryStore()

    key = await resolver(store, client).resolve(f"{bob}#ed25519-key")

    assert key == StoredKey(key_id=f"{bob}#ed25519-key", owner=bob, pem=ed_pem)
    # the actor is remembered as published: its RSA key stays first, the multikey beside it
    [remembered] = store.remembered
    assert [(k.id, k.pem) for k in remembered.public_keys] == [(f"{bob}#main-key", rsa_pem)]
    assert [k.id for k in remembered.multikeys] == [f"{bob}#ed25519-key"]
    # and the RSA key still resolves as before
    assert (await resolver(store, client).resolve(f"{bob}#main-key")).pem == rsa_pem


async def test_given_multikey_controlled_by_another_actor_when_resolving_then_refused(
    peer: Peer, client: HttpClient
) -> None:
    bob = peer.url("/users/bob")
    multikey = {
        "id": f"{bob}#ed25519-key",
        "type": "Multikey",
        "controller": peer.url("/users/mallory"),
        "publicKeyMultibase": FEP_KEY,
    }
    peer.docs["/users/bob"] = actor_doc(bob, generate_rsa_keypair()[1], multikey)
    with pytest.raises(SignatureError, match=r"controlled by .*mallory"):
        await resolver(MemoryStore(), client).resolve(f"{bob}#ed25519-key")


async def test_given_malformed_multikey_when_resolving_then_no_such_key(
    peer: Peer, client: HttpClient
) -> None:
    bob = peer.url("/users/bob")
    multikey = {
        "id": f"{bob}#ed25519-key",
        "type": "Multikey",
        "controller": bob,
        "publicKeyMultibase": "z6MkNOTAKEY",
    }
    peer.docs["/users/bob"] = actor_doc(bob, generate_rsa_keypair()[1], multikey)
    with pytest.raises(SignatureError, match="has no public key"):
        await resolver(MemoryStore(), client).resolve(f"{bob}#ed25519-key")


async def test_given_standalone_multikey_document_when_resolving_then_key_of_its_controller(
    peer: Peer, client: HttpClient
) -> None:
    bob = peer.url("/users/bob")
    key_url = peer.url("/users/bob/keys/ed25519")
    ed_pem = generate_ed25519_keypair()[1]
    multikey = {
        "id": key_url,
        "type": "Multikey",
        "controller": bob,
        "publicKeyMultibase": pem_to_multibase(ed_pem),
    }
    peer.docs["/users/bob/keys/ed25519"] = {
        "@context": "https://w3id.org/security/multikey/v1",
        **multikey,
    }
    peer.docs["/users/bob"] = actor_doc(bob, generate_rsa_keypair()[1], multikey)
    key = await resolver(MemoryStore(), client).resolve(key_url)
    assert (key.owner, key.pem) == (bob, ed_pem)


def test_given_first_fetch_just_now_when_verification_fails_then_refetch_allowed_once_a_minute(
    client: HttpClient,
) -> None:
    clock = [1000.0]
    keys = resolver(MemoryStore(), client, clock)
    # (the first, ordinary fetch happened at 1000: it does not count)
    clock[0] = 1005.0
    assert keys.may_refetch("https://a.test/users/bob#main-key")  # rotated right after contact
    assert not keys.may_refetch("https://a.test/users/bob#main-key")  # a second bad request
    clock[0] = 1005.0 + REFETCH_INTERVAL - 1
    assert not keys.may_refetch("https://a.test/users/bob#main-key")
    assert keys.may_refetch("https://a.test/users/carol#main-key")  # per key
    clock[0] = 1005.0 + REFETCH_INTERVAL
    assert keys.may_refetch("https://a.test/users/bob#main-key")
    assert not keys.may_refetch("https://a.test/users/bob#main-key")


def test_given_many_keys_when_refetching_then_old_entries_are_pruned(client: HttpClient) -> None:
    clock = [0.0]
    keys = resolver(MemoryStore(), client, clock)
    for n in range(10_000):
        assert keys.may_refetch(f"https://a.test/users/u{n}#main-key")
    clock[0] = REFETCH_INTERVAL + 1
    assert keys.may_refetch("https://a.test/users/new#main-key")
    assert len(keys._last_refetch) == 1
