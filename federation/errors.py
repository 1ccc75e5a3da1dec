"""The exception tree of the federation package.

Every error carries an HTTP ``status`` and a ``message`` that is safe to show to the peer and
names the check that failed.
"""

from __future__ import annotations

__all__ = [
    "BadRequest",
    "FederationError",
    "FetchError",
    "Forbidden",
    "NotFound",
    "PayloadTooLarge",
    "Rejected",
    "RequestTimeout",
    "RetryLater",
    "SignatureError",
    "UnsupportedMediaType",
]


class FederationError(Exception):
    status: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(FederationError):
    status = 400


class SignatureError(FederationError):
    """Missing, malformed or failing HTTP signature or digest (401)."""

    status = 401


class Forbidden(FederationError):
    """Authenticated but not allowed: domain not on the allowlist, signer not the actor (403)."""

    status = 403


class NotFound(FederationError):
    status = 404


class RequestTimeout(FederationError):
    """The request body did not arrive in time (408)."""

    status = 408


class PayloadTooLarge(FederationError):
    status = 413


class UnsupportedMediaType(FederationError):
    status = 415


class FetchError(FederationError):
    """An outgoing request failed: not allowed, too large, too slow, bad status, bad JSON."""

    status = 502


class Rejected(FederationError):
    """An application handler refuses an accepted activity by policy (the record ends rejected)."""

    status = 403


class RetryLater(FederationError):
    """An application handler cannot apply the activity yet (e.g. a Like before its post)."""

    status = 503
