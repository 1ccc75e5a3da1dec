"""Mentions in post text: which handles are recognised, and how they are linked."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from node.services.mentions import MENTION, link_mentions


def handles(text: str) -> list[str]:
    return [m.group(0) for m in MENTION.finditer(text)]


def test_given_local_and_remote_handles_when_scanned_then_both_are_found() -> None:
    text = "Thanks @dirk and @bob@maastricht.example:8443, see you!"
    assert handles(text) == ["@dirk", "@bob@maastricht.example:8443"]


def test_given_an_email_address_or_url_when_scanned_then_no_mention_is_found() -> None:
    assert handles("mail bob@maastricht.example or https://x.example/@alice") == []


def test_given_a_mention_when_linked_then_it_points_at_the_actor_and_keeps_the_rest() -> None:
    actor: Any = SimpleNamespace(
        uri="https://maastricht.example/users/bob", username="bob", domain="maastricht.example"
    )
    html = link_mentions(
        "<p>Hi @bob@maastricht.example, and @bobby</p>", [("@bob@maastricht.example", actor)]
    )
    assert html == (
        '<p>Hi <span class="h-card"><a href="https://maastricht.example/users/bob" '
        'class="u-url mention">@bob</a></span>, and @bobby</p>'
    )
