"""Database ids as they arrive from clients: digits within the 64-bit range, or a clear error."""

from __future__ import annotations

from .errors import Invalid, NotFound

__all__ = ["MAX_ID", "parse_id"]

MAX_ID = 2**63 - 1


def parse_id(
    value: object, what: str, *, missing: type[Invalid] | type[NotFound] = NotFound
) -> int:
    """``value`` as a row id; anything else (text, negative, too large) is ``missing``."""
    text = str(value).strip()
    if text.isdigit() and 0 < len(text) <= 19 and int(text) <= MAX_ID:
        return int(text)
    if missing is NotFound:
        raise NotFound(f"no {what} {text[:40]}")
    raise Invalid(f"{what}: not an id")
