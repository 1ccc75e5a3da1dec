"""The home timeline query, on SQLite and PostgreSQL, against the rule it implements.

Home is one hand-written SQL union (``node.services.timelines._home_ids``) for speed; these tests
build a random small company and check, for every person, that paging through home with
``max_id`` and with ``since_id`` gives exactly the posts the rule names, newest first, each once,
and that each of them passes ``services.visibility.may_see``.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from node.models import Actor, Follow, Post, PostRecipient, Share
from node.services import timelines
from node.services.visibility import may_see

VISIBILITIES = ("public", "unlisted", "local", "followers", "direct")


async def make_company(rng: random.Random, people: int, posts: int) -> list[Actor]:
    actors = []
    for i in range(people):
        local = i < people - 2  # two cached remote actors
        domain = "hq.test" if local else "maastricht.test"
        actors.append(
            await Actor.create(
                uri=f"https://{domain}/users/p{i}",
                username=f"p{i}",
                domain=domain,
                inbox=f"https://{domain}/users/p{i}/inbox",
                local=local,
            )
        )
    for a in actors:
        for b in rng.sample(actors, k=rng.randint(0, people // 2)):
            if a is not b:
                accepted = rng.random() < 0.8  # some follows still wait for approval
                await Follow.create(follower=a, followee=b, accepted=accepted)
    now = datetime.now(UTC)
    made: list[Post] = []
    for n in range(posts):
        author = rng.choice(actors)
        visibility = rng.choice(VISIBILITIES)
        if not author.local and visibility == "local":
            visibility = "public"
        post = await Post.create(
            uri=f"{author.uri}/statuses/{n}",
            author=author,
            visibility=visibility,
            published=now,
            local=author.local,
        )
        made.append(post)
        named = rng.sample(actors, k=rng.choice((0, 0, 1, 2)))
        for actor in named:
            if actor is not author:
                await PostRecipient.create(post=post, actor=actor)
    for a in actors:
        for post in rng.sample(made, k=rng.randint(0, 4)):
            # shares of posts of every visibility, as remote Announces may be: home must filter
            await Share.get_or_create(
                actor=a, post=post, defaults={"post_visibility": post.visibility}
            )
    return actors


async def expected_home(viewer: Actor) -> list[int]:
    """The rule, written plainly: your posts, posts naming you, the non-direct posts of people
    you follow (accepted), and the public or unlisted posts they shared; newest first."""
    followed = set(
        await Follow.filter(follower_id=viewer.id, accepted=True).values_list(
            "followee_id", flat=True
        )
    )
    named = set(await PostRecipient.filter(actor_id=viewer.id).values_list("post_id", flat=True))
    shared = set(await Share.filter(actor_id__in=list(followed)).values_list("post_id", flat=True))
    ids = []
    for post in await Post.all():
        if (
            post.author_id == viewer.id
            or post.id in named
            or (post.author_id in followed and post.visibility != "direct")
            or (post.id in shared and post.visibility in ("public", "unlisted"))
        ):
            ids.append(post.id)
    return sorted(ids, reverse=True)


async def page_down(viewer: Actor, limit: int) -> list[int]:
    seen: list[int] = []
    max_id = None
    while True:
        page = await timelines.page(
            timelines.home(viewer), limit=limit, max_id=max_id, since_id=None
        )
        if not page:
            return seen
        ids = [p.id for p in page]
        assert ids == sorted(ids, reverse=True), "a page is newest first"
        assert len(ids) <= limit
        seen += ids
        max_id = ids[-1]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_given_a_random_company_when_paging_home_then_exactly_the_rule_newest_first(
    database: str, seed: int
) -> None:
    # Given a company of 9 people (2 remote) with follows, 60 posts of every visibility,
    # mentions, and shares of posts of every visibility
    rng = random.Random(seed)
    actors = await make_company(rng, people=9, posts=60)

    for viewer in actors:
        if not viewer.local:
            continue
        want = await expected_home(viewer)
        # When the person pages down through home, 7 at a time
        got = await page_down(viewer, limit=7)
        # Then they see exactly the rule's posts, each once, newest first
        assert got == want, f"{database}, viewer {viewer.username}"
        # and each is one they may see
        for post in await Post.filter(id__in=got):
            assert await may_see(post, viewer.id, viewer_is_local=True), post.uri
        # and since_id gives the newest posts above it, as many as the limit
        if want:
            middle = want[len(want) // 2]
            newer = await timelines.page(
                timelines.home(viewer), limit=5, max_id=None, since_id=middle
            )
            assert [p.id for p in newer] == [i for i in want if i > middle][:5]


async def test_given_nothing_to_show_when_reading_home_then_an_empty_page(database: str) -> None:
    # Given a person who follows nobody, posts nothing and is named nowhere
    loner = await Actor.create(
        uri="https://hq.test/users/loner", username="loner", domain="hq.test", inbox="x", local=True
    )
    other = await Actor.create(
        uri="https://hq.test/users/o", username="o", domain="hq.test", inbox="y", local=True
    )
    await Post.create(
        uri="https://hq.test/p/1", author=other, visibility="public", published=datetime.now(UTC)
    )
    # Then their home is empty, on every page
    assert await timelines.page(timelines.home(loner), limit=20, max_id=None, since_id=None) == []
    assert await timelines.page(timelines.home(loner), limit=20, max_id=10**12, since_id=0) == []
