"""The offline JSON-LD loader and expand(): bundled contexts, no network, tolerant contexts."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from activitystreams import InvalidDocument, expand, load_document
from activitystreams.loader import BUNDLED_CONTEXTS, _bundled

AS = "https://www.w3.org/ns/activitystreams#"
SEC = "https://w3id.org/security#"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Make every socket connection fail loudly and record the attempt."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def _note(context: Any) -> dict[str, Any]:
    return {
        "@context": context,
        "id": "https://m.test/notes/1",
        "type": "Note",
        "content": "hi",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }


@pytest.mark.parametrize(
    "url",
    [
        "https://www.w3.org/ns/activitystreams",
        "http://www.w3.org/ns/activitystreams",
        "https://www.w3.org/ns/activitystreams.jsonld",
        "https://w3id.org/security/v1",
        "https://w3id.org/security/data-integrity/v1",
        "https://w3id.org/security/multikey/v1",
    ],
)
def test_given_bundled_url_when_loaded_then_static_non_empty_context(
    url: str, no_network: list[Any]
) -> None:
    remote = load_document(url, {})
    assert remote["tag"] == "static"
    assert remote["documentUrl"] == url
    assert remote["document"]["@context"]
    assert no_network == []


def test_given_bundled_files_then_every_one_is_packaged() -> None:
    assert set(BUNDLED_CONTEXTS.values()) == {
        "activitystreams.jsonld",
        "security-v1.jsonld",
        "data-integrity-v1.jsonld",
        "multikey-v1.jsonld",
    }


def test_given_loaded_document_when_mutated_then_cache_not_corrupted() -> None:
    first = load_document("https://www.w3.org/ns/activitystreams", {})
    first["document"]["@context"].clear()
    assert load_document("https://www.w3.org/ns/activitystreams", {})["document"]["@context"]


@pytest.mark.parametrize(
    "url",
    ["https://unreachable.example.test/context.jsonld", "https://join-lemmy.org/context.json"],
)
def test_given_unknown_url_when_loaded_then_empty_context(url: str, no_network: list[Any]) -> None:
    assert load_document(url, {})["document"] == {"@context": {}}
    assert no_network == []


def test_given_unknown_context_url_when_expanded_then_core_terms_and_no_network(
    no_network: list[Any],
) -> None:
    doc = _note(["https://www.w3.org/ns/activitystreams", "https://unknown.example.test/c.jsonld"])
    node = expand(doc)[0]
    assert node["@type"] == [AS + "Note"]
    assert node[AS + "content"] == [{"@value": "hi"}]
    assert node[AS + "to"] == [{"@id": "https://www.w3.org/ns/activitystreams#Public"}]
    assert no_network == []


def test_given_inline_bad_term_definitions_when_expanded_then_dropped_not_fatal(
    no_network: list[Any],
) -> None:
    doc = _note(
        [
            "https://www.w3.org/ns/activitystreams",
            {
                "ext": "https://example.test/ns#",
                "commentsEnabled": {"type": "xsd:boolean", "id": "ext:commentsEnabled"},
                "good": {"@id": "ext:good"},
                "weird": 5,
            },
            "https://w3id.org/security/v1",
        ]
    )
    doc["commentsEnabled"] = True
    doc["good"] = "yes"
    node = expand(doc)[0]
    assert node["https://example.test/ns#good"] == [{"@value": "yes"}]
    assert node[AS + "content"] == [{"@value": "hi"}]
    assert "https://example.test/ns#commentsEnabled" not in node
    assert no_network == []


def test_given_security_context_when_expanding_actor_then_public_key_terms(
    no_network: list[Any],
) -> None:
    doc = {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": "https://m.test/u/bob",
        "type": "Person",
        "publicKey": {"id": "https://m.test/u/bob#k", "owner": "https://m.test/u/bob"},
    }
    node = expand(doc)[0]
    assert node[SEC + "publicKey"][0]["@id"] == "https://m.test/u/bob#k"
    assert no_network == []


def test_given_undefined_sensitive_when_expanded_then_blank_node_property() -> None:
    node = expand({**_note("https://www.w3.org/ns/activitystreams"), "sensitive": True})[0]
    assert node["_:sensitive"] == [{"@value": True}]


def test_given_invalid_json_ld_when_expanded_then_invalid_document() -> None:
    with pytest.raises(InvalidDocument) as caught:
        expand({"@context": {"@version": 99}, "id": "https://m.test/x"})
    assert caught.value.message.startswith("@context:")


def test_given_non_object_when_expanded_then_invalid_document() -> None:
    with pytest.raises(InvalidDocument):
        expand(["not", "a", "document"])  # type: ignore[arg-type]


def test_given_deep_document_when_expanded_then_invalid_document() -> None:
    doc: dict[str, Any] = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Note"}
    inner = doc
    for _ in range(200):
        inner["attachment"] = {"type": "Note"}
        inner = inner["attachment"]
    with pytest.raises(InvalidDocument):
        expand(doc)


def test_given_repeated_loads_when_loading_then_each_file_parsed_once_and_marked_static() -> None:
    _bundled.cache_clear()
    for _ in range(3):
        remote = load_document("https://w3id.org/security/v1", {})
        assert remote["tag"] == "static"
    info = _bundled.cache_info()
    assert (info.misses, info.hits) == (1, 2)


def test_given_pyld_when_expanding_twice_then_bundled_context_cached_as_static() -> None:
    doc = _note("https://www.w3.org/ns/activitystreams")
    expand(doc)
    _bundled.cache_clear()
    expand(doc)
    assert _bundled.cache_info().misses == 0
