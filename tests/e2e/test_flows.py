"""The core federation flows between real node processes, end to end.

Each test is written Given / When / Then: the nodes and accounts it starts from, the action a
user takes through the client API, and what every node involved must show afterwards.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from federation.signatures.cavage import sign_request

from .harness import Api, Network, Node, eventually
from .peer import PeerActor, TestPeer

pytestmark = pytest.mark.e2e

ACTIVITY_JSON = "application/activity+json"


async def signed_get(
    session: aiohttp.ClientSession, url: str, signer: PeerActor
) -> tuple[int, Any]:
    headers = sign_request(method="GET", url=url, key=signer.key, headers={"Accept": ACTIVITY_JSON})
    async with session.get(url, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


async def follow_and_wait(follower: Api, followee: Api, handle: str) -> None:
    """``follower`` follows ``handle`` and waits until both sides show the accepted follow."""
    me = await followee.me()
    await follower.follow(handle)

    async def accepted() -> bool:
        mine = [a["acct"] for a in await follower.following()]
        theirs = [a["acct"] for a in await followee.followers()]
        return any(me["username"] in acct for acct in mine) and len(theirs) >= 1

    await eventually(accepted)


async def status(api: Api, uri: str) -> dict[str, Any] | None:
    return await api.find_status(uri)


# -- follows ---------------------------------------------------------------------------------


async def test_follow_is_accepted_automatically_across_nodes(
    network: Network, session: aiohttp.ClientSession
) -> None:
    # Given alice on node A (open profile) and bob on node B
    a, b = await asyncio.gather(
        network.node("a", users=("alice",)),
        network.node("b", users=("bob",)),
    )
    alice, bob = a.api(session, "alice"), b.api(session, "bob")

    # When bob follows alice
    await bob.follow(f"alice@{a.netloc}")

    # Then B shows bob following alice, and A shows bob among alice's followers
    async def both_sides() -> bool:
        following = await bob.following()
        followers = await alice.followers()
        assert [x["url"] for x in following] == [f"{a.base_url}/users/alice"]
        assert [x["url"] for x in followers] == [f"{b.base_url}/users/bob"]
        return True

    await eventually(both_sides)
    # and nothing is left pending on A
    assert await alice.call("GET", "/follow_requests") == []


async def test_follow_with_approval_pending_then_authorized_or_rejected(
    network: Network, session: aiohttp.ClientSession
) -> None:
    # Given alice on A who approves her followers, bob and carol on B
    a = await network.node("a", start=False)
    a.add_user("alice", "--approve-follows")
    await a.start(session)
    b = await network.node("b", users=("bob", "carol"))
    alice, bob, carol = a.api(session, "alice"), b.api(session, "bob"), b.api(session, "carol")

    # When bob and carol ask to follow alice
    await bob.follow(f"alice@{a.netloc}")
    await carol.follow(f"alice@{a.netloc}")

    # Then both requests wait on A, and neither follows yet on either side
    async def two_requests() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = await alice.call("GET", "/follow_requests")
        return rows if len(rows) == 2 else []

    requests = {r["username"]: r for r in await eventually(two_requests)}
    assert set(requests) == {"bob", "carol"}
    assert await alice.followers() == []
    assert await bob.following() == []
    assert await carol.following() == []
    kinds = [n["type"] for n in await alice.call("GET", "/notifications")]
    assert kinds.count("follow_request") == 2

    # When alice authorizes bob and rejects carol
    await alice.call("POST", f"/follow_requests/{requests['bob']['id']}/authorize")
    await alice.call("POST", f"/follow_requests/{requests['carol']['id']}/reject")

    # Then bob follows alice on both nodes; carol does not, and no request is left
    async def settled() -> bool:
        assert [x["username"] for x in await bob.following()] == ["alice"]
        assert [x["username"] for x in await alice.followers()] == ["bob"]
        return True

    await eventually(settled)
    assert await alice.call("GET", "/follow_requests") == []
    assert await carol.following() == []

    # and a followers-only post reaches bob but not carol (whose pending follow B dropped)
    secret = await alice.post("For approved followers", visibility="followers")
    await bob.wait_status(secret["uri"])
    assert await carol.find_status(secret["uri"]) is None

    # and carol, rejected, can ask again: the request shows up on A anew
    async def asked_again() -> bool:
        await carol.follow(f"alice@{a.netloc}")
        rows = await alice.call("GET", "/follow_requests")
        return [r["username"] for r in rows] == ["carol"]

    await eventually(asked_again)


# -- posts, replies -------------------------------------------------------------------------


async def test_post_reaches_the_followers_home_timeline(
    network: Network, session: aiohttp.ClientSession
) -> None:
    # Given bob on B follows alice on A
    a, b = await asyncio.gather(
        network.node("a", users=("alice",)),
        network.node("b", users=("bob",)),
    )
    alice, bob = a.api(session, "alice"), b.api(session, "bob")
    await follow_and_wait(bob, alice, f"alice@{a.netloc}")

    # When alice posts
    news = await alice.post("Canteen opens *Monday*", spoiler_text="food")

    # Then the post is in bob's home timeline on B, with its content and author
    async def in_home() -> dict[str, Any]:
        home = await bob.call("GET", "/timelines/home")
        found = [s for s in home if s["uri"] == news["uri"]]
        assert len(found) == 1, [s["uri"] for s in home]
        copy: dict[str, Any] = found[0]
        return copy

    copy = await eventually(in_home)
    assert "Canteen opens" in copy["content"] and "<em>Monday</em>" in copy["content"]
    assert copy["spoiler_text"] == "food"
    assert copy["account"]["url"] == f"{a.base_url}/users/alice"
    assert copy["visibility"] == "public"


async def test_reply_threads_across_nodes(network: Network, session: aiohttp.ClientSession) -> None:
    # Given alice on A and bob on B follow each other
    a, b = await asyncio.gather(
        network.node("a", users=("alice",)),
        network.node("b", users=("bob",)),
    )
    alice, bob = a.api(session, "alice"), b.api(session, "bob")
    await asyncio.gather(
        follow_and_wait(bob, alice, f"alice@{a.netloc}"),
        follow_and_wait(alice, bob, f"bob@{b.netloc}"),
    )

    # When alice posts, bob replies on B, and alice replies to bob's reply on A
    root = await alice.post("Who joins the run on Friday?")
    root_on_b = await bob.wait_status(root["uri"])
    reply = await bob.post("Me!", in_reply_to_id=root_on_b["id"])
    reply_on_a = await alice.wait_status(reply["uri"])
    answer = await alice.post("Great, 18:00 at the gate", in_reply_to_id=reply_on_a["id"])
    await bob.wait_status(answer["uri"])

    # Then both nodes show the same thread, in order, from the root and from the leaf
    for api in (alice, bob):

        async def threaded(api: Api = api) -> bool:
            root_here = await api.find_status(root["uri"])
            answer_here = await api.find_status(answer["uri"])
            assert root_here and answer_here
            down = await api.call("GET", f"/statuses/{root_here['id']}/context")
            up = await api.call("GET", f"/statuses/{answer_here['id']}/context")
            assert [s["uri"] for s in down["descendants"]] == [reply["uri"], answer["uri"]]
            assert down["ancestors"] == []
            assert [s["uri"] for s in up["ancestors"]] == [root["uri"], reply["uri"]]
            assert up["descendants"] == []
            assert root_here["replies_count"] == 1
            return True

        await eventually(threaded)
    reply_here = await alice.find_status(reply["uri"])
    assert reply_here and reply_here["in_reply_to_id"] == str(root["id"])


# -- likes, shares --------------------------------------------------------------------------


async def three_nodes(
    network: Network, session: aiohttp.ClientSession
) -> tuple[Node, Api, Api, Api]:
    """alice on A, followed by bob on B and carol on C."""
    a, b, c = await asyncio.gather(
        network.node("a", users=("alice", "dave")),
        network.node("b", users=("bob",)),
        network.node("c", users=("carol",)),
    )
    alice, bob, carol = a.api(session, "alice"), b.api(session, "bob"), c.api(session, "carol")
    await bob.follow(f"alice@{a.netloc}")
    await carol.follow(f"alice@{a.netloc}")

    async def two_followers() -> bool:
        return len(await alice.followers()) == 2

    await eventually(two_followers)
    return a, alice, bob, carol


async def counts_everywhere(
    uri: str, apis: list[Api], *, likes: int | None = None, shares: int | None = None
) -> None:
    async def check() -> bool:
        for api in apis:
            found = await api.find_status(uri)
            assert found is not None, f"{api.base_url} lost {uri}"
            if likes is not None:
                assert found["favourites_count"] == likes, (api.base_url, found["favourites_count"])
            if shares is not None:
                assert found["reblogs_count"] == shares, (api.base_url, found["reblogs_count"])
        return True

    await eventually(check)


async def test_like_counts_agree_on_three_nodes_and_unlike_lowers_them(
    network: Network, session: aiohttp.ClientSession
) -> None:
    # Given alice's post on A, copied to her followers bob on B and carol on C
    a, alice, bob, carol = await three_nodes(network, session)
    dave = a.api(session, "dave")
    news = await alice.post("New coffee machine on floor 3")
    on_b = await bob.wait_status(news["uri"])
    on_c = await carol.wait_status(news["uri"])

    # When bob (B), carol (C) and dave (A, local) like it
    await bob.call("POST", f"/statuses/{on_b['id']}/favourite")
    await carol.call("POST", f"/statuses/{on_c['id']}/favourite")
    await dave.call("POST", f"/statuses/{news['id']}/favourite")

    # Then the count is 3 on all three nodes
    await counts_everywhere(news["uri"], [alice, bob, carol], likes=3)
    # and liking twice changes nothing
    await bob.call("POST", f"/statuses/{on_b['id']}/favourite")
    assert (await bob.find_status(news["uri"]) or {})["favourited"] is True
    # and alice got a notification per like
    kinds = [n["type"] for n in await alice.call("GET", "/notifications")]
    assert kinds.count("favourite") == 3

    # When carol and dave take their likes back
    await carol.call("POST", f"/statuses/{on_c['id']}/unfavourite")
    await dave.call("POST", f"/statuses/{news['id']}/unfavourite")

    # Then the count is 1 everywhere
    await counts_everywhere(news["uri"], [alice, bob, carol], likes=1)
    assert (await carol.find_status(news["uri"]) or {})["favourited"] is False
    assert (await bob.find_status(news["uri"]) or {})["favourited"] is True


async def test_shares_count_on_every_node(network: Network, session: aiohttp.ClientSession) -> None:
    # Given alice's post on A, copied to bob on B and carol on C
    _, alice, bob, carol = await three_nodes(network, session)
    news = await alice.post("Town hall at 15:00")
    on_b = await bob.wait_status(news["uri"])
    on_c = await carol.wait_status(news["uri"])

    # When bob and carol reblog it
    await bob.call("POST", f"/statuses/{on_b['id']}/reblog")
    await carol.call("POST", f"/statuses/{on_c['id']}/reblog")

    # Then the share count is 2 on all three nodes, and alice is told
    await counts_everywhere(news["uri"], [alice, bob, carol], shares=2, likes=0)
    kinds = [n["type"] for n in await alice.call("GET", "/notifications")]
    assert kinds.count("reblog") == 2

    # When bob undoes his reblog
    await bob.call("POST", f"/statuses/{on_b['id']}/unreblog")

    # Then it is 1 everywhere
    await counts_everywhere(news["uri"], [alice, bob, carol], shares=1)


# -- edit, delete ---------------------------------------------------------------------------


async def test_edit_shows_content_and_history_on_the_remote_node(
    network: Network, session: aiohttp.ClientSession
) -> None:
    # Given alice's post on A, copied to bob on B
    a, b = await asyncio.gather(
        network.node("a", users=("alice",)),
        network.node("b", users=("bob",)),
    )
    alice, bob = a.api(session, "alice"), b.api(session, "bob")
    await follow_and_wait(bob, alice, f"alice@{a.netloc}")
    news = await alice.post("Meeting in room 1")
    await bob.wait_status(news["uri"])

    # When alice edits it twice
    await alice.call("PUT", f"/statuses/{news['id']}", {"status": "Meeting in room 2"})
    await alice.call("PUT", f"/statuses/{news['id']}", {"status": "Meeting in room 3"})

    # Then B shows the latest content, and the history of all three versions, oldest first
    async def edited() -> bool:
        copy = await bob.find_status(news["uri"])
        assert copy and "room 3" in copy["content"], copy
        history = await bob.call("GET", f"/statuses/{copy['id']}/history")
        assert [
            ("room 1" in h["content"], "room 2" in h["content"], "room 3" in h["content"])
            for h in history
        ] == [(True, False, False), (False, True, False), (False, False, True)], history
        assert copy["edited_at"] is not None
        return True

    await eventually(edited)
    history_a = await alice.call("GET", f"/statuses/{news['id']}/history")
    assert len(history_a) == 3

    # And an edit by someone else is refused and changes nothing
    other = await bob.find_status(news["uri"])
    assert other is not None
    code, _ = await bob.request("PUT", f"/statuses/{other['id']}", {"status": "hacked"})
    assert code == 403
    assert "room 3" in (await bob.find_status(news["uri"]) or {})["content"]


async def test_delete_removes_the_post_on_the_remote_node(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    # Given alice's post on A, copied to bob on B; a signing peer actor allowed by A
    a, b = await asyncio.gather(
        network.node("a", users=("alice",)),
        network.node("b", users=("bob",)),
    )
    alice, bob = a.api(session, "alice"), b.api(session, "bob")
    fetcher = peer.actor("fetcher")
    await follow_and_wait(bob, alice, f"alice@{a.netloc}")
    news = await alice.post("Wrong date, sorry")
    await bob.wait_status(news["uri"])

    # Before: the object is served to signed requests only
    code, doc = await signed_get(session, news["uri"], fetcher)
    assert code == 200 and doc["id"] == news["uri"] and doc["type"] == "Note"
    async with session.get(news["uri"], headers={"Accept": ACTIVITY_JSON}) as resp:
        assert resp.status == 401
        assert "error" in await resp.json(content_type=None)

    # When alice deletes it
    await alice.call("DELETE", f"/statuses/{news['id']}")

    # Then B no longer finds it, nor in bob's home timeline
    async def gone() -> bool:
        assert await bob.find_status(news["uri"]) is None
        home = await bob.call("GET", "/timelines/home")
        assert news["uri"] not in [s["uri"] for s in home]
        return True

    await eventually(gone)
    # and A answers a signed GET with 410 and a Tombstone, an unsigned one still with 401
    code, doc = await signed_get(session, news["uri"], fetcher)
    assert code == 410 and doc["type"] == "Tombstone" and doc["id"] == news["uri"]
    async with session.get(news["uri"], headers={"Accept": ACTIVITY_JSON}) as resp:
        assert resp.status == 401
    # and the client API on A says 404
    code, _ = await alice.request("GET", f"/statuses/{news['id']}")
    assert code == 404


# -- unfollow, audience ---------------------------------------------------------------------


async def test_unfollow_stops_delivery(network: Network, session: aiohttp.ClientSession) -> None:
    # Given bob on B and carol on C follow alice on A
    _, alice, bob, carol = await three_nodes(network, session)
    first = await alice.post("Before the unfollow")
    await bob.wait_status(first["uri"])

    # When bob unfollows alice, and A has taken note
    alice_on_b = (await bob.following())[0]
    await bob.call("POST", f"/accounts/{alice_on_b['id']}/unfollow")

    async def one_follower() -> bool:
        return [x["username"] for x in await alice.followers()] == ["carol"]

    await eventually(one_follower)
    assert await bob.following() == []

    # Then alice's next post reaches carol on C but never bob on B
    later = await alice.post("After the unfollow")
    await carol.wait_status(later["uri"])
    deliveries = (await alice.call("GET", "/admin/federation"))["deliveries"]

    async def queue_drained() -> bool:
        state = (await alice.call("GET", "/admin/federation"))["deliveries"]
        return bool(state.get("pending", 0) == 0)

    await eventually(queue_drained)
    assert await bob.find_status(later["uri"]) is None
    home = await bob.call("GET", "/timelines/home")
    assert later["uri"] not in [s["uri"] for s in home]
    assert first["uri"] in [s["uri"] for s in (await bob.call("GET", "/timelines/public"))]
    assert "failed" not in deliveries


async def test_followers_only_post_reaches_followers_only(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    # Given bob on B follows alice on A; carol on B and dave on A do not
    a, b = await asyncio.gather(
        network.node("a", users=("alice", "dave")),
        network.node("b", users=("bob", "carol")),
    )
    alice, bob = a.api(session, "alice"), b.api(session, "bob")
    carol, dave = b.api(session, "carol"), a.api(session, "dave")
    await follow_and_wait(bob, alice, f"alice@{a.netloc}")

    # When alice posts to followers only
    secret = await alice.post("Team offsite plans", visibility="followers")

    # Then bob sees it on B, in his home timeline and by id
    copy = await bob.wait_status(secret["uri"])
    assert copy["visibility"] == "followers"
    assert secret["uri"] in [s["uri"] for s in await bob.call("GET", "/timelines/home")]

    # and neither carol (same node B) nor dave (same node A as alice) can see it
    for outsider in (carol, dave):
        assert await outsider.find_status(secret["uri"]) is None
        public = await outsider.call("GET", "/timelines/public")
        assert secret["uri"] not in [s["uri"] for s in public]
        home = await outsider.call("GET", "/timelines/home")
        assert secret["uri"] not in [s["uri"] for s in home]
    # nor read it, its history or its thread by id, nor like, reblog or answer it
    for outsider, post_id in ((carol, copy["id"]), (dave, secret["id"])):
        for method, path, body in (
            ("GET", f"/statuses/{post_id}", None),
            ("GET", f"/statuses/{post_id}/history", None),
            ("GET", f"/statuses/{post_id}/context", None),
            ("POST", f"/statuses/{post_id}/favourite", None),
            ("POST", f"/statuses/{post_id}/reblog", None),
            ("POST", "/statuses", {"status": "I saw it", "in_reply_to_id": post_id}),
        ):
            code, data = await outsider.request(method, path, body)
            assert code == 404, (outsider.base_url, method, path, code, data)
    assert (await alice.call("GET", f"/statuses/{secret['id']}"))["favourites_count"] == 0
    assert (await alice.call("GET", f"/statuses/{secret['id']}"))["replies_count"] == 0
    profile = await dave.call("GET", f"/accounts/{(await alice.me())['id']}/statuses")
    assert secret["uri"] not in [s["uri"] for s in profile]
    # and a signed fetch by a non-follower does not get the object either
    code, _ = await signed_get(session, secret["uri"], peer.actor("outsider"))
    assert code == 404


async def test_counts_and_edits_reach_a_replier_who_does_not_follow_the_author(
    network: Network, session: aiohttp.ClientSession
) -> None:
    # Given alice on A followed by bob on B; dave on D follows bob only
    a, b, d = await asyncio.gather(
        network.node("a", users=("alice",)),
        network.node("b", users=("bob",)),
        network.node("d", users=("dave",)),
    )
    alice, bob, dave = a.api(session, "alice"), b.api(session, "bob"), d.api(session, "dave")
    await follow_and_wait(bob, alice, f"alice@{a.netloc}")
    await follow_and_wait(dave, bob, f"bob@{b.netloc}")

    # When bob reblogs alice's post, D gets it through the share, and dave replies on D
    news = await alice.post("Parking closed on Sunday")
    on_b = await bob.wait_status(news["uri"])
    await bob.call("POST", f"/statuses/{on_b['id']}/reblog")
    on_d = await dave.wait_status(news["uri"])
    reply = await dave.post("Where do we park then?", in_reply_to_id=on_d["id"])
    await alice.wait_status(reply["uri"])

    # and bob likes it, and alice edits it
    await bob.call("POST", f"/statuses/{on_b['id']}/favourite")
    await alice.call("PUT", f"/statuses/{news['id']}", {"status": "Parking closed on Saturday"})

    # Then D, which holds a copy because dave replied, has the count and the edit too
    async def replier_updated() -> bool:
        copy = await dave.find_status(news["uri"])
        assert copy is not None
        assert copy["favourites_count"] == 1 and copy["reblogs_count"] == 1, copy
        assert "Saturday" in copy["content"], copy["content"]
        return True

    await eventually(replier_updated)


async def test_profile_change_reaches_the_followers_node_and_locks_new_follows(
    network: Network, session: aiohttp.ClientSession
) -> None:
    # Given bob in Maastricht follows alice at head office
    hq = await network.node("hq", users=("alice",))
    mt = await network.node("mt", users=("bob", "sanne"))
    alice, bob, sanne = hq.api(session, "alice"), mt.api(session, "bob"), mt.api(session, "sanne")
    await bob.follow(f"alice@{hq.netloc}")
    await eventually(lambda: bob.following())

    # When alice renames herself, writes a profile text and asks to approve new followers
    await alice.call(
        "PATCH",
        "/accounts/update_credentials",
        {"display_name": "Alice Jansen", "note": "Internal *communication*", "locked": True},
    )

    # Then Maastricht shows the new profile
    async def renamed() -> bool:
        found = await bob.call("GET", f"/accounts/lookup?acct=alice@{hq.netloc}")
        return found["display_name"] == "Alice Jansen" and "<em>communication</em>" in found["note"]

    await eventually(renamed)
    # And a new follower now waits for approval
    await sanne.follow(f"alice@{hq.netloc}")
    requests = await eventually(lambda: alice.call("GET", "/follow_requests"))
    assert [r["acct"] for r in requests] == [f"sanne@{mt.netloc}"]
