"""Real-world cases (cases.jsonl) for the parts this package owns: reading, audience, building."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from activitystreams import (
    PUBLIC,
    Activity,
    InvalidDocument,
    Object,
    Visibility,
    build,
    expand,
    parse_activity,
    parse_object,
    pick_author,
    visibility,
)
from tests.cases import load_case

AS = "https://www.w3.org/ns/activitystreams#"


def _create(note: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": note["id"] + "/activity",
        "type": "Create",
        "actor": "https://maastricht.test/users/bob",
        "object": note,
    }


# audience-as-string-or-absent


def test_audience_as_string_or_absent_given_follow_with_string_to_then_to_is_a_tuple() -> None:
    doc = load_case("audience-as-string-or-absent")["input"]["follow_to_string"]
    follow = parse_activity(doc)
    assert follow.to == ("https://hq.test/users/alice",)
    assert follow.cc == ()
    assert follow.bto == follow.bcc == follow.audience == ()
    assert follow.object_id == "https://hq.test/users/alice"
    assert follow.object is None


def test_audience_as_string_or_absent_given_create_without_audience_then_inherits_object() -> None:
    doc = load_case("audience-as-string-or-absent")["input"]["create_no_cc_object_only_audience"]
    create = parse_activity(doc)
    assert create.to == (PUBLIC,)
    assert create.cc == ("https://maastricht.test/users/bob/followers",)
    assert create.is_public
    assert isinstance(create.object, Object)
    assert create.object.to == (PUBLIC,)
    assert visibility(create.object.to, create.object.cc, None) is Visibility.PUBLIC


# public-collection-spellings


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (0, Visibility.PUBLIC),
        (1, Visibility.PUBLIC),
        (2, Visibility.PUBLIC),
        (3, Visibility.UNLISTED),
    ],
)
def test_public_collection_spellings_given_each_spelling_then_canonical_iri_and_visibility(
    index: int, expected: Visibility
) -> None:
    note = load_case("public-collection-spellings")["input"]["notes"][index]
    create = parse_activity(_create(note))
    assert isinstance(create.object, Object)
    addresses = create.object.to + create.object.cc
    assert PUBLIC in addresses
    assert "as:Public" not in addresses and "Public" not in addresses
    assert create.to == create.object.to
    followers = "https://maastricht.test/users/bob/followers"
    assert visibility(create.object.to, create.object.cc, followers) is expected
    assert create.object.is_public


def test_public_collection_spellings_given_builders_then_only_full_iri_is_emitted() -> None:
    notes = load_case("public-collection-spellings")["input"]["notes"]
    for raw in notes:
        doc = build.note(
            id=raw["id"],
            attributed_to=raw["attributedTo"],
            content=raw["content"],
            to=raw.get("to", []),
            cc=raw.get("cc", []),
            published=parse_activity(_create(raw)).published or _epoch(),
        )
        text = json.dumps(doc)
        assert '"as:Public"' not in text and '"Public"' not in text
        assert PUBLIC in doc["to"] + doc["cc"]


def _epoch() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 1, 1, tzinfo=UTC)


# attributedto-and-actor-shapes


def test_attributedto_and_actor_shapes_given_peertube_video_then_person_is_author() -> None:
    video = load_case("attributedto-and-actor-shapes")["input"]["video"]
    obj = parse_object(video)
    assert obj.type == "Video"
    assert obj.attributed_to == (
        "https://maastricht.test/channels/safety",
        "https://maastricht.test/users/bob",
    )
    assert pick_author(obj, "https://maastricht.test/users/bob") == (
        "https://maastricht.test/users/bob"
    )
    assert pick_author(obj) == "https://maastricht.test/users/bob"
    assert obj.author_for("https://maastricht.test/users/mallory") is None
    assert obj.name == "Safety briefing"
    assert obj.url == "https://maastricht.test/videos/v1"


def test_attributedto_and_actor_shapes_given_embedded_attributed_object_then_its_id() -> None:
    note = load_case("attributedto-and-actor-shapes")["input"]["note_attributed_object"]
    obj = parse_object(note)
    assert obj.attributed_to == ("https://maastricht.test/users/bob",)


def test_attributedto_and_actor_shapes_given_one_element_actor_list_then_normalised() -> None:
    doc = load_case("attributedto-and-actor-shapes")["input"]["activity_actor_list"]
    create = parse_activity(doc)
    assert create.actor == "https://maastricht.test/users/bob"
    assert isinstance(create.object, Object)
    assert create.object.attributed_to == ("https://maastricht.test/users/bob",)


def test_attributedto_and_actor_shapes_given_several_different_actors_then_refused() -> None:
    doc = copy.deepcopy(load_case("attributedto-and-actor-shapes")["input"]["activity_actor_list"])
    doc["actor"] = ["https://maastricht.test/users/bob", {"id": "https://hq.test/users/alice"}]
    with pytest.raises(InvalidDocument) as caught:
        parse_activity(doc)
    assert caught.value.message.startswith("actor:")
    assert caught.value.status == 400


# contentmap-without-content


def test_contentmap_without_content_given_only_content_map_then_preferred_language_body() -> None:
    doc = load_case("contentmap-without-content")["input"]
    create = parse_activity(doc)
    assert isinstance(create.object, Object)
    assert create.object.content == "<p>Good morning Maastricht</p>"
    assert create.object.summary == "Greeting"
    assert create.object.content_map == {
        "nl": "<p>Goedemorgen Maastricht</p>",
        "en": "<p>Good morning Maastricht</p>",
    }
    dutch = parse_activity(doc, preferred_language="nl")
    assert isinstance(dutch.object, Object)
    assert dutch.object.content == "<p>Goedemorgen Maastricht</p>"
    assert dutch.object.summary == "Greeting"


# sensitive-and-summary


def test_sensitive_and_summary_given_outgoing_note_then_sensitive_term_declared() -> None:
    wanted = load_case("sensitive-and-summary")["input"]["outgoing_we_must_emit"]
    doc = build.note(
        id="https://hq.test/notes/1",
        attributed_to="https://hq.test/users/alice",
        content="<p>photos</p>",
        to=[PUBLIC],
        cc=[],
        published=_epoch(),
        sensitive=wanted["sensitive"],
        summary=wanted["summary"],
    )
    assert doc["sensitive"] is True
    assert doc["summary"] == "Incident photos"
    inline = [entry for entry in doc["@context"] if isinstance(entry, dict)]
    assert inline and inline[0]["sensitive"] == "as:sensitive"
    expanded = expand(doc)
    assert expanded[0][AS + "sensitive"] == [{"@value": True}]


def test_sensitive_and_summary_given_cw_without_sensitive_then_summary_kept() -> None:
    note = load_case("sensitive-and-summary")["input"]["incoming_cw_without_sensitive"]
    obj = parse_object(note)
    assert obj.summary == "Spoilers: Q3 figures"
    assert obj.sensitive is False


def test_sensitive_and_summary_given_sensitive_without_term_then_sensitive() -> None:
    note = load_case("sensitive-and-summary")["input"]["incoming_sensitive_without_term"]
    obj = parse_object(note)
    assert obj.sensitive is True
    assert obj.attachments[0]["url"] == "https://maastricht.test/m/3.png"


# context-unknown-or-invalid


def test_context_unknown_or_invalid_given_bad_context_then_plain_read_works() -> None:
    doc = load_case("context-unknown-or-invalid")["input"]
    create = parse_activity(doc)
    assert isinstance(create.object, Object)
    assert create.object.content == "<p>ok</p>"
    assert create.is_public


def test_context_unknown_or_invalid_given_bad_context_then_expand_matches_plain_read() -> None:
    doc = load_case("context-unknown-or-invalid")["input"]
    create = parse_activity(doc)
    expanded = expand(doc)[0]
    assert expanded["@id"] == create.id
    assert expanded["@type"] == [AS + "Create"]
    assert expanded[AS + "actor"] == [{"@id": create.actor}]
    assert expanded[AS + "to"] == [{"@id": PUBLIC}]
    note = expanded[AS + "object"][0]
    assert note[AS + "content"] == [{"@value": "<p>ok</p>"}]
    assert note[AS + "attributedTo"] == [{"@id": "https://maastricht.test/users/bob"}]


# reaction-like-with-content


def test_reaction_like_with_content_given_misskey_like_then_content_kept() -> None:
    doc = load_case("reaction-like-with-content")["input"]["misskey_style"]
    like = parse_activity(doc)
    assert like.type == "Like"
    assert like.content == "\U0001f389"
    assert like.object_id == "https://hq.test/notes/news-1"


def test_reaction_like_with_content_given_emoji_react_then_activity_with_shortcode() -> None:
    doc = load_case("reaction-like-with-content")["input"]["pleroma_style"]
    react = parse_activity(doc)
    assert isinstance(react, Activity)
    assert react.type == "EmojiReact"
    assert react.content == ":thumbsup_corp:"
    assert react.actor == "https://maastricht.test/users/bob"
    assert react.raw["tag"][0]["icon"]["url"] == "https://maastricht.test/emoji/thumbsup_corp.png"


def test_reaction_like_with_content_given_plain_like_then_no_content() -> None:
    doc = copy.deepcopy(load_case("reaction-like-with-content")["input"]["misskey_style"])
    del doc["content"]
    del doc["_misskey_reaction"]
    assert parse_activity(doc).content is None


def test_reaction_like_with_content_given_undo_by_reference_then_object_id() -> None:
    doc = load_case("reaction-like-with-content")["input"]["undo"]
    undo = parse_activity(doc)
    assert undo.object_id == "https://maastricht.test/likes/r1"
    assert undo.object is None


# undo-follow-embedded-or-idless


def test_undo_follow_embedded_or_idless_given_embedded_follow_then_parsed_activity() -> None:
    variants = load_case("undo-follow-embedded-or-idless")["input"]["variants"]
    undo = parse_activity(variants[0])
    assert undo.object_id == "https://maastricht.test/follows/9"
    assert isinstance(undo.object, Activity)
    assert undo.object.type == "Follow"
    assert undo.object.actor == "https://maastricht.test/users/bob"
    assert undo.object.object_id == "https://hq.test/users/alice"


def test_undo_follow_embedded_or_idless_given_idless_follow_then_triple_available() -> None:
    variants = load_case("undo-follow-embedded-or-idless")["input"]["variants"]
    undo = parse_activity(variants[1])
    assert undo.object_id is None
    assert isinstance(undo.object, Activity)
    follow = undo.object
    assert (follow.id, follow.actor, follow.type, follow.object_id) == (
        None,
        "https://maastricht.test/users/bob",
        "Follow",
        "https://hq.test/users/alice",
    )


def test_undo_follow_embedded_or_idless_given_reference_then_object_id_only() -> None:
    variants = load_case("undo-follow-embedded-or-idless")["input"]["variants"]
    undo = parse_activity(variants[2])
    assert undo.object_id == "https://maastricht.test/follows/9"
    assert undo.object is None


def test_undo_follow_embedded_or_idless_given_other_actor_then_mismatch_is_visible() -> None:
    variants = load_case("undo-follow-embedded-or-idless")["input"]["variants"]
    undo = parse_activity(variants[3])
    assert isinstance(undo.object, Activity)
    assert undo.actor == "https://example.test/users/mallory"
    assert undo.object.actor != undo.actor


# create-or-announce-by-reference


def test_create_or_announce_by_reference_given_create_ref_then_object_id_without_object() -> None:
    case = load_case("create-or-announce-by-reference")["input"]
    create = parse_activity(case["create_ref"])
    assert create.object_id == "https://maastricht.test/notes/r1"
    assert create.object is None
    announce = parse_activity(case["announce_ref"])
    assert announce.type == "Announce"
    assert announce.object_id == "https://maastricht.test/notes/r1"
    assert announce.is_public


def test_create_or_announce_by_reference_given_fetched_note_then_author_matches_actor() -> None:
    case = load_case("create-or-announce-by-reference")["input"]
    create = parse_activity(case["create_ref"])
    fetched = parse_object(case["served_at_https://maastricht.test/notes/r1"])
    assert fetched.id == create.object_id
    assert pick_author(fetched, create.actor) == create.actor
    assert fetched.content == "<p>Shift plan week 49</p>"


# personal-inbox-followers-only


def test_personal_inbox_followers_only_given_followers_only_note_then_followers() -> None:
    body = load_case("personal-inbox-followers-only")["input"]["body"]
    create = parse_activity(body)
    followers = "https://maastricht.test/users/bob/followers"
    assert create.to == (followers,)
    assert create.cc == ()
    assert not create.is_public
    assert visibility(create.to, create.cc, followers) is Visibility.FOLLOWERS
    assert visibility(create.to, create.cc, None) is Visibility.DIRECT
