"""Mentions and direct posts: the people named see the post, on their own node, and nobody else."""

from __future__ import annotations

import aiohttp
import pytest

from .harness import Api, Network, eventually

pytestmark = pytest.mark.e2e


async def test_direct_post_reaches_only_the_people_it_names(
    network: Network, session: aiohttp.ClientSession
) -> None:
    # Given alice and dirk on head office, bob and sanne in Maastricht; everyone follows alice
    hq = await network.node("hq", users=("alice", "dirk"))
    mt = await network.node("mt", users=("bob", "sanne"))
    alice, dirk = hq.api(session, "alice"), hq.api(session, "dirk")
    bob, sanne = mt.api(session, "bob"), mt.api(session, "sanne")
    for follower in (dirk, bob, sanne):
        await follower.follow(f"alice@{hq.netloc}")
    await eventually(lambda: _count_followers(alice, 3))

    # When alice sends a direct post naming bob on the other node
    sent = await alice.post(f"@bob@{mt.netloc} can you check the Vaals unit?", visibility="direct")

    # Then bob has it in his home timeline, linked and addressed to him, with a notification
    copy = await bob.wait_status(sent["uri"])
    assert copy["visibility"] == "direct"
    assert 'class="u-url mention"' in copy["content"]
    home = await bob.call("GET", "/timelines/home")
    assert sent["uri"] in [s["uri"] for s in home]
    notes = await bob.call("GET", "/notifications")
    assert any(n["type"] == "mention" and n["status"]["uri"] == sent["uri"] for n in notes)

    # And the followers who are not named see nothing of it, on either node
    public_marker = await alice.post("a public post after the direct one")
    await sanne.wait_status(public_marker["uri"])
    assert await sanne.find_status(sent["uri"]) is None
    assert sent["uri"] not in [s["uri"] for s in await sanne.call("GET", "/timelines/home")]
    assert await dirk.find_status(sent["uri"]) is None
    status, _ = await dirk.request("GET", f"/statuses/{sent['id']}")
    assert status == 404

    # And bob's reply goes back to alice as a direct post she can see
    reply = await bob.post("On it.", in_reply_to_id=copy["id"], visibility="direct")
    answer = await alice.wait_status(reply["uri"])
    assert answer["in_reply_to_id"] == sent["id"]


async def test_a_local_mention_notifies_and_a_direct_post_must_name_someone(
    network: Network, session: aiohttp.ClientSession
) -> None:
    hq = await network.node("hq", users=("alice", "dirk"))
    alice, dirk = hq.api(session, "alice"), hq.api(session, "dirk")

    post = await alice.post("Welcome @dirk to the team!")
    notes = await dirk.call("GET", "/notifications")
    assert [n["status"]["uri"] for n in notes if n["type"] == "mention"] == [post["uri"]]
    assert f'href="{hq.base_url}/users/dirk"' in post["content"]

    status, body = await alice.request(
        "POST", "/statuses", {"status": "nobody named", "visibility": "direct"}
    )
    assert status == 400
    assert "direct" in body["error"]


async def _count_followers(api: Api, count: int) -> bool:
    return len(await api.followers()) == count
