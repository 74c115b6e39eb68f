"""What intake's GETs (and the writes that answer with the same rows) return.

Each model names every field of an answer as the read model keeps it, so the
OpenAPI says what a client gets. They forbid extra fields: a field the read
model gains and a model here forgets fails the tests rather than vanishing
from answers. Times are the ISO 8601 strings the view stores (UTC, ``+00:00``),
kept as text so an answer stays byte for byte what it was.

Fields a row may lack (a customer never updated has no ``updated``; a record
kept before a detail existed lacks it) are left out of the answer, not sent as
null: the routes answer with ``response_model_exclude_unset``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from csc_contracts import Channel, ComplaintCategory, Department, FeedbackKind
from csc_contracts.intake import Contact, OnSiteReason, RemedialMeasure, Site, UnitsLoaded

Moment = Annotated[
    str,
    Field(description="ISO 8601 date and time, UTC.", json_schema_extra={"format": "date-time"}),
]
Day = Annotated[str, Field(description="ISO 8601 date.", json_schema_extra={"format": "date"})]
Month = Annotated[
    str, Field(description="Calendar month, YYYY-MM (UTC).", pattern=r"^\d{4}-\d{2}$")
]


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Who(Answer):
    """A user acting for a department."""

    user: str
    department: Department


class Stamp(Answer):
    """When something was recorded, and by whom."""

    at: Moment
    by: Who


class CustomerRef(Answer):
    """The customer as events name it: its code, with what consumers' policies depend on."""

    code: str
    name: str | None = None
    oem: bool | None = Field(default=None, description="An OEM customer (4.1.4), as archived.")
    timezone: str | None = Field(
        default=None, description="IANA time zone of the customer's first site, as archived."
    )


# The Register (4.1.2-4.1.3, 4.2, 4.4, 4.6) ----------------------------------------------------


class Acknowledgement(Stamp):
    """The Chief Engineer took note (4.1.3)."""

    comment: str | None
    acknowledged_at: Moment | None


class Important(Answer):
    """Reported to the Chief Engineer as important (4.1.3)."""

    reason: str
    reported_at: Moment | None = Field(description="When it was reported; the 4.1.3 clock.")
    reported: Stamp
    acknowledged: Acknowledgement | None


class Reply(Stamp):
    """The answer to the customer's call or letter (4.2.1)."""

    replied_at: Moment
    channel: Channel
    summary: str


class OnSiteVisit(Stamp):
    """Our people on site: arrival, departure, who, diagnosis, solution (4.2.2)."""

    arrived_at: Moment
    departed_at: Moment | None = Field(description="None for visits recorded before att. 2.")
    engineers: list[str]
    diagnosis: str
    solution: str


class OnSite(Answer):
    """Someone must go on site (4.2.2)."""

    reason: OnSiteReason
    details: str | None
    requested_at: Moment | None = Field(description="The 8-hour clock (4.2.2) runs from here.")
    required: Stamp
    visits: list[OnSiteVisit]


class Misuse(Stamp):
    """The customer misused the product (4.2.3)."""

    finding: str
    responsibility: Literal["customer"]


class TechnicianDispatch(Stamp):
    """A technician sent to help and teach correct use despite misuse (4.2.3)."""

    technician: str
    purpose: str


class QualityImpact(Stamp):
    """The impact on the customer and the remedy agreed (4.4.2)."""

    lines_stopped: int
    quantity_affected: int
    remedial_measure: RemedialMeasure
    remedial_details: str | None


class FollowUp(Stamp):
    """The result of following up a past month's entry (4.6)."""

    month: Month
    result: str
    closed: bool


class RegisterEntry(Answer):
    """One entry of the Customer Information Register (form att. 3): feedback or a complaint."""

    case_id: UUID
    entry_type: Literal["feedback", "complaint"]
    kind: FeedbackKind | None = Field(description="Feedback's kind (4.1.2); None for complaints.")
    category: ComplaintCategory | None = Field(
        description="A complaint's category (4.4.1); None for feedback."
    )
    channel: Channel
    receiving_department: Department = Field(description="Who the customer reached (4.1.2).")
    received_at: Moment
    month: Month = Field(description="The month it was received in: the register's page.")
    recorded_at: Moment
    recorded_by: Who
    customer: CustomerRef
    product: str | None
    lot: str | None
    text: str
    status: Literal["open", "closed"] = Field(description="Closed by a follow-up (4.6).")
    engineering_notified: Stamp | None = Field(description="Engineering was notified (4.1.2).")
    important: Important | None
    replies: list[Reply]
    on_site: OnSite | None
    misuse: Misuse | None
    technicians: list[TechnicianDispatch]
    quality_impact: QualityImpact | None
    quality_notified: Stamp | None = Field(description="QC was notified (4.4.2).")
    follow_ups: list[FollowUp]


class HistoryStep(Answer):
    """One event of a case, in the public vocabulary."""

    version: int = Field(description="The event's place in the case's history, from 1.")
    at: Moment
    event: str = Field(description="The public event's name, e.g. ComplaintLogged.")
    type: str = Field(description="Its CloudEvents type, e.g. csc.intake.ComplaintLogged.v1.")
    event_id: UUID
    actor: Who
    fields: dict[str, Any] = Field(description="The public event's own fields.")


# Field service (4.1.4, 4.5) --------------------------------------------------------------------


class FieldServiceDetails(Answer):
    """A day's details (att. 2); an amendment's ``before`` holds those it replaced."""

    arrived_at: Moment | None = None
    departed_at: Moment | None = None
    units_loaded: list[UnitsLoaded] = []
    problems: str | None = None
    actions: str | None = None
    survey: str | None = None
    product_use: str | None = None
    technical_consulting: str | None = None


class Amendment(Stamp):
    """A correction of a day's record; ``before`` is what it replaced."""

    reason: str
    before: FieldServiceDetails


class FieldServiceRecord(FieldServiceDetails):
    """A day's Field Service Work Record (4.1.4) or a customer visit (4.5), as amended."""

    record_id: UUID
    kind: Literal["daily", "visit"]
    customer: CustomerRef
    site: str
    work_date: Day
    engineer: str
    recorded: Stamp
    amendments: list[Amendment]


# Customers (4.1.5) ----------------------------------------------------------------------------


class ContactLogEntry(Stamp):
    """Regular contact with the customer (4.1.5)."""

    contacted_at: Moment
    channel: Channel
    summary: str


class Survey(Stamp):
    """A yearly customer satisfaction survey's result (4.1.5)."""

    year: int
    scores: dict[str, int] = Field(description="Question -> score 1..5.")
    comments: str | None


class _Customer(Answer):
    customer_id: UUID
    code: str
    name: str
    oem: bool = Field(description="OEM customers get daily Field Service Work Records (4.1.4).")
    contacts: list[Contact]
    sites: list[Site]
    registered: Stamp
    updated: Stamp | None = Field(default=None, description="The last update; absent if none.")
    contact_log: list[ContactLogEntry]
    surveys: list[Survey]


class CustomerSummary(_Customer):
    """A customer of the archive, as the list gives it."""

    visits: list[UUID] = Field(description="The customer's visit records (4.5), by id.")


class CustomerPage(_Customer):
    """The customer's page: archive, contacts, contact log, visits, surveys, entries."""

    visits: list[FieldServiceRecord] = Field(description="The customer's visits (4.5).")
    register_entries: list[UUID] = Field(
        description="The customer's Register entries, by case id, in the order recorded."
    )


# Operations -----------------------------------------------------------------------------------


class HeldEvent(Answer):
    """A stored event the relay does not publish, and why."""

    seq: int = Field(description="Its notification id in the store.")
    originator_id: str
    version: int
    agg: str
    head: str
    reason: str
    since: str
    behind: int | None = Field(description="The held notification it waits behind, if any.")


class RelayStatus(Answer):
    """How far the outbox relay has published the store to Kafka."""

    running: bool
    position: int
    store_head: int
    lag: int
    published_since_start: int
    held: list[HeldEvent]


class Digest(Answer):
    """A hash of the whole read model, to compare a live store with a replayed one."""

    digest: str
    position: int = Field(description="The last notification of the log the view reflects.")
