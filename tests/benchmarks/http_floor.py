"""The web stack's own ceiling: Quart on Hypercorn answering 202 to a POST, doing nothing else.

A node's inbox cannot accept faster than the framework it runs on can answer. This app reads the
body and answers 202, no signature, no database; the benchmark sends it the same signed requests
as the node, with the same clients, so the inbox rows can be read against both floors.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import aiohttp
from quart import Quart, Response, request

from tests.e2e.harness import REPO, free_port, stop_process

if TYPE_CHECKING:
    from .inbox import Signed

__all__ = ["create_app", "measure"]


def create_app() -> Quart:
    app = Quart("http_floor")

    @app.post("/inbox")
    async def inbox() -> Response:
        await request.get_data()
        return Response("", status=202)

    return app


async def measure(requests: Sequence[Signed]) -> float:
    """202s per second of the bare app for ``requests`` (one process, like the node)."""
    from .inbox import burst

    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hypercorn",
            "tests.benchmarks.http_floor:create_app()",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/inbox"
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                try:
                    async with session.post(url, data=b"{}") as resp:
                        if resp.status == 202:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
        seconds, statuses = await burst(url, requests)
        return statuses[202] / seconds
    finally:
        stop_process(process)
