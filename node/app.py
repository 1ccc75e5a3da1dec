"""The app factory: ``create_app(settings)`` builds one node; nothing happens at import time."""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from quart import Quart, Response, jsonify
from tortoise.context import TortoiseContext
from werkzeug.exceptions import HTTPException

from federation.gate import Gate, GateConfig
from federation.routes import create_blueprint
from federation.worker import DeliveryWorker, InboxWorker

from . import __version__
from .api import create_api
from .db import open_database
from .documents import NodeDocuments
from .handlers import InboxHandler
from .runtime import build_runtime
from .services.accounts import ensure_instance_actor, signing_key
from .settings import Settings
from .stores import DbDeliveryQueue, DbInboxLog, DbPeerPreferences
from .web import create_web

__all__ = ["create_app"]


@dataclass(slots=True)
class _State:
    ctx: TortoiseContext | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class _WithDatabase:
    """ASGI wrapper: every request runs inside the node's own TortoiseContext.

    ``with ctx:`` keeps its reset token on the shared context object, which concurrent requests
    would overwrite; so each request runs as a task in a copied ``contextvars.Context`` where the
    node's context is entered once and simply dropped with the task.
    """

    def __init__(self, app: Any, state: _State) -> None:
        self._app = app
        self._state = state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        ctx = self._state.ctx
        if ctx is None or scope["type"] == "lifespan":
            await self._app(scope, receive, send)
            return
        request_context = contextvars.copy_context()
        request_context.run(ctx.__enter__)
        await asyncio.create_task(self._app(scope, receive, send), context=request_context)


def create_app(settings: Settings) -> Quart:
    app = Quart("node")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_inbox_bytes
    app.config["BODY_TIMEOUT"] = 20
    state = _State()
    rt = build_runtime(settings, user_agent=f"Plein/{__version__} (+{settings.base_url})")
    client, resolver, postgres = rt.client, rt.resolver, rt.postgres
    inbox_log = DbInboxLog(postgres=postgres)
    queue = DbDeliveryQueue(postgres=postgres)
    handler = InboxHandler(rt)
    inbox_worker = InboxWorker(
        inbox_log, handler, policy=settings.inbox_policy, poll_seconds=settings.poll_seconds
    )
    delivery_worker = DeliveryWorker(
        queue,
        client,
        lambda actor: signing_key(rt, actor),
        policy=settings.delivery_policy,
        poll_seconds=settings.poll_seconds,
        peers=DbPeerPreferences(),
    )
    rt.wake_delivery = delivery_worker.wake
    documents = NodeDocuments(rt)
    gate = Gate(
        GateConfig(
            allow=settings.allows,
            max_body_bytes=settings.max_inbox_bytes,
            scheme=urlsplit(settings.base_url).scheme,
        ),
        resolver,
    )
    app.register_blueprint(
        create_blueprint(
            gate=gate,
            inbox=inbox_log,
            documents=documents,
            base_url=settings.base_url,
            local_hosts=frozenset({settings.netloc}),
            version=__version__,
            wake_inbox=inbox_worker.wake,
        )
    )
    app.register_blueprint(create_api(rt))
    app.register_blueprint(create_web(rt))
    app.asgi_app = _WithDatabase(app.asgi_app, state)  # type: ignore[method-assign]
    app.extensions["plein"] = rt

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> tuple[Response, int]:
        """Every HTTP error answers in JSON, like the API's own refusals."""
        status = exc.code or 500
        if status == 413:
            message = f"body exceeds {settings.max_inbox_bytes} bytes"
        else:
            message = (exc.name or "error").lower()
        return jsonify({"error": message}), status

    @app.errorhandler(Exception)
    async def server_error(exc: Exception) -> tuple[Response, int]:
        if isinstance(exc, HTTPException):
            return await http_error(exc)
        app.logger.exception("unhandled error", exc_info=exc)
        return jsonify({"error": "internal error; the node's log has the details"}), 500

    @app.before_serving
    async def start() -> None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        state.ctx = await open_database(settings.db_url)
        with state.ctx:
            await ensure_instance_actor(rt)
            # `plein run` is the only process of its node: a lease still held in the database
            # belonged to this node's previous run (killed mid-job), so hand the rows back now
            # instead of waiting for the lease to expire.
            await inbox_log.release_all()
            await queue.release_all()
            if settings.run_workers:
                state.tasks = [
                    asyncio.create_task(inbox_worker.run(state.stop)),
                    asyncio.create_task(delivery_worker.run(state.stop)),
                ]

    @app.after_serving
    async def stop() -> None:
        state.stop.set()
        for task in state.tasks:
            try:
                await asyncio.wait_for(task, timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
        await client.close()
        if state.ctx is not None:
            with state.ctx:
                await state.ctx.close_connections()

    return app
