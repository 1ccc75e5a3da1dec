"""The JSON client API (the start of the Mastodon client API), behind bearer tokens."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import wraps
from typing import Any, TypeVar

import orjson
from quart import Blueprint, Response, g, jsonify, request
from tortoise.functions import Count

from .convert.to_api import account_json, status_json
from .errors import Invalid, NodeError, NotFound
from .ids import parse_id
from .models import Account, Actor, Delivery, Follow, InboxEntry, Notification, Post
from .runtime import Runtime
from .services import follows, moves, posts, reactions, relays, timelines
from .services.accounts import authenticate, update_profile
from .services.actors import MAX_REF, find_actor, resolve_actor
from .services.statuses import status_rows
from .services.visibility import may_see

__all__ = ["create_api"]

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def create_api(rt: Runtime) -> Blueprint:
    api = Blueprint("api", __name__, url_prefix="/api/v1")
    netloc = rt.settings.netloc

    @api.errorhandler(NodeError)
    async def node_error(exc: NodeError) -> tuple[Response, int]:
        return jsonify({"error": exc.message}), exc.status

    def login(view: F) -> F:
        @wraps(view)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            auth = request.headers.get("Authorization", "")
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return jsonify({"error": "missing bearer token"}), 401
            try:
                account: Account = await authenticate(token.strip())
            except NotFound:
                return jsonify({"error": "invalid token"}), 401
            g.me = account.actor
            return await view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    async def body() -> dict[str, Any]:
        """The request's JSON object, or its form fields when it is sent as a form."""
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            return dict(await request.form)
        raw = await request.get_data(as_text=False)
        if not raw.strip():
            return {}
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise Invalid(f"malformed JSON body: {exc}") from None
        if not isinstance(data, dict):
            raise Invalid("the body must be a JSON object")
        return data

    def int_arg(name: str) -> int | None:
        value = request.args.get(name)
        if value is None:
            return None
        return parse_id(value, name, missing=Invalid)

    async def statuses(query: Any) -> Response:
        limit = int_arg("limit") or 20
        ids = await timelines.page_ids(
            query, limit=limit, max_id=int_arg("max_id"), since_id=int_arg("since_id")
        )
        return jsonify(await render_ids(ids))

    async def render_ids(ids: Sequence[int]) -> list[dict[str, Any]]:
        """Statuses as the caller sees them, in this order: one query for all of them."""
        me: Actor = g.me
        return [status_json(row, netloc) for row in await status_rows(ids, me.id)]

    async def render_all(shown: Sequence[Post]) -> list[dict[str, Any]]:
        return await render_ids([post.id for post in shown])

    async def render(post: Post) -> dict[str, Any]:
        return (await render_all([post]))[0]

    async def visible_post(post_id: str) -> Post:
        """The post, if the caller may see it; otherwise 404 (its existence is not revealed)."""
        post = await posts.get_post(post_id)
        if not await _visible(post, g.me):
            raise NotFound(f"no post {post_id}")
        return post

    async def account_by_id(account_id: str) -> Actor:
        actor = await Actor.filter(id=parse_id(account_id, "account")).first()
        if actor is None:
            raise NotFound(f"no account {account_id}")
        return actor

    @api.get("/accounts/verify_credentials")
    @login
    async def verify_credentials() -> Response:
        return jsonify(account_json(g.me, netloc))

    @api.patch("/accounts/update_credentials")
    @login
    async def update_credentials() -> Response:
        data = await body()
        aliases = data.get("also_known_as")
        if aliases is not None and not isinstance(aliases, list):
            raise Invalid("also_known_as: must be a list of handles or actor URLs")
        actor = await update_profile(
            rt,
            g.me,
            display_name=_text(data, "display_name"),
            summary=_text(data, "note"),
            manually_approves=_flag(data, "locked"),
            also_known_as=None if aliases is None else await moves.resolve_aliases(rt, aliases),
        )
        return jsonify(account_json(actor, netloc))

    @api.post("/accounts/move")
    @login
    async def move_account() -> Response:
        target = _text(await body(), "target") or ""
        actor, failures = await moves.move_account(rt, g.me, target)
        return jsonify(account_json(actor, netloc) | {"followers_not_moved": failures})

    @api.get("/accounts/lookup")
    @login
    async def lookup() -> Response:
        acct = request.args.get("acct", "")
        if not acct:
            raise Invalid("acct: missing")
        resolve = request.args.get("resolve") == "true"
        actor = await (resolve_actor(rt, acct) if resolve else find_actor(rt, acct))
        if actor is None:
            raise NotFound(f"no account {acct}")
        return jsonify(account_json(actor, netloc))

    @api.get("/accounts/<account_id>")
    @login
    async def get_account(account_id: str) -> Response:
        return jsonify(account_json(await account_by_id(account_id), netloc))

    @api.get("/accounts/<account_id>/statuses")
    @login
    async def account_statuses(account_id: str) -> Response:
        return await statuses(timelines.profile(await account_by_id(account_id), g.me))

    @api.get("/accounts/<account_id>/followers")
    @login
    async def followers(account_id: str) -> Response:
        actor = await account_by_id(account_id)
        rows = await Follow.filter(followee=actor, accepted=True).select_related("follower")
        return jsonify([account_json(r.follower, netloc) for r in rows])

    @api.get("/accounts/<account_id>/following")
    @login
    async def following(account_id: str) -> Response:
        actor = await account_by_id(account_id)
        rows = await Follow.filter(follower=actor, accepted=True).select_related("followee")
        return jsonify([account_json(r.followee, netloc) for r in rows])

    @api.post("/accounts/<account_id>/follow")
    @login
    async def follow_account(account_id: str) -> Response:
        target = await account_by_id(account_id)
        row = await follows.follow(rt, g.me, target.uri)
        return jsonify(relationship(target, row.accepted, requested=not row.accepted))

    @api.post("/accounts/<account_id>/unfollow")
    @login
    async def unfollow_account(account_id: str) -> Response:
        target = await account_by_id(account_id)
        await follows.unfollow(rt, g.me, target.uri)
        return jsonify(relationship(target, False, requested=False))

    @api.post("/follows")
    @login
    async def follow_by_uri() -> Response:
        uri = str((await body()).get("uri", "")).strip()
        if not uri:
            raise Invalid("uri: missing (a handle user@host or an actor URL)")
        row = await follows.follow(rt, g.me, uri)
        await row.fetch_related("followee")
        return jsonify(account_json(row.followee, netloc))

    def relationship(target: Actor, following_: bool, *, requested: bool) -> dict[str, Any]:
        return {"id": str(target.id), "following": following_, "requested": requested}

    @api.get("/follow_requests")
    @login
    async def follow_requests() -> Response:
        rows = await Follow.filter(followee=g.me, accepted=False).select_related("follower")
        return jsonify([account_json(r.follower, netloc) for r in rows])

    @api.post("/follow_requests/<account_id>/authorize")
    @login
    async def authorize(account_id: str) -> Response:
        actor = await account_by_id(account_id)
        await follows.accept_follow(rt, g.me, actor.id)
        return jsonify(relationship(actor, False, requested=False) | {"followed_by": True})

    @api.post("/follow_requests/<account_id>/reject")
    @login
    async def reject(account_id: str) -> Response:
        actor = await account_by_id(account_id)
        await follows.reject_follow(rt, g.me, actor.id)
        return jsonify(relationship(actor, False, requested=False) | {"followed_by": False})

    @api.post("/statuses")
    @login
    async def create_status() -> tuple[Response, int]:
        data = await body()
        in_reply_to = data.get("in_reply_to_id")
        if in_reply_to is not None:
            await visible_post(str(in_reply_to))
        post = await posts.create_post(
            rt,
            g.me,
            _text(data, "status") or "",
            visibility=_text(data, "visibility") or "public",
            in_reply_to=in_reply_to,
            summary=_text(data, "spoiler_text") or "",
            sensitive=bool(_flag(data, "sensitive")),
        )
        await post.fetch_related("author")
        return jsonify(await render(post)), 200

    @api.get("/statuses/<post_id>")
    @login
    async def get_status(post_id: str) -> Response:
        return jsonify(await render(await visible_post(post_id)))

    @api.put("/statuses/<post_id>")
    @login
    async def edit_status(post_id: str) -> Response:
        await visible_post(post_id)
        data = await body()
        post = await posts.edit_post(
            rt,
            g.me,
            post_id,
            _text(data, "status") or "",
            summary=_text(data, "spoiler_text"),
        )
        await post.fetch_related("author")
        return jsonify(await render(post))

    @api.delete("/statuses/<post_id>")
    @login
    async def delete_status(post_id: str) -> Response:
        rendered = await render(await visible_post(post_id))
        await posts.delete_post(rt, g.me, post_id)
        return jsonify(rendered)

    @api.get("/statuses/<post_id>/context")
    @login
    async def context(post_id: str) -> Response:
        post = await visible_post(post_id)
        ancestors, descendants = await posts.thread(post)
        return jsonify(
            {
                "ancestors": await render_all([p for p in ancestors if await _visible(p, g.me)]),
                "descendants": await render_all(
                    [p for p in descendants if await _visible(p, g.me)]
                ),
            }
        )

    @api.get("/statuses/<post_id>/history")
    @login
    async def history(post_id: str) -> Response:
        post = await visible_post(post_id)
        edits = await post.edits.all().order_by("edited_at")
        versions = [{"content": e.content, "spoiler_text": e.summary} for e in edits]
        versions.append({"content": post.content, "spoiler_text": post.summary})
        return jsonify(versions)

    def reaction_route(
        name: str, action: Callable[..., Awaitable[Post]], *, needs_sight: bool
    ) -> None:
        async def view(post_id: str) -> Response:
            if needs_sight:
                await visible_post(post_id)
            post = await action(rt, g.me, post_id)
            await post.fetch_related("author")
            if not await _visible(post, g.me):
                # Taking a reaction back stays possible after losing sight of the post, but the
                # answer must not show the post itself.
                return jsonify({"id": str(post.id), "favourited": False, "reblogged": False})
            return jsonify(await render(post))

        view.__name__ = f"status_{name}"
        api.post(f"/statuses/<post_id>/{name}")(login(view))

    reaction_route("favourite", reactions.like, needs_sight=True)
    reaction_route("unfavourite", reactions.unlike, needs_sight=False)
    reaction_route("reblog", reactions.share, needs_sight=True)
    reaction_route("unreblog", reactions.unshare, needs_sight=False)

    @api.get("/timelines/home")
    @login
    async def home() -> Response:
        return await statuses(timelines.home(g.me))

    @api.get("/timelines/public")
    @login
    async def public() -> Response:
        return await statuses(timelines.company(local_only=request.args.get("local") == "true"))

    @api.get("/search")
    @login
    async def search() -> Response:
        q = request.args.get("q", "").strip()
        if len(q) > MAX_REF:  # longer than any URL or handle stored here: nothing to find
            q = ""
        resolve = request.args.get("resolve") == "true"
        found_posts = await Post.filter(uri=q).select_related("author") if q else []
        found_posts = [p for p in found_posts if await _visible(p, g.me)]
        accounts: list[Actor] = []
        if q and not found_posts:
            try:
                actor = await (resolve_actor(rt, q) if resolve else find_actor(rt, q))
            except NodeError:
                actor = None
            if actor is not None:
                accounts.append(actor)
        return jsonify(
            {
                "accounts": [account_json(a, netloc) for a in accounts],
                "statuses": await render_all(found_posts),
                "hashtags": [],
            }
        )

    @api.get("/notifications")
    @login
    async def notifications() -> Response:
        rows = (
            await Notification.filter(recipient=g.me)
            .select_related("from_actor")
            .order_by("-id")
            .limit(40)
        )
        post_ids = list(dict.fromkeys(n.post_id for n in rows if n.post_id is not None))
        shown = {row.id: row for row in await status_rows(post_ids, g.me.id)}
        return jsonify(
            [
                {
                    "id": str(n.id),
                    "type": n.kind,
                    "created_at": n.created_at.isoformat(),
                    "account": account_json(n.from_actor, netloc),
                    "status": (
                        status_json(shown[n.post_id], netloc) if n.post_id in shown else None
                    ),
                }
                for n in rows
            ]
        )

    @api.get("/admin/federation")
    @login
    async def federation_state() -> Response:
        """Queue health for administrators: counts by state and the latest failures."""
        deliveries = await Delivery.annotate(n=Count("id")).group_by("state").values("state", "n")
        inbox = await InboxEntry.annotate(n=Count("id")).group_by("state").values("state", "n")
        failures = (
            await Delivery.filter(state__in=("failed", "given_up", "pending"), attempts__gt=0)
            .order_by("-id")
            .limit(20)
            .values("id", "inbox", "state", "attempts", "last_status", "last_error")
        )
        errors = (
            await InboxEntry.filter(last_error__not_isnull=True)
            .order_by("-id")
            .limit(20)
            .values("activity_id", "state", "attempts", "last_error")
        )
        return jsonify(
            {
                "deliveries": {r["state"]: r["n"] for r in deliveries},
                "inbox": {r["state"]: r["n"] for r in inbox},
                "delivery_failures": failures,
                "inbox_errors": errors,
            }
        )

    @api.get("/admin/relays")
    @login
    async def relay_subscriptions() -> Response:
        """The relays this node subscribes to, with the state of each subscription."""
        return jsonify([relays.subscription_json(s) for s in await relays.subscriptions()])

    return api


async def _visible(post: Post, viewer: Actor) -> bool:
    return await may_see(post, viewer.id, viewer_is_local=viewer.local)


def _text(data: dict[str, Any], name: str) -> str | None:
    """A text field: absent or null is None; anything but a string is refused."""
    value = data.get(name)
    if value is None or isinstance(value, str):
        return value
    raise Invalid(f"{name}: must be a string")


def _flag(data: dict[str, Any], name: str) -> bool | None:
    """A yes/no field: JSON true/false, or the usual form spellings; anything else is refused."""
    value = data.get(name)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "on", "false", "0", "off"):
        return value.lower() in ("true", "1", "on")
    raise Invalid(f"{name}: must be true or false")
