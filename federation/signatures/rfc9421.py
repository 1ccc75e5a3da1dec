"""RFC 9421 HTTP Message Signatures, on the ``http-message-signatures`` package.

The package builds the signature base and runs the cryptography; this module adds the policy that
federation needs, the same as for draft-cavage:

- The algorithm comes from the stored key, never from the request alone. RSA keys verify with
  ``rsa-v1_5-sha256`` (what the fediverse sends) or ``rsa-pss-sha512``; Ed25519 keys with
  ``ed25519``. A request's ``alg`` may narrow that choice, never widen it (``hmac-sha256`` against
  an RSA key is refused as "unsupported algorithm"); without ``alg`` each algorithm of the key
  type is tried, all of them sound for that key.
- ``created`` is required and must lie within ``max_skew`` (12 hours, as for a cavage ``Date``) of
  our clock in either direction; an ``expires`` in the past is refused.
- :func:`verify_request` also requires the signature to cover ``@method`` and the target
  (``@target-uri``, or ``@authority`` with ``@path`` or ``@request-target``), and for a body a
  ``Content-Digest`` (RFC 9530) that is covered and matches the raw body bytes.
- When the headers carry several signatures, the first label is verified.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import http_sf
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureAlgorithm,
    InvalidSignature,
    MappingKeyResolver,
)
from http_message_signatures.algorithms import ED25519, RSA_PSS_SHA512, RSA_V1_5_SHA256

from federation.errors import SignatureError
from federation.keys import SigningKey
from federation.signatures.digest import content_digest_header, verify_content_digest
from federation.signatures.wire import sign_bytes, wire_host_and_target

__all__ = [
    "DEFAULT_MAX_SKEW",
    "MessageSignature",
    "algorithms_for",
    "parse_signature",
    "sign_request",
    "verify_message",
    "verify_request",
]

DEFAULT_MAX_SKEW = timedelta(hours=12)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_OURS = frozenset({"host", "date", "digest", "content-digest", "signature", "signature-input"})


@dataclass(frozen=True)
class MessageSignature:
    """One signature of a message: its label and the parameters of its ``Signature-Input``."""

    label: str
    key_id: str
    algorithm: str | None  # ``alg`` as sent, if any
    components: tuple[str, ...]  # covered component names, in order
    created: int | None
    expires: int | None
    signature_input: str  # the serialized member (for ``Signature-Input: <label>=<this>``)
    signature: bytes
    parameterized: frozenset[str] = frozenset()  # covered names that carry parameters

    @property
    def covered(self) -> frozenset[str]:
        """Names covered whole (without parameters such as ``key`` or ``req``)."""
        return frozenset(self.components) - self.parameterized


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        out[key] = f"{out[key]}, {value.strip()}" if key in out else value.strip()
    return out


def _parse_dictionary(name: str, value: str) -> dict[str, Any]:
    try:
        parsed = http_sf.parse(value.encode("ascii"), tltype="dictionary")
    except (ValueError, UnicodeEncodeError):
        raise SignatureError(f"malformed {name} header") from None
    if not isinstance(parsed, dict) or not parsed:
        raise SignatureError(f"malformed {name} header: empty")
    return parsed


def parse_signature(headers: Mapping[str, str]) -> MessageSignature:
    """Read the first signature of ``Signature-Input`` and its value in ``Signature``.

    Raises SignatureError naming what is missing or malformed.
    """
    lowered = _lower_headers(headers)
    if "signature-input" not in lowered:
        raise SignatureError("missing Signature-Input header")
    if "signature" not in lowered:
        raise SignatureError("missing Signature header")
    inputs = _parse_dictionary("Signature-Input", lowered["signature-input"])
    values = _parse_dictionary("Signature", lowered["signature"])
    label, (members, params) = next(iter(inputs.items()))
    if not isinstance(members, list):
        raise SignatureError(f"malformed Signature-Input header: {label} is not an inner list")
    if label not in values:
        raise SignatureError(f"malformed Signature header: no signature labelled {label}")
    value = values[label][0]
    if not isinstance(value, bytes) or not value:
        raise SignatureError(f"malformed Signature header: {label} is not a byte sequence")
    key_id = params.get("keyid")
    if not isinstance(key_id, str) or not key_id:
        raise SignatureError("malformed Signature-Input header: missing keyid")
    alg = params.get("alg")
    created = params.get("created")
    expires = params.get("expires")
    for name, number in (("created", created), ("expires", expires)):
        if number is not None and type(number) is not int:
            raise SignatureError(f"malformed Signature-Input header: {name} is not an integer")
    names: list[str] = []
    parameterized: set[str] = set()
    for item, item_params in members:
        if not isinstance(item, str):
            raise SignatureError("malformed Signature-Input header: a component is not a string")
        names.append(item)
        if item_params:
            parameterized.add(item)
    return MessageSignature(
        label=label,
        key_id=key_id,
        algorithm=alg if isinstance(alg, str) else None,
        components=tuple(names),
        created=created,
        expires=expires,
        signature_input=http_sf.ser({label: (members, params)}).split("=", 1)[1],
        signature=value,
        parameterized=frozenset(parameterized),
    )


def algorithms_for(public_key: Any) -> tuple[type[HTTPSignatureAlgorithm], ...]:
    """The algorithms a stored key may verify with (decided by the key type alone)."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return (RSA_V1_5_SHA256, RSA_PSS_SHA512)
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return (ED25519,)
    raise SignatureError(f"unsupported key type: {type(public_key).__name__}")


@dataclass
class _Message:
    """The request as http-message-signatures reads it: method, absolute URL, headers."""

    method: str
    url: str
    headers: dict[str, str]


class _Verifier(HTTPMessageVerifier):
    """The package's verifier; ``created`` and ``expires`` are checked by us, on our clock."""

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        return None


def _check_time(signature: MessageSignature, now: datetime, max_skew: timedelta) -> None:
    if signature.created is None:
        raise SignatureError("created missing: the signature must carry created")
    created = datetime.fromtimestamp(signature.created, UTC)
    if abs(now - created) > max_skew:
        raise SignatureError("created outside the allowed window")
    if signature.expires is not None and datetime.fromtimestamp(signature.expires, UTC) < now:
        raise SignatureError("signature expired")


def verify_message(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    public_key: Any,
    now: datetime | None = None,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
    signature: MessageSignature | None = None,
) -> MessageSignature:
    """Verify the first RFC 9421 signature of a message; return it.

    ``url`` is the absolute URL as the signer saw it (scheme, the ``Host`` as received, raw path
    and query). Checks the algorithm against the key type, ``created`` and ``expires``, and the
    signature itself; it does not require any component to be covered (see verify_request).
    """
    sig = signature if signature is not None else parse_signature(headers)
    candidates = algorithms_for(public_key)
    if sig.algorithm is not None:
        candidates = tuple(a for a in candidates if a.algorithm_id == sig.algorithm)
        if not candidates:
            raise SignatureError(f"unsupported algorithm: {sig.algorithm}")
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    _check_time(sig, moment, max_skew)
    # Only the chosen signature goes to the verifier (it refuses to pick among several).
    only = {
        name: value
        for name, value in headers.items()
        if name.lower() not in ("signature", "signature-input")
    }
    only["Signature-Input"] = f"{sig.label}={sig.signature_input}"
    only["Signature"] = f"{sig.label}=:{base64.b64encode(sig.signature).decode('ascii')}:"
    message = _Message(method=method.upper(), url=url, headers=only)
    resolver = MappingKeyResolver(public_keys={sig.key_id: public_key}, private_keys={})
    failure = "signature base mismatch or wrong key"
    for algorithm in candidates:
        verifier = _Verifier(signature_algorithm=algorithm, key_resolver=resolver)
        try:
            verifier.verify(message, max_age=None)
        except InvalidSignature as exc:
            cause = exc.__cause__
            if isinstance(cause, HTTPMessageSignaturesException) and not isinstance(
                cause, InvalidSignature
            ):
                failure = str(cause)  # a structural problem: a covered header is missing, ...
            continue
        except HTTPMessageSignaturesException as exc:
            raise SignatureError(f"malformed signature: {exc}") from None
        return sig
    raise SignatureError(f"signature does not verify: {failure}")


def verify_request(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    public_key: Any,
    now: datetime | None = None,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
    signature: MessageSignature | None = None,
) -> MessageSignature:
    """Verify an incoming federation request signed with RFC 9421; return the signature.

    On top of verify_message: ``@method`` and the target must be covered, and a request with a
    body (any non-empty body, or a POST/PUT/PATCH) must carry a covered ``Content-Digest`` that
    matches the raw body bytes.
    """
    sig = signature if signature is not None else parse_signature(headers)
    covered = sig.covered
    if "@method" not in covered:
        raise SignatureError("@method not covered by the signature")
    if "@target-uri" not in covered and not (
        "@authority" in covered and ("@path" in covered or "@request-target" in covered)
    ):
        raise SignatureError(
            "target not covered by the signature (@target-uri, or @authority and @path)"
        )
    lowered = _lower_headers(headers)
    needs_digest = bool(body) or (body is not None and method.upper() in _BODY_METHODS)
    if needs_digest:
        if "content-digest" not in lowered:
            raise SignatureError("missing Content-Digest header")
        if "content-digest" not in covered:
            raise SignatureError("digest not covered by the signature")
        assert body is not None
        verify_content_digest(lowered["content-digest"], body)
    return verify_message(
        method=method,
        url=url,
        headers=headers,
        public_key=public_key,
        now=now,
        max_skew=max_skew,
        signature=sig,
    )


def sign_request(
    *,
    method: str,
    url: str,
    key: SigningKey,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    now: datetime | None = None,
    label: str = "sig1",
) -> dict[str, str]:
    """Return the full headers to send with a request signed per RFC 9421.

    Adds ``Host``, ``Date`` (not covered; for logs and older peers), ``Content-Digest`` (sha-256)
    when there is a body, ``Signature-Input`` and ``Signature``. The signature covers ``@method``,
    ``@target-uri`` and ``@authority``, plus ``content-digest`` and ``content-type`` (if given)
    with a body, or ``accept`` (if given) without; it carries ``created``, ``keyid`` and ``alg``:
    ``rsa-v1_5-sha256`` for RSA keys, ``ed25519`` for Ed25519 keys.
    """
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    out = {name: value for name, value in (headers or {}).items() if name.lower() not in _OURS}
    out["Host"] = wire_host_and_target(url)[0]
    out["Date"] = format_datetime(moment.astimezone(UTC), usegmt=True)
    components: list[str] = ["@method", "@target-uri", "@authority"]
    given = {name.lower() for name in out}
    if body is not None:
        out["Content-Digest"] = content_digest_header(body)
        components.append("content-digest")
        if "content-type" in given:
            components.append("content-type")
    elif "accept" in given:
        components.append("accept")
    return _apply_signature(method, url, out, key, components, moment, label)


def _apply_signature(
    method: str,
    url: str,
    headers: dict[str, str],
    key: SigningKey,
    components: Sequence[str],
    moment: datetime,
    label: str,
) -> dict[str, str]:
    algorithm: type[HTTPSignatureAlgorithm] = (
        RSA_V1_5_SHA256 if isinstance(key.private_key, rsa.RSAPrivateKey) else ED25519
    )
    signer = HTTPMessageSigner(signature_algorithm=algorithm)
    message = _Message(method=method.upper(), url=url, headers=headers)
    prepared = signer.prepare(
        message,
        key_id=key.key_id,
        created=moment,
        covered_component_ids=tuple(components),
        label=label,
        use_existing_digest=any(name.lower() == "content-digest" for name in headers),
    )
    signer.apply(message, prepared, sign_bytes(key, prepared.signature_base))
    return message.headers
