"""Who may see a post: one rule for the client API, ActivityPub documents and timelines."""

from __future__ import annotations

from ..models import Follow, Post, PostRecipient

__all__ = ["may_see"]


async def may_see(post: Post, viewer_id: int | None, *, viewer_is_local: bool) -> bool:
    """public and unlisted: anyone allowed here; local: people of this node; followers: accepted
    followers and the people it names; direct: the people it names. Authors see their own."""
    if post.visibility in ("public", "unlisted"):
        return True
    if viewer_id is None:
        return False
    if post.author_id == viewer_id:
        return True
    if post.visibility == "local":
        return viewer_is_local
    if await PostRecipient.filter(post_id=post.id, actor_id=viewer_id).exists():
        return True
    if post.visibility == "followers":
        return await Follow.filter(
            follower_id=viewer_id, followee_id=post.author_id, accepted=True
        ).exists()
    return False
