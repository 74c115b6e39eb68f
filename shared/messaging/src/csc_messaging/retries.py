"""How often a write runs again when another writer saved the same aggregate first, and the
refusal when it keeps losing: shared by the HTTP routes (``csc_messaging.writes``) and by the
writes a service runs on its own (sla's clock ticks). No HTTP here.
"""

from __future__ import annotations

import random

from csc_messaging.refusals import RuleViolation

# How often a request runs before it is answered 409.
CONFLICT_ATTEMPTS = 8
# The first pause after a conflict, in seconds; it doubles each time (with jitter).
CONFLICT_PAUSE = 0.01


class WriteConflict(RuleViolation):
    """Other writers kept changing what this request changes; nothing of it was recorded."""

    def __init__(self, attempts: int) -> None:
        super().__init__(
            "concurrency",
            f"other requests changed the same record while this one ran, {attempts} times "
            "in a row; nothing of it was recorded: send it again (with the same "
            "Idempotency-Key, it is recorded at most once)",
            code="request.write_conflict",
            params={"attempts": attempts},
            kind="conflict",
        )


def pause_before(attempt: int) -> float:
    """Seconds to wait before running again after ``attempt`` conflicted."""
    return random.uniform(0, CONFLICT_PAUSE * 2**attempt)
