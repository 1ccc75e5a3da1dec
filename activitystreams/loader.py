"""An offline pyld document loader with bundled contexts, and an ``expand`` helper.

Known contexts (ActivityStreams, security/v1, data-integrity/v1, multikey/v1) are read from the
package once, lazily, and marked static so pyld caches the resolved context. Every other URL
resolves to an empty context: nothing is ever fetched from the network.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
from collections.abc import Mapping
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from pyld import jsonld

from activitystreams.errors import InvalidDocument

__all__ = ["BUNDLED_CONTEXTS", "expand", "load_document"]

log = logging.getLogger(__name__)

BUNDLED_CONTEXTS: Mapping[str, str] = {
    "www.w3.org/ns/activitystreams": "activitystreams.jsonld",
    "w3id.org/security/v1": "security-v1.jsonld",
    "w3id.org/security/data-integrity/v1": "data-integrity-v1.jsonld",
    "w3id.org/security/multikey/v1": "multikey-v1.jsonld",
}
"""Context URL (without scheme, fragment or ``.jsonld``) -> bundled file name."""

_EMPTY: Mapping[str, Any] = {"@context": {}}
_MAX_CLEAN_DEPTH = 64
_TERM_KEYWORDS = frozenset(
    {
        "@id",
        "@type",
        "@container",
        "@context",
        "@language",
        "@direction",
        "@reverse",
        "@protected",
        "@nest",
        "@prefix",
        "@index",
    }
)


def _key(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    path = parts.path.rstrip("/")
    if path.endswith(".jsonld"):
        path = path[: -len(".jsonld")]
    return (parts.hostname or "") + path


@functools.cache
def _bundled(name: str) -> Mapping[str, Any]:
    text = resources.files("activitystreams").joinpath("contexts").joinpath(name).read_text("utf-8")
    document: Mapping[str, Any] = json.loads(text)
    return document


def load_document(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """pyld document loader: a bundled context, or an empty context for any other URL."""
    name = BUNDLED_CONTEXTS.get(_key(url)) if isinstance(url, str) else None
    if name is None:
        log.debug("JSON-LD context %r is not bundled; using an empty context", url)
        document: Mapping[str, Any] = _EMPTY
    else:
        document = _bundled(name)
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": copy.deepcopy(document),
        "tag": "static",
    }


def _keyword_value_ok(keyword: str, value: Any) -> bool:
    """The JSON type a term definition's keyword allows (pyld crashes on some others)."""
    if keyword in ("@id", "@language", "@direction"):
        return value is None or isinstance(value, str)
    if keyword in ("@type", "@reverse", "@index", "@nest"):
        return isinstance(value, str)
    if keyword == "@container":
        items = value if isinstance(value, list) else [value]
        return value is None or all(isinstance(item, str) for item in items)
    if keyword in ("@protected", "@prefix"):
        return isinstance(value, bool)
    return True  # @context: checked by pyld when the term is used


def _clean_term(term: str, definition: Any) -> bool:
    if definition is None or isinstance(definition, str):
        return True
    if isinstance(definition, Mapping):
        bad = [
            key
            for key, value in definition.items()
            if key not in _TERM_KEYWORDS or not _keyword_value_ok(key, value)
        ]
        if not bad:
            return True
        log.debug("dropping JSON-LD term %r: invalid keys %r", term, bad)
        return False
    log.debug("dropping JSON-LD term %r: not a string or object", term)
    return False


def _clean_context(context: Any) -> Any:
    entries = context if isinstance(context, list) else [context]
    cleaned: list[Any] = []
    for entry in entries:
        if entry is None or isinstance(entry, str):
            cleaned.append(entry)
        elif isinstance(entry, Mapping):
            cleaned.append(
                {
                    term: value
                    for term, value in entry.items()
                    if term.startswith("@") or _clean_term(term, value)
                }
            )
        else:
            log.debug("dropping JSON-LD context entry of type %s", type(entry).__name__)
    return cleaned if isinstance(context, list) else (cleaned[0] if cleaned else {})


def _clean(value: Any, depth: int = 0) -> Any:
    if depth > _MAX_CLEAN_DEPTH:
        raise InvalidDocument("document: nested too deeply")
    if isinstance(value, Mapping):
        return {
            key: _clean_context(item) if key == "@context" else _clean(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_clean(item, depth + 1) for item in value]
    return value


def expand(doc: Mapping[str, Any]) -> list[Any]:
    """JSON-LD expansion with bundled contexts only; invalid inline terms are dropped first."""
    if not isinstance(doc, Mapping):
        raise InvalidDocument("document: not a JSON object")
    cleaned = _clean(doc)
    try:
        result = jsonld.expand(cleaned, {"documentLoader": load_document})
    except jsonld.JsonLdError as exc:
        raise InvalidDocument(f"@context: {_reason(exc)}") from None
    except RecursionError:
        raise InvalidDocument("document: nested too deeply") from None
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        # pyld assumes well-typed JSON-LD in places (a list where it expects a string): a
        # document that trips it is invalid JSON-LD, not a crash of ours.
        log.debug("pyld failed on a document: %r", exc)
        raise InvalidDocument(f"@context: invalid JSON-LD ({type(exc).__name__})") from None
    expanded: list[Any] = result
    return expanded


def _reason(exc: Exception) -> str:
    message = str(getattr(exc, "message", "") or exc).splitlines()[0]
    return message[:200] or "invalid JSON-LD"
