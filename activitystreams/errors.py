"""The exception tree of the activitystreams package: every error is a 4xx with a safe message."""

from __future__ import annotations

__all__ = ["ActivityStreamsError", "InvalidDocument"]


class ActivityStreamsError(Exception):
    """Base of every error this package raises. ``status`` is the HTTP status it maps to."""

    status: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidDocument(ActivityStreamsError):
    """A document that cannot be read as ActivityStreams; the message names the failed check."""
