"""Draft-cavage HTTP signatures (draft-cavage-http-signatures-12) as the fediverse uses them.

Our own code on ``cryptography``. The verification algorithm is decided by the type of the stored
public key, never by the request: RSA keys verify with RSASSA-PKCS1-v1_5 over SHA-256, Ed25519 keys
with Ed25519. The ``algorithm`` parameter may be absent, ``hs2019``, ``rsa-sha256`` (RSA keys only)
or ``ed25519`` (Ed25519 keys only); anything else (``hmac-sha256``, ``rsa-sha1``, ``rsa-sha512``,
...) is refused as "unsupported algorithm". ``rsa-sha512`` is refused on purpose: no fediverse
server we know sends it, and accepting it would let the request choose the hash.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from federation.errors import SignatureError
from federation.keys import SigningKey
from federation.signatures.digest import digest_header, verify_content_digest, verify_digest
from federation.signatures.wire import sign_bytes, wire_host_and_target

__all__ = [
    "DEFAULT_MAX_SKEW",
    "SignatureParams",
    "parse_authorization_header",
    "parse_signature_header",
    "sign_request",
    "signature_params_from_headers",
    "signing_string",
    "verify_request",
]

DEFAULT_MAX_SKEW = timedelta(hours=12)
"""Mastodon's window: a Date (or ``(created)``) more than 12 hours from our clock is refused."""

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_PARAM = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"([^"]*)"|([^",\s]*))\s*(?:,|$)')


@dataclass(frozen=True)
class SignatureParams:
    """The parameters of a draft-cavage ``Signature`` header."""

    key_id: str
    algorithm: str | None
    headers: tuple[str, ...]
    signature: bytes
    created: int | None = None
    expires: int | None = None


def _parse_timestamp(name: str, value: str) -> int:
    try:
        return int(float(value)) if "." in value else int(value)
    except ValueError:
        raise SignatureError(f"malformed Signature header: {name} is not a number") from None


def parse_signature_header(value: str) -> SignatureParams:
    """Parse the value of a ``Signature`` header.

    ``headers`` defaults to ``("date",)`` when absent, as the draft says. Parameter names are
    matched case-insensitively; malformed input raises SignatureError.
    """
    found: dict[str, str] = {}
    pos = 0
    text = value.strip()
    if not text:
        raise SignatureError("malformed Signature header: empty")
    while pos < len(text):
        match = _PARAM.match(text, pos)
        if match is None or match.end() == pos:
            raise SignatureError(f"malformed Signature header: cannot parse at offset {pos}")
        name = match.group(1).lower()
        if name in found:
            raise SignatureError(f"malformed Signature header: duplicate parameter {name}")
        found[name] = match.group(2) if match.group(2) is not None else match.group(3)
        pos = match.end()
    key_id = found.get("keyid", "")
    if not key_id:
        raise SignatureError("malformed Signature header: missing keyId")
    encoded = found.get("signature", "")
    if not encoded:
        raise SignatureError("malformed Signature header: missing signature")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("malformed Signature header: signature is not base64") from None
    if "headers" in found:
        names = tuple(found["headers"].lower().split())
        if not names:
            raise SignatureError("malformed Signature header: empty headers list")
    else:
        names = ("date",)
    algorithm = found.get("algorithm")
    created = found.get("created")
    expires = found.get("expires")
    return SignatureParams(
        key_id=key_id,
        algorithm=algorithm.lower() if algorithm else None,
        headers=names,
        signature=signature,
        created=_parse_timestamp("created", created) if created else None,
        expires=_parse_timestamp("expires", expires) if expires else None,
    )


def parse_authorization_header(value: str) -> SignatureParams:
    """Parse an ``Authorization: Signature ...`` header value."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "signature" or not rest.strip():
        raise SignatureError("malformed Signature header: Authorization is not a Signature")
    return parse_signature_header(rest)


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-case header names; repeated names (multi-dicts) are joined with ', '."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        out[key] = f"{out[key]}, {value.strip()}" if key in out else value.strip()
    return out


def signature_params_from_headers(headers: Mapping[str, str]) -> SignatureParams:
    """Find and parse the ``Signature`` header, or ``Authorization: Signature ...``."""
    lowered = _lower_headers(headers)
    if "signature" in lowered:
        return parse_signature_header(lowered["signature"])
    auth = lowered.get("authorization", "")
    if auth.lower().startswith("signature "):
        return parse_authorization_header(auth)
    raise SignatureError("missing Signature header")


def signing_string(
    method: str,
    target: str,
    headers: Mapping[str, str],
    names: Sequence[str],
    created: int | None = None,
    expires: int | None = None,
) -> str:
    """Build the signing string.

    ``target`` is the raw path plus ``?query`` exactly as received (no re-encoding or
    reordering). Header lookups are case-insensitive.
    """
    lowered = _lower_headers(headers)
    lines: list[str] = []
    for raw_name in names:
        name = raw_name.lower()
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {target}")
        elif name == "(created)":
            if created is None:
                raise SignatureError("(created) named in the signature but created is missing")
            lines.append(f"(created): {created}")
        elif name == "(expires)":
            if expires is None:
                raise SignatureError("(expires) named in the signature but expires is missing")
            lines.append(f"(expires): {expires}")
        elif name in lowered:
            lines.append(f"{name}: {lowered[name]}")
        else:
            raise SignatureError(f"header {name} named in the signature is missing")
    return "\n".join(lines)


def sign_request(
    *,
    method: str,
    url: str,
    key: SigningKey,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """Return the full headers to send with a signed request.

    Adds ``Host`` (host:port when the port is not the scheme's default), ``Date`` (IMF-fixdate),
    ``Digest`` when there is a body, and ``Signature``. With a body the signature covers
    ``(request-target) host date digest`` plus ``content-type`` if given; without one,
    ``(request-target) host date`` plus ``accept`` if given. RSA keys sign ``rsa-sha256``,
    Ed25519 keys ``hs2019``.
    """
    host, target = wire_host_and_target(url)
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    ours = {"host", "date", "digest", "signature"}
    out = {name: value for name, value in (headers or {}).items() if name.lower() not in ours}
    out["Host"] = host
    out["Date"] = format_datetime(moment.astimezone(UTC), usegmt=True)
    names = ["(request-target)", "host", "date"]
    given = {name.lower() for name in out}
    if body is not None:
        out["Digest"] = digest_header(body)
        names.append("digest")
        if "content-type" in given:
            names.append("content-type")
    elif "accept" in given:
        names.append("accept")
    text = signing_string(method, target, out, names)
    signature = base64.b64encode(sign_bytes(key, text.encode("utf-8"))).decode("ascii")
    algorithm = "rsa-sha256" if isinstance(key.private_key, rsa.RSAPrivateKey) else "hs2019"
    out["Signature"] = (
        f'keyId="{key.key_id}",algorithm="{algorithm}",'
        f'headers="{" ".join(names)}",signature="{signature}"'
    )
    return out


def _check_algorithm(algorithm: str | None, public_key: Any) -> None:
    if isinstance(public_key, rsa.RSAPublicKey):
        allowed = {None, "hs2019", "rsa-sha256"}
    elif isinstance(public_key, ed25519.Ed25519PublicKey):
        allowed = {None, "hs2019", "ed25519"}
    else:
        raise SignatureError(f"unsupported key type: {type(public_key).__name__}")
    if algorithm not in allowed:
        raise SignatureError(f"unsupported algorithm: {algorithm}")


def _check_time(moment: datetime, now: datetime, max_skew: timedelta, what: str) -> None:
    if abs(now - moment) > max_skew:
        raise SignatureError(f"{what} outside the allowed window")


def _parse_date(value: str) -> datetime:
    try:
        moment = parsedate_to_datetime(value)
    except (ValueError, TypeError, IndexError):
        raise SignatureError("invalid Date header") from None
    if moment.tzinfo is None:
        # No time zone, or "-0000" (unknown local time): the skew cannot be checked.
        raise SignatureError("invalid Date header: no time zone")
    return moment


def _verifies(public_key: Any, signature: bytes, data: bytes) -> bool:
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            public_key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def verify_request(
    *,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes | None,
    public_key: Any,
    now: datetime | None = None,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
    params: SignatureParams | None = None,
) -> SignatureParams:
    """Verify a draft-cavage signed request and return its parameters.

    - ``target`` is the raw path and query as received; ``headers`` as received (the Host header
      is used as received, not rebuilt).
    - The algorithm comes from ``public_key`` (RSA: PKCS1-v1_5/SHA-256; Ed25519), see the module
      docstring for the accepted ``algorithm`` values.
    - ``date`` or ``(created)`` must be covered; a Date must parse (IMF-fixdate, or other RFC 2822
      forms with a time zone such as ``03 Dec 2026 12:00:00 UTC``) and lie within ``max_skew`` of
      ``now`` in either direction. The default is Mastodon's 12 hours. The check is never skipped.
      An ``expires`` in the past is refused.
    - A request with a body (any non-empty body, or a POST/PUT/PATCH) must carry a ``Digest`` (or
      ``Content-Digest``) covered by the signature and matching the raw body bytes.
    - ``host`` should be covered, but a signature that does not cover it is accepted: several
      servers leave it out, and the Date window and (request-target) still bind the request.
    """
    if params is None:
        params = signature_params_from_headers(headers)
    _check_algorithm(params.algorithm, public_key)
    moment_now = now if now is not None else datetime.now(UTC)
    if moment_now.tzinfo is None:
        moment_now = moment_now.replace(tzinfo=UTC)
    lowered = _lower_headers(headers)
    covered = set(params.headers)

    if "date" not in covered and "(created)" not in covered:
        raise SignatureError("Date not covered by the signature")
    if "date" in covered:
        if "date" not in lowered:
            raise SignatureError("header date named in the signature is missing")
        _check_time(_parse_date(lowered["date"]), moment_now, max_skew, "Date")
    if "(created)" in covered:
        if params.created is None:
            raise SignatureError("(created) named in the signature but created is missing")
        created = datetime.fromtimestamp(params.created, UTC)
        _check_time(created, moment_now, max_skew, "(created)")
    if params.expires is not None and datetime.fromtimestamp(params.expires, UTC) < moment_now:
        raise SignatureError("signature expired")

    needs_digest = bool(body) or (body is not None and method.upper() in _BODY_METHODS)
    if needs_digest:
        assert body is not None
        if "digest" in covered and "digest" in lowered:
            verify_digest(lowered["digest"], body)
        elif "content-digest" in covered and "content-digest" in lowered:
            verify_content_digest(lowered["content-digest"], body)
        elif "digest" in lowered or "content-digest" in lowered:
            raise SignatureError("digest not covered by the signature")
        elif "digest" in covered:
            raise SignatureError("header digest named in the signature is missing")
        else:
            raise SignatureError("missing Digest header")

    text = signing_string(
        method, target, headers, params.headers, created=params.created, expires=params.expires
    )
    if _verifies(public_key, params.signature, text.encode("utf-8")):
        return params
    if "host" in covered and ":" in lowered.get("host", "").rsplit("]", 1)[-1]:
        # Diagnose the common signer bug: host signed without its port.
        bare = dict(lowered, host=lowered["host"].rsplit(":", 1)[0])
        retry = signing_string(method, target, bare, params.headers, params.created, params.expires)
        if _verifies(public_key, params.signature, retry.encode("utf-8")):
            raise SignatureError("host mismatch: the signature covers the host without its port")
    raise SignatureError("signature does not verify: signing string mismatch or wrong key")
