"""Deliveries that arrive out of order, or more than once, end in the right state.

A real peer (TestPeer: real HTTP on loopback, real signatures) sends crafted activities to a real
node in the wrong order: a Like before the post it likes, an Undo before what it undoes, a Delete
before its Create; and the same activity twice. Whatever the order, the end state is the one the
sender meant.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from activitystreams.vocab import PUBLIC

from .harness import Api, Network, Node, eventually
from .peer import PeerActor, TestPeer

pytestmark = pytest.mark.e2e

AS = "https://www.w3.org/ns/activitystreams"


@dataclass
class Scene:
    session: aiohttp.ClientSession
    node: Node
    alice: Api
    peer: TestPeer
    pat: PeerActor
    quinn: PeerActor

    @property
    def inbox(self) -> str:
        return f"{self.node.base_url}/inbox"

    async def send(self, activity: dict[str, Any], signer: PeerActor) -> None:
        code, text = await self.peer.post(self.session, self.inbox, activity, signer=signer)
        assert code == 202, (code, text)

    async def settled(self, total: int) -> dict[str, int]:
        """Wait until the node holds ``total`` inbox entries and none of them is pending."""

        async def done() -> dict[str, int]:
            counts: dict[str, int] = (await self.alice.call("GET", "/admin/federation"))["inbox"]
            assert sum(counts.values()) == total and "pending" not in counts, counts
            return counts

        return await eventually(done)

    async def inbox_errors(self) -> list[dict[str, Any]]:
        return (await self.alice.call("GET", "/admin/federation"))["inbox_errors"]  # type: ignore[no-any-return]


@pytest.fixture
async def scene(network: Network, session: aiohttp.ClientSession, peer: TestPeer) -> Scene:
    node = await network.node("a", users=("alice",))
    return Scene(
        session, node, node.api(session, "alice"), peer, peer.actor("pat"), peer.actor("quinn")
    )


def note(author: PeerActor, text: str) -> dict[str, Any]:
    return {
        "id": f"{author.id}/notes/{secrets.token_hex(6)}",
        "type": "Note",
        "attributedTo": author.id,
        "content": f"<p>{text}</p>",
        "to": [PUBLIC],
        "cc": [f"{author.id}/followers"],
        "published": "2026-01-05T10:00:00Z",
    }


def create(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": AS,
        "id": f"{obj['id']}/activity",
        "type": "Create",
        "actor": obj["attributedTo"],
        "to": obj["to"],
        "cc": obj["cc"],
        "object": obj,
    }


def like(actor: PeerActor, uri: str) -> dict[str, Any]:
    return {
        "@context": AS,
        "id": f"{actor.id}/likes/{secrets.token_hex(6)}",
        "type": "Like",
        "actor": actor.id,
        "object": uri,
    }


def follow(actor: PeerActor, target: str) -> dict[str, Any]:
    return {
        "@context": AS,
        "id": f"{actor.id}/follows/{secrets.token_hex(6)}",
        "type": "Follow",
        "actor": actor.id,
        "object": target,
    }


def undo(actor: PeerActor, activity: dict[str, Any]) -> dict[str, Any]:
    inner = {k: v for k, v in activity.items() if k != "@context"}
    return {
        "@context": AS,
        "id": f"{activity['id']}/undo",
        "type": "Undo",
        "actor": actor.id,
        "object": inner,
    }


def delete(actor: PeerActor, uri: str) -> dict[str, Any]:
    return {
        "@context": AS,
        "id": f"{uri}#delete",
        "type": "Delete",
        "actor": actor.id,
        "to": [PUBLIC],
        "object": {"id": uri, "type": "Tombstone"},
    }


async def test_like_that_arrives_before_its_post_counts_once_the_post_arrives(
    scene: Scene,
) -> None:
    # Given a note by pat that the node has not seen and cannot fetch yet (its origin answers 404)
    post = note(scene.pat, "Liked before it arrived")

    # When quinn's Like of it reaches the node first
    await scene.send(like(scene.quinn, post["id"]), scene.quinn)

    # Then the node keeps the Like pending, with the reason, instead of dropping it
    async def waiting() -> bool:
        errors = await scene.inbox_errors()
        assert any(
            "not known yet" in e["last_error"] or "cannot fetch" in e["last_error"]
            for e in errors
            if e["state"] == "pending"
        ), errors
        return True

    await eventually(waiting)
    assert await scene.alice.find_status(post["id"]) is None

    # When the Create of the note arrives afterwards
    await scene.send(create(post), scene.pat)

    # Then the post is there with exactly one like, and both entries end processed
    async def counted() -> bool:
        status = await scene.alice.find_status(post["id"])
        assert status is not None and status["favourites_count"] == 1, status
        return True

    await eventually(counted, timeout=30)
    assert await scene.settled(total=2) == {"processed": 2}


async def test_like_of_an_unknown_remote_post_fetches_it_and_a_late_create_changes_nothing(
    scene: Scene,
) -> None:
    # Given a note by pat that its origin serves (counting quinn's like already), but that never
    # reached the node
    post = note(scene.pat, "Fetched because of a like")
    likes = {"id": f"{post['id']}/likes", "type": "Collection", "totalItems": 1}
    served = {"@context": AS, **post, "likes": likes}
    scene.peer.objects[post["id"].removeprefix(scene.peer.base_url)] = served

    # When quinn's Like of it reaches the node
    await scene.send(like(scene.quinn, post["id"]), scene.quinn)

    # Then the node fetches the note and counts the like once (not once more on top of the
    # origin's count)
    async def counted() -> bool:
        status = await scene.alice.find_status(post["id"])
        assert status is not None and status["favourites_count"] == 1, status
        return True

    await eventually(counted)

    # When the Create of the note arrives late
    await scene.send(create(post), scene.pat)
    await scene.settled(total=2)

    # Then there is still one copy of the post, with one like
    status = await scene.alice.find_status(post["id"])
    assert status is not None and status["favourites_count"] == 1, status
    public = await scene.alice.call("GET", "/timelines/public?limit=40")
    assert [s["uri"] for s in public].count(post["id"]) == 1


async def test_undo_follow_that_arrives_before_its_follow_leaves_no_follow(scene: Scene) -> None:
    # Given pat's Follow of alice and its Undo
    me = await scene.alice.me()
    follow_alice = follow(scene.pat, me["url"])

    # When the Undo reaches the node before the Follow
    await scene.send(undo(scene.pat, follow_alice), scene.pat)
    await scene.settled(total=1)
    await scene.send(follow_alice, scene.pat)
    counts = await scene.settled(total=2)

    # Then alice has no follower, pat got no Accept, and the late Follow is refused with the reason
    assert await scene.alice.followers() == []
    assert not [a for a in scene.peer.received if a.get("type") == "Accept"], scene.peer.received
    assert counts == {"processed": 1, "rejected": 1}, counts
    errors = await scene.inbox_errors()
    assert [e["activity_id"] for e in errors] == [follow_alice["id"]], errors
    assert "undone" in errors[0]["last_error"], errors

    # And a new Follow by pat afterwards (a new id) is accepted as usual
    again = follow(scene.pat, me["url"])
    await scene.send(again, scene.pat)

    async def followed() -> bool:
        return [a["url"] for a in await scene.alice.followers()] == [scene.pat.id]

    await eventually(followed)


async def test_undo_like_that_arrives_before_its_like_leaves_the_count_at_zero(
    scene: Scene,
) -> None:
    # Given a post by alice, and pat's Like of it and its Undo
    mine = await scene.alice.post("Liked and unliked, in the wrong order")
    liked = like(scene.pat, mine["uri"])

    # When the Undo reaches the node before the Like
    await scene.send(undo(scene.pat, liked), scene.pat)
    await scene.settled(total=1)
    await scene.send(liked, scene.pat)
    await scene.settled(total=2)

    # Then the post has no like and alice no notification of one
    status = await scene.alice.call("GET", f"/statuses/{mine['id']}")
    assert status["favourites_count"] == 0, status
    notes = await scene.alice.call("GET", "/notifications")
    assert [n for n in notes if n["type"] == "favourite"] == []


async def test_delete_that_arrives_before_its_create_keeps_the_post_away(scene: Scene) -> None:
    # Given a note by pat, created and deleted at its origin
    post = note(scene.pat, "Deleted before it arrived")

    # When the Delete reaches the node before the Create
    await scene.send(delete(scene.pat, post["id"]), scene.pat)
    await scene.settled(total=1)
    await scene.send(create(post), scene.pat)
    await scene.settled(total=2)

    # Then the post is nowhere on the node
    assert await scene.alice.find_status(post["id"]) is None
    public = await scene.alice.call("GET", "/timelines/public?limit=40")
    assert post["id"] not in [s["uri"] for s in public]

    # And a Like of it that arrives later is refused, not kept pending
    await scene.send(like(scene.quinn, post["id"]), scene.quinn)
    assert await scene.settled(total=3) == {"processed": 2, "rejected": 1}


async def test_same_activity_twice_and_same_like_under_two_ids_take_effect_once(
    scene: Scene,
) -> None:
    # Given a post by alice and a note by pat
    mine = await scene.alice.post("Liked over and over")
    post = note(scene.pat, "Delivered twice")

    # When pat's Create is delivered twice with the same id (shared inbox and alice's inbox),
    # pat's Like of alice's post twice with the same id, and once more under another id
    created = create(post)
    first_like = like(scene.pat, mine["uri"])
    personal = f"{scene.node.base_url}/users/alice/inbox"
    for activity, inbox in (
        (created, scene.inbox),
        (created, personal),
        (first_like, scene.inbox),
        (first_like, personal),
        (like(scene.pat, mine["uri"]), scene.inbox),
    ):
        code, text = await scene.peer.post(scene.session, inbox, activity, signer=scene.pat)
        assert code == 202, (code, text)

    # Then the node logged three activities (the repeats are answered 202 and not stored again)
    assert await scene.settled(total=3) == {"processed": 3}

    # and there is one copy of pat's note, one like on alice's post, one notification of it
    public = await scene.alice.call("GET", "/timelines/public?limit=40")
    assert [s["uri"] for s in public].count(post["id"]) == 1
    status = await scene.alice.call("GET", f"/statuses/{mine['id']}")
    assert status["favourites_count"] == 1, status
    notes = await scene.alice.call("GET", "/notifications")
    favourites = [n for n in notes if n["type"] == "favourite"]
    assert len(favourites) == 1 and favourites[0]["account"]["url"] == scene.pat.id, favourites
