"""Audience helpers: canonical Public spelling and the visibility of an addressing."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from activitystreams.vocab import PUBLIC, PUBLIC_SPELLINGS

__all__ = ["Visibility", "canonical", "is_public", "visibility"]


class Visibility(StrEnum):
    """Who may see an object. ``local`` never leaves the node (used by the node only)."""

    PUBLIC = "public"
    UNLISTED = "unlisted"
    FOLLOWERS = "followers"
    DIRECT = "direct"
    LOCAL = "local"


def canonical(ids: Iterable[str]) -> tuple[str, ...]:
    """Return ``ids`` with every Public spelling as the full IRI, order kept, duplicates dropped."""
    out: list[str] = []
    for item in ids:
        value = PUBLIC if item in PUBLIC_SPELLINGS else item
        if value not in out:
            out.append(value)
    return tuple(out)


def is_public(ids: Iterable[str]) -> bool:
    """True when any id is a spelling of the Public collection."""
    return any(item in PUBLIC_SPELLINGS for item in ids)


def visibility(
    to: Iterable[str], cc: Iterable[str], followers_collection: str | None
) -> Visibility:
    """Public in ``to``: public; in ``cc`` only: unlisted; followers collection: followers."""
    to_ids = canonical(to)
    cc_ids = canonical(cc)
    if PUBLIC in to_ids:
        return Visibility.PUBLIC
    if PUBLIC in cc_ids:
        return Visibility.UNLISTED
    if followers_collection is not None and (
        followers_collection in to_ids or followers_collection in cc_ids
    ):
        return Visibility.FOLLOWERS
    return Visibility.DIRECT
