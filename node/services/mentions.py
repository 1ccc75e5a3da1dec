"""Mentions: ``@name`` (this node) and ``@name@host`` (any allowed node) in a post's text."""

from __future__ import annotations

import html
import re

from ..errors import NodeError
from ..models import Actor
from ..runtime import Runtime
from .actors import resolve_actor

__all__ = ["MENTION", "find_mentions", "link_mentions"]

MENTION = re.compile(
    r"(?<![\w@/])@([a-z0-9][a-z0-9_.-]*[a-z0-9_]|[a-z0-9])(?:@([a-z0-9.-]+(?::[0-9]+)?))?",
    re.IGNORECASE,
)
MAX_MENTIONS = 20


async def find_mentions(rt: Runtime, text: str) -> list[tuple[str, Actor]]:
    """The people named in ``text`` as (handle as written, actor), skipping unknown names."""
    found: list[tuple[str, Actor]] = []
    seen: set[int] = set()
    for match in MENTION.finditer(text):
        if len(found) >= MAX_MENTIONS:
            break
        handle = match.group(0)
        try:
            actor = await resolve_actor(rt, handle)
        except NodeError:
            continue  # not a person we can find: the text stays as written
        if actor.id not in seen and actor.type == "Person":
            seen.add(actor.id)
            found.append((handle, actor))
    return found


def link_mentions(content_html: str, mentions: list[tuple[str, Actor]]) -> str:
    """Turn each mentioned handle in rendered HTML into a link to the person's profile."""
    for handle, actor in mentions:
        short = f"@{actor.username}"
        link = (
            f'<span class="h-card"><a href="{html.escape(actor.uri)}" class="u-url mention">'
            f"{html.escape(short)}</a></span>"
        )
        content_html = re.sub(
            rf"(?<![\w@/]){re.escape(html.escape(handle))}(?![\w@])", link, content_html, count=1
        )
    return content_html
