"""The session-wide guard of tests/conftest.py refuses connections off this machine."""

from __future__ import annotations

import socket

import pytest


def test_given_the_guard_when_connecting_outside_then_refused() -> None:
    with socket.socket() as s, pytest.raises(ConnectionRefusedError, match="loopback only"):
        s.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed, and never even tried here
