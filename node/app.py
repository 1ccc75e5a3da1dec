"""The app factory: ``create_app(settings)`` builds one node; nothing happens at import time."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from quart import Quart, Response, jsonify
from tortoise.context import TortoiseContext
from werkzeug.exceptions import HTTPException

from federation.gate import Gate, GateConfig
from federation.routes import create_blueprint

from . import __version__
from .api import create_api
from .db import open_database
from .documents import NodeDocuments
from .runtime import build_runtime
from .services.accounts import ensure_instance_actor
from .settings import Settings
from .web import create_web
from .workers import DELIVERY_CHANNEL, INBOX_CHANNEL, Notifier, Queues, WorkerSet

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
    client, resolver = rt.client, rt.resolver
    queues = Queues.open(rt)
    workers = WorkerSet(rt, queues)
    wake_inbox: Callable[[], None] = workers.inbox_worker.wake
    rt.wake_delivery = workers.delivery_worker.wake
    if not settings.run_workers and rt.postgres:  # the workers are `plein worker` processes
        notifier = Notifier()
        wake_inbox = partial(notifier.wake, INBOX_CHANNEL)
        rt.wake_delivery = partial(notifier.wake, DELIVERY_CHANNEL)
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
            inbox=queues.inbox,
            documents=documents,
            base_url=settings.base_url,
            local_hosts=frozenset({settings.netloc}),
            version=__version__,
            wake_inbox=wake_inbox,
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
            if not rt.postgres:
                # On SQLite the node is this one process: a lease still held in the database
                # belonged to its previous run (killed mid-job), so hand the rows back now. On
                # PostgreSQL other processes may hold leases; a dead one's run out by themselves.
                await queues.inbox.leases.release_all()
                await queues.delivery.leases.release_all()
            if settings.run_workers:
                state.tasks = workers.start(state.stop)

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
