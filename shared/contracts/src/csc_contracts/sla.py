"""The sla service's public events, on ``csc.sla.v1``: the life of each promise's clock,
and the rules clocks count by (calendars and the SLA policy), version by version.

``case_id`` is the register entry the promise was made on; ``clock_id``
names the clock (one per case and kind). For a calendar's or the policy's
versions ``case_id`` is the rulebook's id, the same for all its versions.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

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
    calendar: str | None = Field(
        default=None, description="The calendar it counts by (CalendarVersionRecorded)."
    )
    calendar_version: int | None = Field(
        default=None, description="The calendar's version in force when it started."
    )
    policy_version: int | None = Field(
        default=None, description="The policy's version in force when it started."
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


class ClockRetimed(_ClockEvent):
    """A new calendar or policy that said so re-timed the running clock: the time counted
    before stays counted, the rest counts by the new rules; announced deadlines stay."""

    at: UtcDatetime = Field(description="When the change took effect.")
    reason: str
    calendar: str
    calendar_version: int
    policy_version: int | None
    target_hours: float
    business_hours: bool
    timezone: str
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


class ClockStopped(_ClockEvent):
    """The register entry was closed by its follow-up (4.6) before the promise was met:
    the clock counts no more and fires nothing more. Neither met nor breached; a breach
    announced before stays announced. ``actor`` is who recorded the follow-up."""

    stopped_at: UtcDatetime = Field(description="When the closing follow-up was recorded.")
    reason: str
    month: str = Field(
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
        description="The month (YYYY-MM) whose feedback the follow-up was for.",
    )
    follow_up_event_id: UUID = Field(description="The FollowUpRecorded that closed the entry.")
    status: Literal["running", "warned", "breached", "escalated", "paused"] = Field(
        description="What the clock was doing when it stopped."
    )


class _RulesEvent(PublicEvent):
    service: ClassVar[str] = "sla"

    effective_at: UtcDatetime | None = Field(
        description="Clocks whose starting fact was recorded from then on count by it; "
        "null: the first version, in force from the start (CSC_SLA_POLICY's)."
    )
    reason: str = Field(description="Why it was changed, as its author said.")
    retime_running: bool = Field(
        description="The change also re-timed the clocks running then (ClockRetimed)."
    )
    source: Literal["CSC_SLA_POLICY", "api"] = Field(
        description="CSC_SLA_POLICY: the first version, from the service's configuration."
    )


class OfficialDays(BaseModel):
    """A country's official holidays and make-up working days, as recorded with a version."""

    model_config = ConfigDict(frozen=True)

    source: str = Field(
        description="The data source and its version, e.g. chinese-calendar 1.11.0."
    )
    years: list[int] = Field(description="First and last year it publishes.")
    holidays: dict[date, str] = Field(description="Day -> the holiday's name.")
    makeup_days: dict[date, str] = Field(
        description="Day off by the week that is worked (调休) -> the holiday it makes up for."
    )


class CalendarVersionRecorded(_RulesEvent):
    """A calendar's new version: the working windows, holidays and make-up days that
    business-hours clocks count by."""

    calendar: str = Field(description="Its name, as clocks and the policy's rules name it.")
    calendar_version: int = Field(description="1 for the first, then one more per change.")
    timezone: str | None = Field(description="IANA zone; null: the customer's site zone.")
    week: dict[str, list[str]] = Field(
        description="mon..sun -> working windows HH:MM-HH:MM, in order (24:00 is midnight)."
    )
    holidays: list[date]
    makeup_days: list[date] = Field(description="Days off by the week that are worked (调休).")
    makeup_windows: list[str] | None = Field(description="Their windows; null: Monday's.")
    official: OfficialDays | None = Field(
        description="Official days included, expanded when the version was recorded; "
        "the calendar's own holidays and make-up days take precedence."
    )
    note: str | None = None


class PolicyVersionRecorded(_RulesEvent):
    """The SLA policy's new version: targets and ladders per customer class, and which
    calendar a customer's clocks count by."""

    policy_version: int = Field(description="1 for the first, then one more per change.")
    policy: dict[str, Any] = Field(
        description="standard, oem (targets per clock kind, ladder), default_timezone, "
        "calendar_rules; as PUT /policy takes it."
    )


SLA_EVENTS: tuple[type[PublicEvent], ...] = (
    ClockStarted,
    ClockPaused,
    ClockResumed,
    ClockWarned,
    ClockBreached,
    ClockEscalated,
    ClockMet,
    ClockRetimed,
    ClockStopped,
    CalendarVersionRecorded,
    PolicyVersionRecorded,
)
