"""The node's ActivityPub documents, served through federation's blueprint (DocumentSource)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from activitystreams import build

from .convert.to_as import actor_document, note_document
from .models import Account, Actor, Follow, Like, Post, Share, Tombstone
from .runtime import Runtime
from .services.accounts import INSTANCE_USERNAME
from .services.posts import recipients_of
from .services.visibility import may_see

__all__ = ["NodeDocuments"]

ACTOR_PATH = re.compile(r"^/users/([^/]+)$")
COLLECTION_PATH = re.compile(r"^/users/([^/]+)/(outbox|followers|following)$")
POST_PATH = re.compile(
    r"^/users/([^/]+)/statuses/([0-9a-f]+)(?:/(activity|likes|shares|replies))?$"
)
PAGE_SIZE = 20


class NodeDocuments:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def is_public_key_document(self, path: str) -> bool:
        return path == "/actor" or ACTOR_PATH.match(path) is not None

    async def webfinger(self, username: str) -> str | None:
        if username == INSTANCE_USERNAME or len(username) > 64:
            return None
        account = await Account.filter(username=username).select_related("actor").first()
        return account.actor.uri if account else None

    async def nodeinfo_usage(self) -> Mapping[str, int]:
        now = self.rt.clock()
        people = Actor.filter(local=True, type="Person")
        return {
            "users_total": await people.count(),
            "users_active_month": await people.filter(
                posts__published__gte=now - timedelta(days=30)
            )
            .distinct()
            .count(),
            "users_active_halfyear": await people.filter(
                posts__published__gte=now - timedelta(days=182)
            )
            .distinct()
            .count(),
            "local_posts": await Post.filter(local=True).count(),
        }

    async def document(
        self, path: str, query: Mapping[str, str], requester: str | None
    ) -> dict[str, Any] | None:
        base = self.rt.base_url
        if path == "/actor":
            actor = await Actor.filter(uri=self.rt.instance_actor_uri).first()
            return actor_document(actor) if actor else None
        if m := ACTOR_PATH.match(path):
            actor = await Actor.filter(uri=f"{base}/users/{m[1]}", local=True).first()
            return actor_document(actor) if actor else None
        if m := COLLECTION_PATH.match(path):
            return await self._collection(f"{base}/users/{m[1]}", m[2], query)
        if m := POST_PATH.match(path):
            uri = f"{base}/users/{m[1]}/statuses/{m[2]}"
            return await self._post(uri, m[3], requester)
        return None

    async def _collection(
        self, actor_uri: str, name: str, query: Mapping[str, str]
    ) -> dict[str, Any] | None:
        actor = await Actor.filter(uri=actor_uri, local=True).first()
        if actor is None:
            return None
        uri = f"{actor_uri}/{name}"
        if name == "outbox":
            posts = Post.filter(author=actor, local=True, visibility="public")
            total = await posts.count()
            recent = await posts.order_by("-published").limit(PAGE_SIZE)
            items = [
                build.create(
                    id=f"{p.uri}/activity",
                    actor=actor_uri,
                    object=_embedded(note_document(p, actor)),
                    published=p.published,
                )
                for p in recent
            ]
            for item in items:
                item.pop("@context", None)
            return build.ordered_collection(id=uri, total_items=total, ordered_items=items)
        if name == "followers":
            rows = Follow.filter(followee=actor, accepted=True)
            field = "follower__uri"
        else:
            rows = Follow.filter(follower=actor, accepted=True)
            field = "followee__uri"
        total = await rows.count()
        if query.get("page") is None:
            return build.ordered_collection(id=uri, total_items=total, first=f"{uri}?page=1")
        raw_page = query["page"]
        page = int(raw_page) if raw_page.isdigit() and len(raw_page) <= 9 else 1
        page = max(1, page)
        ids = (
            await rows.order_by("id")
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
            .values_list(field, flat=True)
        )
        more = total > page * PAGE_SIZE
        return build.ordered_collection_page(
            id=f"{uri}?page={page}",
            part_of=uri,
            ordered_items=[str(i) for i in ids],
            next=f"{uri}?page={page + 1}" if more else None,
        )

    async def _post(
        self, uri: str, part: str | None, requester: str | None
    ) -> dict[str, Any] | None:
        post = await Post.filter(uri=uri, local=True).select_related("author").first()
        if post is None:
            tomb = await Tombstone.filter(uri=uri).first()
            if tomb is None:
                return None
            return build.tombstone(id=uri, former_type=tomb.former_type, deleted=tomb.deleted_at)
        if not await self._may_see(post, requester):
            return None
        if part is None:
            return note_document(post, post.author, await recipients_of(post))
        if part == "activity":
            note = _embedded(note_document(post, post.author, await recipients_of(post)))
            return build.create(
                id=f"{uri}/activity", actor=post.author.uri, object=note, published=post.published
            )
        if part == "likes":
            likers = (
                await Like.filter(post=post).order_by("id").values_list("actor__uri", flat=True)
            )
            return _collection(f"{uri}/likes", [str(i) for i in likers])
        if part == "shares":
            sharers = (
                await Share.filter(post=post).order_by("id").values_list("actor__uri", flat=True)
            )
            return _collection(f"{uri}/shares", [str(i) for i in sharers])
        replies = (
            await Post.filter(in_reply_to=post).order_by("published").values_list("uri", flat=True)
        )
        return _collection(f"{uri}/replies", [str(i) for i in replies])

    async def _may_see(self, post: Post, requester: str | None) -> bool:
        viewer = await Actor.filter(uri=requester).first() if requester else None
        return await may_see(
            post, viewer.id if viewer else None, viewer_is_local=bool(viewer and viewer.local)
        )


def _embedded(doc: dict[str, Any]) -> dict[str, Any]:
    doc.pop("@context", None)
    return doc


def _collection(uri: str, items: list[str]) -> dict[str, Any]:
    doc = build.ordered_collection(id=uri, total_items=len(items), ordered_items=items)
    doc["type"] = "Collection"
    doc["items"] = doc.pop("orderedItems", items)
    return doc
