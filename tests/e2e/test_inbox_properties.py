"""A real node's inbox: any signed JSON gets a 2xx or a 4xx, and a 4xx changes nothing.

One node runs for the whole module (started once, for speed) beside a signing TestPeer. Hypothesis
generates bodies: any JSON value, and near-valid activities (Create, Follow, Like, Announce, Undo,
Update, Delete, Accept aimed at alice and her post, with fields replaced by random JSON, removed,
or given another JSON type). Each body is signed by carol and POSTed to the shared inbox and to
alice's inbox. The answer is never a 5xx; a 4xx changes nothing that alice or an admin can see;
a 202 is processed by the inbox worker and ends processed, rejected or retried with a message
that names a check, never a Python exception (which would be a handler crash).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from activitystreams.vocab import PUBLIC

from .harness import Api, Network, Node, eventually
from .peer import PeerActor, TestPeer

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

UID = "__UID__"  # replaced by a fresh value per POST: every example is a new activity
CAROL = "__CAROL__"
ALICE = "__ALICE__"
POST = "__POST__"
# repr(exc) of a Python exception, as the inbox worker stores an unexpected error
PYTHON_EXCEPTION = re.compile(r"^[A-Z]\w*(Error|Exception|Exit|Interrupt)\(")
_counter = itertools.count()


@dataclass(repr=False)  # hypothesis prints the fixture with a failing example: keep it short
class World:
    session: aiohttp.ClientSession
    node: Node
    alice: Api
    peer: TestPeer
    carol: PeerActor
    alice_id: str
    alice_account: str
    post_uri: str
    post_id: str
    crashes: list[tuple[str, str]]  # (last_error, payload) of handler crashes seen


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    tmp: Path = tmp_path_factory.mktemp("inbox-properties")
    async with aiohttp.ClientSession() as session:
        peer = TestPeer()
        await peer.start()
        net = Network(tmp=tmp, session=session)
        try:
            # Errored entries give up after a few seconds, so retries never pile up.
            node = await net.node(
                "a",
                users=("alice",),
                allow=peer.netloc,
                env={"PLEIN_RETRY_HORIZON_SECONDS": "3"},
            )
            alice = node.api(session, "alice")
            me = await alice.me()
            post = await alice.post("Canteen news")
            yield World(
                session,
                node,
                alice,
                peer,
                peer.actor("carol"),
                me["url"],
                me["id"],
                post["uri"],
                post["id"],
                [],
            )
        finally:
            await net.close()
            await peer.close()


# -- strategies -------------------------------------------------------------------------------

VOCABULARY = (
    "@context", "id", "type", "actor", "object", "target", "attributedTo", "content",
    "contentMap", "summary", "name", "inReplyTo", "to", "cc", "bto", "bcc", "audience",
    "published", "updated", "sensitive", "url", "href", "tag", "attachment", "oneOf", "anyOf",
    "replies", "totalItems", "closed", "endTime", "inbox", "outbox", "followers", "endpoints",
    "publicKey", "preferredUsername", "alsoKnownAs", "movedTo", "icon", "formerType", "quoteUrl",
)  # fmt: skip
STRINGS = (
    CAROL, ALICE, POST, f"{CAROL}/followers", f"{CAROL}/notes/{UID}", PUBLIC, "as:Public",
    "Public", "https://www.w3.org/ns/activitystreams", "2026-01-05T10:00:00Z", "not a date",
    "http://[::1", "https://", "mailto:x@y.test", "https://elsewhere.test/users/eve", "",
    "Note", "Person", "Create", "Follow", "Tombstone", "Mention", "Hashtag", "Image", "Question",
)  # fmt: skip
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(STRINGS)
)
keys = st.sampled_from(VOCABULARY) | st.text(max_size=8)
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)


def _note() -> dict[str, Any]:
    return {
        "id": f"{CAROL}/notes/{UID}",
        "type": "Note",
        "attributedTo": CAROL,
        "content": f'<p>Hi <a href="{ALICE}">@alice</a></p>',
        "inReplyTo": POST,
        "to": [PUBLIC, ALICE],
        "cc": [f"{CAROL}/followers"],
        "tag": [{"type": "Mention", "href": ALICE, "name": "@alice"}],
        "published": "2026-01-05T10:00:00Z",
    }


def _activity(type_: str, obj: Any, **extra: Any) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{CAROL}/activities/{UID}",
        "type": type_,
        "actor": CAROL,
        "object": obj,
        "to": [PUBLIC, ALICE],
        **extra,
    }


TEMPLATES: dict[str, dict[str, Any]] = {
    "Create": _activity("Create", _note()),
    "Update": _activity("Update", {**_note(), "updated": "2026-01-06T10:00:00Z"}),
    "Delete": _activity("Delete", {"id": f"{CAROL}/notes/{UID}", "type": "Tombstone"}),
    "Follow": _activity("Follow", ALICE),
    "Undo": _activity("Undo", _activity("Follow", ALICE)),
    "Like": _activity("Like", POST),
    "Announce": _activity("Announce", POST),
    "Accept": _activity("Accept", {"type": "Follow", "actor": ALICE, "object": CAROL}),
    "Block": _activity("Block", ALICE),
    "Flag": _activity("Flag", [ALICE, POST], content="spam"),
    "Move": _activity("Move", CAROL, target="https://elsewhere.test/users/carol"),
    "Question": _activity(
        "Create",
        {**_note(), "type": "Question", "oneOf": [{"type": "Note", "name": "yes"}]},
    ),
}


def _retyped(value: Any) -> list[Any]:
    return [[value], [value, value], {"id": value}, str(value), [], {}, None, 0, True]


@st.composite
def near_valid(draw: st.DrawFn) -> Any:
    """A valid activity with one to three fields replaced, removed or retyped."""
    doc = copy.deepcopy(TEMPLATES[draw(st.sampled_from(sorted(TEMPLATES)))])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        holder = doc
        if isinstance(doc.get("object"), dict) and draw(st.booleans()):
            holder = doc["object"]
        key = draw(st.sampled_from(sorted(holder)) | keys)
        action = draw(st.sampled_from(("replace", "remove", "retype")))
        if action == "remove":
            holder.pop(key, None)
        elif action == "replace" or key not in holder:
            holder[key] = draw(json_values)
        else:
            holder[key] = draw(st.sampled_from(_retyped(holder[key])))
    return doc


bodies = near_valid() | st.dictionaries(keys, json_values, max_size=6) | json_values


# -- the property ---------------------------------------------------------------------------------


def render(world: World, doc: Any) -> bytes:
    """The body as carol sends it: placeholders filled, a fresh id for every POST."""
    text = orjson.dumps(doc).decode()
    text = text.replace(CAROL, world.carol.id).replace(ALICE, world.alice_id)
    text = text.replace(POST, world.post_uri).replace(UID, f"p{next(_counter)}")
    return text.encode()


async def snapshot(world: World) -> dict[str, Any]:
    """What an inbox request could change, seen through the API: four cheap requests."""
    fed = await world.alice.call("GET", "/admin/federation")
    home = await world.alice.call("GET", "/timelines/home?limit=40")
    followers = await world.alice.call("GET", f"/accounts/{world.alice_account}/followers")
    post = await world.alice.call("GET", f"/statuses/{world.post_id}")
    return {
        "inbox_entries": sum(fed["inbox"].values()),
        "home": [s["uri"] for s in home],
        "followers": sorted(a["url"] for a in followers),
        "post": {k: v for k, v in post.items() if k.endswith("_count")},
    }


async def settle(world: World) -> None:
    """Wait until the inbox worker has tried every new entry at least once."""

    async def tried() -> bool:
        fed = await world.alice.call("GET", "/admin/federation")
        retrying = [e for e in fed["inbox_errors"] if e["state"] == "pending"]
        pending: int = fed["inbox"].get("pending", 0)
        return pending <= len(retrying) < 20

    await eventually(tried, timeout=30, interval=0.05)


async def crashes_since(world: World, payloads: dict[str, bytes]) -> list[tuple[str, str]]:
    fed = await world.alice.call("GET", "/admin/federation")
    found = []
    for entry in fed["inbox_errors"]:
        if PYTHON_EXCEPTION.match(entry["last_error"] or "") and entry["activity_id"] in payloads:
            found.append((entry["last_error"], payloads[entry["activity_id"]].decode()))
    return found


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(doc=bodies)
async def test_given_any_signed_json_when_posted_to_inboxes_then_2xx_or_4xx_and_4xx_changes_nothing(
    world: World, doc: Any
) -> None:
    payloads: dict[str, bytes] = {}
    for inbox in (f"{world.node.base_url}/inbox", f"{world.node.base_url}/users/alice/inbox"):
        # Given the node's visible state, once earlier activities are processed
        await settle(world)
        before = await snapshot(world)

        # When carol signs the generated body and POSTs it
        body = render(world, doc)
        code, text = await world.peer.post(world.session, inbox, body, signer=world.carol)

        # Then the answer is a 2xx or a 4xx with a JSON error, never a 5xx
        event(f"HTTP {code}")
        assert code < 500, (code, text, body)
        if code >= 400:
            assert orjson.loads(text)["error"], (code, text)
            # and a 4xx changes nothing
            assert await snapshot(world) == before, (code, text, body)
        else:
            assert code == 202, (code, text)
            parsed = orjson.loads(body)
            activity_id = parsed.get("id") if isinstance(parsed, dict) else None
            if not isinstance(activity_id, str):
                activity_id = "urn:plein:sha256:" + hashlib.sha256(body).hexdigest()
            payloads[activity_id] = body

    # and what was accepted is processed without a handler crash
    await settle(world)
    fed = await world.alice.call("GET", "/admin/federation")
    for entry in fed["inbox_errors"]:
        if entry["activity_id"] in payloads:
            event(f"{entry['state']}: {entry['last_error'][:40]}")
    crashes = await crashes_since(world, payloads)
    world.crashes.extend(crashes)
    assert not crashes, crashes
