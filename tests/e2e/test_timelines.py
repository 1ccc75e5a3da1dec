"""Timelines: shares reach followers' home timelines; profiles show what the viewer may see."""

from __future__ import annotations

import aiohttp
import pytest

from .harness import Network

pytestmark = pytest.mark.e2e


async def test_a_shared_post_appears_in_the_sharers_followers_home(
    network: Network, session: aiohttp.ClientSession
) -> None:
    # Given carol follows bob, and nobody follows alice
    hq = await network.node("hq", users=("alice", "bob", "carol"))
    alice, bob, carol = (hq.api(session, u) for u in ("alice", "bob", "carol"))
    await carol.follow("bob")
    news = await alice.post("Quarterly results are out")
    assert news["uri"] not in [s["uri"] for s in await carol.call("GET", "/timelines/home")]

    # When bob shares alice's post
    await bob.call("POST", f"/statuses/{news['id']}/reblog")

    # Then it is in carol's home timeline
    assert news["uri"] in [s["uri"] for s in await carol.call("GET", "/timelines/home")]


async def test_a_profile_shows_followers_only_posts_to_followers_alone(
    network: Network, session: aiohttp.ClientSession
) -> None:
    hq = await network.node("hq", users=("alice", "bob", "carol"))
    alice, bob, carol = (hq.api(session, u) for u in ("alice", "bob", "carol"))
    await bob.follow("alice")
    inner = await alice.post("team only", visibility="followers")
    open_post = await alice.post("for everyone")
    me = await alice.me()

    seen_by_bob = [s["uri"] for s in await bob.call("GET", f"/accounts/{me['id']}/statuses")]
    seen_by_carol = [s["uri"] for s in await carol.call("GET", f"/accounts/{me['id']}/statuses")]

    assert seen_by_bob == [open_post["uri"], inner["uri"]]
    assert seen_by_carol == [open_post["uri"]]
    async with session.get(f"{hq.base_url}/@alice") as page:
        text = await page.text()
    assert "for everyone" in text and "team only" not in text
