"""From the node's rows to the JSON of the client API (Mastodon's shapes where they fit)."""

from __future__ import annotations

from typing import Any

from ..models import Actor
from ..services.statuses import AuthorRow, StatusRow

__all__ = ["account_json", "status_json"]


def _iso(value: Any) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z" if value else None


def account_json(actor: Actor | AuthorRow, local_netloc: str) -> dict[str, Any]:
    acct = actor.username if actor.local else f"{actor.username}@{actor.domain}"
    return {
        "id": str(actor.id),
        "username": actor.username,
        "acct": acct,
        "display_name": actor.name,
        "note": actor.summary,
        "url": actor.uri,
        "uri": actor.uri,
        "locked": actor.manually_approves,
        "bot": actor.type in ("Service", "Application"),
        "group": actor.type == "Group",
        "local": actor.local,
        "created_at": _iso(actor.created_at),
        "also_known_as": list(actor.also_known_as or []),
        "moved_to": actor.moved_to_uri,
    }


def status_json(post: StatusRow, local_netloc: str) -> dict[str, Any]:
    """A status as the viewer its row was read for sees it (services.statuses)."""
    return {
        "id": str(post.id),
        "uri": post.uri,
        "url": post.url or post.uri,
        "account": account_json(post.author, local_netloc),
        "content": post.content,
        "text": post.source,
        "spoiler_text": post.summary,
        "sensitive": post.sensitive,
        "visibility": post.visibility,
        "in_reply_to_id": str(post.in_reply_to_id) if post.in_reply_to_id else None,
        "in_reply_to_uri": post.in_reply_to_uri,
        "created_at": _iso(post.published),
        "edited_at": _iso(post.updated),
        "favourites_count": post.likes_count,
        "reblogs_count": post.shares_count,
        "replies_count": post.replies_count,
        "favourited": post.favourited,
        "reblogged": post.reblogged,
        "local": post.local,
    }
