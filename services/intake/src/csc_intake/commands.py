"""Intake's steps, each declared once on its request body: route, who, clause, events.

Validation errors name the field at fault; the domain checks what depends on the
aggregate's state. ``args`` is what a body gives the aggregate's method that decides the
step. Everything else intake serves (permissions, the write routes, the public event of
each recorded event) is read from ``STEPS``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

import csc_contracts as pub
from csc_contracts import (
    Channel,
    ComplaintCategory,
    Department,
    FeedbackKind,
    PersonDepartment,
    UtcDatetime,
)
from csc_contracts.common import NonEmpty
from csc_contracts.intake import Contact, OnSiteReason, RemedialMeasure, Site, UnitsLoaded
from csc_intake.domain import Complaint, Customer, FeedbackEntry, FieldServiceRecord
from csc_intake.domain import RegisterEntry as E
from csc_messaging.commands import not_future
from csc_messaging.steps import Steps

# Every text and list has a bound: an event carries the request's text, and Kafka takes
# records of at most 1 MiB (the body limit, CSC_HTTP_MAX_BODY_BYTES, bounds them all).
Text = Annotated[str, Field(min_length=1, max_length=10_000)]
Note = Annotated[str, Field(max_length=10_000)]
Score = Annotated[int, Field(ge=1, le=5)]
MAX_ITEMS = 100

M = Department.MARKETING
AS = Department.AFTER_SALES
ENG = Department.ENGINEERING
QC = Department.QUALITY
CE = Department.CHIEF_ENGINEER
CUSTOMERS, REGISTER, FIELD = "customers", "register", "field service"
CUSTOMER, ENTRY = "/customers/{code}", "/register-entries/{case_id}"

STEPS = Steps()
# 4.1.2: the receiving department notifies Engineering of every entry; the system does it
# as the entry is recorded, so it cannot be forgotten. 4.4.2: QC is notified of the impact.
STEPS.fact(E.EngineeringNotified, pub.EngineeringNotified, "4.1.2")
STEPS.fact(Complaint.QualityNotified, pub.QualityNotified, "4.4.2")


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def args(self, now: datetime) -> dict[str, Any]:
        """The aggregate method's arguments, less who asked (``csc_messaging.commands.by``)."""
        return {name: getattr(self, name) for name in type(self).model_fields}


# Customers (4.1.5) -------------------------------------------------------------------


class _Customer(Command):
    name: NonEmpty
    oem: bool = Field(description="OEM customers get daily Field Service Work Records (4.1.4).")
    contacts: list[Contact] = Field(default=[], max_length=MAX_ITEMS)
    sites: list[Site] = Field(default=[], max_length=MAX_ITEMS)

    def args(self, now: datetime) -> dict[str, Any]:
        return {
            "name": self.name,
            "oem": self.oem,
            "contacts": [x.model_dump(mode="json") for x in self.contacts],
            "sites": [x.model_dump(mode="json") for x in self.sites],
        }


@STEPS.step("register_customer", "/customers", event=Customer.Registered,
            public=pub.CustomerRegistered, clause="4.1.5", may={M}, aggregate=Customer,
            method="__init__", tag=CUSTOMERS,
            doc="Enter a customer in the customer archive (4.1.5).")  # fmt: skip
class RegisterCustomer(_Customer):
    code: Annotated[str, Field(max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")] = (
        Field(description="The customer's code, unique in the archive (letters, digits, . _ -).")
    )

    def args(self, now: datetime) -> dict[str, Any]:
        return {"code": self.code, **super().args(now)}


@STEPS.step("update_customer", CUSTOMER, verb="PUT", event=Customer.Updated,
            public=pub.CustomerUpdated, clause="4.1.5", may={M}, aggregate=Customer,
            method="update", tag=CUSTOMERS,
            doc="Bring a customer's archive entry up to date (4.1.5).")  # fmt: skip
class CustomerDetails(_Customer):
    pass


@STEPS.step("log_contact", f"{CUSTOMER}/contacts", event=Customer.Contacted,
            public=pub.CustomerContacted, clause="4.1.5", may={M, AS}, aggregate=Customer,
            method="log_contact", tag=CUSTOMERS,
            doc="Record regular contact with a customer (4.1.5).")  # fmt: skip
class LogContact(Command):
    contacted_at: UtcDatetime | None = Field(default=None, description="Now when omitted.")
    channel: Channel
    summary: Text

    def args(self, now: datetime) -> dict[str, Any]:
        return {
            "contacted_at": not_future(self.contacted_at, now, "contacted_at"),
            "channel": self.channel.value,
            "summary": self.summary,
        }


@STEPS.step("record_survey", f"{CUSTOMER}/satisfaction-surveys", event=Customer.SurveyRecorded,
            public=pub.SatisfactionSurveyRecorded, clause="4.1.5", may={M},
            aggregate=Customer, method="record_survey", tag=CUSTOMERS,
            doc="Record the yearly customer satisfaction survey's result (4.1.5).")  # fmt: skip
class RecordSurvey(Command):
    year: int = Field(ge=2000, le=2100)
    scores: dict[NonEmpty, Score] = Field(
        min_length=1, max_length=MAX_ITEMS, description="Question -> score 1..5."
    )
    comments: Note | None = None

    def args(self, now: datetime) -> dict[str, Any]:
        return {"year": self.year, "scores": dict(self.scores), "comments": self.comments}


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

    def args(self, now: datetime) -> dict[str, Any]:
        """The entry's own fields; its customer and case id are the application's."""
        return {
            "channel": self.channel.value,
            "receiving_department": self.receiving_department.value,
            "received_at": not_future(self.received_at, now, "received_at"),
            "text": self.text,
            "product": self.product,
            "lot": self.lot,
        }


# 4.1.2 / 4.4.1: any department may receive; Marketing records it in the Register.
@STEPS.step("register_feedback", "/register-entries", event=FeedbackEntry.Received,
            public=pub.FeedbackReceived, clause="4.1.2", may={M}, aggregate=FeedbackEntry,
            method="__init__", tag=REGISTER, doc="Record customer information in the "
            "Customer Information Register (4.1.1-4.1.3).")  # fmt: skip
class RegisterFeedback(_Entry):
    """Customer information for the Customer Information Register (4.1.1-4.1.2)."""

    kind: FeedbackKind = Field(description="One of the five kinds of entry of 4.1.2.")

    def args(self, now: datetime) -> dict[str, Any]:
        return {**super().args(now), "kind": self.kind.value}


@STEPS.step("log_complaint", "/complaints", event=Complaint.Logged, public=pub.ComplaintLogged,
            clause="4.4.1", may={M}, aggregate=Complaint, method="__init__", tag=REGISTER,
            doc="Record a service, quality or delivery complaint in the Register "
            "(4.4.1).")  # fmt: skip
class LogComplaint(_Entry):
    """A complaint about service, quality or delivery (4.4.1)."""

    category: ComplaintCategory

    def args(self, now: datetime) -> dict[str, Any]:
        return {**super().args(now), "category": self.category.value}


@STEPS.step("report_important", f"{ENTRY}/important", event=E.ImportantReported,
            public=pub.ImportantInformationReported, clause="4.1.3", may={M, AS, ENG, QC},
            aggregate=E, method="report_important", tag=REGISTER,
            doc="Report the entry to the Chief Engineer as important, saying why "
            "(4.1.3).")  # fmt: skip
class ReportImportant(Command):
    reason: Text
    reported_at: UtcDatetime | None = Field(
        default=None,
        description="When it was reported to the Chief Engineer, not before the entry was "
        "received; now when omitted. The 4.1.3 clock runs from here.",
    )

    def args(self, now: datetime) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "reported_at": not_future(self.reported_at, now, "reported_at"),
            "dated": self.reported_at is not None,
        }


@STEPS.step("acknowledge_important", f"{ENTRY}/important/acknowledgement",
            event=E.ImportantAcknowledged, public=pub.ImportantInformationAcknowledged,
            clause="4.1.3", may={CE}, aggregate=E, method="acknowledge_important",
            tag=REGISTER,
            doc="The Chief Engineer takes note of important information (4.1.3).")  # fmt: skip
class AcknowledgeImportant(Command):
    comment: Note | None = None
    acknowledged_at: UtcDatetime | None = Field(
        default=None,
        description="When the Chief Engineer took note, not before the report; now when omitted.",
    )

    def args(self, now: datetime) -> dict[str, Any]:
        return {
            "comment": self.comment,
            "acknowledged_at": not_future(self.acknowledged_at, now, "acknowledged_at"),
        }


@STEPS.step("send_reply", f"{ENTRY}/replies", event=E.ReplySent, public=pub.ReplySent,
            clause="4.2.1", may={M, AS}, aggregate=E, method="send_reply", tag=REGISTER,
            doc="Record the reply to the customer's call or letter (4.2.1).")  # fmt: skip
class SendReply(Command):
    replied_at: UtcDatetime | None = Field(default=None, description="Now when omitted.")
    channel: Channel
    summary: Text

    def args(self, now: datetime) -> dict[str, Any]:
        return {
            "replied_at": not_future(self.replied_at, now, "replied_at"),
            "channel": self.channel.value,
            "summary": self.summary,
        }


@STEPS.step("require_on_site", f"{ENTRY}/on-site-requests", event=E.OnSiteRequired,
            public=pub.OnSiteServiceRequired, clause="4.2.2", may={M, AS}, aggregate=E,
            method="require_on_site", tag=REGISTER, doc="Someone must go on site: not solved "
            "by phone, or a quality problem (4.2.2).")  # fmt: skip
class RequireOnSite(Command):
    reason: OnSiteReason
    details: Note | None = None
    requested_at: UtcDatetime | None = Field(
        default=None,
        description="When it was decided that people must go on site, not before the entry "
        "was received; now when omitted. The 8-hour clock (4.2.2) runs from here.",
    )

    def args(self, now: datetime) -> dict[str, Any]:
        return {
            "reason": self.reason.value,
            "details": self.details,
            "requested_at": not_future(self.requested_at, now, "requested_at"),
            "dated": self.requested_at is not None,
        }


@STEPS.step("complete_visit", f"{ENTRY}/on-site-visits", event=E.OnSiteVisitCompleted,
            public=pub.OnSiteVisitCompleted, clause="4.2.2", may={AS, ENG, QC}, aggregate=E,
            method="complete_visit", tag=REGISTER, doc="Record the on-site visit: arrival, "
            "who, diagnosis, solution (4.2.2).")  # fmt: skip
class CompleteVisit(Command):
    arrived_at: UtcDatetime
    departed_at: UtcDatetime | None = Field(
        default=None, description="When our people left the site (att. 2)."
    )
    engineers: list[NonEmpty] = Field(min_length=1, max_length=MAX_ITEMS)
    diagnosis: Text
    solution: Text

    def args(self, now: datetime) -> dict[str, Any]:
        arrived_at = not_future(self.arrived_at, now, "arrived_at")
        departed = self.departed_at
        return {
            "arrived_at": arrived_at,
            "departed_at": None if departed is None else not_future(departed, now, "departed_at"),
            "engineers": list(self.engineers),
            "diagnosis": self.diagnosis,
            "solution": self.solution,
        }


@STEPS.step("determine_misuse", f"{ENTRY}/misuse", event=E.MisuseDetermined,
            public=pub.MisuseDetermined, clause="4.2.3", may={QC, ENG}, aggregate=E,
            method="determine_misuse", tag=REGISTER, doc="Record the finding that the "
            "customer misused the product (4.2.3).")  # fmt: skip
class DetermineMisuse(Command):
    finding: Text


@STEPS.step("dispatch_technician", f"{ENTRY}/technician-dispatches",
            event=E.TechnicianDispatched, public=pub.TechnicianDispatched, clause="4.2.3",
            may={M, AS}, aggregate=E, method="dispatch_technician", tag=REGISTER,
            doc="Send a technician to help and teach correct use despite misuse "
            "(4.2.3).")  # fmt: skip
class DispatchTechnician(Command):
    technician: NonEmpty
    purpose: Text


# Complaints (4.4.2) and follow-up (4.6) ------------------------------------------------


# Feedback has no impact to assess: the entry's own method refuses (4.4.2).
@STEPS.step("assess_quality_impact", f"{ENTRY}/quality-impact",
            event=Complaint.QualityImpactAssessed, public=pub.QualityImpactAssessed,
            clause="4.4.2", may={M}, aggregate=E, method="assess_quality_impact",
            tag=REGISTER, doc="Record the impact and remedy agreed with the customer; QC is "
            "notified (4.4.2).")  # fmt: skip
class AssessQualityImpact(Command):
    lines_stopped: int = Field(ge=0)
    quantity_affected: int = Field(ge=0)
    remedial_measure: RemedialMeasure
    remedial_details: Note | None = None

    def args(self, now: datetime) -> dict[str, Any]:
        return {**super().args(now), "remedial_measure": self.remedial_measure.value}


@STEPS.step("record_follow_up", f"{ENTRY}/follow-ups", event=E.FollowUpRecorded,
            public=pub.FollowUpRecorded, clause="4.6", may={M, AS}, aggregate=E,
            method="record_follow_up", tag=REGISTER,
            doc="Record the result of following up a past month's entry (4.6).")  # fmt: skip
class RecordFollowUp(Command):
    result: Text
    closed: bool

    def args(self, now: datetime) -> dict[str, Any]:
        return {"result": self.result, "closed": self.closed, "now": now}


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

    def details(self) -> dict[str, Any]:
        """The day's details as a record keeps them: one dict."""
        return {
            "arrived_at": self.arrived_at.isoformat() if self.arrived_at else None,
            "departed_at": self.departed_at.isoformat() if self.departed_at else None,
            "units_loaded": [u.model_dump(mode="json") for u in self.units_loaded],
            "problems": self.problems,
            "actions": self.actions,
            "survey": self.survey,
            "product_use": self.product_use,
            "technical_consulting": self.technical_consulting,
        }


# One route, one event: a day's record (4.1.4) or a visit (4.5), by the body's kind, each
# with its own who and public event (decorators apply from the bottom: the day's is first).
@STEPS.step("record_visit", "/field-service-records", event=FieldServiceRecord.Recorded,
            public=pub.CustomerVisited, clause="4.5", may={M, AS}, when={"kind": "visit"},
            aggregate=FieldServiceRecord, method="__init__", tag=FIELD,
            doc="A customer visit (4.5), kept as a field service record.")  # fmt: skip
@STEPS.step("record_field_service", "/field-service-records", event=FieldServiceRecord.Recorded,
            public=pub.FieldServiceRecorded, clause="4.1.4", may={AS}, when={"kind": "daily"},
            aggregate=FieldServiceRecord, method="__init__", tag=FIELD, doc="A day's Field "
            "Service Work Record at an OEM customer (4.1.4), or a visit (4.5).")  # fmt: skip
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


# Who may amend a record is who may record one of its kind.
@STEPS.step("amend_field_service", "/field-service-records/{record_id}/amendments",
            event=FieldServiceRecord.Amended, public=pub.FieldServiceRecordAmended,
            clause="4.1.4", may=(), may_as="record_field_service", aggregate=FieldServiceRecord,
            method="amend", tag=FIELD,
            doc="Correct a day's record; what it replaced stays in its history.")  # fmt: skip
class AmendFieldService(FieldServiceDetails):
    reason: Text

    def args(self, now: datetime) -> dict[str, Any]:
        return {"details": self.details(), "reason": self.reason}
