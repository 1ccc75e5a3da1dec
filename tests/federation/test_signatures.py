"""Draft-cavage signatures: round trips, tampering, algorithm confusion and the real-world cases."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import serialization

from federation.errors import SignatureError
from federation.keys import (
    SigningKey,
    generate_ed25519_keypair,
    generate_rsa_keypair,
    load_private_key,
    load_public_key,
)
from federation.signatures import (
    digest_header,
    parse_authorization_header,
    parse_signature_header,
    sign_request,
    signature_params_from_headers,
    signing_string,
    verify_request,
)
from tests.cases import load_case
from tests.federation.sig_helpers import raw_sign, with_signature

NOW = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)
BOB_KEY_ID = "https://maastricht.test/users/bob#main-key"


@pytest.fixture(scope="module")
def bob_pems() -> tuple[str, str]:
    return generate_rsa_keypair()


@pytest.fixture(scope="module")
def bob(bob_pems: tuple[str, str]) -> SigningKey:
    return SigningKey.from_pem(BOB_KEY_ID, bob_pems[0])


@pytest.fixture(scope="module")
def bob_public(bob_pems: tuple[str, str]) -> object:
    return load_public_key(bob_pems[1])


@pytest.fixture(scope="module")
def mallory_public() -> object:
    return load_public_key(generate_rsa_keypair()[1])


def target_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- keys -------------------------------------------------------------------------------------


def test_keys_are_pem_and_cached(bob_pems: tuple[str, str]) -> None:
    private_pem, public_pem = bob_pems
    assert private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert load_private_key(private_pem) is load_private_key(private_pem)
    assert load_public_key(public_pem) is load_public_key(public_pem)


def test_public_key_garbage_is_a_signature_error() -> None:
    with pytest.raises(SignatureError, match="invalid public key PEM"):
        load_public_key("not a key")


def test_pkcs1_rsa_public_key_loads(bob: SigningKey) -> None:
    pkcs1 = (
        bob.private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
        .decode()
    )
    assert pkcs1.startswith("-----BEGIN RSA PUBLIC KEY-----")
    load_public_key(pkcs1)


# --- round trips ------------------------------------------------------------------------------


def test_rsa_post_round_trip(bob: SigningKey, bob_public: object) -> None:
    body = b'{"type": "Follow"}'
    url = "https://hq.test/users/alice/inbox"
    headers = sign_request(
        method="POST",
        url=url,
        key=bob,
        body=body,
        headers={"Content-Type": "application/activity+json"},
        now=NOW,
    )
    assert headers["Host"] == "hq.test"
    assert headers["Date"] == "Thu, 03 Dec 2026 12:00:00 GMT"
    assert headers["Digest"] == digest_header(body)
    assert 'algorithm="rsa-sha256"' in headers["Signature"]
    assert 'headers="(request-target) host date digest content-type"' in headers["Signature"]
    params = verify_request(
        method="POST",
        target="/users/alice/inbox",
        headers=headers,
        body=body,
        public_key=bob_public,
        now=NOW,
    )
    assert params.key_id == BOB_KEY_ID


def test_rsa_get_round_trip_covers_accept(bob: SigningKey, bob_public: object) -> None:
    url = "https://hq.test/users/alice/outbox?page=true&min_id=0"
    headers = sign_request(
        method="GET", url=url, key=bob, headers={"Accept": "application/activity+json"}, now=NOW
    )
    assert "Digest" not in headers
    assert 'headers="(request-target) host date accept"' in headers["Signature"]
    verify_request(
        method="GET",
        target=target_of(url),
        headers=headers,
        body=None,
        public_key=bob_public,
        now=NOW,
    )


def test_ed25519_round_trip() -> None:
    private_pem, public_pem = generate_ed25519_keypair()
    key = SigningKey.from_pem("https://hq.test/users/alice#ed25519-key", private_pem)
    body = b'{"type": "Like"}'
    headers = sign_request(
        method="POST", url="https://maastricht.test/inbox", key=key, body=body, now=NOW
    )
    assert 'algorithm="hs2019"' in headers["Signature"]
    verify_request(
        method="POST",
        target="/inbox",
        headers=headers,
        body=body,
        public_key=load_public_key(public_pem),
        now=NOW,
    )


def test_ed25519_key_refuses_rsa_algorithm_name() -> None:
    private_pem, public_pem = generate_ed25519_keypair()
    key = SigningKey.from_pem("k", private_pem)
    headers = sign_request(method="GET", url="https://a.test/x", key=key, now=NOW)
    headers["Signature"] = headers["Signature"].replace("hs2019", "rsa-sha256")
    with pytest.raises(SignatureError, match="unsupported algorithm"):
        verify_request(
            method="GET",
            target="/x",
            headers=headers,
            body=None,
            public_key=load_public_key(public_pem),
            now=NOW,
        )


def test_ed25519_algorithm_name_refused_for_rsa_key(bob: SigningKey, bob_public: object) -> None:
    headers = sign_request(method="GET", url="https://a.test/x", key=bob, now=NOW)
    headers["Signature"] = headers["Signature"].replace("rsa-sha256", "ed25519")
    with pytest.raises(SignatureError, match="unsupported algorithm"):
        verify_request(
            method="GET", target="/x", headers=headers, body=None, public_key=bob_public, now=NOW
        )


# --- tampering --------------------------------------------------------------------------------


@pytest.fixture
def signed_post(bob: SigningKey) -> tuple[dict[str, str], bytes]:
    body = b'{"type": "Create", "object": {"content": "hello"}}'
    headers = sign_request(
        method="POST",
        url="https://hq.test/inbox",
        key=bob,
        body=body,
        headers={"Content-Type": "application/activity+json"},
        now=NOW,
    )
    return headers, body


def test_body_changed_is_a_digest_mismatch(
    signed_post: tuple[dict[str, str], bytes], bob_public: object
) -> None:
    headers, body = signed_post
    with pytest.raises(SignatureError, match="digest mismatch"):
        verify_request(
            method="POST",
            target="/inbox",
            headers=headers,
            body=body.replace(b"hello", b"HELLO"),
            public_key=bob_public,
            now=NOW,
        )


def test_signed_header_changed_fails(
    signed_post: tuple[dict[str, str], bytes], bob_public: object
) -> None:
    headers, body = signed_post
    tampered = dict(headers, **{"Content-Type": "text/plain"})
    with pytest.raises(SignatureError, match="signature does not verify"):
        verify_request(
            method="POST",
            target="/inbox",
            headers=tampered,
            body=body,
            public_key=bob_public,
            now=NOW,
        )


def test_other_path_fails(signed_post: tuple[dict[str, str], bytes], bob_public: object) -> None:
    headers, body = signed_post
    with pytest.raises(SignatureError, match="signing string mismatch"):
        verify_request(
            method="POST",
            target="/users/alice/inbox",
            headers=headers,
            body=body,
            public_key=bob_public,
            now=NOW,
        )


def test_query_dropped_from_target_fails(bob: SigningKey, bob_public: object) -> None:
    url = "https://hq.test/users/alice/outbox?page=2"
    headers = sign_request(method="GET", url=url, key=bob, now=NOW)
    with pytest.raises(SignatureError, match="signing string mismatch"):
        verify_request(
            method="GET",
            target="/users/alice/outbox",
            headers=headers,
            body=None,
            public_key=bob_public,
            now=NOW,
        )


def test_key_of_another_actor_fails(
    signed_post: tuple[dict[str, str], bytes], mallory_public: object
) -> None:
    headers, body = signed_post
    with pytest.raises(SignatureError, match="signature does not verify"):
        verify_request(
            method="POST",
            target="/inbox",
            headers=headers,
            body=body,
            public_key=mallory_public,
            now=NOW,
        )


@pytest.mark.parametrize("algorithm", ["hmac-sha256", "hs2019", None])
def test_hmac_keyed_with_public_key_is_refused(
    bob_pems: tuple[str, str], bob_public: object, algorithm: str | None
) -> None:
    """The classic algorithm-confusion forgery: HMAC with the public PEM as the secret."""
    body = b'{"type": "Delete"}'
    headers = {
        "Host": "hq.test",
        "Date": "Thu, 03 Dec 2026 12:00:00 GMT",
        "Digest": digest_header(body),
    }
    names = ["(request-target)", "host", "date", "digest"]
    text = signing_string("POST", "/inbox", headers, names)
    forged = base64.b64encode(
        hmac.new(bob_pems[1].encode(), text.encode(), hashlib.sha256).digest()
    ).decode()
    alg = f'algorithm="{algorithm}",' if algorithm else ""
    headers["Signature"] = (
        f'keyId="{BOB_KEY_ID}",{alg}headers="{" ".join(names)}",signature="{forged}"'
    )
    expected = "unsupported algorithm" if algorithm == "hmac-sha256" else "does not verify"
    with pytest.raises(SignatureError, match=expected):
        verify_request(
            method="POST",
            target="/inbox",
            headers=headers,
            body=body,
            public_key=bob_public,
            now=NOW,
        )


@pytest.mark.parametrize("algorithm", ["rsa-sha512", "rsa-sha1", "hmac-sha256", "ecdsa-sha256"])
def test_other_algorithms_are_refused(bob: SigningKey, bob_public: object, algorithm: str) -> None:
    headers = sign_request(method="GET", url="https://hq.test/x", key=bob, now=NOW)
    headers["Signature"] = headers["Signature"].replace("rsa-sha256", algorithm)
    with pytest.raises(SignatureError, match=f"unsupported algorithm: {algorithm}"):
        verify_request(
            method="GET", target="/x", headers=headers, body=None, public_key=bob_public, now=NOW
        )


def test_post_without_digest_is_refused(bob: SigningKey, bob_public: object) -> None:
    headers = sign_request(method="GET", url="https://hq.test/inbox", key=bob, now=NOW)
    with pytest.raises(SignatureError, match="missing Digest header"):
        verify_request(
            method="POST",
            target="/inbox",
            headers=headers,
            body=b"{}",
            public_key=bob_public,
            now=NOW,
        )


def test_date_must_be_covered(bob: SigningKey, bob_public: object) -> None:
    headers = {"Host": "hq.test", "Date": "Thu, 03 Dec 2026 12:00:00 GMT"}
    text = signing_string("GET", "/x", headers, ["(request-target)", "host"])
    headers["Signature"] = (
        f'keyId="k",headers="(request-target) host",signature="{raw_sign(bob, text)}"'
    )
    with pytest.raises(SignatureError, match="Date not covered"):
        verify_request(
            method="GET", target="/x", headers=headers, body=None, public_key=bob_public, now=NOW
        )


def test_created_and_expires(bob: SigningKey, bob_public: object) -> None:
    created = int(NOW.timestamp())
    headers = {"Host": "hq.test"}
    names = ["(request-target)", "(created)", "(expires)", "host"]
    text = signing_string("GET", "/x", headers, names, created=created, expires=created + 300)
    assert "(created): " + str(created) in text
    headers["Signature"] = (
        f'keyId="k",algorithm="hs2019",created={created},expires={created + 300},'
        f'headers="{" ".join(names)}",signature="{raw_sign(bob, text)}"'
    )
    verify_request(
        method="GET", target="/x", headers=headers, body=None, public_key=bob_public, now=NOW
    )
    with pytest.raises(SignatureError, match="expired"):
        verify_request(
            method="GET",
            target="/x",
            headers=headers,
            body=None,
            public_key=bob_public,
            now=NOW + timedelta(minutes=10),
        )
    with pytest.raises(SignatureError, match=r"\(created\) outside the allowed window"):
        verify_request(
            method="GET",
            target="/x",
            headers=headers,
            body=None,
            public_key=bob_public,
            now=NOW - timedelta(days=1),
        )


def test_host_not_covered_is_accepted(bob: SigningKey, bob_public: object) -> None:
    headers = {"Date": "Thu, 03 Dec 2026 12:00:00 GMT"}
    text = signing_string("GET", "/x", headers, ["(request-target)", "date"])
    headers["Signature"] = (
        f'keyId="k",headers="(request-target) date",signature="{raw_sign(bob, text)}"'
    )
    verify_request(
        method="GET", target="/x", headers=headers, body=None, public_key=bob_public, now=NOW
    )


# --- parsing ----------------------------------------------------------------------------------


def test_parse_defaults_and_authorization_form() -> None:
    params = parse_signature_header('keyId="k",signature="AAAA"')
    assert params.headers == ("date",)
    assert params.algorithm is None
    assert params.signature == b"\x00\x00\x00"
    auth = parse_authorization_header(
        'Signature keyId="k",algorithm="RSA-SHA256",headers="(Request-Target) Host",'
        'signature="AAAA"'
    )
    assert auth.algorithm == "rsa-sha256"
    assert auth.headers == ("(request-target)", "host")
    found = signature_params_from_headers({"authorization": 'Signature keyId="k",signature="AA=="'})
    assert found.key_id == "k"


@pytest.mark.parametrize(
    "value",
    [
        "",
        'keyId="k"',
        'signature="AAAA"',
        'keyId="k",signature="not base64!"',
        'keyId="k",keyId="j",signature="AAAA"',
        'keyId="k" signature="AAAA"',
        'keyId="k",headers="",signature="AAAA"',
        'keyId="k",created=abc,signature="AAAA"',
    ],
)
def test_malformed_signature_headers(value: str) -> None:
    with pytest.raises(SignatureError, match="malformed Signature header"):
        parse_signature_header(value)


def test_missing_signature_header() -> None:
    with pytest.raises(SignatureError, match="missing Signature header"):
        signature_params_from_headers({"Date": "x", "Authorization": "Bearer abc"})


def test_named_header_missing() -> None:
    with pytest.raises(SignatureError, match="header accept named in the signature is missing"):
        signing_string("GET", "/", {"Host": "a"}, ["host", "accept"])


# --- real-world cases -------------------------------------------------------------------------


def test_sig_request_target_query(bob: SigningKey, bob_public: object) -> None:
    case = load_case("sig-request-target-query")
    request = case["input"]["request"]
    expected_string = case["input"]["signing_string"]
    headers = dict(request["headers"])
    target = target_of(request["url"])
    names = ["(request-target)", "host", "date"]
    assert signing_string("GET", target, headers, names) == expected_string
    headers["Signature"] = with_signature(headers["Signature"], raw_sign(bob, expected_string))
    params = verify_request(
        method="GET", target=target, headers=headers, body=None, public_key=bob_public, now=NOW
    )
    assert params.key_id == BOB_KEY_ID
    # Negative variant: the sender signed the path without the query.
    dropped = expected_string.replace("?authority=https%3A%2F%2Fmaastricht.test", "")
    headers["Signature"] = with_signature(headers["Signature"], raw_sign(bob, dropped))
    with pytest.raises(SignatureError, match="signing string mismatch") as info:
        verify_request(
            method="GET",
            target=target,
            headers=headers,
            body=None,
            public_key=bob_public,
            now=NOW,
        )
    assert info.value.status == 401


def test_sig_hs2019_algorithm(bob: SigningKey, bob_public: object) -> None:
    case = load_case("sig-hs2019-algorithm")
    request = case["input"]["request"]
    body = b'{"type": "Follow"}'
    headers = dict(request["headers"], Digest=digest_header(body))
    target = target_of(request["url"])
    text = signing_string("POST", target, headers, ["(request-target)", "host", "date", "digest"])
    accepted, refused = case["input"]["variants"][:2], case["input"]["variants"][2]
    for variant in accepted:
        signed = dict(headers, Signature=with_signature(variant["Signature"], raw_sign(bob, text)))
        verify_request(
            method="POST",
            target=target,
            headers=signed,
            body=body,
            public_key=bob_public,
            now=NOW,
        )
    signed = dict(
        headers, Signature=with_signature(refused["Signature"], raw_sign(bob, text, sha1=True))
    )
    with pytest.raises(SignatureError, match="unsupported algorithm") as info:
        verify_request(
            method="POST",
            target=target,
            headers=signed,
            body=body,
            public_key=bob_public,
            now=NOW,
        )
    assert info.value.status == 401


def test_sig_host_with_port(bob: SigningKey, bob_public: object) -> None:
    case = load_case("sig-host-with-port")
    request = case["input"]["request"]
    body = b'{"type": "Like"}'
    signed = sign_request(method="POST", url=request["url"], key=bob, body=body, now=NOW)
    assert f"host: {signed['Host']}" == case["input"]["good_signing_string_host_line"]
    target = target_of(request["url"])
    verify_request(
        method="POST", target=target, headers=signed, body=body, public_key=bob_public, now=NOW
    )
    # A signer that dropped the port from the host line.
    names = ["(request-target)", "host", "date", "digest"]
    bad_headers = dict(signed, Host="maastricht.test")
    bad_string = signing_string("POST", target, bad_headers, names)
    assert case["input"]["bad_signing_string_host_line"] in bad_string.splitlines()
    received = dict(
        signed, Signature=with_signature(signed["Signature"], raw_sign(bob, bad_string))
    )
    with pytest.raises(SignatureError, match="host mismatch"):
        verify_request(
            method="POST",
            target=target,
            headers=received,
            body=body,
            public_key=bob_public,
            now=NOW,
        )
    # Behind a proxy the Host seen is the proxy's; the caller substitutes X-Forwarded-Host only
    # when the proxy is trusted, and verification then succeeds.
    proxied = dict(signed, Host="127.0.0.1:8000", **{"X-Forwarded-Host": signed["Host"]})
    with pytest.raises(SignatureError):
        verify_request(
            method="POST",
            target=target,
            headers=proxied,
            body=body,
            public_key=bob_public,
            now=NOW,
        )
    trusted = dict(proxied, Host=proxied["X-Forwarded-Host"])
    verify_request(
        method="POST", target=target, headers=trusted, body=body, public_key=bob_public, now=NOW
    )


def test_sig_date_format_and_skew(bob: SigningKey, bob_public: object) -> None:
    case = load_case("sig-date-format-and-skew")
    now = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)
    assert case["input"]["server_clock"] == "Thu, 03 Dec 2026 12:00:00 GMT"
    names = case["input"]["signed_headers"].split()
    body = b'{"type": "Note"}'
    outcomes: dict[str, str] = {}
    for variant in case["input"]["variants"]:
        headers = {"Host": "hq.test", "Date": variant["Date"], "Digest": digest_header(body)}
        text = signing_string("POST", "/inbox", headers, names)
        headers["Signature"] = (
            f'keyId="{BOB_KEY_ID}",algorithm="rsa-sha256",headers="{" ".join(names)}",'
            f'signature="{raw_sign(bob, text)}"'
        )
        try:
            verify_request(
                method="POST",
                target="/inbox",
                headers=headers,
                body=body,
                public_key=bob_public,
                now=now,
            )
            outcomes[variant["Date"]] = "ok"
        except SignatureError as exc:
            assert exc.status == 401
            outcomes[variant["Date"]] = exc.message
        if variant["note"].startswith("4 h old"):
            with pytest.raises(SignatureError, match="Date outside the allowed window"):
                verify_request(
                    method="POST",
                    target="/inbox",
                    headers=headers,
                    body=body,
                    public_key=bob_public,
                    now=now,
                    max_skew=timedelta(minutes=5),
                )
    assert outcomes == {
        "Thu, 03 Dec 2026 12:00:00 GMT": "ok",
        "03 Dec 2026 12:00:00 UTC": "ok",  # tolerated: parseable and carries a time zone
        "aaaa": "invalid Date header",
        "Thu, 03 Dec 2026 08:00:00 GMT": "ok",  # within Mastodon's 12 h window
        "Mon, 01 Dec 2025 12:00:00 GMT": "Date outside the allowed window",
    }


def test_date_without_time_zone_is_invalid(bob: SigningKey, bob_public: object) -> None:
    headers = {"Host": "hq.test", "Date": "03 Dec 2026 12:00:00"}
    text = signing_string("GET", "/", headers, ["host", "date"])
    headers["Signature"] = f'keyId="k",headers="host date",signature="{raw_sign(bob, text)}"'
    with pytest.raises(SignatureError, match="invalid Date header"):
        verify_request(
            method="GET", target="/", headers=headers, body=None, public_key=bob_public, now=NOW
        )


def test_sig_keyid_forms() -> None:
    case = load_case("sig-keyid-forms")
    for key_id in case["input"]["keyId_variants"]:
        params = parse_signature_header(
            f'keyId="{key_id}",algorithm="rsa-sha256",headers="(request-target) host date",'
            'signature="AAAA"'
        )
        assert params.key_id == key_id


def test_digest_over_raw_bytes(bob: SigningKey, bob_public: object) -> None:
    case = load_case("digest-over-raw-bytes")
    raw = case["input"]["raw_body"].encode("utf-8")
    assert digest_header(raw) == case["input"]["headers_ok"]["Digest"]
    signed = sign_request(method="POST", url="https://hq.test/inbox", key=bob, body=raw, now=NOW)
    verify_request(
        method="POST", target="/inbox", headers=signed, body=raw, public_key=bob_public, now=NOW
    )
    # The re-serialised digest (a NodeBB bug) does not match the raw bytes.
    names = ["(request-target)", "host", "date", "digest"]
    wrong = dict(signed, Digest=case["input"]["digest_of_reserialized_body_(wrong)"])
    text = signing_string("POST", "/inbox", wrong, names)
    wrong["Signature"] = with_signature(signed["Signature"], raw_sign(bob, text))
    with pytest.raises(SignatureError, match="digest mismatch"):
        verify_request(
            method="POST",
            target="/inbox",
            headers=wrong,
            body=raw,
            public_key=bob_public,
            now=NOW,
        )
    # Digest present but not covered by the signature.
    names = ["(request-target)", "host", "date"]
    text = signing_string("POST", "/inbox", signed, names)
    uncovered = dict(
        signed,
        Signature=f'keyId="{BOB_KEY_ID}",headers="{" ".join(names)}",'
        f'signature="{raw_sign(bob, text)}"',
    )
    with pytest.raises(SignatureError, match="digest not covered by the signature"):
        verify_request(
            method="POST",
            target="/inbox",
            headers=uncovered,
            body=raw,
            public_key=bob_public,
            now=NOW,
        )
