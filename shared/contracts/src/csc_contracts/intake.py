"""Intake's public events, on ``csc.intake.v1``.

For register events ``case_id`` is the register entry; for customer-archive
events it is the customer's archive id, and for field service records the
record's id, so every event can still be followed by one id.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from csc_contracts.common import (
    Channel,
    ComplaintCategory,
    CustomerRef,
    Department,
    FeedbackKind,
    NonEmpty,
    UtcDatetime,
)
from csc_contracts.events import PublicEvent

LongText = Annotated[str, Field(min_length=1, max_length=20_000)]


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r} (e.g. Asia/Shanghai)") from exc
    return name


# IANA names are at most some 30 characters.
TimeZone = Annotated[str, Field(max_length=64), AfterValidator(_zone)]


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Contact(_Value):
    """A person at the customer we keep in touch with (4.1.5)."""

    name: NonEmpty
    role: NonEmpty | None = None
    phone: NonEmpty | None = None
    email: NonEmpty | None = None


class Site(_Value):
    """A customer plant or line where our products are used or fitted."""

    name: NonEmpty
    address: NonEmpty | None = None
    timezone: TimeZone = Field(default="Asia/Shanghai", description="IANA zone of the site.")


class RemedialMeasure(StrEnum):
    """What the customer needs from us to keep producing (4.4.2)."""

    REWORK_ON_SITE = "rework_on_site"
    REPAIR_ON_SITE = "repair_on_site"
    SWAP_UNITS = "swap_units"
    OTHER = "other"


class OnSiteReason(StrEnum):
    """Why someone must go on site (4.2.2)."""

    NOT_SOLVED_BY_PHONE = "not_solved_by_phone"
    QUALITY_PROBLEM = "quality_problem"


class UnitsLoaded(_Value):
    """Vehicles or units fitted with our product that day (装车情况, 4.1.4)."""

    model: NonEmpty = Field(description="Vehicle or unit model.")
    quantity: int = Field(ge=0)


class _IntakeEvent(PublicEvent):
    service: ClassVar[str] = "intake"


# Customers (4.1.5) ---------------------------------------------------------------


class CustomerRegistered(_IntakeEvent):
    """A customer entered the customer archive (4.1.5)."""

    code: NonEmpty = Field(description="The customer's code, unique in the archive.")
    name: NonEmpty
    oem: bool = Field(description="An OEM customer: field service keeps daily records (4.1.4).")
    contacts: tuple[Contact, ...] = ()
    sites: tuple[Site, ...] = ()


class CustomerUpdated(_IntakeEvent):
    """The archive entry was brought up to date; the fields are the new values, all of them."""

    code: NonEmpty
    name: NonEmpty
    oem: bool
    contacts: tuple[Contact, ...] = ()
    sites: tuple[Site, ...] = ()


class CustomerContacted(_IntakeEvent):
    """Regular contact with a customer (4.1.5)."""

    code: NonEmpty
    contacted_at: UtcDatetime
    channel: Channel
    summary: LongText


class SatisfactionSurveyRecorded(_IntakeEvent):
    """The result of the yearly customer satisfaction survey (4.1.5)."""

    code: NonEmpty
    year: int = Field(ge=2000, le=2100)
    scores: dict[str, int] = Field(description="Score per question, 1 (poor) to 5 (excellent).")
    comments: str | None = None


# Register entries (4.1.1-4.1.3) ----------------------------------------------------


class FeedbackReceived(_IntakeEvent):
    """Customer information recorded in the Customer Information Register (4.1.2)."""

    channel: Channel = Field(description="How it arrived (4.1.1).")
    kind: FeedbackKind = Field(description="Which of the five kinds of 4.1.2.")
    receiving_department: Department = Field(description="Who the customer reached first.")
    received_at: UtcDatetime = Field(description="When it arrived; SLA clocks start here.")
    customer: CustomerRef
    text: str = Field(description="What the customer said or wrote.")
    product: str | None = Field(default=None, description="Product or part, where known.")
    lot: str | None = Field(default=None, description="Lot or batch, where known.")


class EngineeringNotified(_IntakeEvent):
    """Engineering was told of a register entry (4.1.2); it is in Engineering's inbox."""

    notified_department: Department = Department.ENGINEERING


class ImportantInformationReported(_IntakeEvent):
    """The entry was flagged important and reported to the Chief Engineer (4.1.3)."""

    reason: LongText
    reported_at: UtcDatetime | None = Field(
        default=None,
        description="When it was reported; the 4.1.3 clock starts here (occurred_at if absent).",
    )


class ImportantInformationAcknowledged(_IntakeEvent):
    """The Chief Engineer has taken note of the important information (4.1.3)."""

    comment: str | None = None
    acknowledged_at: UtcDatetime | None = Field(
        default=None,
        description="When the Chief Engineer took note; meets the 4.1.3 clock "
        "(occurred_at if absent).",
    )


# Answering the customer (4.2) ----------------------------------------------------------


class ReplySent(_IntakeEvent):
    """The customer's call or letter was answered (4.2.1: within 8 hours)."""

    replied_at: UtcDatetime
    channel: Channel
    summary: LongText


class OnSiteServiceRequired(_IntakeEvent):
    """People must go on site (4.2.2: within 8 hours)."""

    reason: OnSiteReason
    details: str | None = None
    requested_at: UtcDatetime | None = Field(
        default=None,
        description="When it was decided that people must go; the 8-hour clock starts "
        "here (occurred_at if absent).",
    )


class OnSiteVisitCompleted(_IntakeEvent):
    """The on-site visit: who arrived when, what they found and did (4.2.2)."""

    arrived_at: UtcDatetime = Field(description="When our people arrived; meets the 8-hour clock.")
    departed_at: UtcDatetime | None = Field(default=None, description="When they left (att. 2).")
    engineers: tuple[NonEmpty, ...] = Field(min_length=1)
    diagnosis: LongText
    solution: LongText


class MisuseDetermined(_IntakeEvent):
    """The problem was caused by the customer's misuse: customer's responsibility (4.2.3)."""

    finding: LongText
    responsibility: str = "customer"


class TechnicianDispatched(_IntakeEvent):
    """A technician sent, on request, to help and teach correct use despite misuse (4.2.3)."""

    technician: NonEmpty
    purpose: LongText


# Complaints (4.4.1-4.4.2) ----------------------------------------------------------------


class ComplaintLogged(_IntakeEvent):
    """A service, quality or delivery complaint recorded by Marketing (4.4.1)."""

    category: ComplaintCategory
    channel: Channel
    receiving_department: Department
    received_at: UtcDatetime
    customer: CustomerRef
    text: str
    product: str | None = None
    lot: str | None = None


class QualityImpactAssessed(_IntakeEvent):
    """Marketing confirmed with the customer the impact and the remedy needed (4.4.2)."""

    lines_stopped: int = Field(ge=0, description="Customer production lines stopped.")
    quantity_affected: int = Field(ge=0, description="Units affected.")
    remedial_measure: RemedialMeasure
    remedial_details: str | None = None


class QualityNotified(_IntakeEvent):
    """QC was notified of a quality complaint (4.4.2); its investigation starts (4.4.3)."""

    notified_department: Department = Department.QUALITY


# Field service and follow-up (4.1.4, 4.5, 4.6) ---------------------------------------------


class FieldServiceRecorded(_IntakeEvent):
    """A daily Field Service Work Record at an OEM customer (4.1.4, form att. 2)."""

    customer: CustomerRef
    site: NonEmpty
    work_date: date
    engineer: NonEmpty
    arrived_at: UtcDatetime | None = Field(default=None, description="Arrival on site (att. 2).")
    departed_at: UtcDatetime | None = Field(default=None, description="Departure (att. 2).")
    units_loaded: tuple[UnitsLoaded, ...] = ()
    problems: str | None = None
    actions: str | None = None


class FieldServiceRecordAmended(_IntakeEvent):
    """A correction of a day's record; the fields are the new values, the reason says why."""

    customer: CustomerRef
    site: NonEmpty
    work_date: date
    engineer: NonEmpty
    arrived_at: UtcDatetime | None = Field(default=None, description="Arrival on site (att. 2).")
    departed_at: UtcDatetime | None = Field(default=None, description="Departure (att. 2).")
    units_loaded: tuple[UnitsLoaded, ...] = ()
    problems: str | None = None
    actions: str | None = None
    reason: LongText


class CustomerVisited(_IntakeEvent):
    """A customer visit (4.5: every half year), kept as a field service record of kind visit."""

    customer: CustomerRef
    site: NonEmpty
    work_date: date
    engineer: NonEmpty = Field(description="Who led the visit.")
    arrived_at: UtcDatetime | None = Field(default=None, description="Arrival on site (att. 2).")
    departed_at: UtcDatetime | None = Field(default=None, description="Departure (att. 2).")
    survey: str | None = Field(default=None, description="What the customer said of us.")
    product_use: str | None = None
    technical_consulting: str | None = None


class FollowUpRecorded(_IntakeEvent):
    """The result of following up a past month's register entry (4.6)."""

    month: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = Field(
        description="The month (YYYY-MM) whose feedback this follows up."
    )
    result: LongText
    closed: bool = Field(description="Nothing more to do for this entry.")


INTAKE_EVENTS: tuple[type[PublicEvent], ...] = (
    CustomerRegistered,
    CustomerUpdated,
    CustomerContacted,
    SatisfactionSurveyRecorded,
    FeedbackReceived,
    EngineeringNotified,
    ImportantInformationReported,
    ImportantInformationAcknowledged,
    ReplySent,
    OnSiteServiceRequired,
    OnSiteVisitCompleted,
    MisuseDetermined,
    TechnicianDispatched,
    ComplaintLogged,
    QualityImpactAssessed,
    QualityNotified,
    FieldServiceRecorded,
    FieldServiceRecordAmended,
    CustomerVisited,
    FollowUpRecorded,
)
