"""Builders: Mastodon-shaped outgoing JSON that our own reader reads back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from activitystreams import (
    AS_CONTEXT,
    PUBLIC,
    SECURITY_CONTEXT,
    Activity,
    Object,
    build,
    expand,
    parse_activity,
    parse_actor,
    parse_object,
)

ALICE = "https://hq.test/users/alice"
FOLLOWERS = ALICE + "/followers"
WHEN = datetime(2026, 12, 3, 9, 30, 15, 999, tzinfo=UTC)
PEM = "-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----\n"


def _note(**extra: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "id": "https://hq.test/notes/1",
        "attributed_to": ALICE,
        "content": "<p>hi</p>",
        "to": ["as:Public"],
        "cc": "",
        "published": WHEN,
    }
    kwargs["cc"] = [FOLLOWERS]
    kwargs.update(extra)
    return build.note(**kwargs)


def _all_documents() -> list[dict[str, Any]]:
    note = _note()
    follow = build.follow(id="https://hq.test/follows/1", actor=ALICE, object="https://m.test/u/b")
    return [
        note,
        build.create(id="https://hq.test/activities/1", actor=ALICE, object=note),
        build.update(id="https://hq.test/activities/2", actor=ALICE, object=note),
        build.delete(
            id="https://hq.test/activities/3",
            actor=ALICE,
            object=build.tombstone(id=note["id"], former_type="Note", deleted=WHEN),
            to=["Public"],
        ),
        follow,
        build.accept(id="https://hq.test/accepts/1", actor=ALICE, object=follow, to=[ALICE]),
        build.reject(id="https://hq.test/rejects/1", actor=ALICE, object=follow),
        build.undo(id="https://hq.test/undo/1", actor=ALICE, object=follow),
        build.like(id="https://hq.test/likes/1", actor=ALICE, object=note["id"]),
        build.announce(
            id="https://hq.test/boosts/1", actor=ALICE, object=note["id"], to=["as:Public"]
        ),
        build.activity(
            type="Add",
            id="https://hq.test/add/1",
            actor=ALICE,
            object=note["id"],
            target=ALICE + "/featured",
        ),
    ]


def _walk(value: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        found.append(value)
        for item in value.values():
            found.extend(_walk(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_walk(item))
    return found


def test_given_every_builder_when_serialised_then_no_as_public_and_list_to_cc() -> None:
    for doc in _all_documents():
        text = json.dumps(doc)
        assert "as:Public" not in text
        assert '"Public"' not in text
        for part in _walk(doc):
            for key in ("to", "cc"):
                if key in part:
                    assert isinstance(part[key], list), (doc["type"], key)
        if doc["type"] != "Tombstone":
            assert isinstance(doc["to"], list) and isinstance(doc["cc"], list)


def test_given_activities_when_built_then_embedded_objects_have_no_context() -> None:
    for doc in _all_documents():
        assert doc["@context"] == build.CONTEXT
        for part in _walk(doc)[1:]:
            assert "@context" not in part


def test_given_context_then_as_security_and_extension_terms() -> None:
    assert build.CONTEXT[0] == AS_CONTEXT
    assert build.CONTEXT[1] == SECURITY_CONTEXT
    terms = build.CONTEXT[2]
    assert isinstance(terms, dict)
    for term in ("sensitive", "Hashtag", "manuallyApprovesFollowers", "toot", "Emoji"):
        assert term in terms
    assert terms["discoverable"] == "toot:discoverable"


def test_given_document_when_mutated_then_shared_context_unchanged() -> None:
    doc = _note()
    doc["@context"][2]["sensitive"] = "x"
    assert _note()["@context"][2]["sensitive"] == "as:sensitive"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (WHEN, "2026-12-03T09:30:15Z"),
        (datetime(2026, 12, 3, 10, 0, tzinfo=timezone(timedelta(hours=1))), "2026-12-03T09:00:00Z"),
        (datetime(2026, 1, 2, 3, 4, 5), "2026-01-02T03:04:05Z"),
    ],
)
def test_given_datetime_when_formatted_then_utc_seconds_z(value: datetime, expected: str) -> None:
    assert build.format_datetime(value) == expected


def test_given_note_when_built_then_fields_and_round_trip() -> None:
    doc = _note(
        in_reply_to="https://m.test/notes/0",
        summary="CW",
        sensitive=True,
        updated=WHEN,
        content_map={"en": "<p>hi</p>"},
        replies="https://hq.test/notes/1/replies",
        tags=[{"type": "Hashtag", "name": "#ops", "href": "https://hq.test/tags/ops"}],
    )
    assert doc["to"] == [PUBLIC]
    assert doc["cc"] == [FOLLOWERS]
    assert doc["published"] == "2026-12-03T09:30:15Z"
    assert "name" not in doc and "url" not in doc
    obj = parse_object(doc)
    assert obj.content == "<p>hi</p>"
    assert obj.in_reply_to == "https://m.test/notes/0"
    assert obj.sensitive is True
    assert obj.summary == "CW"
    assert obj.published == WHEN.replace(microsecond=0)
    assert obj.tags[0]["name"] == "#ops"


def test_given_create_without_audience_when_built_then_copies_object_audience() -> None:
    doc = build.create(id="https://hq.test/activities/1", actor=ALICE, object=_note())
    assert doc["to"] == [PUBLIC]
    assert doc["cc"] == [FOLLOWERS]
    activity = parse_activity(doc)
    assert isinstance(activity.object, Object)
    assert activity.is_public


def test_given_undo_follow_when_built_then_reader_gets_embedded_follow() -> None:
    follow = build.follow(id="https://hq.test/follows/1", actor=ALICE, object="https://m.test/u/b")
    assert follow["to"] == ["https://m.test/u/b"]
    undo = parse_activity(build.undo(id="https://hq.test/undo/1", actor=ALICE, object=follow))
    assert isinstance(undo.object, Activity)
    assert undo.object.object_id == "https://m.test/u/b"


def test_given_like_with_content_when_built_then_reaction_kept() -> None:
    doc = build.like(
        id="https://hq.test/l/1", actor=ALICE, object="https://m.test/n/1", content="X"
    )
    assert parse_activity(doc).content == "X"


def test_given_actor_document_when_built_then_reader_reads_it() -> None:
    doc = build.actor_document(
        id=ALICE,
        type="Person",
        preferred_username="alice",
        name="Alice",
        summary=None,
        inbox=ALICE + "/inbox",
        outbox=ALICE + "/outbox",
        followers=FOLLOWERS,
        following=ALICE + "/following",
        shared_inbox="https://hq.test/inbox",
        key_id=ALICE + "#main-key",
        public_key_pem=PEM,
        manually_approves_followers=False,
        url="https://hq.test/@alice",
        published=WHEN,
        icon_url="https://hq.test/a.png",
    )
    assert "summary" not in doc
    assert doc["endpoints"] == {"sharedInbox": "https://hq.test/inbox"}
    assert doc["publicKey"] == {"id": ALICE + "#main-key", "owner": ALICE, "publicKeyPem": PEM}
    actor = parse_actor(doc)
    assert actor.shared_inbox == "https://hq.test/inbox"
    assert actor.public_keys[0].pem == PEM
    assert actor.icon_url == "https://hq.test/a.png"
    assert actor.manually_approves_followers is False
    expanded = expand(doc)[0]
    assert expanded["https://w3id.org/security#publicKey"][0]["@id"] == ALICE + "#main-key"


def test_given_collections_when_built_then_shapes() -> None:
    coll = build.ordered_collection(
        id=ALICE + "/outbox", total_items=2, first=ALICE + "/outbox?page=1"
    )
    assert coll == {
        "@context": build.CONTEXT,
        "id": ALICE + "/outbox",
        "type": "OrderedCollection",
        "totalItems": 2,
        "first": ALICE + "/outbox?page=1",
    }
    page = build.ordered_collection_page(
        id=ALICE + "/outbox?page=1",
        part_of=ALICE + "/outbox",
        ordered_items=[_note(), "https://hq.test/notes/2"],
        next=ALICE + "/outbox?page=2",
    )
    assert page["partOf"] == ALICE + "/outbox"
    assert "@context" not in page["orderedItems"][0]
    assert page["orderedItems"][1] == "https://hq.test/notes/2"
    assert page["next"] == ALICE + "/outbox?page=2"
    assert "prev" not in page


def test_given_tombstone_when_built_then_shape() -> None:
    doc = build.tombstone(id="https://hq.test/notes/1", former_type="Note", deleted=WHEN)
    assert doc["type"] == "Tombstone"
    assert doc["formerType"] == "Note"
    assert doc["deleted"] == "2026-12-03T09:30:15Z"


def test_given_move_when_built_then_object_is_the_actor_and_target_kept() -> None:
    new = "https://maastricht.test/users/alice"
    doc = build.move(id=ALICE + "#moves/1", actor=ALICE, target=new, to=[FOLLOWERS])
    assert doc["type"] == "Move" and doc["object"] == ALICE and doc["target"] == new
    assert doc["to"] == [FOLLOWERS] and doc["cc"] == []
    activity = parse_activity(doc)
    assert activity.object_id == ALICE and activity.target == new


def test_given_moved_actor_when_built_then_also_known_as_and_moved_to_are_read() -> None:
    new = "https://maastricht.test/users/alice"
    doc = build.actor_document(
        id=ALICE,
        type="Person",
        preferred_username="alice",
        name="Alice",
        summary=None,
        inbox=ALICE + "/inbox",
        outbox=ALICE + "/outbox",
        followers=FOLLOWERS,
        following=ALICE + "/following",
        shared_inbox=None,
        key_id=ALICE + "#main-key",
        public_key_pem=PEM,
        manually_approves_followers=False,
        url=None,
        published=None,
        also_known_as=[new],
        moved_to=new,
    )
    assert doc["alsoKnownAs"] == [new] and doc["movedTo"] == new
    assert parse_actor(doc).also_known_as == (new,)
    expanded = expand(doc)[0]
    assert expanded["https://www.w3.org/ns/activitystreams#movedTo"] == [{"@id": new}]
    assert expanded["https://www.w3.org/ns/activitystreams#alsoKnownAs"] == [{"@id": new}]
    assert "movedTo" not in build.CONTEXT[-1]  # the shared context is not changed
