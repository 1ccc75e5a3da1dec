"""The declared state machines of the inbox log and the delivery queue.

States, allowed transitions, the retry schedule and the give-up horizon live here, in one place,
and are checked when the module loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = [
    "DELIVERY_TRANSITIONS",
    "INBOX_TRANSITIONS",
    "DeliveryState",
    "InboxState",
    "RetryPolicy",
    "check_transition",
]


class InboxState(StrEnum):
    PENDING = "pending"  # committed, waiting for a worker (also: errored, waiting for a retry)
    PROCESSED = "processed"  # side effects applied
    REJECTED = "rejected"  # refused by policy; kept with the reason
    DEAD = "dead"  # errored past the horizon; kept with the last error for the admins


class DeliveryState(StrEnum):
    PENDING = "pending"  # due at next_attempt_at (new, or retrying after a failure)
    DONE = "done"  # the peer answered 2xx
    FAILED = "failed"  # the peer refused it for good (4xx that retrying cannot fix)
    GIVEN_UP = "given_up"  # still failing when the horizon passed


INBOX_TRANSITIONS: dict[InboxState, frozenset[InboxState]] = {
    InboxState.PENDING: frozenset(
        {InboxState.PENDING, InboxState.PROCESSED, InboxState.REJECTED, InboxState.DEAD}
    ),
    InboxState.PROCESSED: frozenset(),
    InboxState.REJECTED: frozenset(),
    InboxState.DEAD: frozenset({InboxState.PENDING}),  # an admin may retry
}

DELIVERY_TRANSITIONS: dict[DeliveryState, frozenset[DeliveryState]] = {
    DeliveryState.PENDING: frozenset(
        {DeliveryState.PENDING, DeliveryState.DONE, DeliveryState.FAILED, DeliveryState.GIVEN_UP}
    ),
    DeliveryState.DONE: frozenset(),
    DeliveryState.FAILED: frozenset({DeliveryState.PENDING}),
    DeliveryState.GIVEN_UP: frozenset({DeliveryState.PENDING}),
}


def check_transition(table: dict[str, frozenset[str]], old: str, new: str) -> None:
    if new not in table[old]:
        raise ValueError(f"transition {old} -> {new} is not declared")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: first_delay * factor**(attempt-1), capped, until the horizon."""

    first_delay: timedelta = timedelta(seconds=30)
    factor: float = 2.0
    max_delay: timedelta = timedelta(hours=6)
    horizon: timedelta = timedelta(days=2)

    def next_attempt(
        self, *, attempts: int, created_at: datetime, now: datetime
    ) -> datetime | None:
        """When to try again after ``attempts`` failed tries, or None once past the horizon."""
        delay = self.first_delay * (self.factor ** max(attempts - 1, 0))
        delay = min(delay, self.max_delay)
        at = now + delay
        if at > created_at + self.horizon:
            return None
        return at


def _check_tables() -> None:
    for table in (INBOX_TRANSITIONS, DELIVERY_TRANSITIONS):
        states = set(table)
        for targets in table.values():
            if not targets <= states:
                raise RuntimeError(f"undeclared state in transitions: {targets - states}")


_check_tables()
