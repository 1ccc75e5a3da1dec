"""Audience: canonical Public spelling and visibility."""

from __future__ import annotations

import pytest

from activitystreams import PUBLIC, Visibility, canonical, is_public, visibility

FOLLOWERS = "https://hq.test/users/alice/followers"
BOB = "https://maastricht.test/users/bob"


def test_given_every_public_spelling_when_canonical_then_full_iri_once() -> None:
    assert canonical(["as:Public", "Public", PUBLIC, BOB]) == (PUBLIC, BOB)


def test_given_no_public_when_canonical_then_order_kept() -> None:
    assert canonical([BOB, FOLLOWERS, BOB]) == (BOB, FOLLOWERS)


@pytest.mark.parametrize("spelling", ["as:Public", "Public", PUBLIC])
def test_given_public_spelling_when_is_public_then_true(spelling: str) -> None:
    assert is_public([BOB, spelling])


def test_given_no_public_when_is_public_then_false() -> None:
    assert not is_public([BOB, FOLLOWERS])
    assert not is_public([])


@pytest.mark.parametrize(
    ("to", "cc", "expected"),
    [
        ([PUBLIC], [FOLLOWERS], Visibility.PUBLIC),
        (["as:Public"], [], Visibility.PUBLIC),
        ([FOLLOWERS], ["Public"], Visibility.UNLISTED),
        ([FOLLOWERS], [], Visibility.FOLLOWERS),
        ([BOB], [FOLLOWERS], Visibility.FOLLOWERS),
        ([BOB], [], Visibility.DIRECT),
        ([], [], Visibility.DIRECT),
    ],
)
def test_given_addressing_when_visibility_then_mastodon_semantics(
    to: list[str], cc: list[str], expected: Visibility
) -> None:
    assert visibility(to, cc, FOLLOWERS) is expected


def test_given_no_followers_collection_when_visibility_then_direct() -> None:
    assert visibility([FOLLOWERS], [], None) is Visibility.DIRECT


def test_given_visibility_values_then_strings_include_local() -> None:
    assert [v.value for v in Visibility] == ["public", "unlisted", "followers", "direct", "local"]
    assert str(Visibility.LOCAL) == "local"
