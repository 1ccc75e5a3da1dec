"""Real-world inbox faults (shared/cases/cases.jsonl) replayed against a real node process.

Each test takes the case's own documents, moves them onto real hosts (the TestPeer stands in for
``maastricht.test`` and ``relay.hq.test``, the node for ``hq.test``, a second peer for
``example.test``), signs them with the peer's real keys and checks the case's ``expected``
behaviour over HTTP: status codes at the inbox, then what the client API shows.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import aiohttp
import orjson
import pytest

from federation.signatures.cavage import sign_request
from federation.signatures.rfc9421 import sign_request as rfc9421_sign
from tests.cases import load_case

from .harness import Api, Network, Node, eventually
from .peer import PeerActor, TestPeer

pytestmark = pytest.mark.e2e

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


# -- helpers ---------------------------------------------------------------------------------


def case_input(case_id: str) -> Any:
    return load_case(case_id)["input"]


def rehost(doc: Any, mapping: Iterable[tuple[str, str]]) -> Any:
    """Replace case hosts/ids by real ones (first match wins, so list specific ones first)."""
    text = json.dumps(doc)
    pairs = list(mapping)
    marks = [f"\x00{i}\x00" for i in range(len(pairs))]
    for mark, (old, _) in zip(marks, pairs, strict=True):
        text = text.replace(old, mark)
    for mark, (_, new) in zip(marks, pairs, strict=True):
        text = text.replace(mark, new)
    return json.loads(text)


def hosts(peer: TestPeer, node: Node, *extra: tuple[str, str]) -> list[tuple[str, str]]:
    return [
        *extra,
        ("https://relay.hq.test", peer.base_url),
        ("https://maastricht.test", peer.base_url),
        ("https://hq.test", node.base_url),
    ]


def inbox(node: Node, user: str | None = None) -> str:
    return f"{node.base_url}/users/{user}/inbox" if user else f"{node.base_url}/inbox"


async def settled(api: Api) -> dict[str, Any]:
    """Wait until the node's inbox has nothing pending; return the admin federation view."""

    async def check() -> dict[str, Any]:
        state: dict[str, Any] = await api.call("GET", "/admin/federation")
        return {} if state["inbox"].get("pending") else state  # {} is falsy: poll again

    return await eventually(check)


async def deliver(
    session: aiohttp.ClientSession,
    peer: TestPeer,
    url: str,
    activity: dict[str, Any],
    signer: PeerActor,
    expect: int = 202,
) -> None:
    status, text = await peer.post(session, url, activity, signer=signer)
    assert status == expect, f"{activity.get('id')}: {status} {text}"


async def mentions(api: Api, uri: str) -> list[dict[str, Any]]:
    found = await api.call("GET", "/notifications")
    return [n for n in found if n["type"] == "mention" and (n["status"] or {}).get("uri") == uri]


@pytest.fixture
async def other_peer() -> AsyncIterator[TestPeer]:
    """A second, unrelated host (``example.test`` in the cases)."""
    p = TestPeer()
    await p.start()
    try:
        yield p
    finally:
        await p.close()


# -- origin and signatures -------------------------------------------------------------------


async def test_origin_keyid_actor_mismatch(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer, other_peer: TestPeer
) -> None:
    data = case_input("origin-keyid-actor-mismatch")
    hq = await network.node("hq", users=("alice",))
    alice = hq.api(session, "alice")
    bob, mallory = peer.actor("bob"), other_peer.actor("mallory")
    forged = rehost(data["body"], hosts(peer, hq))

    # Mallory's key is valid, but she signs a Create in bob's name: refused, nothing stored.
    status, text = await peer.post(session, inbox(hq), forged, signer=mallory)
    assert status in (401, 403), text
    # Bob signs, but the object claims another author: also refused.
    wrong_author = json.loads(json.dumps(forged))
    wrong_author["id"] += "-b"
    wrong_author["object"]["attributedTo"] = mallory.id
    status, text = await peer.post(session, inbox(hq), wrong_author, signer=bob)
    assert status in (401, 403), text
    await settled(alice)
    assert await alice.find_status(forged["object"]["id"]) is None

    # The legit variant: a separate key URL whose key document names bob as owner.
    legit = SeparateKeyActor.like(peer.actor("carol"))
    peer.actors["carol"] = legit
    peer.objects["/users/carol/main-key"] = legit.key_document()
    note = {**forged["object"], "id": peer.url("/notes/legit-1"), "attributedTo": legit.id}
    create = {**forged, "id": peer.url("/activities/legit-1"), "actor": legit.id, "object": note}
    await deliver(session, peer, inbox(hq), create, legit)
    await alice.wait_status(note["id"])


class SeparateKeyActor(PeerActor):
    """An actor whose key lives at ``<actor>/main-key`` (GoToSocial style)."""

    @classmethod
    def like(cls, actor: PeerActor) -> SeparateKeyActor:
        return cls(actor.username, actor.base_url, actor.private_pem, actor.public_pem)

    @property
    def key_id(self) -> str:
        return f"{self.id}/main-key"

    def key_document(self) -> dict[str, Any]:
        """The stub GoToSocial serves at the key URL: the actor's id, only the key."""
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.id,
            "type": "Person",
            "preferredUsername": self.username,
            "publicKey": {"id": self.key_id, "owner": self.id, "publicKeyPem": self.public_pem},
        }


class KeyIdAs(PeerActor):
    """Signs with an arbitrary keyId form while serving the usual ``#main-key`` document."""

    signing_key_id: str = ""

    @classmethod
    def of(cls, actor: PeerActor, key_id: str) -> KeyIdAs:
        made = cls(actor.username, actor.base_url, actor.private_pem, actor.public_pem)
        made.signing_key_id = key_id
        return made

    @property
    def key(self) -> Any:
        from federation.keys import SigningKey

        return SigningKey.from_pem(self.signing_key_id, self.private_pem)


async def test_sig_keyid_forms(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    hq = await network.node("hq", users=("alice",))
    alice = hq.api(session, "alice")
    forms: dict[str, tuple[PeerActor, Callable[[PeerActor], PeerActor]]] = {
        "fragment": (peer.actor("bob"), lambda a: a),
        "bare": (peer.actor("dave"), lambda a: KeyIdAs.of(a, a.id)),
        "separate": (peer.actor("erin"), SeparateKeyActor.like),
    }
    for label, (actor, shape) in forms.items():
        signer = shape(actor)
        peer.actors[actor.username] = signer if isinstance(signer, SeparateKeyActor) else actor
        if isinstance(signer, SeparateKeyActor):
            peer.objects[f"/users/{actor.username}/main-key"] = signer.key_document()
        for n in (1, 2):
            note_id = peer.url(f"/notes/keyid-{label}-{n}")
            create = {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{note_id}/activity",
                "type": "Create",
                "actor": actor.id,
                "to": [PUBLIC],
                "object": {
                    "id": note_id,
                    "type": "Note",
                    "attributedTo": actor.id,
                    "to": [PUBLIC],
                    "content": f"<p>{label} {n}</p>",
                },
            }
            await deliver(session, peer, inbox(hq), create, signer)
            await alice.wait_status(note_id)
            # The key is cached under what the peer signs with: the second request must not
            # need the peer at all.
            peer.actors.pop(actor.username, None)
            peer.objects.pop(f"/users/{actor.username}/main-key", None)

    # An unresolvable key is 401, never 500.
    ghost = peer.actor("ghost")
    peer.actors.pop("ghost")
    status, text = await peer.post(
        session,
        inbox(hq),
        {"id": peer.url("/a/ghost"), "type": "Follow", "actor": ghost.id, "object": "x"},
        signer=ghost,
    )
    assert status == 401, text


async def test_sig_rfc9421_and_double_knock(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    data = case_input("sig-rfc9421-and-double-knock")
    hq = await network.node("hq", users=("alice",))
    alice = hq.api(session, "alice")
    relay = peer.actor("relay")
    carol = peer.actor("carol")
    announce = rehost(data["body"], hosts(peer, hq, ("https://relay.hq.test/actor", relay.id)))
    peer.objects["/notes/42"] = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": peer.url("/notes/42"),
        "type": "Note",
        "attributedTo": carol.id,
        "content": "<p>Canteen opens Monday</p>",
        "to": [PUBLIC],
        "published": "2026-12-03T09:00:00Z",
    }
    body = orjson.dumps(announce)
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    headers = {
        "Content-Type": "application/activity+json",
        "Content-Digest": f"sha-256=:{digest}:",
        # The case's components and parameters, created now (the case's own stamp ages out of
        # the window) and with our peer's key: only the signature itself is bad.
        "Signature-Input": re.sub(
            r";created=\d+",
            f";created={int(time.time())}",
            data["request"]["headers"]["Signature-Input"],
        ).replace("https://relay.hq.test/actor#main-key", relay.key_id),
        "Signature": "sig1=:" + base64.b64encode(b"\x01" * 256).decode() + ":",
    }
    # A bad RFC 9421 signature: 401 naming RFC 9421 (never 400 or 5xx: the sender falls back).
    for url in (inbox(hq), inbox(hq, "alice")):
        async with session.post(url, data=body, headers=headers) as resp:
            text = await resp.text()
            assert resp.status == 401, text
            assert "RFC 9421" in text and "does not verify" in text
    # Signature-Input alone (a sender that forgot Signature) is the same answer.
    del headers["Signature"]
    async with session.post(inbox(hq), data=body, headers=headers) as resp:
        text = await resp.text()
        assert resp.status == 401, text
        assert "RFC 9421" in text and "missing Signature header" in text
    state = await alice.call("GET", "/admin/federation")
    assert not state["inbox"], state  # nothing recorded as if it were unsigned

    # Signed for real (the case's components: @method @target-uri @authority content-digest
    # content-type), the relay's Announce is accepted and processed.
    signed = rfc9421_sign(
        method="POST",
        url=inbox(hq),
        key=relay.key,
        body=body,
        headers={"Content-Type": "application/activity+json"},
    )
    assert "Signature-Input" in signed and "Digest" not in signed
    async with session.post(inbox(hq), data=body, headers=signed) as resp:
        assert resp.status == 202, await resp.text()
    state = await settled(alice)
    assert state["inbox"] == {"processed": 1}, state
    assert await alice.wait_status(peer.url("/notes/42"))


async def test_sig_key_fetch_deadlock(network: Network, session: aiohttp.ClientSession) -> None:
    hq = await network.node("hq", users=("alice",))
    mt = await network.node("mt", users=("bob",))
    alice, bob = hq.api(session, "alice"), mt.api(session, "bob")

    # Key material is served unsigned; everything else needs a signed fetch.
    for url in (f"{hq.base_url}/actor", f"{hq.base_url}/users/alice", f"{mt.base_url}/actor"):
        async with session.get(url, headers={"Accept": "application/activity+json"}) as resp:
            assert resp.status == 200, url
            doc = await resp.json(content_type=None)
            assert "BEGIN PUBLIC KEY" in doc["publicKey"]["publicKeyPem"]
    post = await alice.post("Signed fetch only")
    async with session.get(post["uri"], headers={"Accept": "application/activity+json"}) as resp:
        assert resp.status == 401
    async with session.get(
        f"{hq.base_url}/users/alice/outbox", headers={"Accept": "application/activity+json"}
    ) as resp:
        assert resp.status == 401

    # Neither node knows the other's keys: the follow and its Accept still complete.
    await bob.follow(f"alice@{hq.netloc}")
    await eventually(lambda: bob.following())
    await eventually(lambda: alice.followers())
    second = await alice.post("After the follow")
    await bob.wait_status(second["uri"])


# -- payloads --------------------------------------------------------------------------------


def _big_create(peer: TestPeer, node: Node, data: dict[str, Any], size: int) -> dict[str, Any]:
    doc = rehost(data["body_shape"], hosts(peer, node))
    doc["object"]["type"] = "Article"
    doc["object"]["name"] = "Corporate news"
    doc["object"]["content"] = "<p>" + "x" * size + "</p>"
    return doc  # type: ignore[no-any-return]


async def test_body_read_fully(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    data = case_input("body-read-fully")
    hq = await network.node("hq", users=("alice",))
    alice = hq.api(session, "alice")
    bob = peer.actor("bob")

    article = _big_create(peer, hq, data, 70_000)
    await deliver(session, peer, inbox(hq), article, bob)
    stored = await alice.wait_status(article["object"]["id"])
    assert "x" * 70_000 in stored["content"]

    # The chunked variant: no Content-Length, 1 KB chunks.
    chunked = _big_create(peer, hq, data, 6_000)
    chunked["id"] = peer.url("/activities/88-chunked")
    chunked["object"]["id"] = peer.url("/notes/88-chunked")
    body = orjson.dumps(chunked)
    headers = sign_request(
        method="POST",
        url=inbox(hq),
        key=bob.key,
        body=body,
        headers={"Content-Type": "application/activity+json"},
    )

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 1024):
            yield body[i : i + 1024]
            await asyncio.sleep(0)

    async with session.post(inbox(hq), data=chunks(), headers=headers) as resp:
        assert resp.status == 202, await resp.text()
        assert resp.request_info.headers.get("Transfer-Encoding") == "chunked"
    await alice.wait_status(chunked["object"]["id"])


async def test_payload_size_limits(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    hq = await network.node("hq", users=("alice",))
    alice = hq.api(session, "alice")
    bob = peer.actor("bob")
    data = case_input("body-read-fully")

    # Declared over the limit: 413 (before any signature work).
    too_big = _big_create(peer, hq, data, 1_100_000)
    status, text = await peer.post(session, inbox(hq), too_big, signer=bob)
    assert status == 413, text

    # Streamed (chunked, no Content-Length) past the limit: 413 once the limit is passed,
    # while the sender is still sending.
    reader, writer = await asyncio.open_connection("127.0.0.1", hq.port)
    writer.write(
        b"POST /users/alice/inbox HTTP/1.1\r\nHost: " + hq.netloc.encode() + b"\r\n"
        b"Content-Type: application/activity+json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"x" * 65536
    try:
        for _ in range(40):  # 2.5 MB at most; the answer comes well before
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
    except ConnectionError:
        pass  # the server answered and closed
    status_line = await asyncio.wait_for(reader.readline(), timeout=5)
    writer.close()
    assert b" 413 " in status_line, status_line

    # A declared 5 GB body that then trickles: answered 413 at once, not read.
    reader, writer = await asyncio.open_connection("127.0.0.1", hq.port)
    writer.write(
        b"POST /inbox HTTP/1.1\r\nHost: " + hq.netloc.encode() + b"\r\n"
        b"Content-Type: application/activity+json\r\nContent-Length: 5368709120\r\n\r\n{"
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), timeout=5)
    writer.close()
    assert b" 413 " in status_line, status_line

    # The 70 KB article next to it is fine, and nothing of the refused ones was stored.
    ok = _big_create(peer, hq, data, 70_000)
    ok["id"] = peer.url("/activities/ok")
    ok["object"]["id"] = peer.url("/notes/ok")
    await deliver(session, peer, inbox(hq), ok, bob)
    await alice.wait_status(ok["object"]["id"])
    assert await alice.find_status(too_big["object"]["id"]) is None


# -- WebFinger -------------------------------------------------------------------------------


async def test_webfinger_case_and_resource_forms(
    network: Network, session: aiohttp.ClientSession
) -> None:
    data = case_input("webfinger-case-and-resource-forms")
    hq = await network.node("hq", users=(data["stored_username"],))
    host = hq.netloc
    requests = [
        r.replace("HQ.test", host.upper())
        .replace("https://hq.test", hq.base_url)
        .replace("hq.test", host)
        .replace("maastricht.test", "maastricht.example")
        for r in data["requests"]
    ]
    expected = [200, 200, 200, 200, 200, 404, 400, 404]
    actor = f"{hq.base_url}/users/alice.jansen"
    for request, status in zip(requests, expected, strict=True):
        path = request.removeprefix("GET ")
        async with session.get(hq.base_url + path) as resp:
            assert resp.status == status, (request, await resp.text())
            if status != 200:
                continue
            assert resp.headers["Content-Type"].startswith("application/jrd+json"), request
            jrd = await resp.json(content_type=None)
            assert jrd["subject"] == f"acct:alice.jansen@{host}", request
            selves = [link for link in jrd["links"] if link["rel"] == "self"]
            assert selves == [
                {"rel": "self", "type": "application/activity+json", "href": actor}
            ], request


async def test_webfinger_self_link_and_content_type(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    data = case_input("webfinger-self-link-and-content-type")
    hq = await network.node("hq", users=("alice",))
    url = f"{hq.base_url}/.well-known/webfinger?resource=acct:alice@{hq.netloc}"
    for accept in ("application/jrd+json", "application/json", None):
        headers = {"Accept": accept} if accept else {}
        async with session.get(url, headers=headers, skip_auto_headers=["Accept"]) as resp:
            assert resp.status == 200, accept
            assert resp.headers["Content-Type"].startswith("application/jrd+json"), accept
            assert (await resp.json(content_type=None))["subject"] == f"acct:alice@{hq.netloc}"

    # As a client: the peer's JRD has a text/html "self" first; the node picks the AS2 link.
    bob = peer.actor("bob")
    peer.objects["/.well-known/webfinger"] = rehost(
        data["remote_response_body"],
        [("acct:bob@maastricht.test", f"acct:bob@{peer.netloc}"), *hosts(peer, hq)],
    )
    alice = hq.api(session, "alice")
    await alice.follow(f"bob@{peer.netloc}")

    async def follow_sent() -> bool:
        return any(a.get("type") == "Follow" and a.get("object") == bob.id for a in peer.received)

    await eventually(follow_sent)


# -- shapes of incoming documents ---------------------------------------------------------------


async def test_audience_as_string_or_absent(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    data = case_input("audience-as-string-or-absent")
    hq = await network.node("hq", users=("alice",))
    alice = hq.api(session, "alice")
    bob = peer.actor("bob")
    follow = rehost(data["follow_to_string"], hosts(peer, hq))
    create = rehost(data["create_no_cc_object_only_audience"], hosts(peer, hq))
    await deliver(session, peer, inbox(hq, "alice"), follow, bob)
    await deliver(session, peer, inbox(hq), create, bob)

    followers = await eventually(lambda: alice.followers())
    assert [a["uri"] for a in followers] == [bob.id]

    async def accepted() -> bool:
        return any(
            a.get("type") == "Accept" and (a.get("object") or {}).get("id") == follow["id"]
            for a in peer.received
        )

    await eventually(accepted)
    note = await alice.wait_status(create["object"]["id"])
    assert note["visibility"] == "public"
    public = await alice.call("GET", "/timelines/public")
    assert note["uri"] in [s["uri"] for s in public]


async def test_public_collection_spellings(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    data = case_input("public-collection-spellings")
    hq = await network.node("hq", users=("alice",))
    alice = hq.api(session, "alice")
    bob = peer.actor("bob")
    notes = rehost(data["notes"], hosts(peer, hq))
    for note in notes:
        create = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": note["id"] + "/create",
            "type": "Create",
            "actor": bob.id,
            "object": note,
        }
        await deliver(session, peer, inbox(hq), create, bob)
    stored = [await alice.wait_status(n["id"]) for n in notes]
    assert [s["visibility"] for s in stored] == ["public", "public", "public", "unlisted"]
    public = {s["uri"] for s in await alice.call("GET", "/timelines/public")}
    assert public >= {n["id"] for n in notes[:3]}
    assert notes[3]["id"] not in public


async def test_attributedto_and_actor_shapes(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    data = case_input("attributedto-and-actor-shapes")
    hq = await network.node("hq", users=("alice",))
    alice = hq.api(session, "alice")
    bob = peer.actor("bob")
    video = rehost(data["video"], hosts(peer, hq))
    note = rehost(data["note_attributed_object"], hosts(peer, hq))
    wrapped = [
        {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": obj["id"] + "/create",
            "type": "Create",
            "actor": {"id": bob.id, "type": "Person"},  # an embedded actor object, too
            "to": [PUBLIC],
            "object": {k: v for k, v in obj.items() if k != "@context"},
        }
        for obj in (video, note)
    ]
    listed = rehost(data["activity_actor_list"], hosts(peer, hq))
    for activity in [*wrapped, listed]:
        await deliver(session, peer, inbox(hq), activity, bob)
    for uri in (video["id"], note["id"], listed["object"]["id"]):
        stored = await alice.wait_status(uri)
        assert stored["account"]["uri"] == bob.id, uri  # the Person, not the Group channel
        assert stored["content"], uri
    video_status = await alice.find_status(video["id"])
    assert video_status is not None and "Safety briefing" in video_status["content"]

    # Several different actors: 400, never a 500.
    several = {**listed, "id": peer.url("/activities/a4"), "actor": [bob.id, peer.url("/u/x")]}
    status, text = await peer.post(session, inbox(hq), several, signer=bob)
    assert status == 400, text


async def test_contentmap_without_content(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    hq = await network.node("hq", users=("alice",))
    alice = hq.api(session, "alice")
    create = rehost(case_input("contentmap-without-content"), hosts(peer, hq))
    await deliver(session, peer, inbox(hq), create, peer.actor("bob"))
    status = await alice.wait_status(create["object"]["id"])
    assert status["content"] == "<p>Good morning Maastricht</p>"
    assert status["spoiler_text"] == "Greeting"


async def test_sensitive_and_summary(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    data = case_input("sensitive-and-summary")
    hq = await network.node("hq", users=("alice",))
    alice = hq.api(session, "alice")
    bob = peer.actor("bob")
    for key in ("incoming_cw_without_sensitive", "incoming_sensitive_without_term"):
        note = rehost(data[key], hosts(peer, hq))
        note.pop("@context")
        create = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": note["id"] + "/create",
            "type": "Create",
            "actor": bob.id,
            "to": note["to"],
            "object": note,
        }
        await deliver(session, peer, inbox(hq), create, bob)
    cw = await alice.wait_status(peer.url("/notes/s2"))
    assert cw["spoiler_text"] == "Spoilers: Q3 figures"
    assert cw["content"] == "<p>Revenue up</p>"
    media = await alice.wait_status(peer.url("/notes/s3"))
    assert media["sensitive"] is True
    assert media["spoiler_text"] == ""

    # Outgoing: our own documents declare the sensitive term in @context.
    follow = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": peer.url("/follows/s"),
        "type": "Follow",
        "actor": bob.id,
        "object": f"{hq.base_url}/users/alice",
    }
    await deliver(session, peer, inbox(hq, "alice"), follow, bob)
    await eventually(lambda: alice.followers())
    mine = await alice.post("Incident photos", spoiler_text="Incident photos", sensitive=True)

    async def delivered() -> dict[str, Any] | None:
        for activity in peer.received:
            obj = activity.get("object")
            if (
                activity.get("type") == "Create"
                and isinstance(obj, dict)
                and obj.get("id") == mine["uri"]
            ):
                return activity
        return None

    activity = await eventually(delivered)
    assert activity is not None
    assert activity["object"]["sensitive"] is True
    assert activity["object"]["summary"] == "Incident photos"
    contexts = activity["@context"] if isinstance(activity["@context"], list) else []
    assert any(isinstance(c, dict) and "sensitive" in c for c in contexts), activity["@context"]


async def test_context_unknown_or_invalid(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    hq = await network.node("hq", users=("alice",))
    alice = hq.api(session, "alice")
    create = rehost(case_input("context-unknown-or-invalid"), hosts(peer, hq))
    await deliver(session, peer, inbox(hq), create, peer.actor("bob"))
    status = await alice.wait_status(create["object"]["id"])
    assert status["content"] == "<p>ok</p>"
    assert status["visibility"] == "public"
    assert status["account"]["uri"] == peer.actor("bob").id


async def test_sanitize_remote_html(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    hq = await network.node("hq", users=("alice",))
    alice = hq.api(session, "alice")
    create = rehost(case_input("sanitize-remote-html"), hosts(peer, hq))
    await deliver(session, peer, inbox(hq), create, peer.actor("bob"))
    status = await alice.wait_status(create["object"]["id"])
    html = status["content"]
    lowered = html.lower()
    for bad in (
        "javascript",
        "vbscript",
        "data:",
        "<script",
        "alert(4)",
        "<img",
        "onerror",
        "<iframe",
        "style=",
    ):
        assert bad not in lowered, (bad, html)
    assert f'href="{hq.base_url}/news/1"' in html
    assert 'rel="nofollow noopener noreferrer"' in html
    for text in ("Quarterly results", "here", ">ok<"):
        assert text in html
    assert ">a<" not in html and "a b c" in html.replace("</a>", "")  # refused links keep text
    assert status["spoiler_text"] == "cw"  # summary: same rules, shown as plain text


# -- embedded versus referenced ------------------------------------------------------------------


async def _follow_in(
    session: aiohttp.ClientSession, peer: TestPeer, node: Node, user: str, follow: dict[str, Any]
) -> None:
    api = node.api(session, user)
    await deliver(session, peer, inbox(node, user), follow, peer.actors["bob"])

    async def following() -> bool:
        return follow["actor"] in [a["uri"] for a in await api.followers()]

    await eventually(following)


async def test_undo_follow_embedded_or_idless(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer, other_peer: TestPeer
) -> None:
    variants = case_input("undo-follow-embedded-or-idless")["variants"]
    hq = await network.node("hq", users=("alice",))
    alice = hq.api(session, "alice")
    bob, mallory = peer.actor("bob"), other_peer.actor("mallory")
    follow9 = "https://maastricht.test/follows/9"

    def mapped(doc: dict[str, Any], n: int) -> dict[str, Any]:
        # Each variant undoes its own fresh Follow (an inbox never runs one activity id twice).
        extra = (
            (follow9, peer.url(f"/follows/9-{n}")),
            ("https://example.test", other_peer.base_url),
        )
        return rehost(doc, hosts(peer, hq, *extra))  # type: ignore[no-any-return]

    def follow_for(n: int) -> dict[str, Any]:
        return {
            "@context": "https://www.w3.org/ns/activitystreams",
            **mapped(variants[0], n)["object"],
        }

    async def no_followers() -> bool:
        return await alice.followers() == []

    for n, undo in enumerate(variants[:3]):
        await _follow_in(session, peer, hq, "alice", follow_for(n))
        undo = mapped(undo, n)
        await deliver(session, peer, inbox(hq, "alice"), undo, bob)
        await eventually(no_followers)
        await deliver(session, peer, inbox(hq, "alice"), undo, bob)  # repeated: harmless
        again = {**undo, "id": undo["id"] + "-again"}
        await deliver(session, peer, inbox(hq, "alice"), again, bob)

    # Mallory undoes bob's follow: refused at the door or without effect.
    await _follow_in(session, peer, hq, "alice", follow_for(3))
    forged = mapped(variants[3], 3)
    status, _ = await peer.post(session, inbox(hq, "alice"), forged, signer=mallory)
    assert status in (202, 403)
    await settled(alice)
    assert [a["uri"] for a in await alice.followers()] == [bob.id]


async def test_create_or_announce_by_reference(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    data = case_input("create-or-announce-by-reference")
    hq = await network.node("hq", users=("alice",))
    alice = hq.api(session, "alice")
    bob, carol = peer.actor("bob"), peer.actor("carol")
    mapping = hosts(peer, hq, ("https://hq.test/users/carol", carol.id))
    note = rehost(data["served_at_https://maastricht.test/notes/r1"], mapping)
    create, announce = rehost(data["create_ref"], mapping), rehost(data["announce_ref"], mapping)

    # The object is not served yet: 202, the record waits with its error (not dropped).
    await deliver(session, peer, inbox(hq), create, bob)

    async def waiting() -> bool:
        state = await alice.call("GET", "/admin/federation")
        return any(
            e["activity_id"] == create["id"] and e["state"] == "pending" and e["last_error"]
            for e in state["inbox_errors"]
        )

    await eventually(waiting)
    assert await alice.find_status(note["id"]) is None
    peer.objects["/notes/r1"] = note  # now it is: the retry fetches it
    stored = await alice.wait_status(note["id"])
    assert stored["content"] == "<p>Shift plan week 49</p>"
    assert stored["account"]["uri"] == bob.id

    await deliver(session, peer, inbox(hq), announce, carol)

    async def boosted() -> bool:
        found = await alice.find_status(note["id"])
        return bool(found and found["reblogs_count"] == 1)

    await eventually(boosted)

    # A Create by reference whose fetched object names another author is not stored.
    peer.objects["/notes/r2"] = {**note, "id": peer.url("/notes/r2"), "attributedTo": carol.id}
    create2 = {**create, "id": peer.url("/activities/r2"), "object": peer.url("/notes/r2")}
    await deliver(session, peer, inbox(hq), create2, bob)
    await settled(alice)
    assert await alice.find_status(peer.url("/notes/r2")) is None

    # An Announce of a post nobody sent us: dereferenced and shown.
    peer.objects["/notes/r3"] = {**note, "id": peer.url("/notes/r3"), "content": "<p>r3</p>"}
    announce3 = {**announce, "id": peer.url("/activities/b3"), "object": peer.url("/notes/r3")}
    await deliver(session, peer, inbox(hq), announce3, carol)
    boosted3 = await alice.wait_status(peer.url("/notes/r3"))
    assert boosted3["account"]["uri"] == bob.id


# -- ordering and dedupe -------------------------------------------------------------------------


async def test_delete_before_create(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer, other_peer: TestPeer
) -> None:
    data = case_input("delete-before-create")
    hq = await network.node("hq", users=("alice",))
    alice = hq.api(session, "alice")
    bob, carol, mallory = peer.actor("bob"), peer.actor("carol"), other_peer.actor("mallory")
    mapping = hosts(
        peer,
        hq,
        ("https://hq.test/users/carol/ann", peer.url("/users/carol/ann")),
        ("https://hq.test/users/carol", carol.id),
    )
    sequence: list[dict[str, Any]] = rehost(data["sequence"], mapping)
    delete, create, announce = sequence
    peer.objects["/notes/q1"] = create["object"]  # a dereference would find it: must be skipped

    for activity, signer in ((delete, bob), (create, bob), (announce, carol)):
        await deliver(session, peer, inbox(hq), activity, signer)
    await settled(alice)
    assert await alice.find_status(create["object"]["id"]) is None
    # A retried Create and a second boost later do not bring it back either.
    await deliver(session, peer, inbox(hq), {**create, "id": create["id"] + "-retry"}, bob)
    await deliver(session, peer, inbox(hq), {**announce, "id": announce["id"] + "-2"}, carol)
    await settled(alice)
    assert await alice.find_status(create["object"]["id"]) is None
    async with session.get(
        create["object"]["id"], headers={"Accept": "application/activity+json"}
    ) as resp:
        assert resp.status == 200  # the peer still serves it: the tombstone, not luck, held

    # A Delete from another origin for the same kind of id has no effect.
    q2 = {**create["object"], "id": peer.url("/notes/q2"), "content": "<p>still here</p>"}
    foreign_delete: dict[str, Any] = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": other_peer.url("/deletes/q2"),
        "type": "Delete",
        "actor": mallory.id,
        "to": [PUBLIC],
        "object": {"id": q2["id"], "type": "Tombstone"},
    }
    await deliver(session, peer, inbox(hq), foreign_delete, mallory)
    await settled(alice)
    create2 = {**create, "id": peer.url("/activities/q2"), "object": q2}
    await deliver(session, peer, inbox(hq), create2, bob)
    await alice.wait_status(q2["id"])
    # ... and neither does it delete a stored post.
    await deliver(
        session, peer, inbox(hq), {**foreign_delete, "id": foreign_delete["id"] + "b"}, mallory
    )
    await settled(alice)
    assert await alice.find_status(q2["id"]) is not None


async def test_dedupe_scope_and_side_effects(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    data = case_input("dedupe-scope-and-side-effects")
    hq = await network.node("hq", users=("alice", "carol"))
    alice, carol = hq.api(session, "alice"), hq.api(session, "carol")
    bob = peer.actor("bob")
    activity = rehost(data["activity"], hosts(peer, hq))
    announce = rehost(data["plus"], hosts(peer, hq))
    note_id = activity["object"]["id"]
    for target in ("alice", "carol", None, "alice"):
        await deliver(session, peer, inbox(hq, target), activity, bob)
    for target in ("alice", None):
        await deliver(session, peer, inbox(hq, target), announce, bob)
    state = await settled(alice)
    assert state["inbox"] == {"processed": 2}, state  # one record per activity id
    assert not state["inbox_errors"], state

    # Both recipients are told once; the note exists once.
    for api in (alice, carol):
        found = await eventually(lambda api=api: mentions(api, note_id))  # type: ignore[misc]
        assert len(found) == 1
        assert found[0]["status"]["content"] == "<p>Meeting moved to 14:00</p>"
    assert found[0]["status"]["reblogs_count"] == 1
    assert found[0]["status"]["visibility"] == "direct"


async def test_personal_inbox_followers_only(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    data = case_input("personal-inbox-followers-only")
    hq = await network.node("hq", users=("alice", "carol"))
    alice, carol = hq.api(session, "alice"), hq.api(session, "carol")
    bob = peer.actor("bob")
    await alice.follow(bob.id)

    async def follow_sent() -> dict[str, Any] | None:
        return next((a for a in peer.received if a.get("type") == "Follow"), None)

    follow = await follow_sent() or await eventually(follow_sent)
    accept = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": peer.url("/accepts/1"),
        "type": "Accept",
        "actor": bob.id,
        "object": follow,
    }
    await deliver(session, peer, inbox(hq, "alice"), accept, bob)
    await settled(alice)

    create = rehost(data["body"], hosts(peer, hq))
    await deliver(session, peer, inbox(hq, "alice"), create, bob)
    # The negative variant: carol does not follow bob and is not addressed.
    await deliver(session, peer, inbox(hq, "carol"), create, bob)
    note = await alice.wait_status(create["object"]["id"])
    assert note["visibility"] == "followers"
    home = await alice.call("GET", "/timelines/home")
    assert note["uri"] in [s["uri"] for s in home]
    assert await carol.find_status(note["uri"]) is None
    assert note["uri"] not in [s["uri"] for s in await carol.call("GET", "/timelines/home")]
    assert note["uri"] not in [s["uri"] for s in await carol.call("GET", "/timelines/public")]


async def test_reaction_like_with_content(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    data = case_input("reaction-like-with-content")
    hq = await network.node("hq", users=("alice",))
    alice = hq.api(session, "alice")
    bob, dave = peer.actor("bob"), peer.actor("dave")
    news = await alice.post("News 1")
    mapping = hosts(peer, hq, ("https://hq.test/notes/news-1", news["uri"]))
    misskey, pleroma, undo = (
        rehost(data[k], mapping) for k in ("misskey_style", "pleroma_style", "undo")
    )

    async def counts(n: int) -> bool:
        found = await alice.call("GET", f"/statuses/{news['id']}")
        return bool(found["favourites_count"] == n)

    await deliver(session, peer, inbox(hq), misskey, bob)
    await deliver(session, peer, inbox(hq), pleroma, bob)  # one reaction per person and post
    plain = {
        "@context": misskey["@context"][0],
        "id": peer.url("/likes/plain"),
        "type": "Like",
        "actor": dave.id,
        "object": news["uri"],
    }
    await deliver(session, peer, inbox(hq), plain, dave)
    await eventually(lambda: counts(2))
    # An unknown reaction type: 202 and ignored.
    odd = {**plain, "id": peer.url("/likes/odd"), "type": "Dislike"}
    await deliver(session, peer, inbox(hq), odd, dave)
    await deliver(session, peer, inbox(hq), undo, bob)
    await eventually(lambda: counts(1))
    state = await settled(alice)
    assert not [e for e in state["inbox_errors"] if e["state"] != "rejected"], state
    favourites = [n for n in await alice.call("GET", "/notifications") if n["type"] == "favourite"]
    assert sorted(n["account"]["uri"] for n in favourites) == sorted([bob.id, dave.id])


async def test_reply_chain_fetch_recursion(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    data = case_input("reply-chain-fetch-recursion")
    hq = await network.node("hq", users=("alice",))
    alice = hq.api(session, "alice")
    bob = peer.actor("bob")
    delivered = rehost(data["delivered"], hosts(peer, hq))

    # Ancestors cannot be fetched (404): the reply is stored anyway.
    await deliver(session, peer, inbox(hq), delivered, bob)
    n3 = await alice.wait_status(delivered["object"]["id"])
    assert n3["in_reply_to_uri"] == peer.url("/notes/n2")

    # A cycle n4 -> n2' -> n1' -> n4: stops at the reply itself.
    for name, parent in (("c2", "c1"), ("c1", "c4")):
        peer.objects[f"/notes/{name}"] = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": peer.url(f"/notes/{name}"),
            "type": "Note",
            "attributedTo": bob.id,
            "inReplyTo": peer.url(f"/notes/{parent}"),
            "to": [PUBLIC],
            "content": f"<p>{name}</p>",
        }
    cycle = json.loads(json.dumps(delivered))
    cycle["id"] = peer.url("/activities/c4")
    cycle["object"].update(id=peer.url("/notes/c4"), inReplyTo=peer.url("/notes/c2"))
    await deliver(session, peer, inbox(hq), cycle, bob)
    await alice.wait_status(peer.url("/notes/c4"))

    # A 500-deep chain: the reply is stored; fetching stops cleanly at the depth cap.
    for i in range(500):
        peer.objects[f"/notes/deep-{i}"] = {
            "id": peer.url(f"/notes/deep-{i}"),
            "type": "Note",
            "attributedTo": bob.id,
            "inReplyTo": peer.url(f"/notes/deep-{i + 1}"),
            "to": [PUBLIC],
            "content": f"<p>{i}</p>",
        }
    deep = json.loads(json.dumps(delivered))
    deep["id"] = peer.url("/activities/deep")
    deep["object"].update(id=peer.url("/notes/deep"), inReplyTo=peer.url("/notes/deep-0"))
    await deliver(session, peer, inbox(hq), deep, bob)
    await alice.wait_status(peer.url("/notes/deep"))
    state = await settled(alice)
    assert not [e for e in state["inbox_errors"] if e["state"] != "processed"], state
    assert await alice.find_status(peer.url("/notes/deep-30")) is None
    assert await alice.find_status(peer.url("/notes/deep-499")) is None
    # Ancestors are fetched in the worker, after the reply is stored: the cycle's two parents
    # are there, and the deep chain stops after 20 of them.
    c2 = await alice.wait_status(peer.url("/notes/c2"))
    c1 = await alice.wait_status(peer.url("/notes/c1"))
    assert c2["in_reply_to_id"] == c1["id"] and c1["replies_count"] == 1
    c4 = await alice.find_status(peer.url("/notes/c4"))
    assert c4 is not None and c4["in_reply_to_id"] == c2["id"]
    context = await alice.call("GET", f"/statuses/{c4['id']}/context")  # the cycle is walkable
    assert {s["uri"] for s in context["ancestors"]} == {c1["uri"], c2["uri"]}
    assert await alice.find_status(peer.url("/notes/deep-19")) is not None
    assert await alice.find_status(peer.url("/notes/deep-20")) is None
