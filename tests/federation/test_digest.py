"""Body digests: legacy Digest and RFC 9530 Content-Digest."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from federation.errors import SignatureError
from federation.signatures import (
    content_digest_header,
    digest_header,
    verify_content_digest,
    verify_digest,
)

BODY = b'{"type": "Create"}'
SHA256 = base64.b64encode(hashlib.sha256(BODY).digest()).decode()
SHA512 = base64.b64encode(hashlib.sha512(BODY).digest()).decode()


def test_digest_header_shape() -> None:
    assert digest_header(BODY) == f"SHA-256={SHA256}"
    assert content_digest_header(BODY) == f"sha-256=:{SHA256}:"


@pytest.mark.parametrize(
    "header",
    [
        f"SHA-256={SHA256}",
        f"sha-256={SHA256}",
        f"SHA-512={SHA512}",
        f"SHA-256={SHA256}, SHA-512={SHA512}",
        f"MD5=abc,SHA-256={SHA256}",
    ],
)
def test_verify_digest_accepts(header: str) -> None:
    verify_digest(header, BODY)


def test_verify_digest_mismatch() -> None:
    with pytest.raises(SignatureError, match="digest mismatch"):
        verify_digest(f"SHA-256={SHA256}", BODY + b" ")
    with pytest.raises(SignatureError, match="digest mismatch"):
        verify_digest(f"SHA-256={SHA256}, SHA-512={SHA256}", BODY)


def test_verify_digest_unknown_only_and_malformed() -> None:
    with pytest.raises(SignatureError, match="unsupported digest algorithm"):
        verify_digest("MD5=abcd", BODY)
    with pytest.raises(SignatureError, match="malformed Digest header"):
        verify_digest("SHA-256=@@@", BODY)
    with pytest.raises(SignatureError, match="malformed Digest header"):
        verify_digest("", BODY)


def test_content_digest() -> None:
    verify_content_digest(content_digest_header(BODY), BODY)
    verify_content_digest(f"sha-512=:{SHA512}:, sha-256=:{SHA256}:", BODY)
    with pytest.raises(SignatureError, match="digest mismatch"):
        verify_content_digest(content_digest_header(BODY), b"{}")
    with pytest.raises(SignatureError, match="unsupported digest algorithm"):
        verify_content_digest("md5=:AAAA:", BODY)
    with pytest.raises(SignatureError, match="malformed Content-Digest"):
        verify_content_digest("sha-256=:not base64", BODY)
    with pytest.raises(SignatureError, match="malformed Content-Digest"):
        verify_content_digest(f"sha-256={SHA256[:8]}", BODY)


def test_body_read_fully_digest_over_70_kb() -> None:
    from tests.cases import load_case

    case = load_case("body-read-fully")
    shape = case["input"]["body_shape"]
    shape["object"]["content"] = "<p>" + "x" * 70_000 + "</p>"
    raw = json.dumps(shape).encode()
    assert len(raw) > 70_000
    header = digest_header(raw)
    verify_digest(header, raw)
    with pytest.raises(SignatureError, match="digest mismatch"):
        verify_digest(header, raw[:3100])
