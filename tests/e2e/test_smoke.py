"""Two nodes federate: follow, post, reply, like (the core flow, end to end)."""

from __future__ import annotations

import aiohttp
import pytest

from .harness import Network, eventually

pytestmark = pytest.mark.e2e


async def test_follow_post_reply_like_across_two_nodes(
    network: Network, session: aiohttp.ClientSession
) -> None:
    hq = await network.node("hq", users=("alice",))
    mt = await network.node("mt", users=("bob",))
    alice, bob = hq.api(session, "alice"), mt.api(session, "bob")

    await bob.follow(f"alice@{hq.netloc}")
    await eventually(lambda: bob.following())
    news = await alice.post("Canteen opens Monday")
    copy = await bob.wait_status(news["uri"])
    reply = await bob.post("Great!", in_reply_to_id=copy["id"])
    await bob.call("POST", f"/statuses/{copy['id']}/favourite")

    async def replicated() -> bool:
        at_hq = await alice.call("GET", f"/statuses/{news['id']}")
        context = await alice.call("GET", f"/statuses/{news['id']}/context")
        return at_hq["favourites_count"] == 1 and [d["uri"] for d in context["descendants"]] == [
            reply["uri"]
        ]

    await eventually(replicated)
