"""RFC 9421 message signatures: the RFC's appendix B.2 vectors replayed verbatim, our policy on
top of them (algorithm from the key, created window, covered components, Content-Digest), and
round trips of our own signer."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver
from http_message_signatures.algorithms import ED25519

from federation.errors import SignatureError
from federation.keys import (
    SigningKey,
    generate_ed25519_keypair,
    generate_rsa_keypair,
    load_public_key,
)
from federation.signatures.rfc9421 import (
    algorithms_for,
    parse_signature,
    sign_request,
    verify_message,
    verify_request,
)

# RFC 9421 Appendix B.1.2: test-key-rsa-pss (public half).
TEST_KEY_RSA_PSS_PUBLIC = """-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2
+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+
oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq
gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W
Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4
aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI
2wIDAQAB
-----END PUBLIC KEY-----
"""

# RFC 9421 Appendix B.1.4: test-key-ed25519.
TEST_KEY_ED25519_PUBLIC = """-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----
"""
TEST_KEY_ED25519_PRIVATE = """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----
"""

# RFC 9421 Appendix B.2: the example request (POST /foo?param=Value&Pet=dog on example.com).
URL = "https://example.com/foo?param=Value&Pet=dog"
BODY = b'{"hello": "world"}'
HEADERS = {
    "Host": "example.com",
    "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
    "Content-Type": "application/json",
    "Content-Digest": (
        "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvR"
        "wEmTHWXvJwew==:"
    ),
    "Content-Length": "18",
}
CREATED = datetime.fromtimestamp(1618884473, UTC)

# (label, Signature-Input, Signature, key): B.2.1, B.2.2, B.2.3 (RSA-PSS) and B.2.6 (Ed25519).
VECTORS = {
    "B.2.1": (
        'sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"',
        "sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7"
        "it++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cO"
        "GdCbzR72rgFWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8"
        "jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8s"
        "sinQ98Xw9Q==:",
        TEST_KEY_RSA_PSS_PUBLIC,
    ),
    "B.2.2": (
        'sig-b22=("@authority" "content-digest");created=1618884473;keyid="test-key-rsa-pss"',
        "sig-b22=:Fee1uy9YGZq5UUwwYU6vz4dZNvfw3GYrFl1L6YlVIyUMuWswWDNSvql4dVtSeidYjYZUm7SBCENIb"
        "5KYy2ByoC3bI+7gydd2i4OAT5lyDtmeapnAa8uP/b9xUpg+VSPElbBs6JWBIQsd+nMdHDe+ls/IwVMwXktC37"
        "SqsnbNyhNp6kcvcWpevjzFcD2VqdZleUz4jN7P+W5A3wHiMGfIjIWn36KXNB+RKyrlGnIS8yaBBrom5rcZWLr"
        "Lbtg6VlrH1+/07RV+kgTh/l10h8qgpl9zQHu7mWbDKTq0tJ8K4ywcPoC4s2I4rU88jzDKDGdTTQFZoTVZxZmu"
        "TM1FvHfzIw==:",
        TEST_KEY_RSA_PSS_PUBLIC,
    ),
    "B.2.3": (
        'sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" '
        '"content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"',
        "sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxF"
        "keGt683+qRpRRU5p2voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPV"
        "iV7KsLNmvKiLJH1pFkh/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A"
        "9BmzhuzF8Eim5f8ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIzts"
        "DZKEgM4cUA==:",
        TEST_KEY_RSA_PSS_PUBLIC,
    ),
    "B.2.6": (
        'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");'
        'created=1618884473;keyid="test-key-ed25519"',
        "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp"
        "5WPpBKRCw==:",
        TEST_KEY_ED25519_PUBLIC,
    ),
}


def vector(name: str) -> dict[str, str]:
    signature_input, signature, _ = VECTORS[name]
    return HEADERS | {"Signature-Input": signature_input, "Signature": signature}


def vector_key(name: str) -> object:
    return load_public_key(VECTORS[name][2])


# -- the vectors, verbatim --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_given_an_rfc_9421_vector_when_verified_then_it_verifies(name: str) -> None:
    sig = verify_message(
        method="POST", url=URL, headers=vector(name), public_key=vector_key(name), now=CREATED
    )
    assert sig.label == "sig-" + name.replace(".", "").lower()
    assert sig.key_id == ("test-key-ed25519" if name == "B.2.6" else "test-key-rsa-pss")
    assert sig.created == 1618884473


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_given_an_rfc_9421_vector_when_one_signature_bit_flips_then_it_is_refused(
    name: str,
) -> None:
    headers = vector(name)
    sig = parse_signature(headers)
    flipped = bytes([sig.signature[0] ^ 1]) + sig.signature[1:]
    headers["Signature"] = f"{sig.label}=:{base64.b64encode(flipped).decode()}:"
    with pytest.raises(SignatureError, match="signature does not verify"):
        verify_message(
            method="POST", url=URL, headers=headers, public_key=vector_key(name), now=CREATED
        )


@pytest.mark.parametrize("name", ["B.2.2", "B.2.3", "B.2.6"])
def test_given_an_rfc_9421_vector_when_a_covered_component_changes_then_it_is_refused(
    name: str,
) -> None:
    headers = vector(name) | {"Host": "example.org"}
    with pytest.raises(SignatureError, match="signature does not verify"):
        verify_message(
            method="POST",
            url=URL.replace("example.com", "example.org"),
            headers=headers,
            public_key=vector_key(name),
            now=CREATED,
        )


def test_given_the_rfc_ed25519_test_key_when_b26_is_signed_then_the_signature_is_the_rfcs() -> None:
    # Ed25519 is deterministic: the RFC's private test key must reproduce B.2.6 byte for byte.
    private = serialization.load_pem_private_key(TEST_KEY_ED25519_PRIVATE.encode(), None)
    signer = HTTPMessageSigner(
        signature_algorithm=ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={"test-key-ed25519": private}),  # type: ignore[dict-item]
    )

    class Request:
        method = "POST"
        url = URL
        headers = dict(HEADERS)

    request = Request()
    signer.sign(
        request,
        key_id="test-key-ed25519",
        covered_component_ids=(
            "date",
            "@method",
            "@path",
            "@authority",
            "content-type",
            "content-length",
        ),
        created=CREATED,
        label="sig-b26",
        include_alg=False,
        use_existing_digest=True,
    )
    assert request.headers["Signature-Input"] == VECTORS["B.2.6"][0]
    assert request.headers["Signature"] == VECTORS["B.2.6"][1]


# -- the algorithm comes from the stored key --------------------------------------------------


def test_given_an_rsa_pss_vector_when_verified_with_the_ed25519_key_then_it_is_refused() -> None:
    with pytest.raises(SignatureError, match="signature does not verify"):
        verify_message(
            method="POST",
            url=URL,
            headers=vector("B.2.3"),
            public_key=vector_key("B.2.6"),
            now=CREATED,
        )


def test_given_the_key_types_then_the_algorithms_follow_them() -> None:
    rsa_key = load_public_key(TEST_KEY_RSA_PSS_PUBLIC)
    ed_key = load_public_key(TEST_KEY_ED25519_PUBLIC)
    assert [a.algorithm_id for a in algorithms_for(rsa_key)] == [
        "rsa-v1_5-sha256",
        "rsa-pss-sha512",
    ]
    assert [a.algorithm_id for a in algorithms_for(ed_key)] == ["ed25519"]


@pytest.fixture(scope="module")
def rsa_key() -> tuple[SigningKey, object]:
    private_pem, public_pem = generate_rsa_keypair()
    return SigningKey.from_pem("https://hq.test/users/alice#main-key", private_pem), (
        load_public_key(public_pem)
    )


@pytest.fixture(scope="module")
def ed_key() -> tuple[SigningKey, object]:
    private_pem, public_pem = generate_ed25519_keypair()
    return SigningKey.from_pem("https://hq.test/users/alice#ed25519-key", private_pem), (
        load_public_key(public_pem)
    )


NOW = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)
INBOX = "https://mt.test/users/bob/inbox"
ACTIVITY = b'{"type": "Like", "actor": "https://hq.test/users/alice"}'


def signed(key: SigningKey, **extra: object) -> dict[str, str]:
    return sign_request(
        method="POST",
        url=INBOX,
        key=key,
        body=ACTIVITY,
        headers={"Content-Type": "application/activity+json"},
        now=NOW,
        **extra,  # type: ignore[arg-type]
    )


def test_given_a_request_claiming_hmac_when_verified_with_an_rsa_key_then_unsupported(
    rsa_key: tuple[SigningKey, object],
) -> None:
    key, public = rsa_key
    headers = signed(key)
    headers["Signature-Input"] = headers["Signature-Input"].replace(
        'alg="rsa-v1_5-sha256"', 'alg="hmac-sha256"'
    )
    with pytest.raises(SignatureError, match="unsupported algorithm: hmac-sha256"):
        verify_request(
            method="POST", url=INBOX, headers=headers, body=ACTIVITY, public_key=public, now=NOW
        )


def test_given_an_ed25519_claim_when_verified_with_an_rsa_key_then_unsupported(
    rsa_key: tuple[SigningKey, object],
) -> None:
    key, public = rsa_key
    headers = signed(key)
    headers["Signature-Input"] = headers["Signature-Input"].replace(
        'alg="rsa-v1_5-sha256"', 'alg="ed25519"'
    )
    with pytest.raises(SignatureError, match="unsupported algorithm: ed25519"):
        verify_request(
            method="POST", url=INBOX, headers=headers, body=ACTIVITY, public_key=public, now=NOW
        )


# -- our signer, round trips --------------------------------------------------------------------


@pytest.mark.parametrize("which", ["rsa_key", "ed_key"])
def test_given_our_signature_when_verified_then_it_covers_what_federation_needs(
    which: str, request: pytest.FixtureRequest
) -> None:
    key, public = request.getfixturevalue(which)
    headers = signed(key)
    assert headers["Host"] == "mt.test"
    assert headers["Content-Digest"].startswith("sha-256=:")
    alg = "rsa-v1_5-sha256" if which == "rsa_key" else "ed25519"
    assert headers["Signature-Input"] == (
        'sig1=("@method" "@target-uri" "@authority" "content-digest" "content-type")'
        f';created={int(NOW.timestamp())};keyid="{key.key_id}";alg="{alg}"'
    )
    assert headers["Signature"].startswith("sig1=:")
    sig = verify_request(
        method="POST", url=INBOX, headers=headers, body=ACTIVITY, public_key=public, now=NOW
    )
    assert sig.key_id == key.key_id
    assert sig.algorithm == alg


def test_given_a_signed_get_when_verified_then_it_needs_no_digest(
    rsa_key: tuple[SigningKey, object],
) -> None:
    key, public = rsa_key
    url = "https://mt.test/users/bob/outbox?page=2"
    headers = sign_request(
        method="GET", url=url, key=key, headers={"Accept": "application/activity+json"}, now=NOW
    )
    assert '"accept"' in headers["Signature-Input"]
    verify_request(method="GET", url=url, headers=headers, body=None, public_key=public, now=NOW)


def test_given_a_non_default_port_when_signed_then_host_and_authority_keep_it(
    rsa_key: tuple[SigningKey, object],
) -> None:
    key, public = rsa_key
    url = "http://127.0.0.1:8001/inbox"
    headers = sign_request(method="POST", url=url, key=key, body=b"{}", now=NOW)
    assert headers["Host"] == "127.0.0.1:8001"
    verify_request(method="POST", url=url, headers=headers, body=b"{}", public_key=public, now=NOW)
    with pytest.raises(SignatureError, match="signature does not verify"):
        verify_request(
            method="POST",
            url="http://127.0.0.1/inbox",
            headers=headers,
            body=b"{}",
            public_key=public,
            now=NOW,
        )


# -- what verify_request refuses ------------------------------------------------------------


def test_given_a_changed_body_when_verified_then_digest_mismatch(
    rsa_key: tuple[SigningKey, object],
) -> None:
    key, public = rsa_key
    with pytest.raises(SignatureError, match="digest mismatch"):
        verify_request(
            method="POST",
            url=INBOX,
            headers=signed(key),
            body=ACTIVITY + b" ",
            public_key=public,
            now=NOW,
        )


def test_given_a_body_with_no_content_digest_then_refused(
    rsa_key: tuple[SigningKey, object],
) -> None:
    key, public = rsa_key
    headers = signed(key)
    del headers["Content-Digest"]
    with pytest.raises(SignatureError, match="missing Content-Digest header"):
        verify_request(
            method="POST", url=INBOX, headers=headers, body=ACTIVITY, public_key=public, now=NOW
        )


def test_given_the_b26_vector_with_a_body_then_the_uncovered_digest_is_refused() -> None:
    with pytest.raises(SignatureError, match="digest not covered by the signature"):
        verify_request(
            method="POST",
            url=URL,
            headers=vector("B.2.6"),
            body=BODY,
            public_key=vector_key("B.2.6"),
            now=CREATED,
        )


def test_given_the_b22_vector_then_uncovered_method_is_refused() -> None:
    with pytest.raises(SignatureError, match="@method not covered"):
        verify_request(
            method="POST",
            url=URL,
            headers=vector("B.2.2"),
            body=BODY,
            public_key=vector_key("B.2.2"),
            now=CREATED,
        )


def test_given_the_b23_vector_then_it_passes_the_federation_policy() -> None:
    # @method, @path with @authority, and a covered sha-512 Content-Digest of the raw body.
    verify_request(
        method="POST",
        url=URL,
        headers=vector("B.2.3"),
        body=BODY,
        public_key=vector_key("B.2.3"),
        now=CREATED,
    )
    with pytest.raises(SignatureError, match="digest mismatch"):
        verify_request(
            method="POST",
            url=URL,
            headers=vector("B.2.3"),
            body=b'{"hello": "World"}',
            public_key=vector_key("B.2.3"),
            now=CREATED,
        )


@pytest.mark.parametrize("hours", [-13, 13])
def test_given_created_more_than_12_hours_away_then_refused(hours: int) -> None:
    with pytest.raises(SignatureError, match="created outside the allowed window"):
        verify_message(
            method="POST",
            url=URL,
            headers=vector("B.2.6"),
            public_key=vector_key("B.2.6"),
            now=CREATED + timedelta(hours=hours),
        )
    verify_message(
        method="POST",
        url=URL,
        headers=vector("B.2.6"),
        public_key=vector_key("B.2.6"),
        now=CREATED + timedelta(hours=11 if hours > 0 else -11),
    )


def test_given_an_expired_signature_then_refused(rsa_key: tuple[SigningKey, object]) -> None:
    key, public = rsa_key
    headers = signed(key)
    headers["Signature-Input"] += f";expires={int(NOW.timestamp()) - 1}"
    with pytest.raises(SignatureError, match="signature expired"):
        verify_request(
            method="POST", url=INBOX, headers=headers, body=ACTIVITY, public_key=public, now=NOW
        )


def test_given_no_created_then_refused(rsa_key: tuple[SigningKey, object]) -> None:
    key, public = rsa_key
    headers = signed(key)
    headers["Signature-Input"] = headers["Signature-Input"].replace(
        f";created={int(NOW.timestamp())}", ""
    )
    with pytest.raises(SignatureError, match="created missing"):
        verify_request(
            method="POST", url=INBOX, headers=headers, body=ACTIVITY, public_key=public, now=NOW
        )


@pytest.mark.parametrize(
    ("signature_input", "signature", "message"),
    [
        (None, "sig1=:AAAA:", "missing Signature-Input header"),
        ('sig1=("@method");keyid="k";created=1', None, "missing Signature header"),
        ("sig1=(((", "sig1=:AAAA:", "malformed Signature-Input header"),
        ('sig1=("@method");created=1', "sig1=:AAAA:", "missing keyid"),
        ('sig1=("@method");keyid="k"', "sig2=:AAAA:", "no signature labelled sig1"),
        ('sig1=("@method");keyid="k"', "sig1=AAAA", "not a byte sequence"),
    ],
)
def test_given_malformed_headers_then_the_error_names_them(
    signature_input: str | None, signature: str | None, message: str
) -> None:
    headers = {"Host": "example.com"}
    if signature_input is not None:
        headers["Signature-Input"] = signature_input
    if signature is not None:
        headers["Signature"] = signature
    with pytest.raises(SignatureError, match=message):
        parse_signature(headers)
