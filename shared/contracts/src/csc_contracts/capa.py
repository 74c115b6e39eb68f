"""The capa service's public events on ``csc.capa.v1``: investigation and CAPA (4.3.4, 4.4).

``case_id`` is the register case the investigation belongs to: the quality
complaint (4.4.1) that opened it, or the return case whose PNPR (4.3.3)
reported a nonconformance. One case has at most one investigation, and a
confirmed investigation at most one CAPA, run as an 8D (D0-D8) whatever
format it is finally reported in (4.3.4). ``capa_no`` names the CAPA on paper.

Reports-format registrations (4.3.4: the customer's own format) are not about
one case: their ``case_id`` is the customer's registration, a stable id
derived from the customer code.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from csc_contracts.common import CustomerRef, Department, NonEmpty, PersonDepartment, UtcDatetime
from csc_contracts.events import PublicEvent

Text = Annotated[str, Field(min_length=1, max_length=20_000)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256, lowercase hex.")]


class InvestigationSource(StrEnum):
    COMPLAINT = "complaint"  # 4.4.3: a product-quality complaint
    PNPR = "pnpr"  # 4.3.4: a nonconformance reported on returned goods


class ReportFormat(StrEnum):
    """How a CAPA is reported (4.3.4)."""

    CUSTOMER = "customer"  # the customer's own report format
    EIGHT_D = "8d"  # the customer asked for an 8D
    CPAR = "cpar"  # the company's Corrective/Preventive Action Request form


class ActionKind(StrEnum):
    CORRECTIVE = "corrective"
    PREVENTIVE = "preventive"


class Person(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: NonEmpty
    department: PersonDepartment


class TeamMember(Person):
    role: NonEmpty | None = Field(default=None, description="E.g. process engineer, champion.")


class ProblemDescription(BaseModel):
    """The problem in 5W2H (D2)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    what: Text
    where: Text
    when: Text
    who: Text
    why: Text = Field(description="Why it is a problem: the requirement not met.")
    how: Text = Field(description="How it was detected.")
    how_many: Text


class DocumentUpdate(BaseModel):
    """A standard, FMEA, control plan or work instruction changed to prevent recurrence (D7)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: NonEmpty = Field(description="standard, fmea, control_plan, work_instruction, ...")
    reference: NonEmpty = Field(description="The document's number and revision.")
    change: Text


class _CapaEvent(PublicEvent):
    service: ClassVar[str] = "capa"

    clause: str = Field(description="The procedure's clause this step follows.")
    capa_no: NonEmpty = Field(description="The CAPA's number, as printed on its reports.")


# Investigation (4.4.3) ------------------------------------------------------------------


class InvestigationOpened(_CapaEvent):
    """QC owns the investigation of a quality complaint (4.4.3) or a PNPR (4.3.4).

    ``occurred_at`` is the customer's report (or the PNPR's), so a replay of the
    upstream topics publishes it alike.
    """

    source: InvestigationSource
    source_event_id: UUID = Field(description="event_id of the event that opened it.")
    reported_at: UtcDatetime
    customer: CustomerRef
    product: str | None = None
    lot: str | None = None
    description: str = Field(description="What the customer said, or what QC reported.")
    owner_department: Department = Department.QUALITY
    recorded_at: UtcDatetime | None = Field(
        default=None,
        description="When the complaint or PNPR was recorded (occurred_at is when it was "
        "reported): a complaint entered days later has QC's deadlines found late.",
    )


class CustomerContactedByQuality(_CapaEvent):
    """QC contacted the customer about the complaint (4.4.3); sla's first-contact clock stops."""

    contacted_at: UtcDatetime
    contact: NonEmpty = Field(description="Who QC spoke to at the customer.")
    means: NonEmpty = Field(description="phone, email, visit, ...")
    summary: Text


class EvidenceRequested(_CapaEvent):
    """QC asked the customer for samples or photos (4.4.3)."""

    request_no: int = Field(ge=1, description="1 for the case's first request, and so on.")
    kinds: tuple[NonEmpty, ...] = Field(min_length=1, description="samples, photos, ...")
    details: Text
    due: date | None = None


class EvidenceReceived(_CapaEvent):
    """Evidence arrived (4.4.3): an attachment, by content hash; the bytes are in the blob store."""

    sha256: Sha256
    filename: NonEmpty
    media_type: NonEmpty
    size: int = Field(ge=1)
    description: str | None = None
    request_no: int | None = Field(default=None, description="The request it answers, if any.")


class NonconformanceLinked(_CapaEvent):
    """A PNPR of returned goods (4.3.3) joined the investigation of the same case."""

    report_no: NonEmpty
    description: str
    lot: str
    quantity: int


class ComplaintConfirmed(_CapaEvent):
    """The nonconformity is real (4.4.3); corrective action follows (4.4.4)."""

    finding: Text
    by_pnpr: bool = Field(default=False, description="Confirmed by a PNPR's report (4.3.3).")


class ComplaintNotConfirmed(_CapaEvent):
    """QC found no nonconformity; the investigation closes with the reason (4.4.3)."""

    reason: Text


class InvestigationClosedAsMisuse(_CapaEvent):
    """The problem is the customer's misuse (4.2.3): customer's responsibility, no CAPA."""

    finding: Text
    determined_by: NonEmpty = Field(description="intake (Marketing's finding) or quality.")


# Corrective and preventive action, as an 8D (4.4.4, 4.3.4) ----------------------------------


class TeamConvened(_CapaEvent):
    """D1: QC convened the cross-functional team (4.4.4); the CAPA starts."""

    leader: Person
    members: tuple[TeamMember, ...] = Field(min_length=4)


class EmergencyResponseRecorded(_CapaEvent):
    """D0: the emergency response that kept the customer producing."""

    actions: Text


class ProblemDescribed(_CapaEvent):
    """D2: the problem in 5W2H."""

    problem: ProblemDescription


class ContainmentRecorded(_CapaEvent):
    """D3: interim containment: what was sorted, blocked or replaced, where, how many."""

    actions: Text
    scope: Text = Field(description="Stock, WIP, in transit, at the customer ...")
    quantity: int | None = Field(default=None, ge=0)


class RootCauseIdentified(_CapaEvent):
    """D4: why it happened, and why it escaped (the escape point)."""

    root_cause: Text
    escape_point: Text
    method: NonEmpty = Field(description="5 whys, Ishikawa, fault tree, ...")
    round: int = Field(ge=1, description="2 and on: after an ineffective verification.")


class CorrectiveActionPlanned(_CapaEvent):
    """D5: a chosen permanent corrective (or preventive) action, with its owner and due date."""

    action_no: int = Field(ge=1)
    kind: ActionKind
    description: Text
    owner: Person
    due: date


class CorrectiveActionImplemented(_CapaEvent):
    """D6: an action implemented and its result validated."""

    action_no: int = Field(ge=1)
    implemented_on: date
    validation: Text
    overdue_days: int = Field(ge=0, description="Days after its due date; 0 when on time.")


class EffectivenessVerified(_CapaEvent):
    """The actions' effectiveness, verified (4.3.4). Not effective: back to root cause."""

    effective: bool
    method: Text
    result: Text
    verified_on: date


class CapaReopened(_CapaEvent):
    """Ineffective actions reopen the CAPA at root cause (D4)."""

    reason: Text
    round: int = Field(ge=2, description="The root-cause round that starts now.")


class RecurrencePrevented(_CapaEvent):
    """D7: standards, FMEA, control plans updated so it cannot happen elsewhere."""

    updates: tuple[DocumentUpdate, ...] = Field(min_length=1)
    note: str | None = None


class CapaClosed(_CapaEvent):
    """D8: closed after effective verification, with the team's recognition."""

    summary: Text
    recognition: Text
    opened_at: UtcDatetime
    days_open: int = Field(ge=0)


class ReportFormatChosen(_CapaEvent):
    """The format this case's CAPA is reported in, overriding the customer's (4.3.4)."""

    format: ReportFormat
    reason: str | None = None


class CustomerReportFormatRegistered(PublicEvent):
    """A customer's CAPA report format (4.3.4): its own template, 8D, or the company's CPAR."""

    service: ClassVar[str] = "capa"

    clause: str = "4.3.4"
    customer_code: NonEmpty
    format: ReportFormat
    title: str | None = None
    template_sha256: Sha256 | None = Field(
        default=None, description="Of the customer's Jinja2 template, for its own format."
    )
    revision: int = Field(ge=1)


CAPA_EVENTS: tuple[type[PublicEvent], ...] = (
    InvestigationOpened,
    CustomerContactedByQuality,
    EvidenceRequested,
    EvidenceReceived,
    NonconformanceLinked,
    ComplaintConfirmed,
    ComplaintNotConfirmed,
    InvestigationClosedAsMisuse,
    TeamConvened,
    EmergencyResponseRecorded,
    ProblemDescribed,
    ContainmentRecorded,
    RootCauseIdentified,
    CorrectiveActionPlanned,
    CorrectiveActionImplemented,
    EffectivenessVerified,
    CapaReopened,
    RecurrencePrevented,
    CapaClosed,
    ReportFormatChosen,
    CustomerReportFormatRegistered,
)
