"""The one authentication gate of the federation blueprint.

Every check an incoming request must pass lives here, in order, and each failure raises a
FederationError whose message names the check: size, content type, signature (draft-cavage or
RFC 9421, with digest and Date/created window), the allowlist, and for activities that the
signer owns the actor.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson

from activitystreams import Activity, InvalidDocument, parse_activity
from activitystreams.model import Object

from .errors import BadRequest, Forbidden, PayloadTooLarge, SignatureError, UnsupportedMediaType
from .keys import load_public_key
from .resolve import KeyResolver
from .signatures import rfc9421
from .signatures.cavage import SignatureParams, parse_signature_header, verify_request

__all__ = ["ACTIVITY_MEDIA_TYPES", "Gate", "GateConfig", "InboxRequest", "SignedRequest"]

ACTIVITY_MEDIA_TYPES = frozenset(
    {"application/activity+json", "application/ld+json", "application/json"}
)


@dataclass(frozen=True, slots=True)
class GateConfig:
    allow: Callable[[str], bool]  # netloc -> may this peer talk to us?
    max_body_bytes: int = 1_000_000
    max_skew: timedelta = timedelta(hours=12)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    scheme: str = "https"  # our public scheme: RFC 9421 ``@target-uri`` is rebuilt with it


@dataclass(frozen=True, slots=True)
class SignedRequest:
    method: str
    target: str  # raw path plus "?query" exactly as received
    headers: Mapping[str, str]  # lower-case names
    body: bytes | None


@dataclass(frozen=True, slots=True)
class InboxRequest:
    signer: str
    activity: Activity
    activity_id: str


class Gate:
    def __init__(self, config: GateConfig, resolver: KeyResolver) -> None:
        self._config = config
        self._resolver = resolver

    def check_size(self, content_length: int | None) -> None:
        if content_length is not None and content_length > self._config.max_body_bytes:
            raise PayloadTooLarge(
                f"body of {content_length} bytes exceeds the limit of "
                f"{self._config.max_body_bytes} bytes"
            )

    def check_content_type(self, content_type: str | None) -> None:
        media = (content_type or "").split(";", 1)[0].strip().lower()
        if media not in ACTIVITY_MEDIA_TYPES:
            raise UnsupportedMediaType(
                f"content type {media or '(none)'!r} is not an ActivityPub type"
            )

    async def authenticate(self, request: SignedRequest) -> str:
        """Verify the HTTP signature; return the id of the actor that owns the key.

        RFC 9421 when the request carries ``Signature-Input`` (and its ``Signature`` is not a
        draft-cavage one), draft-cavage otherwise. Both resolve the key the same way.
        """
        value = request.headers.get("signature")
        if value is None:
            auth = request.headers.get("authorization", "")
            if auth.lower().startswith("signature "):
                value = auth[len("signature ") :]
        if "signature-input" in request.headers and (
            value is None or "keyid=" not in value.lower()
        ):
            return await self._authenticate_rfc9421(request)
        if value is None:
            raise SignatureError("missing Signature header")
        params = parse_signature_header(value)
        return await self._with_key(
            params.key_id, lambda pem: self._verify_cavage(request, params, pem)
        )

    async def _authenticate_rfc9421(self, request: SignedRequest) -> str:
        # Every refusal is a 401 naming RFC 9421, never a 400: a double-knocking sender then
        # retries with draft-cavage, and nothing is ever taken as an unsigned delivery.
        try:
            signature = rfc9421.parse_signature(request.headers)
            host = request.headers.get("host")
            if not host:
                raise SignatureError("missing Host header")
            url = f"{self._config.scheme}://{host}{request.target}"
            return await self._with_key(
                signature.key_id,
                lambda pem: self._verify_rfc9421(request, url, signature, pem),
            )
        except SignatureError as exc:
            raise SignatureError(f"RFC 9421 signature: {exc.message}") from exc

    async def _with_key(self, key_id: str, verify: Callable[[str], None]) -> str:
        """Allowlist, resolve the key (cache, then fetch), verify; refetch once on failure."""
        key_host = urlsplit(key_id).netloc
        if not key_host:
            raise SignatureError(f"keyId {key_id!r} is not a URL")
        if not self._config.allow(key_host):
            raise Forbidden(f"domain not allowed: {key_host}")
        cached = await self._resolver.cached(key_id)
        key = cached or await self._resolver.fetch(key_id)
        try:
            verify(key.pem)
        except SignatureError:
            if cached is None:
                raise
            # The actor may have rotated its key. An Update of the actor already processed
            # (here or by another process of this node) has put the new key in the store: use it.
            stored = await self._resolver.stored(key_id)
            if stored is not None and stored.pem != cached.pem:
                try:
                    verify(stored.pem)
                    return stored.owner
                except SignatureError:
                    pass
            # Otherwise refetch once (rate-limited), never in a loop.
            if not self._resolver.may_refetch(key_id):
                raise
            key = await self._resolver.fetch(key_id)
            verify(key.pem)
        return key.owner

    def _verify_cavage(self, request: SignedRequest, params: SignatureParams, pem: str) -> None:
        verify_request(
            method=request.method,
            target=request.target,
            headers=request.headers,
            body=request.body,
            public_key=load_public_key(pem),
            now=self._config.clock(),
            max_skew=self._config.max_skew,
            params=params,
        )

    def _verify_rfc9421(
        self, request: SignedRequest, url: str, signature: rfc9421.MessageSignature, pem: str
    ) -> None:
        rfc9421.verify_request(
            method=request.method,
            url=url,
            headers=request.headers,
            body=request.body,
            public_key=load_public_key(pem),
            now=self._config.clock(),
            max_skew=self._config.max_skew,
            signature=signature,
        )

    def read_activity(self, body: bytes, signer: str) -> InboxRequest:
        """Parse the body and check that the signer speaks for the activity's actor."""
        try:
            doc: Any = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"malformed JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise BadRequest("the body is not a JSON object")
        try:
            activity = parse_activity(doc)
        except InvalidDocument as exc:
            raise BadRequest(exc.message) from exc
        if activity.actor != signer:
            raise Forbidden(f"signer {signer} may not speak for actor {activity.actor}")
        if activity.type in ("Create", "Update") and isinstance(activity.object, Object):
            authors = activity.object.attributed_to
            if authors and signer not in authors:
                raise Forbidden(
                    f"actor {signer} is not the author of {activity.object.id or 'the object'}"
                )
        activity_id = activity.id or _content_id(body)
        if activity.id and urlsplit(activity.id).netloc != urlsplit(signer).netloc:
            raise Forbidden(f"activity id {activity.id} is not on the actor's host")
        return InboxRequest(signer=signer, activity=activity, activity_id=activity_id)


def _content_id(body: bytes) -> str:
    return "urn:plein:sha256:" + hashlib.sha256(body).hexdigest()
