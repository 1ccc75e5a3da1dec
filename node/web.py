"""Read-only web pages: the company timeline of this node and people's profiles."""

from __future__ import annotations

from quart import Blueprint, render_template

from .models import Actor, Post
from .runtime import Runtime
from .services import timelines

__all__ = ["create_web"]


def create_web(rt: Runtime) -> Blueprint:
    web = Blueprint("web", __name__, template_folder="templates")

    @web.get("/")
    async def index() -> str:
        # The page needs no login, so it shows public posts only (never node-only ones).
        public = timelines.company().filter(visibility="public")
        posts = await timelines.page(public, limit=40, max_id=None, since_id=None)
        people = await Actor.filter(local=True, type="Person").order_by("username")
        return await render_template(
            "timeline.html", node=rt.settings, posts=posts, people=people, title="Company"
        )

    @web.get("/@<username>")
    async def profile(username: str) -> str | tuple[str, int]:
        people = await Actor.filter(local=True, type="Person").order_by("username")
        actor = next((p for p in people if p.username == username.lower()), None)
        if actor is None:
            page = await render_template(
                "timeline.html", node=rt.settings, posts=[], people=people, title="Not found"
            )
            return page, 404
        query = timelines.profile(actor, None)
        posts: list[Post] = await timelines.page(query, limit=40, max_id=None, since_id=None)
        return await render_template(
            "timeline.html", node=rt.settings, posts=posts, people=people, title=actor.name
        )

    return web
