"""Collections (with their pages) and Questions (polls) are read into typed objects."""

from __future__ import annotations

import pytest

from activitystreams import InvalidDocument, parse_collection, parse_document, parse_object
from activitystreams.model import Collection, PollOption


def test_given_an_ordered_collection_with_a_first_page_link_when_read_then_paging_is_kept() -> None:
    doc = {
        "id": "https://hq.test/users/alice/followers",
        "type": "OrderedCollection",
        "totalItems": 42,
        "first": {
            "id": "https://hq.test/users/alice/followers?page=1",
            "type": "OrderedCollectionPage",
        },
    }
    coll = parse_collection(doc)
    assert (coll.total_items, coll.first, coll.items, coll.is_page) == (
        42,
        "https://hq.test/users/alice/followers?page=1",
        (),
        False,
    )


def test_given_a_page_with_a_single_item_when_read_then_items_is_a_tuple() -> None:
    doc = {
        "type": "CollectionPage",
        "partOf": "https://hq.test/c",
        "next": "https://hq.test/c?page=3",
        "items": "https://maastricht.test/users/bob",
        "totalItems": -4,
    }
    coll = parse_document(doc)
    assert isinstance(coll, Collection)
    assert coll.items == ("https://maastricht.test/users/bob",)
    assert coll.total_items is None  # a negative count is nonsense, not a number to show
    assert (coll.part_of, coll.next, coll.is_page) == (
        "https://hq.test/c",
        "https://hq.test/c?page=3",
        True,
    )


def test_given_a_note_when_read_as_a_collection_then_it_is_refused() -> None:
    with pytest.raises(InvalidDocument, match="not a collection"):
        parse_collection({"type": "Note", "id": "https://hq.test/n/1"})


def test_given_a_single_choice_question_when_read_then_options_and_votes_are_kept() -> None:
    doc = {
        "id": "https://hq.test/q/1",
        "type": "Question",
        "content": "Where shall we hold the summer party?",
        "endTime": "2026-12-10T12:00:00Z",
        "oneOf": [
            {
                "type": "Note",
                "name": "Maastricht",
                "replies": {"type": "Collection", "totalItems": 7},
            },
            {"type": "Note", "nameMap": {"nl": "Utrecht"}},
            {"type": "Note", "replies": {"totalItems": 3}},
        ],
    }
    question = parse_object(doc)
    assert question.options == (PollOption("Maastricht", 7), PollOption("Utrecht", 0))
    assert question.multiple_choice is False
    assert question.closed is not None and question.closed.day == 10


def test_given_a_multiple_choice_question_when_read_then_it_says_so() -> None:
    doc = {"type": "Question", "anyOf": [{"name": "Coffee"}, {"name": "Tea"}]}
    assert parse_object(doc).multiple_choice is True
