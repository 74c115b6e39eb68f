"""What users may ask intake to record. Validation errors name the field at fault."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from csc_contracts import Channel, ComplaintCategory, FeedbackKind, PersonDepartment, UtcDatetime
from csc_contracts.common import NonEmpty
from csc_contracts.intake import Contact, OnSiteReason, RemedialMeasure, Site, UnitsLoaded

# Every text and list has a bound: an event carries the request's text, and Kafka takes
# records of at most 1 MiB (the body limit, CSC_HTTP_MAX_BODY_BYTES, bounds them all).
Text = Annotated[str, Field(min_length=1, max_length=10_000)]
Note = Annotated[str, Field(max_length=10_000)]
Score = Annotated[int, Field(ge=1, le=5)]
MAX_ITEMS = 100


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Customers (4.1.5) -------------------------------------------------------------------


class CustomerDetails(Command):
    name: NonEmpty
    oem: bool = Field(description="OEM customers get daily Field Service Work Records (4.1.4).")
    contacts: list[Contact] = Field(default=[], max_length=MAX_ITEMS)
    sites: list[Site] = Field(default=[], max_length=MAX_ITEMS)


class RegisterCustomer(CustomerDetails):
    code: Annotated[str, Field(max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")] = (
        Field(description="The customer's code, unique in the archive (letters, digits, . _ -).")
    )


class LogContact(Command):
    contacted_at: UtcDatetime | None = Field(default=None, description="Now when omitted.")
    channel: Channel
    summary: Text


class RecordSurvey(Command):
    year: int = Field(ge=2000, le=2100)
    scores: dict[NonEmpty, Score] = Field(
        min_length=1, max_length=MAX_ITEMS, description="Question -> score 1..5."
    )
    comments: Note | None = None


# Register entries (4.1.2, 4.4.1) ---------------------------------------------------------


class _Entry(Command):
    channel: Channel
    receiving_department: PersonDepartment = Field(
        description="The department the customer reached (any department may receive, 4.1.2)."
    )
    received_at: UtcDatetime | None = Field(
        default=None, description="When the customer's message arrived; now when omitted."
    )
    customer_code: NonEmpty = Field(description="A customer of the archive (4.1.5).")
    text: Text
    product: NonEmpty | None = None
    lot: NonEmpty | None = None
    important_reason: Text | None = Field(
        default=None,
        description="Set to report this entry to the Chief Engineer at once, saying why (4.1.3).",
    )


class RegisterFeedback(_Entry):
    """Customer information for the Customer Information Register (4.1.1-4.1.2)."""

    kind: FeedbackKind = Field(description="One of the five kinds of entry of 4.1.2.")


class LogComplaint(_Entry):
    """A complaint about service, quality or delivery (4.4.1)."""

    category: ComplaintCategory


class ReportImportant(Command):
    reason: Text
    reported_at: UtcDatetime | None = Field(
        default=None,
        description="When it was reported to the Chief Engineer, not before the entry was "
        "received; now when omitted. The 4.1.3 clock runs from here.",
    )


class AcknowledgeImportant(Command):
    comment: Note | None = None
    acknowledged_at: UtcDatetime | None = Field(
        default=None,
        description="When the Chief Engineer took note, not before the report; now when omitted.",
    )


class SendReply(Command):
    replied_at: UtcDatetime | None = Field(default=None, description="Now when omitted.")
    channel: Channel
    summary: Text


class RequireOnSite(Command):
    reason: OnSiteReason
    details: Note | None = None
    requested_at: UtcDatetime | None = Field(
        default=None,
        description="When it was decided that people must go on site, not before the entry "
        "was received; now when omitted. The 8-hour clock (4.2.2) runs from here.",
    )


class CompleteVisit(Command):
    arrived_at: UtcDatetime
    departed_at: UtcDatetime | None = Field(
        default=None, description="When our people left the site (att. 2)."
    )
    engineers: list[NonEmpty] = Field(min_length=1, max_length=MAX_ITEMS)
    diagnosis: Text
    solution: Text


class DetermineMisuse(Command):
    finding: Text


class DispatchTechnician(Command):
    technician: NonEmpty
    purpose: Text


class AssessQualityImpact(Command):
    lines_stopped: int = Field(ge=0)
    quantity_affected: int = Field(ge=0)
    remedial_measure: RemedialMeasure
    remedial_details: Note | None = None


class RecordFollowUp(Command):
    result: Text
    closed: bool


# Field service (4.1.4, 4.5) ----------------------------------------------------------------


class FieldServiceDetails(Command):
    arrived_at: UtcDatetime | None = Field(
        default=None, description="When the engineer arrived on site (att. 2)."
    )
    departed_at: UtcDatetime | None = Field(
        default=None, description="When the engineer left the site (att. 2)."
    )
    units_loaded: list[UnitsLoaded] = Field(default=[], max_length=MAX_ITEMS)
    problems: Note | None = None
    actions: Note | None = None
    survey: Note | None = None
    product_use: Note | None = None
    technical_consulting: Note | None = None


class RecordFieldService(FieldServiceDetails):
    kind: Literal["daily", "visit"] = Field(
        description="daily: OEM Field Service Work Record (4.1.4); visit: customer visit (4.5)."
    )
    customer_code: NonEmpty
    site: NonEmpty
    work_date: date
    engineer: NonEmpty | None = Field(
        default=None, description="Who did the work or led the visit; the caller when omitted."
    )


class AmendFieldService(FieldServiceDetails):
    reason: Text
