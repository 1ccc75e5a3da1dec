"""Properties of the tolerant reader: any JSON in, a model or InvalidDocument out, nothing else.

Hypothesis generates any JSON value (keys drawn from the ActivityStreams vocabulary as well as
random text, so that the reader's branches are reached), and near-valid activities: a valid
Create{Note} with fields replaced by random JSON, removed, or given another JSON type. Every
parse entry point must either return its model or raise activitystreams' own InvalidDocument; a
KeyError, TypeError, RecursionError or any other exception is a crash the inbox would turn
into a 500.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from activitystreams import (
    PUBLIC,
    Activity,
    Actor,
    Collection,
    InvalidDocument,
    Object,
    as_id,
    as_ids,
    canonical,
    expand,
    is_public,
    parse_activity,
    parse_actor,
    parse_collection,
    parse_date,
    parse_document,
    parse_object,
    pick_author,
    visibility,
)

ACTOR = "https://maastricht.test/users/bob"
NOTE = "https://maastricht.test/users/bob/notes/1"
PEM = "-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----\n"

# Keys the reader looks at, so that random objects reach its branches.
VOCABULARY = (
    "@context",
    "@id",
    "@type",
    "id",
    "type",
    "actor",
    "object",
    "target",
    "attributedTo",
    "content",
    "contentMap",
    "summary",
    "summaryMap",
    "name",
    "nameMap",
    "inReplyTo",
    "to",
    "cc",
    "bto",
    "bcc",
    "audience",
    "published",
    "updated",
    "sensitive",
    "as:sensitive",
    "url",
    "href",
    "tag",
    "attachment",
    "oneOf",
    "anyOf",
    "replies",
    "totalItems",
    "closed",
    "endTime",
    "items",
    "orderedItems",
    "first",
    "next",
    "prev",
    "partOf",
    "inbox",
    "outbox",
    "followers",
    "following",
    "endpoints",
    "sharedInbox",
    "publicKey",
    "publicKeyPem",
    "owner",
    "controller",
    "assertionMethod",
    "publicKeyMultibase",
    "preferredUsername",
    "manuallyApprovesFollowers",
    "alsoKnownAs",
    "icon",
)
TYPES = (
    "Create",
    "Update",
    "Delete",
    "Follow",
    "Accept",
    "Undo",
    "Like",
    "Announce",
    "Note",
    "Article",
    "Question",
    "Person",
    "Group",
    "Service",
    "Tombstone",
    "Collection",
    "OrderedCollection",
    "OrderedCollectionPage",
    "Multikey",
    "Link",
    "Image",
)
STRINGS = (
    ACTOR,
    NOTE,
    PUBLIC,
    "as:Public",
    "Public",
    "https://www.w3.org/ns/activitystreams",
    "2026-01-05T10:00:00Z",
    "2026-13-45T99:00:00+25:00",
    "http://[::1",
    "http://[v1.x]/",
    "https://",
    "mailto:bob@maastricht.test",
    "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "z" + "1" * 200,
    PEM,
    "",
    *TYPES,
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)  # what orjson reads
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(STRINGS)
)
keys = st.sampled_from(VOCABULARY) | st.text(max_size=10)
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=6),
    max_leaves=40,
)
json_objects = st.dictionaries(keys, json_values, max_size=8)


def valid_create() -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{NOTE}/activity",
        "type": "Create",
        "actor": ACTOR,
        "published": "2026-01-05T10:00:00Z",
        "to": [PUBLIC],
        "cc": [f"{ACTOR}/followers"],
        "object": {
            "id": NOTE,
            "type": "Note",
            "attributedTo": ACTOR,
            "content": "<p>hello</p>",
            "contentMap": {"en": "<p>hello</p>"},
            "inReplyTo": None,
            "to": [PUBLIC],
            "cc": [f"{ACTOR}/followers"],
            "published": "2026-01-05T10:00:00Z",
            "url": {"type": "Link", "href": NOTE},
            "tag": [{"type": "Mention", "href": ACTOR, "name": "@bob"}],
            "attachment": [{"type": "Image", "url": f"{NOTE}.png", "mediaType": "image/png"}],
            "sensitive": False,
        },
    }


def _retype(value: Any) -> list[Any]:
    """The same content in other JSON shapes: wrapped, unwrapped, stringified, emptied."""
    return [
        [value],
        [value, value],
        {"id": value},
        {"href": value},
        str(value),
        [],
        {},
        None,
        0,
        True,
        *(value if isinstance(value, list) else []),
    ]


@st.composite
def near_valid_creates(draw: st.DrawFn) -> dict[str, Any]:
    """A valid Create{Note} with a few fields replaced, removed or retyped."""
    doc = valid_create()
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        holder = doc if draw(st.booleans()) or not isinstance(doc.get("object"), dict) else None
        if holder is None:
            holder = doc["object"]
        if not holder:
            continue
        key = draw(st.sampled_from(sorted(holder)) | keys)
        action = draw(st.sampled_from(("replace", "remove", "retype")))
        if action == "remove":
            holder.pop(key, None)
        elif action == "replace" or key not in holder:
            holder[key] = draw(json_values)
        else:
            holder[key] = draw(st.sampled_from(_retype(holder[key])))
    return doc


def near_valid_others(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    bases: dict[str, dict[str, Any]] = {
        "actor": {
            "id": ACTOR,
            "type": "Person",
            "inbox": f"{ACTOR}/inbox",
            "outbox": f"{ACTOR}/outbox",
            "followers": f"{ACTOR}/followers",
            "endpoints": {"sharedInbox": "https://maastricht.test/inbox"},
            "publicKey": {"id": f"{ACTOR}#main-key", "owner": ACTOR, "publicKeyPem": PEM},
            "assertionMethod": [
                {
                    "id": f"{ACTOR}#ed25519-key",
                    "type": "Multikey",
                    "controller": ACTOR,
                    "publicKeyMultibase": STRINGS[12],
                }
            ],
            "icon": {"type": "Image", "url": f"{ACTOR}.png"},
        },
        "collection": {
            "id": f"{ACTOR}/outbox",
            "type": "OrderedCollectionPage",
            "totalItems": 2,
            "partOf": f"{ACTOR}/outbox",
            "orderedItems": [NOTE, {"id": NOTE, "type": "Note"}],
        },
        "question": {
            "id": NOTE,
            "type": "Question",
            "attributedTo": [{"type": "Person", "id": ACTOR}],
            "oneOf": [{"type": "Note", "name": "yes", "replies": {"totalItems": 3}}],
            "endTime": "2026-01-06T10:00:00Z",
        },
    }
    base = bases[kind]

    @st.composite
    def mutate(draw: st.DrawFn) -> dict[str, Any]:
        doc = copy.deepcopy(base)
        for _ in range(draw(st.integers(min_value=1, max_value=3))):
            key = draw(st.sampled_from(sorted(doc)) | keys)
            action = draw(st.sampled_from(("replace", "remove", "retype")))
            if action == "remove":
                doc.pop(key, None)
            elif action == "replace" or key not in doc:
                doc[key] = draw(json_values)
            else:
                doc[key] = draw(st.sampled_from(_retype(doc[key])))
        return doc

    return mutate()


anything = (
    json_values
    | json_objects
    | near_valid_creates()
    | near_valid_others("actor")
    | near_valid_others("collection")
    | near_valid_others("question")
)

ENTRY_POINTS: dict[str, Callable[[Any], Any]] = {
    "parse_activity": parse_activity,
    "parse_actor": parse_actor,
    "parse_object": parse_object,
    "parse_collection": parse_collection,
    "parse_document": parse_document,
}
MODELS = {
    "parse_activity": (Activity,),
    "parse_actor": (Actor,),
    "parse_object": (Object,),
    "parse_collection": (Collection,),
    "parse_document": (Activity, Object, Actor, Collection),
}


def deeply_nested(key: str, depth: int, leaf: bytes = b'"https://a.test/x"') -> Any:
    """``{key: {key: ... leaf}}`` as orjson reads it (orjson refuses to write that deep)."""
    return orjson.loads(f'{{"{key}":'.encode() * depth + leaf + b"}" * depth)


def check_reader_outcome(name: str, doc: Any) -> None:
    """The property: a model of the right class, or InvalidDocument naming a check."""
    try:
        result = ENTRY_POINTS[name](doc)
    except InvalidDocument as exc:
        assert exc.message and ":" in exc.message, exc.message
        assert exc.status == 400
        return
    assert isinstance(result, MODELS[name]), result
    # What the node does next with a model must not crash either.
    if isinstance(result, Object):
        pick_author(result)
        pick_author(result, ACTOR)
        assert result.is_public == is_public(result.to + result.cc)
        visibility(result.to, result.cc, f"{ACTOR}/followers")
    if isinstance(result, Activity):
        assert result.actor.startswith(("http://", "https://"))
        visibility(result.to, result.cc, None)


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(doc=anything)
@example(doc=valid_create())
def test_given_any_json_when_parsed_then_a_model_or_invalid_document(name: str, doc: Any) -> None:
    # Given any JSON value (or a near-valid document)
    # When an entry point of the reader reads it
    # Then it returns its model or raises InvalidDocument, never another exception
    check_reader_outcome(name, doc)


DEEP = 1020  # orjson reads up to 1024 levels, more than Python's default recursion limit
DEEP_DOCUMENTS: dict[str, Callable[[], Any]] = {
    "url": lambda: {"type": "Note", "id": NOTE, "url": deeply_nested("url", DEEP)},
    "icon": lambda: {
        "type": "Person",
        "id": ACTOR,
        "inbox": ACTOR,
        "icon": deeply_nested("url", DEEP),
    },
    "object": lambda: deeply_nested("object", DEEP),
    "create-object": lambda: {
        "type": "Create",
        "actor": ACTOR,
        "object": {"type": "Note", "id": NOTE, "url": deeply_nested("url", DEEP)},
    },
    "to": lambda: {"type": "Note", "to": deeply_nested("id", DEEP)},
    "tag": lambda: {"type": "Note", "tag": deeply_nested("href", DEEP)},
    "lists": lambda: {"type": "Note", "url": orjson.loads(b"[" * DEEP + b"]" * DEEP)},
}


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("shape", sorted(DEEP_DOCUMENTS))
def test_given_json_nested_as_deep_as_orjson_allows_when_parsed_then_no_recursion_error(
    name: str, shape: str
) -> None:
    # Given a document whose field nests about a thousand levels (as much as orjson reads)
    doc = DEEP_DOCUMENTS[shape]()
    # When an entry point of the reader reads it
    # Then it returns its model or raises InvalidDocument, never RecursionError
    check_reader_outcome(name, doc)


@settings(max_examples=300)
@given(doc=near_valid_creates())
def test_given_a_near_valid_create_when_parsed_then_the_outcome_is_consistent(
    doc: dict[str, Any],
) -> None:
    # Given a Create{Note} with some fields broken
    # When it is read as an activity
    try:
        activity = parse_activity(doc)
    except InvalidDocument:
        # Then a refusal is fine (the property test covers its shape)
        return
    # Then an accepted activity carries exactly what a handler relies on
    assert activity.actor == as_id(doc["actor"]) or activity.actor in as_ids(doc["actor"])
    assert activity.raw is doc
    if isinstance(activity.object, Object):
        assert activity.object_id == activity.object.id
        for author in activity.object.attributed_to:
            assert author.startswith(("http://", "https://"))
    assert all(isinstance(i, str) for i in activity.to + activity.cc)


@settings(max_examples=150, deadline=None)
@given(doc=anything)
@example(doc={"@context": {"x": {"@id": []}}, "x": 1})
@example(doc={"@context": [None, 1, {"@vocab": 5}], "type": "Note"})
@example(doc={"@context": ["Update"], "type": "Note"})  # pyld: ValueError, relative IRI
def test_given_any_json_when_expanded_then_a_list_or_invalid_document(doc: Any) -> None:
    # Given any JSON value
    # When it is expanded with the bundled contexts
    try:
        result = expand(doc)
    except InvalidDocument as exc:
        # Then a refusal names the check
        assert exc.message
        return
    # Then an expansion is a list
    assert isinstance(result, list)


@pytest.mark.parametrize("shape", sorted(DEEP_DOCUMENTS))
def test_given_deep_json_when_expanded_then_invalid_document(shape: str) -> None:
    # Given a document nested about a thousand levels
    doc = DEEP_DOCUMENTS[shape]()
    # When it is expanded
    # Then the refusal names the depth check
    with pytest.raises(InvalidDocument, match="nested too deeply"):
        expand(doc)


@given(value=json_values)
def test_given_any_json_when_read_as_a_reference_then_never_an_exception(value: Any) -> None:
    # Given any JSON value
    # When the reference helpers read it
    found = as_id(value)
    ids = as_ids(value)
    when = parse_date(value)
    # Then they answer with their types and never raise
    assert found is None or (isinstance(found, str) and found)
    assert all(isinstance(i, str) and i for i in ids)
    assert len(set(ids)) == len(ids)
    assert when is None or when.tzinfo is not None
    assert canonical(ids) == canonical(canonical(ids))


@given(text=st.text(max_size=40) | st.sampled_from(STRINGS))
def test_given_any_text_when_read_as_a_date_then_an_aware_datetime_or_none(text: str) -> None:
    # Given any string
    # When read as a date
    when = parse_date(text)
    # Then it is None or an aware datetime
    assert when is None or when.utcoffset() is not None
