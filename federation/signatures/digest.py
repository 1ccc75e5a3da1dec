"""Body digests: the legacy ``Digest`` header (RFC 3230) and ``Content-Digest`` (RFC 9530).

Digests are always computed over the raw body bytes exactly as received, before any JSON parsing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable

import http_sf

from federation.errors import SignatureError

__all__ = [
    "content_digest_header",
    "digest_header",
    "verify_content_digest",
    "verify_digest",
]

_HASHES: dict[str, Callable[[bytes], bytes]] = {
    "sha-256": lambda data: hashlib.sha256(data).digest(),
    "sha-512": lambda data: hashlib.sha512(data).digest(),
}
# Spellings seen in the wild for the same algorithms.
_ALIASES = {"sha256": "sha-256", "sha512": "sha-512"}


def digest_header(body: bytes) -> str:
    """Return the ``Digest`` header value for a body: ``SHA-256=<base64>``."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def content_digest_header(body: bytes) -> str:
    """Return the RFC 9530 ``Content-Digest`` header value: ``sha-256=:<base64>:``."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def _check(found: list[tuple[str, bytes]], body: bytes) -> None:
    known = [(alg, value) for alg, value in found if alg in _HASHES]
    if not known:
        names = ", ".join(sorted({alg for alg, _ in found})) or "none"
        raise SignatureError(f"unsupported digest algorithm: {names}")
    for alg, value in known:
        if not hmac.compare_digest(_HASHES[alg](body), value):
            raise SignatureError(f"digest mismatch ({alg})")


def verify_digest(header: str, body: bytes) -> None:
    """Check a ``Digest`` header against the raw body.

    Accepts SHA-256 and SHA-512 (algorithm names are case-insensitive) and comma-separated
    values; every supported value must match. Unknown-only algorithms are refused.
    """
    found: list[tuple[str, bytes]] = []
    for part in header.split(","):
        part = part.strip()
        if not part:
            continue
        alg, sep, encoded = part.partition("=")
        if not sep or not alg.strip():
            raise SignatureError("malformed Digest header")
        name = alg.strip().lower()
        name = _ALIASES.get(name, name)
        if name in _HASHES:
            try:
                value = base64.b64decode(encoded.strip(), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise SignatureError("malformed Digest header: bad base64") from exc
        else:
            value = b""
        found.append((name, value))
    if not found:
        raise SignatureError("malformed Digest header: empty")
    _check(found, body)


def verify_content_digest(header: str, body: bytes) -> None:
    """Check an RFC 9530 ``Content-Digest`` header (an RFC 8941 dictionary) against the body."""
    try:
        parsed = http_sf.parse(header.encode("ascii"), tltype="dictionary")
    except (ValueError, UnicodeEncodeError) as exc:
        raise SignatureError("malformed Content-Digest header") from exc
    if not isinstance(parsed, dict) or not parsed:
        raise SignatureError("malformed Content-Digest header: empty")
    found: list[tuple[str, bytes]] = []
    for name, member in parsed.items():
        alg = str(name).lower()
        value = member[0] if isinstance(member, tuple) else member
        if alg in _HASHES and not isinstance(value, bytes):
            raise SignatureError("malformed Content-Digest header: value is not a byte sequence")
        found.append((alg, value if isinstance(value, bytes) else b""))
    _check(found, body)
