"""The exception tree of the node package."""

from __future__ import annotations

__all__ = ["Conflict", "Forbidden", "Invalid", "NodeError", "NotFound"]


class NodeError(Exception):
    status: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(NodeError):
    status = 400


class Forbidden(NodeError):
    status = 403


class NotFound(NodeError):
    status = 404


class Conflict(NodeError):
    status = 409
