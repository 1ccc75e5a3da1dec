"""The federation blueprint: WebFinger, NodeInfo, inboxes and ActivityPub documents.

Authentication is structural: one ``before_request`` gate covers every route of the blueprint.
Inbox POSTs must be signed by an allowed peer; GETs of documents must be signed (signed fetch)
except WebFinger, NodeInfo and actor documents, which carry the keys peers need to bootstrap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
from quart import Blueprint, Response, g, request

from . import nodeinfo, webfinger
from .errors import BadRequest, FederationError, NotFound, RequestTimeout
from .gate import Gate, SignedRequest
from .protocols import DocumentSource, InboxLog

__all__ = ["ACTIVITY_JSON", "create_blueprint"]

ACTIVITY_JSON = "application/activity+json"
_OPEN_PATHS = ("/.well-known/", "/nodeinfo/")
BODY_SECONDS = 20  # a peer that sends its body slower than this gets 408


def _json(doc: Any, status: int = 200, content_type: str = ACTIVITY_JSON) -> Response:
    return Response(orjson.dumps(doc), status=status, content_type=content_type)


def error_response(exc: FederationError) -> Response:
    response = _json({"error": exc.message}, status=exc.status, content_type="application/json")
    if exc.status in (408, 413):
        # The unread rest of the body is still on the wire: this connection cannot be reused.
        response.headers["Connection"] = "close"
    return response


def create_blueprint(
    *,
    gate: Gate,
    inbox: InboxLog,
    documents: DocumentSource,
    base_url: str,
    local_hosts: frozenset[str],
    version: str,
    wake_inbox: Callable[[], None],
) -> Blueprint:
    bp = Blueprint("federation", __name__)

    def signed_request(body: bytes | None) -> SignedRequest:
        target = request.scope.get("raw_path") or request.path.encode()
        query = request.scope.get("query_string") or b""
        raw = target.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        headers = {k.lower(): v for k, v in request.headers.items()}
        return SignedRequest(method=request.method, target=raw, headers=headers, body=body)

    async def read_body() -> bytes:
        """The whole body (Content-Length or chunked), refused with 413 as soon as it passes
        the limit: the chunks are counted as they arrive, never buffered past the limit."""
        received = bytearray()
        try:
            async with asyncio.timeout(BODY_SECONDS):
                async for chunk in request.body:
                    received.extend(chunk)
                    gate.check_size(len(received))
        except TimeoutError:
            raise RequestTimeout(
                f"incomplete body: {len(received)} bytes in {BODY_SECONDS} s"
            ) from None
        expected = request.content_length
        if expected is not None and len(received) != expected:
            raise BadRequest(f"incomplete body: {len(received)} of {expected} bytes")
        return bytes(received)

    @bp.before_request
    async def authenticate() -> Response | None:
        g.signer = None
        try:
            if request.method == "POST":
                gate.check_size(request.content_length)
                gate.check_content_type(request.headers.get("content-type"))
                body = await read_body()
                g.inbox_body = body
                g.signer = await gate.authenticate(signed_request(body))
                g.inbox_request = gate.read_activity(body, g.signer)
                return None
            path = request.path
            if path.startswith(_OPEN_PATHS) or await documents.is_public_key_document(path):
                return None
            g.signer = await gate.authenticate(signed_request(None))
        except FederationError as exc:
            return error_response(exc)
        return None

    @bp.route("/.well-known/webfinger")
    async def webfinger_route() -> Response:
        try:
            username = webfinger.parse_resource(
                request.args.get("resource"), local_hosts=local_hosts
            )
            actor_id = await documents.webfinger(username)
            if actor_id is None:
                raise NotFound(f"no account {username}")
        except FederationError as exc:
            return error_response(exc)
        host = next(iter(sorted(local_hosts)))
        name = actor_id.rstrip("/").rsplit("/", 1)[-1]
        doc = webfinger.jrd(subject=f"acct:{name}@{host}", actor_url=actor_id)
        return _json(doc, content_type="application/jrd+json")

    @bp.route("/.well-known/nodeinfo")
    async def nodeinfo_links() -> Response:
        return _json(nodeinfo.well_known(base_url), content_type="application/json")

    @bp.route("/nodeinfo/2.1")
    async def nodeinfo_document() -> Response:
        usage = await documents.nodeinfo_usage()
        doc = nodeinfo.nodeinfo(
            version=version,
            users_total=usage["users_total"],
            users_active_month=usage["users_active_month"],
            users_active_halfyear=usage["users_active_halfyear"],
            local_posts=usage["local_posts"],
        )
        profile = "http://nodeinfo.diaspora.software/ns/schema/2.1#"
        return _json(doc, content_type=f'application/json; profile="{profile}"')

    @bp.route("/inbox", methods=["POST"])
    @bp.route("/users/<name>/inbox", methods=["POST"])
    async def inbox_route(name: str | None = None) -> Response:
        accepted = g.inbox_request
        body = g.inbox_body
        await inbox.record(activity_id=accepted.activity_id, signer=accepted.signer, payload=body)
        wake_inbox()
        return Response("", status=202)

    @bp.route("/actor")
    @bp.route("/users/<path:rest>")
    async def document_route(rest: str = "") -> Response:
        query = {k: v for k, v in request.args.items()}
        doc = await documents.document(request.path, query, g.signer)
        if doc is None:
            return error_response(NotFound(f"no document at {request.path}"))
        status = 410 if doc.get("type") == "Tombstone" else 200
        return _json(doc, status=status)

    return bp
