"""Fixtures for end-to-end tests: real node processes, a signing test peer, an HTTP session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from .harness import Network
from .peer import TestPeer


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def network(tmp_path: Path, session: aiohttp.ClientSession) -> AsyncIterator[Network]:
    net = Network(tmp=tmp_path, session=session)
    try:
        yield net
    finally:
        await net.close()


@pytest.fixture
async def peer() -> AsyncIterator[TestPeer]:
    p = TestPeer()
    await p.start()
    try:
        yield p
    finally:
        await p.close()
