"""Ed25519 Multikeys (FEP-521a): base58btc, publicKeyMultibase, reading and writing actors."""

from __future__ import annotations

from typing import Any

import pytest

from activitystreams import Multikey, build, expand, parse_actor
from activitystreams.multikey import (
    decode_base58btc,
    ed25519_from_multibase,
    ed25519_multibase,
    encode_base58btc,
)

BOB = "https://maastricht.test/users/bob"
PEM = "-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----\n"
SEC = "https://w3id.org/security#"
# The key of FEP-521a's example actor, and of the did:key specification's first example.
FEP_KEY = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
DID_KEY = "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


@pytest.mark.parametrize(
    ("data", "text"),
    [
        # draft-msporny-base58 section 5 test vectors
        (b"Hello World!", "2NEpo7TZRRrLZSi2U"),
        (
            b"The quick brown fox jumps over the lazy dog.",
            "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z",
        ),
        (bytes.fromhex("0000287fb4cd"), "11233QC4"),
        (b"", ""),
        (b"\0", "1"),
    ],
)
def test_given_published_vectors_when_base58btc_coding_then_both_directions_match(
    data: bytes, text: str
) -> None:
    assert encode_base58btc(data) == text
    assert decode_base58btc(text) == data


@pytest.mark.parametrize("value", [FEP_KEY, DID_KEY])
def test_given_published_ed25519_multikey_when_decoded_then_32_bytes_that_reencode(
    value: str,
) -> None:
    raw = ed25519_from_multibase(value)
    assert len(raw) == 32
    assert ed25519_multibase(raw) == value


@pytest.mark.parametrize(
    ("value", "flaw"),
    [
        ("6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2", "must start with 'z'"),
        ("uN2hKXqN3Qb8yH0", "must start with 'z'"),
        ("z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ0", "base58btc character"),
        ("z" + encode_base58btc(b"\xe7\x01" + bytes(33)), "not an Ed25519 key"),  # secp256k1
        ("z" + encode_base58btc(b"\xed\x01" + bytes(31)), "31 bytes"),
        ("z" + "2" * 300, "too long"),
    ],
)
def test_given_malformed_multibase_when_decoded_then_value_error_names_the_flaw(
    value: str, flaw: str
) -> None:
    with pytest.raises(ValueError, match=flaw):
        ed25519_from_multibase(value)


def actor_doc(**extra: Any) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": BOB,
        "type": "Person",
        "inbox": f"{BOB}/inbox",
        "publicKey": {"id": f"{BOB}#main-key", "owner": BOB, "publicKeyPem": PEM},
        **extra,
    }


def multikey(**fields: Any) -> dict[str, Any]:
    entry = {
        "id": f"{BOB}#ed25519-key",
        "type": "Multikey",
        "controller": BOB,
        "publicKeyMultibase": FEP_KEY,
    }
    entry.update(fields)
    return {key: value for key, value in entry.items() if value is not None}


def test_given_actor_with_multikey_when_parsing_then_key_read_beside_rsa() -> None:
    actor = parse_actor(actor_doc(assertionMethod=[multikey()]))
    assert actor.multikeys == (
        Multikey(
            id=f"{BOB}#ed25519-key",
            controller=BOB,
            public_key_multibase=FEP_KEY,
            raw=ed25519_from_multibase(FEP_KEY),
        ),
    )
    assert [k.id for k in actor.public_keys] == [f"{BOB}#main-key"]


def test_given_single_multikey_object_without_controller_when_parsing_then_actor_controls() -> None:
    actor = parse_actor(actor_doc(assertionMethod=multikey(controller=None)))
    assert [(k.id, k.controller) for k in actor.multikeys] == [(f"{BOB}#ed25519-key", BOB)]


def test_given_actor_without_assertion_method_when_parsing_then_no_multikeys() -> None:
    assert parse_actor(actor_doc()).multikeys == ()


@pytest.mark.parametrize(
    "entry",
    [
        f"{BOB}#ed25519-key",  # a reference: nothing to read without a fetch
        42,
        None,
        multikey(type="Ed25519VerificationKey2020"),
        multikey(type=None),
        multikey(id=None),
        multikey(id=7),
        multikey(controller=["x"]),
        multikey(publicKeyMultibase=None),
        multikey(publicKeyMultibase=12),
        multikey(publicKeyMultibase="zzzz"),
        multikey(publicKeyMultibase="z0OIl"),
        multikey(publicKeyMultibase="z" + encode_base58btc(b"\xe7\x01" + bytes(33))),
        multikey(publicKeyMultibase="-----BEGIN PUBLIC KEY-----"),
    ],
)
def test_given_malformed_multikey_when_parsing_actor_then_skipped_never_raised(
    entry: Any,
) -> None:
    good = multikey(id=f"{BOB}#good")
    actor = parse_actor(actor_doc(assertionMethod=[entry, good]))
    assert [k.id for k in actor.multikeys] == [f"{BOB}#good"]
    assert parse_actor(actor_doc(assertionMethod=entry)).multikeys == ()


def test_given_multikey_type_in_a_list_when_parsing_then_read() -> None:
    actor = parse_actor(actor_doc(assertionMethod=[multikey(type=["Multikey", "Other"])]))
    assert len(actor.multikeys) == 1


def local_actor(**extra: Any) -> dict[str, Any]:
    return build.actor_document(
        id=BOB,
        type="Person",
        preferred_username="bob",
        name="Bob",
        summary=None,
        inbox=f"{BOB}/inbox",
        outbox=f"{BOB}/outbox",
        followers=f"{BOB}/followers",
        following=f"{BOB}/following",
        shared_inbox=None,
        key_id=f"{BOB}#main-key",
        public_key_pem=PEM,
        manually_approves_followers=False,
        url=None,
        published=None,
        **extra,
    )


def test_given_ed25519_key_when_building_actor_then_multikey_under_assertion_method() -> None:
    doc = local_actor(ed25519_key_id=f"{BOB}#ed25519-key", ed25519_public_multibase=FEP_KEY)
    assert doc["assertionMethod"] == [
        {
            "id": f"{BOB}#ed25519-key",
            "type": "Multikey",
            "controller": BOB,
            "publicKeyMultibase": FEP_KEY,
        }
    ]
    assert "https://w3id.org/security/multikey/v1" in doc["@context"]
    # and the reader reads back what the builder wrote
    assert [k.public_key_multibase for k in parse_actor(doc).multikeys] == [FEP_KEY]


def test_given_built_multikey_actor_when_expanded_then_every_key_term_is_defined() -> None:
    doc = local_actor(ed25519_key_id=f"{BOB}#ed25519-key", ed25519_public_multibase=FEP_KEY)
    [expanded] = expand(doc)
    [key] = expanded[f"{SEC}assertionMethod"]
    assert key["@id"] == f"{BOB}#ed25519-key"
    assert key["@type"] == [f"{SEC}Multikey"]
    assert key[f"{SEC}controller"] == [{"@id": BOB}]
    assert key[f"{SEC}publicKeyMultibase"] == [{"@type": f"{SEC}multibase", "@value": FEP_KEY}]
    # the RSA key and the other terms are unchanged by the extra context
    assert expanded[f"{SEC}publicKey"][0]["@id"] == f"{BOB}#main-key"
    assert "https://www.w3.org/ns/activitystreams#manuallyApprovesFollowers" in expanded


def test_given_no_ed25519_key_when_building_actor_then_rsa_only_and_plain_context() -> None:
    doc = local_actor()
    assert "assertionMethod" not in doc
    assert doc["@context"] == build.CONTEXT
