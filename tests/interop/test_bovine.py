"""A Plein node and a real bovine-herd server federate both ways (docs/interop.md).

bovine-herd runs as its own process, in its own virtual environment, on loopback; its actor is
driven through bovine's client-to-server API (its outbox), Plein's employee through the client
API. Every step crosses real HTTP with real signatures in both directions.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.e2e.harness import Api, Network, eventually

from .bovine import BovineServer, BovineUser

pytestmark = pytest.mark.interop

SLOW = 30.0  # bovine processes in background tasks and fetches what it does not hold


async def ids_in(user: BovineUser, collection: str) -> set[str]:
    return {item if isinstance(item, str) else item["id"] for item in await user.items(collection)}


async def cow_ids(user: BovineUser, url: str) -> set[str]:
    return {ref(item) for item in await user.items_at(url)}


async def inbox_of_type(user: BovineUser, kind: str, **match: str) -> dict[str, Any] | None:
    for activity in await user.inbox_activities():
        if activity.get("type") != kind:
            continue
        if all(ref(activity.get(key)) == value for key, value in match.items()):
            return activity
    return None


async def settled(api: Api) -> dict[str, Any]:
    """The admin federation view once nothing is pending in the inbox or the delivery queue."""

    async def check() -> dict[str, Any]:
        state: dict[str, Any] = await api.call("GET", "/admin/federation")
        busy = state["inbox"].get("pending") or state["deliveries"].get("pending")
        return {} if busy else state

    return await eventually(check, timeout=SLOW)


def ref(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


async def note_of(user: BovineUser, create_id: str) -> str:
    create = await user.get(create_id)
    return str(ref(create["object"]))


async def test_plein_and_bovine_follow_post_reply_like_unfollow(
    network: Network, bovine: BovineServer, session: aiohttp.ClientSession
) -> None:
    hq = await network.node("hq", users=("alice",))
    alice: Api = hq.api(session, "alice")
    alice_uri = (await alice.me())["uri"]
    cow = bovine.user(session, "moocow")

    # Given alice follows moocow, and moocow accepts explicitly from its outbox
    followed = await alice.follow(f"moocow@{bovine.netloc}")
    assert followed["uri"] == cow.actor_id
    follow = await eventually(lambda: inbox_of_type(cow, "Follow", actor=alice_uri), timeout=SLOW)
    await cow.accept(follow)
    await eventually(lambda: _has(alice.following(), cow.actor_id, "uri"), timeout=SLOW)
    await eventually(lambda: _contains(ids_in(cow, "followers"), alice_uri), timeout=SLOW)

    # And moocow follows alice, whose node accepts at once
    cow_follow = await cow.follow(alice_uri)
    await eventually(lambda: _contains(ids_in(cow, "following"), alice_uri), timeout=SLOW)
    await eventually(lambda: _has(alice.followers(), cow.actor_id, "uri"), timeout=SLOW)

    # When alice posts, moocow receives it
    news = await alice.post("Canteen opens Monday")
    create = await eventually(
        lambda: inbox_of_type(cow, "Create", object=news["uri"]), timeout=SLOW
    )
    assert ref(create["actor"]) == alice_uri
    assert "Canteen opens Monday" in create["object"]["content"]

    # And moocow posts and replies to alice: alice sees both
    moo_create = await cow.post("Moo from the pasture")
    moo = await note_of(cow, moo_create)
    moo_copy = await alice.wait_status(moo, timeout=SLOW)
    reply_create = await cow.post("Moo! See you there", in_reply_to=news["uri"], to=[alice_uri])
    reply = await note_of(cow, reply_create)

    async def reply_threaded() -> bool:
        context = await alice.call("GET", f"/statuses/{news['id']}/context")
        return reply in [d["uri"] for d in context["descendants"]]

    await eventually(reply_threaded, timeout=SLOW)

    # And moocow likes alice's post: the count shows on alice's node
    cow_like = await cow.like(news["uri"], alice_uri)

    async def liked_at_hq() -> bool:
        status = await alice.call("GET", f"/statuses/{news['id']}")
        return bool(status["favourites_count"] == 1)

    await eventually(liked_at_hq, timeout=SLOW)

    # And alice replies to and likes moocow's post: moocow receives both
    answer = await alice.post("Moo to you too", in_reply_to_id=moo_copy["id"])
    await alice.call("POST", f"/statuses/{moo_copy['id']}/favourite")
    got = await eventually(lambda: inbox_of_type(cow, "Create", object=answer["uri"]), timeout=SLOW)
    assert got["object"]["inReplyTo"] == moo
    like = await eventually(
        lambda: inbox_of_type(cow, "Like", actor=alice_uri, object=moo), timeout=SLOW
    )
    # bovine threads and counts them on its own post
    await eventually(lambda: _contains(cow_ids(cow, f"{moo}/replies"), answer["uri"]))
    await eventually(lambda: _contains(cow_ids(cow, f"{moo}/likes"), like["id"]))

    # And likes are taken back both ways
    await alice.call("POST", f"/statuses/{moo_copy['id']}/unfavourite")
    await eventually(lambda: _absent(cow_ids(cow, f"{moo}/likes"), like["id"]), timeout=SLOW)
    await cow.undo(cow_like, [alice_uri])

    async def unliked_at_hq() -> bool:
        status = await alice.call("GET", f"/statuses/{news['id']}")
        return bool(status["favourites_count"] == 0)

    await eventually(unliked_at_hq, timeout=SLOW)

    # Then unfollowing works both ways
    await alice.call("POST", f"/accounts/{followed['id']}/unfollow")
    await eventually(lambda: _absent(ids_in(cow, "followers"), alice_uri), timeout=SLOW)
    assert not await _has(alice.following(), cow.actor_id, "uri")
    await cow.undo(cow_follow, [alice_uri])
    await eventually(lambda: _absent(ids_in(cow, "following"), alice_uri), timeout=SLOW)

    async def no_follower() -> bool:
        return not await _has(alice.followers(), cow.actor_id, "uri")

    await eventually(no_follower, timeout=SLOW)

    # And nothing bovine sent was refused or failed on either side
    state = await settled(alice)
    assert set(state["inbox"]) == {"processed"}, state
    assert set(state["deliveries"]) == {"done"}, state
    # bovine answered 500 to the first RFC 9421 knock only; draft-cavage is remembered since
    assert bovine.log().count('" 500 ') == 1
    # And bovine never asked the network for a JSON-LD context
    assert bovine.fetch_attempts() == []


async def _has(rows: Any, value: str, key: str) -> bool:
    return any(row[key] == value for row in await rows)


async def _contains(found: Any, value: str) -> bool:
    return value in await found


async def _absent(found: Any, value: str) -> bool:
    return value not in await found
