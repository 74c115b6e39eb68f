"""What sla's GETs answer, field by field, so the OpenAPI names every one.

Each model forbids fields it does not declare: a field the read model gains and
the answer forgets fails loudly (a validation error in the tests), rather than
vanishing from the answers. Times are the strings the events carried (ISO 8601,
with their offset), as the read model keeps them.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from csc_contracts import Department
from csc_messaging.answers import Answer, Day, Moment

__all__ = ["Answer", "Day", "Moment"]

Month = Annotated[str, Field(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")]

ClockKindName = Literal["reply", "on_site", "important_ack", "qc_contact"]
ClockStatus = Literal["running", "warned", "breached", "escalated", "paused", "met", "stopped"]
PauseReason = Literal["customer_unreachable", "waiting_for_customer_samples", "other"]


class Customer(Answer):
    """The customer as the event that named it did (the archive's code and class)."""

    code: str
    name: str | None
    oem: bool | None = Field(description="An OEM customer (4.1.4), as archived.")
    timezone: str | None = Field(description="IANA time zone of the customer's first site.")


class Who(Answer):
    user: str
    department: Department


class ClockPause(Answer):
    paused_at: Moment = Field(description="When the clock stopped counting.")
    reason: PauseReason
    note: str | None
    by: Who = Field(description="Who paused it (the system, when an answer resumed it).")
    resumed_at: Moment | None = Field(description="When it counted again; null while paused.")


class ClockRetime(Answer):
    at: Moment = Field(description="When the change that re-timed it took effect.")
    reason: str
    by: Who
    calendar: str
    calendar_version: int
    policy_version: int | None
    due_at: Moment = Field(description="The due time it set.")


class ClockStop(Answer):
    """4.6: the follow-up that closed the entry, and the clock with it."""

    at: Moment = Field(description="When the closing follow-up was recorded.")
    reason: str
    month: Month = Field(description="The month whose feedback the follow-up was for.")
    by: Who = Field(description="Who recorded the follow-up.")
    follow_up_event_id: UUID = Field(description="The FollowUpRecorded that closed it.")
    status: Literal["running", "warned", "breached", "escalated", "paused"] = Field(
        description="What the clock was doing when it stopped."
    )


class ClockAnswer(Answer):
    """One promise of the procedure for one case, and where its deadlines stand."""

    clock_id: UUID
    clock: ClockKindName = Field(
        description="reply (4.2.1), on_site (4.2.2), important_ack (4.1.3), qc_contact (4.4.3)."
    )
    clause: str = Field(description="The procedure's clause the promise comes from.")
    case_id: UUID
    customer: Customer
    customer_class: Literal["oem", "standard"] = Field(description="Whose policy applies.")
    started_by_event: UUID = Field(description="The public event that started the clock.")
    started_at: Moment = Field(description="When the fact that starts the promise happened.")
    target_hours: float = Field(description="The promise, in (business) hours.")
    business_hours: bool = Field(description="Whether the target counts business hours only.")
    warn_at: Moment
    due_at: Moment = Field(description="The promise's deadline, moved by any pause.")
    escalate_at: Moment
    recorded_at: Moment | None = Field(
        description="When the starting fact was recorded; deadlines past by then were held."
    )
    settle_at: Moment | None = Field(
        description="Until when deadlines already past at recording wait for the facts "
        "entered with them, before they are recorded as found late."
    )
    status: ClockStatus
    found_late: bool = Field(
        description="A deadline was recorded after the fact (a backdated entry), not "
        "announced when it was due."
    )
    warned_at: Moment | None
    breached_at: Moment | None
    escalated_at: Moment | None
    met_at: Moment | None = Field(description="When the promise was answered.")
    within_target: bool | None = Field(description="Met by its due time; null while open.")
    stop: ClockStop | None = Field(
        default=None,
        description="Stopped unmet: its entry was closed by a follow-up (4.6); neither met "
        "nor breached (a breach recorded before stays).",
    )
    pauses: list[ClockPause]
    paused_hours: float = Field(description="Time the pauses took off the clock.")
    calendar: str | None = Field(
        default=None,
        description="The calendar it counts by (GET /calendars/{name}); null for clocks "
        "started before calendars were recorded.",
    )
    calendar_version: int | None = Field(
        default=None, description="That calendar's version it counts by."
    )
    policy_version: int | None = Field(
        default=None, description="The policy's version it is measured against."
    )
    retimed: list[ClockRetime] = Field(
        default=[], description="Changes of calendar or policy that re-timed it, in order."
    )
    working_hours: float | None = Field(
        default=None,
        description="The time it took, counted in its calendar's hours (in working windows, "
        "for a business-hours clock; pauses left out); null until met.",
    )


class ScheduleRow(Answer):
    """A customer's next visit (4.5) or survey (4.1.5)."""

    code: str
    name: str | None
    last: Day | None = Field(description="The last one done; null if none yet.")
    due_on: Day = Field(
        description="When the next is due: from the last, else from the registration, "
        "else from the first field service day seen."
    )
    status: Literal["overdue", "due", "ok"] = Field(
        description="overdue: past due; due: within 30 days; ok: later."
    )


class FollowUp(Answer):
    month: Month = Field(description="The month the follow-up was for.")
    at: Moment


class FollowUpTask(Answer):
    """4.6: an entry of an earlier month not yet followed up to a close."""

    case_id: UUID
    month: Month = Field(description="The month the entry was received in.")
    customer: Customer
    entry_type: Literal["feedback", "complaint"]
    follow_ups: list[FollowUp] = Field(description="The follow-ups recorded so far.")


class Share(Answer):
    started: int = Field(description="Clocks of the kind started in the month.")
    met_within_target: int
    stopped: int = Field(
        default=0,
        description="Stopped by a follow-up that closed the entry (4.6) before they were met "
        "or breached: no verdict, so left out of the share.",
    )
    share: float | None = Field(
        description="met / (started - stopped), to 4 places; null if none is left."
    )


class Breach(Answer):
    clock_id: UUID
    clock: ClockKindName
    case_id: UUID
    due_at: Moment
    breached_at: Moment
    found_late: bool
    met_at: Moment | None
    stopped_at: Moment | None = Field(
        default=None, description="When a follow-up closed the entry (4.6) after the breach."
    )
    pauses: list[PauseReason] = Field(description="Why the clock was paused, pause by pause.")


class Escalation(Answer):
    """A breach taken higher (4.2): counted in the month it was escalated in."""

    clock_id: UUID
    clock: ClockKindName
    case_id: UUID
    started_at: Moment
    due_at: Moment
    breached_at: Moment | None
    escalated_at: Moment
    found_late: bool
    met_at: Moment | None
    stopped_at: Moment | None = Field(
        default=None, description="When a follow-up closed the entry (4.6)."
    )


class CalendarCounts(Answer):
    """One clock kind's business-hours clocks started in the month under one calendar
    version, the one each was last measured by (att. 4, by calendar)."""

    calendar: str = Field(description="The calendar's name (a site's or a customer class's).")
    calendar_version: int | None = Field(
        description="Its version; null: clocks started before versions were recorded."
    )
    clock: ClockKindName
    started: int
    met_within_target: int
    stopped: int = Field(description="Stopped at the entry's close (4.6) with no verdict.")
    share: float | None = Field(
        description="met / (started - stopped), to 4 places; null if none is left."
    )
    met: int = Field(description="Of them, met (in time or late).")
    working_hours_total: float = Field(
        description="The hours the met ones took, counted in the calendar's working hours "
        "(pauses left out), added up."
    )
    working_hours_mean: float | None = Field(description="... on average; null if none met.")
    working_hours_max: float | None = Field(description="... the longest; null if none met.")


class ReturnCounts(Answer):
    opened: int
    closed: int
    open_at_month_end: int


class CapaCounts(Answer):
    opened: int = Field(description="Teams convened in the month (4.4.4).")
    closed: int = Field(description="Closed (D8) in the month.")
    open_at_month_end: int
    overdue: int = Field(
        description="Open as of the month's last day (today while it runs) with an action "
        "due by then and not implemented by then."
    )


class MonthlyReport(Answer):
    """The Field Service Monthly Report (att. 4)."""

    month: Month
    customer: str | None = Field(description="The customer's code; null: all customers.")
    feedback_by_kind: dict[str, int]
    feedback_by_channel: dict[str, int]
    complaints_by_category: dict[str, int]
    replied_within_8h: Share = Field(description="Reply clocks (4.2.1) started in the month.")
    on_site_within_8h: Share = Field(description="On-site clocks (4.2.2) started in the month.")
    breaches: list[Breach] = Field(
        description="Clocks started in the month that breached and were not met in time, "
        "soonest due first."
    )
    escalations: list[Escalation] = Field(
        default_factory=list,
        description="Clocks escalated in the month (4.2), whichever month they started in, "
        "in the order they were escalated.",
    )
    by_calendar: list[CalendarCounts] = Field(
        default_factory=list,
        description="Business-hours clocks started in the month, by the calendar (name and "
        "version) each ran under, by calendar, version and kind.",
    )
    visits_made: int = Field(description="Customer visits (4.5) made in the month.")
    visits_due: int = Field(description="Customers whose visit was due or overdue on the 28th.")
    field_service_days: int = Field(description="Days on site, per customer and engineer.")
    returns: ReturnCounts = Field(description="Return cases (4.3).")
    capa: CapaCounts = Field(description="CAPAs (4.4.4, 4.3.4).")


class RulesVersion(Answer):
    version: int
    effective_at: Moment | None = Field(
        description="Clocks whose starting fact was recorded from then on count by it; "
        "null: the first version, in force from the start."
    )
    by: Who = Field(description="Who recorded it (system: the first, from CSC_SLA_POLICY).")
    reason: str
    retime_running: bool = Field(description="It re-timed the clocks running then.")
    source: Literal["CSC_SLA_POLICY", "api"]


class OfficialDaysAnswer(Answer):
    source: str = Field(description="The data source and its version.")
    years: list[int] = Field(description="First and last year it publishes.")
    holidays: dict[str, str] = Field(description="Day -> the holiday's name.")
    makeup_days: dict[str, str] = Field(
        description="Day off by the week that is worked (调休) -> its holiday."
    )


class CalendarContent(Answer):
    timezone: str | None = Field(description="IANA zone; null: the customer's site zone.")
    week: dict[str, list[str]] = Field(description="mon..sun -> working windows HH:MM-HH:MM.")
    holidays: list[Day]
    makeup_days: list[Day]
    makeup_windows: list[str] | None
    official: Literal["CN"] | None
    note: str | None


class CalendarVersionAnswer(RulesVersion):
    """One version of a calendar: what it counts, and who recorded it when and why."""

    calendar: str
    definition: CalendarContent
    official: OfficialDaysAnswer | None = Field(
        description="The official days included, as expanded when it was recorded."
    )


class PolicyVersionAnswer(RulesVersion):
    """One version of the SLA policy."""

    policy: dict[str, object] = Field(
        description="standard, oem, default_timezone, calendar_rules, as PUT /policy takes it."
    )


class RulesChange(Answer):
    """What a change recorded: the new version, and the clocks it re-timed."""

    version: int
    retimed_clocks: list[UUID]


class TimelineMoment(Answer):
    at: Moment
    event: Literal[
        "started",
        "paused",
        "resumed",
        "retimed",
        "warned",
        "breached",
        "escalated",
        "met",
        "stopped",
    ]
    rule: str = Field(description="The rule that made it happen (target, ladder, versions).")


class TimelineSegment(Answer):
    start: Moment
    end: Moment
    state: Literal["counting", "out_of_working_hours", "paused"]
    hours: float = Field(description="Wall-clock length of the stretch.")
    why: list[str] = Field(
        description="What counted it or not: a working window, out of working hours, a "
        "day with no window, a holiday, a make-up working day, a pause."
    )
    rule: str = Field(description="The calendar and policy versions the clock ran under.")


class ClockTimeline(Answer):
    """A clock's SLA timeline, as its own events and the calendar it kept tell it."""

    clock_id: UUID
    moments: list[TimelineMoment]
    segments: list[TimelineSegment]
    counted_hours: float = Field(description="The counting segments' hours, pauses excluded.")
    until: Moment = Field(description="Its meeting or stop, or now while it runs.")


class FigureRow(Answer):
    """One row a figure of the monthly report counts: a register entry, a clock, a return
    case or a CAPA (``record``), with what placed it in the figure."""

    record: Literal["entry", "clock", "return", "capa"]
    case_id: UUID
    customer: Customer
    at: Moment | None = Field(
        default=None,
        description="An entry's receipt; a clock's start, or its escalation for escalations.",
    )
    entry_type: Literal["feedback", "complaint"] | None = None
    kind: str | None = Field(default=None, description="A feedback's kind (4.1.2).")
    category: str | None = Field(default=None, description="A complaint's category (4.4.1).")
    channel: str | None = None
    clock_id: UUID | None = None
    clock: ClockKindName | None = None
    status: ClockStatus | None = None
    started_at: Moment | None = None
    due_at: Moment | None = None
    breached_at: Moment | None = None
    escalated_at: Moment | None = None
    met_at: Moment | None = None
    within_target: bool | None = None
    stopped_at: Moment | None = None
    capa_no: str | None = None
    opened_month: Month | None = Field(default=None, description="A return's or CAPA's.")
    closed_month: Month | None = None
    closed_how: str | None = None
    opened_on: Day | None = None
    closed_on: Day | None = None
