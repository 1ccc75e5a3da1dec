"""ActivityStreams 2.0 for Plein: vocabulary, tolerant reader, builders, offline JSON-LD.

Pure: no network, no database, no web framework.
"""

from __future__ import annotations

from activitystreams.audience import Visibility, canonical, is_public, visibility
from activitystreams.build import CONTEXT, format_datetime
from activitystreams.errors import ActivityStreamsError, InvalidDocument
from activitystreams.loader import expand, load_document
from activitystreams.model import (
    Activity,
    Actor,
    Collection,
    Multikey,
    Object,
    PollOption,
    PublicKey,
)
from activitystreams.parse import (
    as_id,
    as_ids,
    parse_activity,
    parse_actor,
    parse_collection,
    parse_date,
    parse_document,
    parse_object,
    pick_author,
)
from activitystreams.vocab import (
    ACTIVITY_TYPES,
    ACTOR_TYPES,
    AS_CONTEXT,
    OBJECT_TYPES,
    PUBLIC,
    PUBLIC_SPELLINGS,
    SECURITY_CONTEXT,
)

__all__ = [
    "ACTIVITY_TYPES",
    "ACTOR_TYPES",
    "AS_CONTEXT",
    "CONTEXT",
    "OBJECT_TYPES",
    "PUBLIC",
    "PUBLIC_SPELLINGS",
    "SECURITY_CONTEXT",
    "Activity",
    "ActivityStreamsError",
    "Actor",
    "Collection",
    "InvalidDocument",
    "Multikey",
    "Object",
    "PollOption",
    "PublicKey",
    "Visibility",
    "as_id",
    "as_ids",
    "canonical",
    "expand",
    "format_datetime",
    "is_public",
    "load_document",
    "parse_activity",
    "parse_actor",
    "parse_collection",
    "parse_date",
    "parse_document",
    "parse_object",
    "pick_author",
    "visibility",
]
