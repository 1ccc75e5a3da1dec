"""The tolerant reader: real-world ActivityStreams JSON shapes in, one typed shape out.

Works on the plain JSON (no JSON-LD processing, no network). Every refusal raises
:class:`InvalidDocument` whose message names the failed check.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from activitystreams.audience import canonical
from activitystreams.errors import InvalidDocument
from activitystreams.model import (
    Activity,
    Actor,
    Collection,
    Multikey,
    Object,
    PollOption,
    PublicKey,
)
from activitystreams.multikey import ed25519_from_multibase
from activitystreams.vocab import (
    ACTIVITY_TYPES,
    ACTOR_TYPES,
    OBJECT_TYPES,
    PUBLIC,
    PUBLIC_SPELLINGS,
)

__all__ = [
    "COLLECTION_TYPES",
    "MAX_DEPTH",
    "as_id",
    "as_ids",
    "parse_activity",
    "parse_actor",
    "parse_collection",
    "parse_date",
    "parse_document",
    "parse_object",
    "pick_author",
]

MAX_DEPTH = 8
"""How deeply activities may embed activities (Undo{Follow} is depth 1)."""

_KNOWN_TYPES = ACTIVITY_TYPES | ACTOR_TYPES | OBJECT_TYPES
_ADDRESS_KEYS = ("to", "cc", "bto", "bcc", "audience")


def as_id(value: Any) -> str | None:
    """The id of a reference: a string, an object with id/@id, or a one-item list of those."""
    if isinstance(value, list):
        if len(value) != 1:
            return None
        value = value[0]
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping):
        found = value.get("id", value.get("@id"))
        return found if isinstance(found, str) and found else None
    return None


def as_ids(value: Any) -> tuple[str, ...]:
    """All ids of a reference list (string, list, object or absent), in order, without repeats."""
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        found = as_id(item) if not isinstance(item, list) else None
        if found is not None and found not in out:
            out.append(found)
    return tuple(out)


def parse_date(value: Any) -> datetime | None:
    """An ISO 8601 timestamp (Z or offset) as an aware datetime; None when absent or unparsable."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _check_url(value: str, field: str) -> str:
    if not _is_http_url(value):
        raise InvalidDocument(f"{field}: not an http(s) URL")
    return value


def _require_mapping(doc: Any) -> Mapping[str, Any]:
    if not isinstance(doc, Mapping):
        raise InvalidDocument("document: not a JSON object")
    return doc


def _type_of(doc: Mapping[str, Any]) -> str:
    value = doc.get("type", doc.get("@type"))
    if value is None:
        raise InvalidDocument("type: missing")
    if isinstance(value, str) and value:
        return value
    if isinstance(value, list):
        names = [item for item in value if isinstance(item, str) and item]
        for name in names:
            if name in _KNOWN_TYPES:
                return name
        if names:
            return names[0]
    raise InvalidDocument("type: not a string")


def _doc_id(doc: Mapping[str, Any], *, required: bool) -> str | None:
    value = doc.get("id", doc.get("@id"))
    if value is None:
        if required:
            raise InvalidDocument("id: missing")
        return None
    if not isinstance(value, str):
        raise InvalidDocument("id: not a string")
    return _check_url(value, "id")


def _addressing(doc: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    return {key: canonical(as_ids(doc.get(key))) for key in _ADDRESS_KEYS}


def _language_map(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def _pick_language(values: Mapping[str, str], preferred: str) -> str | None:
    if not values:
        return None
    for wanted in (preferred, "en"):
        if wanted in values:
            return values[wanted]
        for lang, text in values.items():
            if lang.split("-")[0].lower() == wanted.lower():
                return text
    return next(iter(values.values()))


def _text(doc: Mapping[str, Any], key: str, preferred: str) -> str | None:
    value = doc.get(key)
    if isinstance(value, str) and value:
        return value
    chosen = _pick_language(_language_map(doc.get(key + "Map")), preferred)
    if chosen:
        return chosen
    return None


_MAX_LINK_DEPTH = 4
"""How deeply ``url`` objects may nest (an Image whose url is a Link is depth 2)."""


def _link(value: Any, depth: int = 0) -> str | None:
    """A URL from a string, a Link/Image object (href or url), or a list (first usable).

    Nested ``url`` objects deeper than _MAX_LINK_DEPTH are ignored: JSON parsers accept about
    a thousand levels, more than Python's recursion limit.
    """
    if depth > _MAX_LINK_DEPTH:
        return None
    if isinstance(value, list):
        for item in value:
            found = _link(item, depth + 1) if not isinstance(item, list) else None
            if found is not None:
                return found
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping):
        for key in ("href", "url"):
            inner = value.get(key)
            if isinstance(inner, str) and inner:
                return inner
            if isinstance(inner, Mapping | list):
                found = _link(inner, depth + 1) if key == "url" else None
                if found is not None:
                    return found
    return None


def _mappings(value: Any) -> tuple[Mapping[str, Any], ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(item for item in items if isinstance(item, Mapping))


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_object(doc: Mapping[str, Any], preferred_language: str = "en") -> Object:
    """Read a content object (Note, Article, Video, ... or an unknown type)."""
    doc = _require_mapping(doc)
    type_ = _type_of(doc)
    attributed_to = as_ids(doc.get("attributedTo"))
    for author in attributed_to:
        _check_url(author, "attributedTo")
    address = _addressing(doc)
    return Object(
        id=_doc_id(doc, required=False),
        type=type_,
        attributed_to=attributed_to,
        content=_text(doc, "content", preferred_language),
        content_map=_language_map(doc.get("contentMap")),
        summary=_text(doc, "summary", preferred_language),
        name=_text(doc, "name", preferred_language),
        in_reply_to=as_id(doc.get("inReplyTo")),
        to=address["to"],
        cc=address["cc"],
        bto=address["bto"],
        bcc=address["bcc"],
        audience=address["audience"],
        published=parse_date(doc.get("published")),
        updated=parse_date(doc.get("updated")),
        sensitive=doc.get("sensitive", doc.get("as:sensitive")) is True,
        url=_link(doc.get("url")),
        tags=_mappings(doc.get("tag")),
        attachments=_mappings(doc.get("attachment")),
        raw=doc,
        options=_poll_options(doc, preferred_language),
        multiple_choice="anyOf" in doc and "oneOf" not in doc,
        closed=parse_date(doc.get("closed")) or parse_date(doc.get("endTime")),
    )


def _poll_options(doc: Mapping[str, Any], preferred_language: str) -> tuple[PollOption, ...]:
    """A Question's answers from oneOf (single choice) or anyOf (multiple choice)."""
    answers = doc.get("oneOf", doc.get("anyOf"))
    options: list[PollOption] = []
    for answer in _mappings(answers):
        name = _text(answer, "name", preferred_language)
        if not name:
            continue
        replies = answer.get("replies")
        total = replies.get("totalItems") if isinstance(replies, Mapping) else None
        votes = total if isinstance(total, int) and total >= 0 else 0
        options.append(PollOption(name=name, votes=votes))
    return tuple(options)


COLLECTION_TYPES = frozenset(
    {"Collection", "OrderedCollection", "CollectionPage", "OrderedCollectionPage"}
)


def parse_collection(doc: Mapping[str, Any]) -> Collection:
    """Read a collection or page: totalItems, paging links, and items (ids or embedded)."""
    doc = _require_mapping(doc)
    type_ = _type_of(doc)
    if type_ not in COLLECTION_TYPES:
        raise InvalidDocument(f"type: {type_} is not a collection")
    total = doc.get("totalItems")
    raw_items = doc.get("orderedItems", doc.get("items"))
    if raw_items is None:
        raw_items = []
    elif not isinstance(raw_items, list):
        raw_items = [raw_items]
    items: list[str | Mapping[str, Any]] = [
        item for item in raw_items if isinstance(item, str | Mapping)
    ]
    return Collection(
        id=_doc_id(doc, required=False),
        type=type_,
        total_items=total if isinstance(total, int) and total >= 0 else None,
        first=as_id(doc.get("first")),
        next=as_id(doc.get("next")),
        prev=as_id(doc.get("prev")),
        part_of=as_id(doc.get("partOf")),
        items=tuple(items),
        raw=doc,
    )


def _public_keys(value: Any, owner: str) -> tuple[PublicKey, ...]:
    keys: list[PublicKey] = []
    for entry in _mappings(value):
        key_id = entry.get("id")
        pem = entry.get("publicKeyPem")
        key_owner = entry.get("owner", owner)
        if not (isinstance(key_id, str) and isinstance(pem, str) and "-----BEGIN" in pem):
            continue
        keys.append(
            PublicKey(id=key_id, owner=key_owner if isinstance(key_owner, str) else owner, pem=pem)
        )
    return tuple(keys)


def _multikeys(value: Any, controller: str) -> tuple[Multikey, ...]:
    """Ed25519 ``Multikey`` entries of ``assertionMethod``; anything unreadable is skipped.

    References (a bare key id) cannot be used without a fetch and are skipped too; other key
    types (``Ed25519VerificationKey2020``, JWKs, other curves) are not supported yet.
    """
    keys: list[Multikey] = []
    for entry in _mappings(value):
        types = entry.get("type", entry.get("@type"))
        if "Multikey" not in (types if isinstance(types, list) else [types]):
            continue
        key_id = entry.get("id")
        multibase = entry.get("publicKeyMultibase")
        key_controller = entry.get("controller", controller)
        if not (
            isinstance(key_id, str)
            and key_id
            and isinstance(multibase, str)
            and isinstance(key_controller, str)
        ):
            continue
        try:
            raw = ed25519_from_multibase(multibase)
        except ValueError:
            continue
        keys.append(
            Multikey(id=key_id, controller=key_controller, public_key_multibase=multibase, raw=raw)
        )
    return tuple(keys)


def parse_actor(doc: Mapping[str, Any], preferred_language: str = "en") -> Actor:
    """Read an actor document; ``id`` and a string ``inbox`` are required."""
    doc = _require_mapping(doc)
    type_ = _type_of(doc)
    actor_id = _doc_id(doc, required=True)
    assert actor_id is not None
    inbox = doc.get("inbox")
    if inbox is None:
        raise InvalidDocument("inbox: missing")
    if not isinstance(inbox, str):
        raise InvalidDocument("inbox: not a string")
    endpoints = doc.get("endpoints")
    shared_inbox = endpoints.get("sharedInbox") if isinstance(endpoints, Mapping) else None
    return Actor(
        id=actor_id,
        type=type_,
        preferred_username=_optional_str(doc.get("preferredUsername")),
        name=_text(doc, "name", preferred_language),
        summary=_text(doc, "summary", preferred_language),
        inbox=_check_url(inbox, "inbox"),
        outbox=as_id(doc.get("outbox")),
        followers=as_id(doc.get("followers")),
        following=as_id(doc.get("following")),
        shared_inbox=_optional_str(shared_inbox),
        public_keys=_public_keys(doc.get("publicKey"), actor_id),
        manually_approves_followers=doc.get("manuallyApprovesFollowers") is True,
        url=_link(doc.get("url")),
        also_known_as=as_ids(doc.get("alsoKnownAs")),
        icon_url=_link(doc.get("icon")),
        raw=doc,
        multikeys=_multikeys(doc.get("assertionMethod"), actor_id),
    )


def _single_actor(value: Any) -> str:
    if value is None:
        raise InvalidDocument("actor: missing")
    if isinstance(value, list):
        if any(not isinstance(item, str | Mapping) for item in value):
            raise InvalidDocument("actor: not a string or object")
        ids = as_ids(value)
        if not ids:
            raise InvalidDocument("actor: missing")
        if len(ids) > 1:
            raise InvalidDocument("actor: several different actors")
        return _check_url(ids[0], "actor")
    if not isinstance(value, str | Mapping):
        raise InvalidDocument("actor: not a string or object")
    found = as_id(value)
    if found is None:
        raise InvalidDocument("actor: missing id")
    return _check_url(found, "actor")


def _embedded(
    value: Any, preferred_language: str, depth: int
) -> tuple[str | None, Object | Activity | Actor | None]:
    if value is None:
        return None, None
    if isinstance(value, list):
        if len(value) != 1:
            raise InvalidDocument("object: not a single object")
        value = value[0]
    if isinstance(value, str):
        if value in PUBLIC_SPELLINGS:  # a relay subscription follows the Public collection
            return PUBLIC, None
        return _check_url(value, "object"), None
    if not isinstance(value, Mapping):
        raise InvalidDocument("object: not a string or object")
    object_id = as_id(value)
    if object_id is not None:
        _check_url(object_id, "object")
    if "type" not in value and "@type" not in value:
        if object_id is None:
            raise InvalidDocument("object: missing id and type")
        return object_id, None
    return object_id, _parse(value, preferred_language, depth + 1)


def _parse_activity(doc: Mapping[str, Any], preferred_language: str, depth: int) -> Activity:
    if depth > MAX_DEPTH:
        raise InvalidDocument("object: nested too deeply")
    doc = _require_mapping(doc)
    type_ = _type_of(doc)
    activity_id = _doc_id(doc, required=False)
    actor = _single_actor(doc.get("actor"))
    object_id, embedded = _embedded(doc.get("object"), preferred_language, depth)
    address = _addressing(doc)
    if not any(address.values()) and isinstance(embedded, Object | Activity):
        address = {key: getattr(embedded, key) for key in _ADDRESS_KEYS}
    return Activity(
        id=activity_id,
        type=type_,
        actor=actor,
        object_id=object_id,
        object=embedded,
        target=as_id(doc.get("target")),
        to=address["to"],
        cc=address["cc"],
        bto=address["bto"],
        bcc=address["bcc"],
        audience=address["audience"],
        published=parse_date(doc.get("published")),
        content=_text(doc, "content", preferred_language),
        raw=doc,
    )


def _parse(
    doc: Mapping[str, Any], preferred_language: str, depth: int
) -> Activity | Object | Actor:
    if depth > MAX_DEPTH:
        raise InvalidDocument("object: nested too deeply")
    type_ = _type_of(_require_mapping(doc))
    if type_ in ACTIVITY_TYPES:
        return _parse_activity(doc, preferred_language, depth)
    if type_ in ACTOR_TYPES:
        return parse_actor(doc, preferred_language)
    return parse_object(doc, preferred_language)


def parse_activity(doc: Mapping[str, Any], preferred_language: str = "en") -> Activity:
    """Read an activity; ``type`` and a single ``actor`` are required."""
    return _parse_activity(doc, preferred_language, 0)


def parse_document(
    doc: Mapping[str, Any], preferred_language: str = "en"
) -> Activity | Object | Actor | Collection:
    """Read any document, dispatching on its type; unknown types are read as objects."""
    if _type_of(_require_mapping(doc)) in COLLECTION_TYPES:
        return parse_collection(doc)
    return _parse(doc, preferred_language, 0)


def pick_author(obj: Object, signer_actor: str | None = None) -> str | None:
    """The author among ``attributedTo``: the entry that is the signer; without a signer, the
    first entry embedded as a Person (PeerTube sends [Group channel, Person account]), else the
    first entry."""
    if signer_actor is not None:
        return obj.author_for(signer_actor)
    raw = obj.raw.get("attributedTo")
    for entry in raw if isinstance(raw, list) else [raw]:
        if isinstance(entry, Mapping) and entry.get("type") == "Person":
            found = as_id(entry)
            if found is not None:
                return found
    return obj.attributed_to[0] if obj.attributed_to else None
