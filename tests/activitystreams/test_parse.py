"""The tolerant reader: one test per rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from activitystreams import (
    PUBLIC,
    Activity,
    Actor,
    InvalidDocument,
    Object,
    as_id,
    as_ids,
    parse_activity,
    parse_actor,
    parse_date,
    parse_document,
    parse_object,
    pick_author,
)
from activitystreams.parse import MAX_DEPTH

BOB = "https://maastricht.test/users/bob"
ALICE = "https://hq.test/users/alice"
PEM = "-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----\n"


def _note(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "https://maastricht.test/notes/1",
        "type": "Note",
        "attributedTo": BOB,
        "content": "<p>hi</p>",
    }
    doc.update(extra)
    return doc


def _activity(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "https://maastricht.test/activities/1",
        "type": "Create",
        "actor": BOB,
        "object": _note(),
    }
    doc.update(extra)
    return doc


def _actor(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": BOB,
        "type": "Person",
        "preferredUsername": "bob",
        "inbox": BOB + "/inbox",
        "publicKey": {"id": BOB + "#main-key", "owner": BOB, "publicKeyPem": PEM},
    }
    doc.update(extra)
    return doc


def _refusal(doc: Any, reader: Any = parse_activity) -> str:
    with pytest.raises(InvalidDocument) as caught:
        reader(doc)
    assert caught.value.status == 400
    message: str = caught.value.message
    return message


# ids


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://a.test/x", "https://a.test/x"),
        ({"id": "https://a.test/x"}, "https://a.test/x"),
        ({"@id": "https://a.test/x"}, "https://a.test/x"),
        (["https://a.test/x"], "https://a.test/x"),
        ([{"id": "https://a.test/x", "type": "Person"}], "https://a.test/x"),
        (["https://a.test/x", "https://a.test/y"], None),
        ({"type": "Person"}, None),
        (None, None),
        (5, None),
        ("", None),
    ],
)
def test_given_reference_shape_when_as_id_then_id_or_none(value: Any, expected: str | None) -> None:
    assert as_id(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ()),
        ("https://a.test/x", ("https://a.test/x",)),
        ({"id": "https://a.test/x"}, ("https://a.test/x",)),
        (
            ["https://a.test/x", {"id": "https://a.test/y"}],
            ("https://a.test/x", "https://a.test/y"),
        ),
        (["https://a.test/x", "https://a.test/x"], ("https://a.test/x",)),
        ([1, None, {"type": "Link"}], ()),
        ([], ()),
    ],
)
def test_given_reference_list_shape_when_as_ids_then_tuple_in_order(
    value: Any, expected: tuple[str, ...]
) -> None:
    assert as_ids(value) == expected


def test_given_deeply_nested_lists_when_as_ids_then_no_recursion_error() -> None:
    value: Any = "https://a.test/x"
    for _ in range(100_000):
        value = [value]
    assert as_ids(value) == ()


# addressing


@pytest.mark.parametrize("key", ["to", "cc", "bto", "bcc", "audience"])
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://a.test/x", ("https://a.test/x",)),
        (["https://a.test/x"], ("https://a.test/x",)),
        ({"id": "https://a.test/x"}, ("https://a.test/x",)),
        ("as:Public", (PUBLIC,)),
        (["Public", "https://a.test/x"], (PUBLIC, "https://a.test/x")),
        ([PUBLIC, "as:Public"], (PUBLIC,)),
    ],
)
def test_given_address_shape_when_parsing_activity_then_tuple_of_canonical_ids(
    key: str, value: Any, expected: tuple[str, ...]
) -> None:
    activity = parse_activity(_activity(**{key: value}))
    assert getattr(activity, key) == expected
    obj = parse_object(_note(**{key: value}))
    assert getattr(obj, key) == expected


def test_given_activity_with_own_audience_when_parsing_then_object_audience_not_inherited() -> None:
    doc = _activity(to=[ALICE], object=_note(to=[PUBLIC], cc=[BOB + "/followers"]))
    activity = parse_activity(doc)
    assert activity.to == (ALICE,)
    assert activity.cc == ()
    assert not activity.is_public


def test_given_cc_only_public_when_parsing_then_is_public_true() -> None:
    assert parse_object(_note(cc="as:Public")).is_public
    assert not parse_object(_note(to=[BOB + "/followers"])).is_public


# actor and attributedTo


@pytest.mark.parametrize(
    "value",
    [BOB, {"id": BOB, "type": "Person"}, [BOB], [{"id": BOB}], [BOB, {"id": BOB}]],
)
def test_given_actor_shape_when_parsing_activity_then_single_actor(value: Any) -> None:
    assert parse_activity(_activity(actor=value)).actor == BOB


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "actor: missing"),
        ([], "actor: missing"),
        ([BOB, ALICE], "actor: several different actors"),
        (5, "actor: not a string or object"),
        ({"type": "Person"}, "actor: missing id"),
        ("mailto:bob@maastricht.test", "actor: not an http(s) URL"),
    ],
)
def test_given_bad_actor_when_parsing_activity_then_refused_naming_actor(
    value: Any, message: str
) -> None:
    doc = _activity()
    if value is None:
        del doc["actor"]
    else:
        doc["actor"] = value
    assert _refusal(doc) == message


@pytest.mark.parametrize(
    "value",
    [BOB, {"id": BOB, "type": "Person"}, [BOB], [{"id": BOB, "type": "Person"}]],
)
def test_given_attributed_to_shape_when_parsing_object_then_ids_kept(value: Any) -> None:
    assert parse_object(_note(attributedTo=value)).attributed_to == (BOB,)


def test_given_mixed_attributed_to_when_parsing_then_all_ids_in_order() -> None:
    channel = "https://maastricht.test/channels/c"
    obj = parse_object(_note(attributedTo=[{"type": "Group", "id": channel}, BOB]))
    assert obj.attributed_to == (channel, BOB)
    assert pick_author(obj, BOB) == BOB
    assert pick_author(obj, ALICE) is None
    assert pick_author(obj) == channel


def test_given_attributed_to_not_http_when_parsing_then_refused() -> None:
    assert _refusal(_note(attributedTo="javascript:alert(1)"), parse_object) == (
        "attributedTo: not an http(s) URL"
    )


# content, summary, name


def test_given_content_and_content_map_when_parsing_then_content_wins() -> None:
    obj = parse_object(_note(content="<p>plain</p>", contentMap={"en": "<p>map</p>"}))
    assert obj.content == "<p>plain</p>"
    assert obj.content_map == {"en": "<p>map</p>"}


@pytest.mark.parametrize(
    ("content_map", "preferred", "expected"),
    [
        ({"nl": "nl", "en": "en", "de": "de"}, "de", "de"),
        ({"nl": "nl", "en": "en"}, "fr", "en"),
        ({"nl": "nl", "de": "de"}, "fr", "nl"),
        ({"en-GB": "gb", "nl": "nl"}, "en", "gb"),
    ],
)
def test_given_only_content_map_when_parsing_then_preferred_then_en_then_first(
    content_map: dict[str, str], preferred: str, expected: str
) -> None:
    doc = _note(contentMap=content_map)
    del doc["content"]
    assert parse_object(doc, preferred_language=preferred).content == expected


def test_given_name_map_and_summary_map_when_parsing_then_same_fallback() -> None:
    doc = _note(nameMap={"nl": "Titel", "en": "Title"}, summaryMap={"nl": "Let op"})
    obj = parse_object(doc, preferred_language="nl")
    assert obj.name == "Titel"
    assert obj.summary == "Let op"
    assert parse_object(doc).name == "Title"


def test_given_empty_content_and_content_map_when_parsing_then_map_used() -> None:
    assert parse_object(_note(content="", contentMap={"en": "x"})).content == "x"


def test_given_no_content_when_parsing_then_none() -> None:
    doc = _note()
    del doc["content"]
    obj = parse_object(doc)
    assert obj.content is None
    assert obj.content_map == {}


def test_given_empty_summary_when_parsing_then_none_and_non_empty_kept() -> None:
    assert parse_object(_note(summary="")).summary is None
    assert parse_object(_note(summary="CW")).summary == "CW"


# sensitive and @context


@pytest.mark.parametrize(
    ("context", "sensitive", "expected"),
    [
        ("https://www.w3.org/ns/activitystreams", True, True),
        (["https://www.w3.org/ns/activitystreams", {"sensitive": "as:sensitive"}], True, True),
        (None, "true", False),
        (None, False, False),
    ],
)
def test_given_sensitive_with_or_without_term_when_parsing_then_plain_key_read(
    context: Any, sensitive: Any, expected: bool
) -> None:
    doc = _note(sensitive=sensitive)
    if context is not None:
        doc["@context"] = context
    assert parse_object(doc).sensitive is expected


@pytest.mark.parametrize(
    "context",
    [
        "https://unreachable.example.test/context.jsonld",
        [1, None, {"x": {"type": "y", "id": "z"}}, "not a url"],
        {"@vocab": 5},
        42,
    ],
)
def test_given_malformed_context_when_parsing_then_never_fatal(context: Any) -> None:
    doc = _activity()
    doc["@context"] = context
    assert parse_activity(doc).actor == BOB


# embedded vs referenced, depth


def test_given_object_by_reference_when_parsing_then_object_none() -> None:
    activity = parse_activity(_activity(object="https://maastricht.test/notes/1"))
    assert activity.object_id == "https://maastricht.test/notes/1"
    assert activity.object is None


def test_given_object_with_only_id_when_parsing_then_treated_as_reference() -> None:
    activity = parse_activity(_activity(object={"id": "https://maastricht.test/notes/1"}))
    assert activity.object_id == "https://maastricht.test/notes/1"
    assert activity.object is None


def test_given_embedded_actor_when_parsing_update_then_actor_parsed() -> None:
    activity = parse_activity(_activity(type="Update", object=_actor()))
    assert isinstance(activity.object, Actor)
    assert activity.object.inbox == BOB + "/inbox"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (5, "object: not a string or object"),
        ({"content": "x"}, "object: missing id and type"),
        (["https://a.test/1", "https://a.test/2"], "object: not a single object"),
        ("urn:uuid:1234", "object: not an http(s) URL"),
    ],
)
def test_given_bad_object_when_parsing_then_refused_naming_object(value: Any, message: str) -> None:
    assert _refusal(_activity(object=value)) == message


def _nested(depth: int) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": "Follow", "actor": BOB, "object": ALICE}
    for _ in range(depth):
        doc = {"type": "Undo", "actor": BOB, "object": doc}
    return doc


def test_given_nesting_up_to_cap_when_parsing_then_accepted() -> None:
    activity = parse_activity(_nested(MAX_DEPTH))
    depth = 0
    while isinstance(activity.object, Activity):
        activity = activity.object
        depth += 1
    assert depth == MAX_DEPTH
    assert activity.type == "Follow"


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5000])
def test_given_deep_nesting_when_parsing_then_invalid_document_not_recursion_error(
    depth: int,
) -> None:
    assert _refusal(_nested(depth)) == "object: nested too deeply"
    assert _refusal(_nested(depth), parse_document) == "object: nested too deeply"


# required fields and types


@pytest.mark.parametrize("doc", [None, "string", [1, 2], 5])
def test_given_non_object_when_parsing_then_refused(doc: Any) -> None:
    assert _refusal(doc) == "document: not a JSON object"
    assert _refusal(doc, parse_object) == "document: not a JSON object"
    assert _refusal(doc, parse_actor) == "document: not a JSON object"
    assert _refusal(doc, parse_document) == "document: not a JSON object"


def test_given_missing_type_when_parsing_then_type_missing() -> None:
    doc = _activity()
    del doc["type"]
    assert _refusal(doc) == "type: missing"
    assert _refusal(doc, parse_document) == "type: missing"


@pytest.mark.parametrize("value", [5, [], [1], {"a": 1}, ""])
def test_given_non_string_type_when_parsing_then_refused(value: Any) -> None:
    assert _refusal(_activity(type=value)) == "type: not a string"


def test_given_type_list_when_parsing_then_known_or_first_string_taken() -> None:
    assert parse_activity(_activity(type=["Create", "x:Thing"])).type == "Create"
    assert parse_object(_note(type=["x:Thing", "Note"])).type == "Note"
    assert parse_object(_note(type=[5, "x:Thing"])).type == "x:Thing"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ftp://a.test/1", "id: not an http(s) URL"),
        ("/relative", "id: not an http(s) URL"),
        ("https://", "id: not an http(s) URL"),
        (5, "id: not a string"),
    ],
)
def test_given_bad_id_when_parsing_then_refused(value: Any, message: str) -> None:
    assert _refusal(_activity(id=value)) == message
    assert _refusal(_note(id=value), parse_object) == message


def test_given_no_id_when_parsing_activity_then_none() -> None:
    doc = _activity()
    del doc["id"]
    assert parse_activity(doc).id is None


# dispatch


def test_given_each_kind_when_parse_document_then_dispatched_on_type() -> None:
    assert isinstance(parse_document(_activity()), Activity)
    assert isinstance(parse_document(_note()), Object)
    assert isinstance(parse_document(_actor()), Actor)
    unknown = parse_document({"type": "ChatMessage", "id": "https://a.test/m/1", "content": "x"})
    assert isinstance(unknown, Object)
    assert unknown.type == "ChatMessage"


def test_given_emoji_react_when_parse_document_then_activity() -> None:
    doc = {"type": "EmojiReact", "actor": BOB, "object": ALICE, "content": "\U0001f44d"}
    activity = parse_document(doc)
    assert isinstance(activity, Activity)
    assert activity.content == "\U0001f44d"


# dates


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-03T10:00:00Z", datetime(2026, 12, 3, 10, tzinfo=UTC)),
        ("2026-12-03T10:00:00.123Z", datetime(2026, 12, 3, 10, 0, 0, 123000, tzinfo=UTC)),
        ("2026-12-03T11:00:00+01:00", datetime(2026, 12, 3, 10, tzinfo=UTC)),
        ("2026-12-03T10:00:00", datetime(2026, 12, 3, 10, tzinfo=UTC)),
        ("yesterday", None),
        ("2026-13-45T99:00:00Z", None),
        (12345, None),
        (None, None),
    ],
)
def test_given_date_shape_when_parse_date_then_aware_datetime_or_none(
    value: Any, expected: datetime | None
) -> None:
    assert parse_date(value) == expected


def test_given_unparsable_dates_when_parsing_then_none_not_fatal() -> None:
    obj = parse_object(_note(published="not a date", updated="2026-12-03T10:00:00+02:00"))
    assert obj.published is None
    assert obj.updated is not None
    assert obj.updated.utcoffset() == timedelta(hours=2)
    assert parse_activity(_activity(published="nope")).published is None


# object fields


def test_given_full_note_when_parsing_then_fields_read() -> None:
    doc = _note(
        inReplyTo={"id": "https://hq.test/notes/0"},
        url=[{"type": "Link", "href": "https://maastricht.test/@bob/1", "mediaType": "text/html"}],
        tag={"type": "Hashtag", "name": "#safety"},
        attachment=[{"type": "Document", "url": "https://maastricht.test/m/1.png"}, "junk"],
    )
    obj = parse_object(doc)
    assert obj.in_reply_to == "https://hq.test/notes/0"
    assert obj.url == "https://maastricht.test/@bob/1"
    assert obj.tags == ({"type": "Hashtag", "name": "#safety"},)
    assert len(obj.attachments) == 1
    assert obj.raw is doc


# actors


def test_given_mastodon_actor_when_parsing_then_fields_read() -> None:
    doc = _actor(
        name="Bob",
        summary="<p>Ops</p>",
        outbox=BOB + "/outbox",
        followers=BOB + "/followers",
        following=BOB + "/following",
        endpoints={"sharedInbox": "https://maastricht.test/inbox"},
        manuallyApprovesFollowers=True,
        url="https://maastricht.test/@bob",
        alsoKnownAs=["https://old.test/users/bob"],
        icon={"type": "Image", "url": "https://maastricht.test/a.png"},
    )
    actor = parse_actor(doc)
    assert actor.id == BOB
    assert actor.type == "Person"
    assert actor.preferred_username == "bob"
    assert actor.name == "Bob"
    assert actor.summary == "<p>Ops</p>"
    assert actor.outbox == BOB + "/outbox"
    assert actor.followers == BOB + "/followers"
    assert actor.following == BOB + "/following"
    assert actor.shared_inbox == "https://maastricht.test/inbox"
    assert actor.public_keys[0].id == BOB + "#main-key"
    assert actor.public_keys[0].owner == BOB
    assert actor.public_keys[0].pem == PEM
    assert actor.manually_approves_followers is True
    assert actor.url == "https://maastricht.test/@bob"
    assert actor.also_known_as == ("https://old.test/users/bob",)
    assert actor.icon_url == "https://maastricht.test/a.png"


@pytest.mark.parametrize(
    "icon",
    [
        "https://maastricht.test/a.png",
        {"type": "Image", "url": "https://maastricht.test/a.png"},
        [{"type": "Image", "url": "https://maastricht.test/a.png"}, {"url": "https://x.test/b"}],
        {"type": "Image", "url": {"type": "Link", "href": "https://maastricht.test/a.png"}},
    ],
)
def test_given_icon_shape_when_parsing_actor_then_icon_url(icon: Any) -> None:
    assert parse_actor(_actor(icon=icon)).icon_url == "https://maastricht.test/a.png"


def test_given_public_key_list_and_multikey_when_parsing_actor_then_only_pems_kept() -> None:
    doc = _actor(
        publicKey=[
            {"id": BOB + "#main-key", "owner": BOB, "publicKeyPem": PEM},
            {"id": BOB + "#no-pem", "owner": BOB},
            "https://maastricht.test/keys/1",
            {"id": BOB + "#second", "publicKeyPem": PEM},
        ],
        assertionMethod=[
            {
                "id": BOB + "#ed25519-key",
                "type": "Multikey",
                "controller": BOB,
                "publicKeyMultibase": "z6MkekwC6R9bj9ErToB7AiZJfyCSDhaZe1UxhDbCqJrhqpS5",
            }
        ],
    )
    actor = parse_actor(doc)
    assert [key.id for key in actor.public_keys] == [BOB + "#main-key", BOB + "#second"]
    assert actor.public_keys[1].owner == BOB


def test_given_actor_without_keys_when_parsing_then_empty_tuple() -> None:
    doc = _actor()
    del doc["publicKey"]
    assert parse_actor(doc).public_keys == ()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"inbox": None}, "inbox: missing"),
        ({"inbox": {"id": BOB + "/inbox"}}, "inbox: not a string"),
        ({"inbox": "javascript:x"}, "inbox: not an http(s) URL"),
        ({"id": None}, "id: missing"),
        ({"type": None}, "type: missing"),
    ],
)
def test_given_actor_missing_required_when_parsing_then_refused(
    change: dict[str, Any], message: str
) -> None:
    doc = _actor()
    for key, value in change.items():
        if value is None:
            del doc[key]
        else:
            doc[key] = value
    assert _refusal(doc, parse_actor) == message


def test_given_models_when_assigning_then_frozen() -> None:
    obj = parse_object(_note())
    with pytest.raises(AttributeError):
        obj.content = "changed"  # type: ignore[misc]
