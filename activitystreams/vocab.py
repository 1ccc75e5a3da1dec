"""ActivityStreams vocabulary constants: the Public IRI, contexts and known types."""

from __future__ import annotations

__all__ = [
    "ACTIVITY_TYPES",
    "ACTOR_TYPES",
    "AS_CONTEXT",
    "MULTIKEY_CONTEXT",
    "OBJECT_TYPES",
    "PUBLIC",
    "PUBLIC_SPELLINGS",
    "SECURITY_CONTEXT",
]

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
PUBLIC_SPELLINGS: frozenset[str] = frozenset({PUBLIC, "as:Public", "Public"})
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"

ACTOR_TYPES: frozenset[str] = frozenset(
    {"Person", "Group", "Service", "Application", "Organization"}
)
OBJECT_TYPES: frozenset[str] = frozenset(
    {
        "Note",
        "Article",
        "Question",
        "Document",
        "Image",
        "Video",
        "Audio",
        "Page",
        "Event",
        "Tombstone",
        "Collection",
        "OrderedCollection",
        "CollectionPage",
        "OrderedCollectionPage",
    }
)
ACTIVITY_TYPES: frozenset[str] = frozenset(
    {
        "Create",
        "Update",
        "Delete",
        "Follow",
        "Accept",
        "Reject",
        "Undo",
        "Like",
        "Announce",
        "Add",
        "Remove",
        "Flag",
        "Block",
        "Move",
        "EmojiReact",
    }
)
