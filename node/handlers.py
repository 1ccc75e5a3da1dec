"""Side effects of incoming activities, one handler per type, each in one transaction."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from activitystreams import Activity, InvalidDocument, Object, parse_object
from activitystreams import Actor as ASActor
from activitystreams.audience import visibility as visibility_of
from activitystreams.vocab import PUBLIC_SPELLINGS
from federation.errors import FederationError, Rejected, RetryLater

from .convert.html import html_to_text, sanitize_remote_html
from .errors import Invalid, NodeError
from .models import (
    Actor,
    Follow,
    Like,
    Notification,
    Post,
    PostEdit,
    PostRecipient,
    RelaySubscription,
    Share,
    Tombstone,
)
from .runtime import Runtime
from .services import moves, relay_mode, relays
from .services.accounts import signing_key
from .services.follows import send_accept
from .services.posts import push_counts
from .stores import upsert_actor

__all__ = ["InboxHandler"]

MAX_REF = 512  # the longest URL the posts table keeps (uri, in_reply_to_uri, url)
MAX_CONTENT = 100_000  # characters of remote HTML read; the rest is cut before sanitising
MAX_NAME = 500  # characters of a title (name) shown above the content
TITLED_TYPES = frozenset({"Article", "Page", "Event", "Video", "Question"})
POST_TYPES = frozenset({"Note", "Article", "Question", "Page", "Video", "Image", "Event", "Audio"})
ANCESTOR_DEPTH = 20
ANCESTOR_BUDGET_SECONDS = 20.0

log = logging.getLogger("plein.inbox")


def _same_origin(a: str, b: str) -> bool:
    return urlsplit(a).netloc.lower() == urlsplit(b).netloc.lower()


class InboxHandler:
    """Implements federation's ActivityHandler for this node."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._handlers: dict[str, Callable[[Activity, Actor], Awaitable[None]]] = {
            "Follow": self._follow,
            "Accept": self._accept,
            "Reject": self._reject,
            "Undo": self._undo,
            "Create": self._create,
            "Update": self._update,
            "Delete": self._delete,
            "Like": self._like,
            "EmojiReact": self._like,
            "Announce": self._announce,
            "Block": self._block,
            "Move": self._move,
        }

    async def handle(self, activity: Activity, *, signer: str) -> None:
        handler = self._handlers.get(activity.type)
        if handler is None:
            raise Rejected(f"activity type {activity.type} is not supported")
        actor = await Actor.filter(uri=signer).first()
        if actor is None:
            raise RetryLater(f"signer {signer} is not cached yet")
        await handler(activity, actor)

    # -- follows -----------------------------------------------------------------------------

    async def _follow(self, activity: Activity, actor: Actor) -> None:
        await self._refuse_if_undone(activity)
        if relay_mode.is_subscription(self.rt, activity):
            if not self.rt.settings.relay:
                raise Rejected("this node is not a relay")
            await relay_mode.accept_subscriber(self.rt, activity, actor)
            return
        target = await Actor.filter(uri=activity.object_id or "", local=True).first()
        if target is None or target.type != "Person":
            raise Rejected(f"no local account {activity.object_id}")
        async with in_transaction():
            row, created = await Follow.get_or_create(
                follower=actor, followee=target, defaults={"uri": activity.id, "accepted": False}
            )
            if row.uri != activity.id:
                row.uri = activity.id
                await row.save()
            if created:
                await Notification.create(
                    recipient=target,
                    kind="follow_request" if target.manually_approves else "follow",
                    from_actor=actor,
                )
            if not target.manually_approves or row.accepted:
                row.accepted = True
                await row.save()
                await send_accept(self.rt, row, target, actor)

    async def _find_follow(
        self, follow: Any, follower: Actor | None, followee: Actor | None
    ) -> Follow | None:
        """Match a Follow by id, else by the (actor, object) pair (older Mastodon: no id)."""
        follow_id = follow.id if isinstance(follow, Activity) else follow
        if follow_id:
            row = await Follow.filter(uri=follow_id).first()
            if row is not None:
                return row
        if follower is not None and followee is not None:
            return await Follow.filter(follower=follower, followee=followee).first()
        return None

    async def _relay_subscription(
        self, activity: Activity, actor: Actor
    ) -> RelaySubscription | None:
        """Our subscription to the relay ``actor`` that this Accept/Reject answers, if any:
        matched by the Follow's id, else by the embedded Follow (our actor, the Public IRI)."""
        sub = await RelaySubscription.filter(relay_uri=actor.uri).first()
        if sub is None:
            return None
        inner = activity.object
        follow_id = inner.id if isinstance(inner, Activity) else activity.object_id
        if follow_id == sub.follow_uri:
            return sub
        if (
            isinstance(inner, Activity)
            and inner.type == "Follow"
            and inner.actor == self.rt.instance_actor_uri
            and (inner.object_id in PUBLIC_SPELLINGS or inner.object_id == actor.uri)
        ):
            return sub
        return None

    async def _accept(self, activity: Activity, actor: Actor) -> None:
        sub = await self._relay_subscription(activity, actor)
        if sub is not None:
            if sub.state == "rejected":
                raise Rejected(f"the subscription to {actor.uri} was rejected before")
            sub.state = "accepted"
            await sub.save()
            return
        inner = activity.object
        follower = None
        if isinstance(inner, Activity):
            follower = await Actor.filter(uri=inner.actor, local=True).first()
        row = await self._find_follow(inner or activity.object_id, follower, actor)
        if row is None or row.followee_id != actor.id:
            raise Rejected("Accept of an unknown follow")
        row.accepted = True
        await row.save()

    async def _reject(self, activity: Activity, actor: Actor) -> None:
        sub = await self._relay_subscription(activity, actor)
        if sub is not None:
            sub.state = "rejected"  # final: never re-sent, not even after a restart
            await sub.save()
            log.warning("relay %s rejected this node's subscription", actor.uri)
            return
        inner = activity.object
        follower = None
        if isinstance(inner, Activity):
            follower = await Actor.filter(uri=inner.actor, local=True).first()
        row = await self._find_follow(inner or activity.object_id, follower, actor)
        if row is not None and row.followee_id == actor.id:
            await row.delete()

    async def _undo(self, activity: Activity, actor: Actor) -> None:
        inner = activity.object
        inner_type = inner.type if isinstance(inner, Activity) else None
        inner_id = inner.id if isinstance(inner, Activity) else activity.object_id
        if isinstance(inner, Activity) and inner.actor != actor.uri:
            raise Rejected("Undo of an activity by another actor")
        if inner_type in (None, "Follow"):
            followee = None
            if isinstance(inner, Activity):
                followee = await Actor.filter(uri=inner.object_id or "", local=True).first()
            row = await self._find_follow(inner_id, actor, followee)
            if row is not None and row.follower_id == actor.id:
                await row.delete()
                return
        if inner_type in (None, "Like", "EmojiReact"):
            like = await self._find_reaction(Like, inner, inner_id, actor)
            if like is not None:
                async with in_transaction():
                    await like.delete()
                    await Post.filter(id=like.post_id).update(likes_count=F("likes_count") - 1)
                post = await Post.get(id=like.post_id)
                await self._counts_changed(post)
                return
        if inner_type in (None, "Announce"):
            share = await self._find_reaction(Share, inner, inner_id, actor)
            if share is not None:
                async with in_transaction():
                    await share.delete()
                    await Post.filter(id=share.post_id).update(shares_count=F("shares_count") - 1)
                post = await Post.get(id=share.post_id)
                await self._counts_changed(post)
                return
        # Undo of something we never saw (or already undone): nothing to undo now, but the
        # activity may still be on its way (deliveries overtake each other). Remember its id, as
        # Mastodon's "delete upon arrival" does, so that it is refused when it arrives late.
        await self._remember_undone(inner_id, inner_type, actor)

    async def _remember_undone(
        self, activity_id: str | None, activity_type: str | None, actor: Actor
    ) -> None:
        """A Tombstone keyed by the undone activity's id. Only for ids on the actor's own host:
        nobody can pre-empt another server's activities (or posts) this way."""
        if not activity_id or len(activity_id) > MAX_REF:
            return
        if not _same_origin(activity_id, actor.uri):
            return
        await Tombstone.get_or_create(
            uri=activity_id,
            defaults={"deleted_at": self.rt.clock(), "former_type": activity_type or "Activity"},
        )

    async def _refuse_if_undone(self, activity: Activity) -> None:
        if activity.id and await Tombstone.filter(uri=activity.id).exists():
            raise Rejected(f"{activity.type} {activity.id} was undone before it arrived")

    async def _find_reaction(
        self, model: type[Like] | type[Share], inner: Any, inner_id: str | None, actor: Actor
    ) -> Like | Share | None:
        if inner_id:
            row = await model.filter(uri=inner_id, actor=actor).first()
            if row is not None:
                return row
        if isinstance(inner, Activity) and inner.object_id:
            return await model.filter(actor=actor, post__uri=inner.object_id).first()
        return None

    async def _block(self, activity: Activity, actor: Actor) -> None:
        target = await Actor.filter(uri=activity.object_id or "", local=True).first()
        if target is not None:
            await Follow.filter(follower=target, followee=actor).delete()
            await Follow.filter(follower=actor, followee=target).delete()

    async def _move(self, activity: Activity, actor: Actor) -> None:
        """Move of a remote account: checked, then its local followers follow the new one.

        Idempotent: a retry re-checks the target and moves only the followers left over.
        """
        if activity.object_id != actor.uri:
            raise Rejected(f"{actor.uri} may only move itself, not {activity.object_id}")
        if not activity.target:
            raise Rejected("Move without a target")
        try:
            new = await moves.fresh_target(self.rt, actor.uri, activity.target)
        except Invalid as exc:
            raise Rejected(exc.message) from exc
        except NodeError as exc:
            raise RetryLater(exc.message) from exc
        if actor.moved_to_uri != new.uri:
            await Actor.filter(id=actor.id).update(moved_to_uri=new.uri)
            actor.moved_to_uri = new.uri
        failures = await moves.migrate_followers(self.rt, actor, new)
        if failures:
            raise RetryLater(f"{len(failures)} followers not moved yet: {'; '.join(failures)}")

    # -- posts ------------------------------------------------------------------------------

    async def _create(self, activity: Activity, actor: Actor) -> None:
        obj = activity.object
        if obj is None and activity.object_id:
            obj = await self._fetch_object(activity.object_id)
        if not isinstance(obj, Object):
            raise Rejected("Create of something that is not an object")
        if obj.type not in POST_TYPES:
            raise Rejected(f"Create of {obj.type} is not supported")
        if actor.uri not in obj.attributed_to:
            raise Rejected(f"object {obj.id} is not attributed to {actor.uri}")
        post = await self._store_post(obj, actor)
        if post is not None and self.rt.settings.relay:
            await relay_mode.spread(self.rt, post, actor)
        if post is not None and post.in_reply_to_uri and post.in_reply_to_id is None:
            await self._fetch_ancestors(post)

    async def _fetch_ancestors(self, post: Post) -> None:
        """Best effort: fetch the missing parents of a stored reply, one after the other.

        Iterative (never recursive), with a visited set (reply cycles stop), a depth cap and a
        time budget, so a hostile or endless chain costs at most ANCESTOR_DEPTH fetches. The
        reply itself is already committed; a parent that cannot be fetched is only logged.
        """
        visited = {post.uri}
        uri = post.in_reply_to_uri
        deadline = time.monotonic() + ANCESTOR_BUDGET_SECONDS
        for _ in range(ANCESTOR_DEPTH):
            if uri is None or uri in visited or time.monotonic() > deadline:
                return
            visited.add(uri)
            if await Post.filter(uri=uri).exists() or await Tombstone.filter(uri=uri).exists():
                return
            try:
                obj = await self._fetch_object(uri)
                if obj.type not in POST_TYPES:
                    return
                stored = await self._store_post(obj, await self._author_of(obj))
            except FederationError as exc:
                log.info("ancestor %s of %s not fetched: %s", uri, post.uri, exc.message)
                return
            if stored is None:
                return
            uri = obj.in_reply_to

    async def _fetch_object(self, uri: str) -> Object:
        if await Tombstone.filter(uri=uri).exists():
            raise Rejected(f"{uri} was deleted")
        if not self.rt.settings.allows(urlsplit(uri).netloc):
            raise Rejected(f"domain not allowed: {urlsplit(uri).netloc}")
        key = await signing_key(self.rt, self.rt.instance_actor_uri)
        try:
            doc = await self.rt.client.get_json(uri, key=key)
            obj = parse_object(doc)
        except FederationError as exc:
            raise RetryLater(f"cannot fetch {uri}: {exc.message}") from exc
        except InvalidDocument as exc:
            raise Rejected(f"{uri}: {exc.message}") from exc
        if obj.id is None or not _same_origin(obj.id, uri):
            raise Rejected(f"fetched object id {obj.id} does not match {uri}")
        return obj

    async def _author_of(self, obj: Object) -> Actor:
        # Only an author on the object's own host can be its author: never fetch elsewhere.
        candidates = [u for u in obj.attributed_to if obj.id and _same_origin(u, obj.id)]
        for uri in candidates:  # PeerTube: [Group channel, Person account]
            actor = await Actor.filter(uri=uri).first()
            if actor is not None and actor.type == "Person":
                return actor
        for uri in candidates:
            actor = await Actor.filter(uri=uri).first()
            if actor is None:
                try:
                    key = await signing_key(self.rt, self.rt.instance_actor_uri)
                    from activitystreams import parse_actor

                    actor = await upsert_actor(
                        parse_actor(await self.rt.client.get_json(uri, key=key))
                    )
                except (FederationError, InvalidDocument) as exc:
                    raise RetryLater(f"cannot fetch author {uri}: {exc}") from exc
            return actor
        raise Rejected(f"object {obj.id} has no author on its own host")

    async def _store_post(self, obj: Object, author: Actor) -> Post | None:
        if obj.id is None:
            raise Rejected("object: missing id")
        if not _same_origin(obj.id, author.uri):
            raise Rejected(f"object {obj.id} is not on the author's host")
        if await Tombstone.filter(uri=obj.id).exists():
            return None  # deleted already: a late Create must not bring it back
        existing = await Post.filter(uri=obj.id).first()
        if existing is not None:
            return existing
        if len(obj.id) > MAX_REF:
            raise Rejected(f"object: id longer than {MAX_REF} characters")
        in_reply_to = _ref(obj.in_reply_to)
        parent = None
        if in_reply_to:
            parent = await Post.filter(uri=in_reply_to).first()
        content = _content(obj)
        published = obj.published or self.rt.clock()
        counts = _counts(obj.raw)
        async with in_transaction():
            post = await Post.create(
                uri=obj.id,
                author=author,
                type=obj.type,
                content=content,
                summary=_plain(obj.summary),
                sensitive=obj.sensitive,
                visibility=str(visibility_of(obj.to, obj.cc, author.followers_uri)),
                in_reply_to_uri=in_reply_to,
                in_reply_to=parent,
                url=_ref(obj.url),
                published=published,
                updated=obj.updated,
                local=False,
                likes_count=counts.get("likes_count", 0),
                shares_count=counts.get("shares_count", 0),
            )
            # Replies that arrived before this post now find their parent.
            linked = await Post.filter(in_reply_to_uri=obj.id, in_reply_to_id=None).update(
                in_reply_to_id=post.id
            )
            if linked:
                await Post.filter(id=post.id).update(replies_count=F("replies_count") + linked)
            notified: set[int] = set()
            if parent is not None:
                await Post.filter(id=parent.id).update(replies_count=F("replies_count") + 1)
                await parent.fetch_related("author")
                if parent.author.local:
                    await Notification.create(
                        recipient=parent.author, kind="mention", from_actor=author, post=post
                    )
                    notified.add(parent.author.id)
            # Every local person the post is addressed to is told once, whichever inbox (or
            # how many inboxes) the activity came through: the post row is created once.
            addressed = {*obj.to, *obj.cc, *obj.bto, *obj.bcc}
            if addressed:
                for recipient in await Actor.filter(uri__in=list(addressed), local=True):
                    if recipient.type != "Person":
                        continue
                    await PostRecipient.get_or_create(post=post, actor=recipient)
                    if recipient.id not in notified:
                        await Notification.create(
                            recipient=recipient, kind="mention", from_actor=author, post=post
                        )
                        notified.add(recipient.id)
        return post

    async def _update(self, activity: Activity, actor: Actor) -> None:
        obj = activity.object
        if isinstance(obj, ASActor):
            if obj.id != actor.uri:
                raise Rejected("an actor may only update itself")
            await upsert_actor(obj)
            return
        if not isinstance(obj, Object) or obj.id is None:
            raise Rejected("Update needs an embedded object")
        post = await Post.filter(uri=obj.id).first()
        if post is None:
            if obj.type in POST_TYPES and actor.uri in obj.attributed_to:
                await self._store_post(obj, actor)
            return
        if post.author_id != actor.id:
            raise Rejected(f"{actor.uri} may not update {obj.id}")
        content = _content(obj)
        summary = _plain(obj.summary)
        async with in_transaction():
            if content != post.content or summary != post.summary:
                await PostEdit.create(
                    post=post,
                    content=post.content,
                    summary=post.summary,
                    edited_at=obj.updated or self.rt.clock(),
                )
                post.content = content
                post.summary = summary
                post.sensitive = obj.sensitive
                post.updated = obj.updated or self.rt.clock()
            stamp = activity.published
            if stamp is not None and (post.counts_at is None or stamp >= post.counts_at):
                counts = _counts(obj.raw)
                for field, value in counts.items():
                    setattr(post, field, value)
                post.counts_at = stamp
            await post.save()

    async def _delete(self, activity: Activity, actor: Actor) -> None:
        target = activity.object_id
        if target is None:
            raise Rejected("Delete without an object")
        if target == actor.uri:
            await Post.filter(author=actor).delete()
            await Follow.filter(follower=actor).delete()
            await Follow.filter(followee=actor).delete()
            return
        if not _same_origin(target, actor.uri):
            raise Rejected(f"{actor.uri} may not delete {target}")
        async with in_transaction():
            post = await Post.filter(uri=target).first()
            if post is not None:
                if post.author_id != actor.id:
                    raise Rejected(f"{actor.uri} may not delete {target}")
                if post.in_reply_to_id is not None:
                    await Post.filter(id=post.in_reply_to_id).update(
                        replies_count=F("replies_count") - 1
                    )
                await post.delete()
            await Tombstone.get_or_create(uri=target, defaults={"deleted_at": self.rt.clock()})

    # -- reactions ----------------------------------------------------------------------------

    async def _post_for(self, uri: str | None) -> tuple[Post, bool]:
        """The post a reaction is about, and whether its counts were just taken from its origin.

        A post not known here is fetched from its origin (a Like may overtake the post's
        Create, or be about a post that never reached this node). When the origin cannot be
        reached, or does not serve it yet, the activity is retried later (RetryLater)."""
        if uri is None:
            raise Rejected("activity without an object")
        post = await Post.filter(uri=uri).select_related("author").first()
        if post is not None:
            return post, False
        if await Tombstone.filter(uri=uri).exists():
            raise Rejected(f"{uri} was deleted")
        if uri.startswith(self.rt.base_url + "/"):
            raise Rejected(f"no local object {uri}")
        try:
            fetched = await self._fetch_object(uri)
        except RetryLater as exc:
            raise RetryLater(f"{uri} is not known yet ({exc.message})") from exc
        if fetched.type not in POST_TYPES:
            raise Rejected(f"{uri} is a {fetched.type}, not a post")
        stored = await self._store_post(fetched, await self._author_of(fetched))
        if stored is None:
            raise Rejected(f"{uri} was deleted")
        post = await Post.filter(id=stored.id).select_related("author").get()
        return post, bool(_counts(fetched.raw))

    async def _like(self, activity: Activity, actor: Actor) -> None:
        await self._refuse_if_undone(activity)
        post, counted_at_origin = await self._post_for(activity.object_id)
        async with in_transaction():
            _, created = await Like.get_or_create(
                actor=actor,
                post=post,
                defaults={"uri": activity.id, "content": (activity.content or "")[:255]},
            )
            if not created:
                return
            if not counted_at_origin:
                await Post.filter(id=post.id).update(likes_count=F("likes_count") + 1)
            else:  # the count just read from the origin (which got this Like too) is the truth,
                # but never fewer than the likes this node holds
                held = await Like.filter(post_id=post.id).count()
                await Post.filter(id=post.id, likes_count__lt=held).update(likes_count=held)
            if post.author.local:
                await Notification.create(
                    recipient=post.author, kind="favourite", from_actor=actor, post=post
                )
        await post.refresh_from_db()
        await self._counts_changed(post)

    async def _announce(self, activity: Activity, actor: Actor) -> None:
        await self._refuse_if_undone(activity)
        obj = activity.object
        uri = obj.id if isinstance(obj, Object) else activity.object_id
        if uri is None:
            raise Rejected("Announce without an object")
        post = await Post.filter(uri=uri).select_related("author").first()
        if post is None:
            fetched = await self._fetch_object(uri)
            author = await self._author_of(fetched)
            stored = await self._store_post(fetched, author)
            if stored is None:
                return
            post = await Post.filter(id=stored.id).select_related("author").get()
        if await relays.is_relay(actor):
            return  # a relay spreads posts: the post is stored, but nobody shared it
        async with in_transaction():
            _, created = await Share.get_or_create(
                actor=actor,
                post=post,
                defaults={"uri": activity.id, "post_visibility": post.visibility},
            )
            if not created:
                return
            await Post.filter(id=post.id).update(shares_count=F("shares_count") + 1)
            if post.author.local:
                await Notification.create(
                    recipient=post.author, kind="reblog", from_actor=actor, post=post
                )
        await post.refresh_from_db()
        await self._counts_changed(post)

    async def _counts_changed(self, post: Post) -> None:
        if post.local:
            async with in_transaction():
                await push_counts(self.rt, post)


def _counts(raw: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for key, field in (("likes", "likes_count"), ("shares", "shares_count")):
        value = raw.get(key) if hasattr(raw, "get") else None
        if isinstance(value, dict) and isinstance(value.get("totalItems"), int):
            counts[field] = max(0, value["totalItems"])
    return counts


def _ref(uri: str | None) -> str | None:
    """A reference the posts table can keep: a longer one is dropped, never cut (a cut URL is
    another URL)."""
    return uri if uri and len(uri) <= MAX_REF else None


def _content(obj: Object) -> str:
    """The post's HTML: sanitised content (cut at MAX_CONTENT), with the title (``name``, plain
    text) above it for long-form types, or as the content when there is no other text."""
    content = sanitize_remote_html((obj.content or "")[:MAX_CONTENT])
    title = _plain(obj.name)[:MAX_NAME].strip()
    if not title:
        return content
    if obj.type in TITLED_TYPES:
        return f"<p><strong>{_escape(title)}</strong></p>{content}"
    if not html_to_text(content):
        return f"<p>{_escape(title)}</p>"
    return content


def _text(value: str | None) -> str:
    return (value or "").strip()[:2000]


def _plain(value: str | None) -> str:
    """A content warning / summary is plain text: remote markup is dropped, never kept."""
    return _text(html_to_text(value or ""))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
