"""The sla service's public events, on ``csc.sla.v1``: the life of each promise's clock.

``case_id`` is the register entry the promise was made on; ``clock_id``
names the clock (one per case and kind).
"""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from csc_contracts.common import CustomerRef, UtcDatetime
from csc_contracts.events import PublicEvent

ClockKind = Literal["reply", "on_site", "important_ack", "qc_contact"]


class _ClockEvent(PublicEvent):
    service: ClassVar[str] = "sla"

    clock_id: UUID
    clock: ClockKind = Field(
        description="reply (4.2.1), on_site (4.2.2), important_ack (4.1.3) or qc_contact (4.4.3)."
    )
    clause: str = Field(description="The procedure's clause that makes the promise.")


class ClockStarted(_ClockEvent):
    """A promise started: what is due when, by which calendar, and who is told on the way."""

    customer: CustomerRef
    customer_class: Literal["oem", "standard"]
    started_at: UtcDatetime
    target_hours: float
    business_hours: bool = Field(description="Counted in business hours, else wall-clock.")
    timezone: str
    warn_at: UtcDatetime
    due_at: UtcDatetime
    escalate_at: UtcDatetime
    recorded_at: UtcDatetime | None = Field(
        default=None,
        description="When the fact that started it was recorded; started_at is when it "
        "happened. Deadlines already past then are held until settle_at.",
    )
    settle_at: UtcDatetime | None = Field(
        default=None,
        description="Until then the facts entered with a backdated clock may still meet "
        "it; deadlines that had passed before recorded_at are announced, found late, "
        "only after it and only if the clock is still open.",
    )


FoundLate = Field(
    default=False,
    description="The deadline had passed before the clock was recorded (a fact entered "
    "after the event): found after the fact, not a live alarm.",
)


class ClockPaused(_ClockEvent):
    """The clock stopped counting, e.g. the customer is unreachable or samples are awaited."""

    paused_at: UtcDatetime
    reason: str
    note: str | None = None


class ClockResumed(_ClockEvent):
    """The clock counts again; its deadlines moved by the time it was paused."""

    resumed_at: UtcDatetime
    paused_hours: float = Field(description="Counted time the pause excluded.")
    warn_at: UtcDatetime
    due_at: UtcDatetime
    escalate_at: UtcDatetime


class ClockWarned(_ClockEvent):
    """A share of the target has passed: the owning department is warned."""

    at: UtcDatetime = Field(description="When the warning was due (its true time).")
    notify_department: str
    found_late: bool = FoundLate


class ClockBreached(_ClockEvent):
    """The promise is broken: Marketing's manager is told."""

    at: UtcDatetime = Field(description="The due time that passed.")
    notify_department: str
    notify_role: str = "manager"
    found_late: bool = FoundLate


class ClockEscalated(_ClockEvent):
    """Still not met some hours after the breach: the Chief Engineer is told."""

    at: UtcDatetime
    level: int
    notify_department: str
    found_late: bool = FoundLate


class ClockMet(_ClockEvent):
    """The promise was kept (or kept late: ``within_target`` false)."""

    met_at: UtcDatetime
    within_target: bool
    paused_hours: float


SLA_EVENTS: tuple[type[PublicEvent], ...] = (
    ClockStarted,
    ClockPaused,
    ClockResumed,
    ClockWarned,
    ClockBreached,
    ClockEscalated,
    ClockMet,
)
