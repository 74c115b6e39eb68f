"""Capa's steps, each declared once on its request body: route, who, clause, events.

The domain checks what depends on the case's state; ``args`` is what a body gives the
aggregate's method that decides the step. Everything else capa serves (permissions,
routes, the clause and the public event of each recorded event) is read from ``STEPS``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

import csc_contracts.capa as pub
from csc_capa.domain import CustomerReportFormat, Investigation
from csc_contracts import PERSON_DEPARTMENTS, Department
from csc_contracts.capa import (
    ActionKind,
    DocumentUpdate,
    Person,
    ProblemDescription,
    ReportFormat,
    TeamMember,
)
from csc_contracts.common import NonEmpty, UtcDatetime
from csc_messaging.commands import not_future, not_future_day
from csc_messaging.steps import Steps

I = Investigation  # noqa: E741

# Every text and list has a bound: an event carries the request's text, and Kafka takes
# records of at most 1 MiB (the body limit, CSC_HTTP_MAX_BODY_BYTES, bounds them all).
Text = Annotated[str, Field(min_length=1, max_length=10_000)]
# A customer's report template, in characters (csc_capa.report_forms checks the same bound).
MAX_TEMPLATE_CHARS = 64 * 1024
MAX_FILENAME = 200

M = Department.MARKETING
QC = Department.QUALITY
ENG = Department.ENGINEERING
DEV = Department.DEVELOPMENT
P = Department.PRODUCTION
WH = Department.WAREHOUSE
TEAM = frozenset({QC, M, ENG, DEV, P})
PROCESS = frozenset({QC, ENG, DEV, P})
# Whoever QC makes an action's owner may implement it; auditors record nothing.
ANYONE_BUT_AUDITORS = frozenset(PERSON_DEPARTMENTS) - {Department.AUDITOR}
INV, CAPA, REP = "investigation 4.4.3", "CAPA 8D 4.4.4", "reports 4.3.4"
CASE = "/investigations/{case_id}"

STEPS = Steps()
# intake's quality complaints and returns' PNPRs open an investigation; no one's command.
STEPS.fact(I.Opened, pub.InvestigationOpened, "4.4.3")
# intake's QualityImpactAssessed already says it; capa keeps it for D0 and D3.
STEPS.fact(I.ImpactNoted, None, "4.4.2")
# A PNPR of the same case (4.3.3) joins it, and confirms an open investigation (Confirmed).
STEPS.fact(I.NonconformanceLinked, pub.NonconformanceLinked, "4.3.4")


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    team_step: ClassVar[bool] = False
    """An 8D step after D1: for QC and the departments on the team it convened (4.4.4)."""

    def args(self, now: datetime) -> dict[str, Any]:
        """The aggregate method's arguments, less who asked (``csc_messaging.commands.by``)."""
        return {name: getattr(self, name) for name in type(self).model_fields}


class TeamCommand(Command):
    team_step: ClassVar[bool] = True


# Investigation (4.4.3) ---------------------------------------------------------------------


@STEPS.step("contact_customer", f"{CASE}/contacts", event=I.CustomerContacted,
            public=pub.CustomerContactedByQuality, clause="4.4.3", may={QC},
            method="contact_customer", tag=INV,
            doc="QC contacted the customer about the complaint (4.4.3).")  # fmt: skip
class ContactCustomer(Command):
    """QC contacted the customer (4.4.3)."""

    contacted_at: UtcDatetime | None = Field(default=None, description="Now when left out.")
    contact: NonEmpty = Field(description="Who QC spoke to at the customer.")
    means: NonEmpty = Field(description="phone, email, visit, ...")
    summary: Text

    def args(self, now: datetime) -> dict[str, Any]:
        return {
            **super().args(now),
            "contacted_at": not_future(self.contacted_at, now, "contacted_at"),
        }


@STEPS.step("request_evidence", f"{CASE}/evidence-requests", event=I.EvidenceRequested,
            public=pub.EvidenceRequested, clause="4.4.3", may={QC}, method="request_evidence",
            tag=INV, doc="QC asks the customer for samples or photos (4.4.3).")  # fmt: skip
class RequestEvidence(Command):
    """QC asks for samples or photos (4.4.3)."""

    kinds: list[NonEmpty] = Field(min_length=1, max_length=10, description="samples, photos, ...")
    details: Text
    due: date | None = None

    def args(self, now: datetime) -> dict[str, Any]:
        return {**super().args(now), "kinds": list(self.kinds), "today": now.date()}


@STEPS.step("receive_evidence", f"{CASE}/evidence", event=I.EvidenceReceived,
            public=pub.EvidenceReceived, clause="4.4.3", may={QC, M},
            method="receive_evidence", tag=INV, upload=True,
            doc="Evidence from the customer: the file's bytes as the body, its type as "
            "Content-Type.")  # fmt: skip
class ReceiveEvidence(Command):
    """What comes with the evidence's bytes: its name, its declared type, what it is."""

    filename: Annotated[str, Field(min_length=1, max_length=MAX_FILENAME)]
    media_type: str = Field(description="The Content-Type it was sent as.")
    description: Annotated[str | None, Field(max_length=2000)] = None
    request_no: Annotated[int | None, Field(ge=1)] = None


@STEPS.step("confirm", f"{CASE}/confirmation", event=I.Confirmed,
            public=pub.ComplaintConfirmed, clause="4.4.3", may={QC}, method="confirm",
            tag=INV, doc="QC confirms the nonconformity, after contacting the customer "
            "(4.4.3).")  # fmt: skip
class Confirm(Command):
    finding: Text = Field(description="The nonconformity QC confirmed.")


@STEPS.step("not_confirm", f"{CASE}/non-confirmation", event=I.NotConfirmed,
            public=pub.ComplaintNotConfirmed, clause="4.4.3", may={QC}, method="not_confirm",
            tag=INV, doc="No nonconformity: the investigation closes with the reason "
            "(4.4.3).")  # fmt: skip
class NotConfirm(Command):
    reason: Text = Field(description="Why there is no nonconformity.")


# Marketing's misuse finding from intake closes an investigation the same way (a fact).
@STEPS.step("find_misuse", f"{CASE}/misuse", event=I.ClosedAsMisuse,
            public=pub.InvestigationClosedAsMisuse, clause="4.2.3", may={QC},
            method="find_misuse", tag=INV, doc="Misuse: the customer's responsibility, "
            "closed without CAPA (4.2.3).")  # fmt: skip
class FindMisuse(Command):
    finding: Text = Field(description="How the customer's use caused it (4.2.3).")


# CAPA as 8D (4.4.4, 4.3.4) -----------------------------------------------------------------


@STEPS.step("convene_team", f"{CASE}/team", event=I.TeamConvened, public=pub.TeamConvened,
            clause="4.4.4", may={QC}, method="convene_team", tag=CAPA,
            doc="D1: QC convenes the cross-functional team (marketing, development, "
            "engineering, production at least, and a leader); the CAPA starts "
            "(4.4.4).")  # fmt: skip
class ConveneTeam(Command):
    """The cross-functional team (4.4.4): marketing, development, engineering, production."""

    leader: Person
    members: list[TeamMember] = Field(min_length=4, max_length=50)

    def args(self, now: datetime) -> dict[str, Any]:
        return {
            "leader": self.leader.model_dump(mode="json"),
            "members": [m.model_dump(mode="json") for m in self.members],
        }


@STEPS.step("record_emergency_response", f"{CASE}/d0/emergency-response",
            event=I.EmergencyResponseRecorded, public=pub.EmergencyResponseRecorded,
            clause="4.4.4", may=TEAM | {WH}, method="record_emergency_response", tag=CAPA,
            doc="D0: what kept the customer producing.")  # fmt: skip
class RecordEmergencyResponse(TeamCommand):
    actions: Text


@STEPS.step("describe_problem", f"{CASE}/d2/problem", event=I.ProblemDescribed,
            public=pub.ProblemDescribed, clause="4.4.4", may={QC}, method="describe_problem",
            tag=CAPA, doc="D2: the problem in 5W2H.")  # fmt: skip
class DescribeProblem(ProblemDescription, TeamCommand):
    def args(self, now: datetime) -> dict[str, Any]:
        return {"problem": self.model_dump(mode="json")}


@STEPS.step("record_containment", f"{CASE}/d3/containment", event=I.ContainmentRecorded,
            public=pub.ContainmentRecorded, clause="4.4.4", may=TEAM | {WH},
            method="record_containment", tag=CAPA,
            doc="D3: interim containment.")  # fmt: skip
class RecordContainment(TeamCommand):
    actions: Text
    scope: Text = Field(description="Stock, WIP, in transit, at the customer ...")
    quantity: int | None = Field(default=None, ge=0)


@STEPS.step("identify_root_cause", f"{CASE}/d4/root-cause", event=I.RootCauseIdentified,
            public=pub.RootCauseIdentified, clause="4.3.4", may=PROCESS,
            method="identify_root_cause", tag=CAPA,
            doc="D4: root cause and escape point (4.3.4).")  # fmt: skip
class IdentifyRootCause(TeamCommand):
    root_cause: Text
    escape_point: Text = Field(description="Where the defect should have been caught, and why not.")
    method: NonEmpty = Field(description="5 whys, Ishikawa, fault tree, ...")


@STEPS.step("plan_action", f"{CASE}/d5/actions", event=I.ActionPlanned,
            public=pub.CorrectiveActionPlanned, clause="4.3.4", may=PROCESS,
            method="plan_action", tag=CAPA, doc="D5: a chosen permanent corrective or "
            "preventive action, owner and due date (4.3.4).")  # fmt: skip
class PlanAction(TeamCommand):
    kind: ActionKind = ActionKind.CORRECTIVE
    description: Text
    owner: Person
    due: date

    def args(self, now: datetime) -> dict[str, Any]:
        return {
            **super().args(now),
            "kind": self.kind.value,
            "owner": self.owner.model_dump(mode="json"),
            "today": now.date(),
        }


# 4.3.4: an action is implemented by its owner's department or the team leader's, which
# the application checks on the case (``permissions.authorize_implementation``).
@STEPS.step("implement_action", f"{CASE}/d6/actions/{{action_no}}/implementation",
            event=I.ActionImplemented, public=pub.CorrectiveActionImplemented,
            clause="4.3.4", may=ANYONE_BUT_AUDITORS, method="implement_action", tag=CAPA,
            doc="D6: an action implemented and validated; days past due are recorded "
            "(4.3.4).")  # fmt: skip
class ImplementAction(Command):
    implemented_on: date | None = Field(default=None, description="Today when left out.")
    validation: Text = Field(description="How the implemented action was validated.")

    def args(self, now: datetime) -> dict[str, Any]:
        today = now.date()
        return {
            "implemented_on": not_future_day(self.implemented_on, today, "implemented_on"),
            "validation": self.validation,
        }


# 4.3.4: not effective means the cause was not the cause: the CAPA reopens at D4.
@STEPS.step("verify_effectiveness", f"{CASE}/effectiveness", event=I.EffectivenessVerified,
            public=pub.EffectivenessVerified, clause="4.3.4", may={QC},
            method="verify_effectiveness", tag=CAPA, also={I.Reopened: pub.CapaReopened},
            doc="Verification of effectiveness (4.3.4); not effective reopens the CAPA at "
            "D4.")  # fmt: skip
class VerifyEffectiveness(TeamCommand):
    effective: bool
    method: Text
    result: Text
    verified_on: date | None = Field(default=None, description="Today when left out.")

    def args(self, now: datetime) -> dict[str, Any]:
        verified_on = not_future_day(self.verified_on, now.date(), "verified_on")
        return {**super().args(now), "verified_on": verified_on}


@STEPS.step("prevent_recurrence", f"{CASE}/d7/prevention", event=I.RecurrencePrevented,
            public=pub.RecurrencePrevented, clause="4.4.4", may=PROCESS,
            method="prevent_recurrence", tag=CAPA, doc="D7: standards, FMEA, control plans "
            "updated against recurrence.")  # fmt: skip
class PreventRecurrence(TeamCommand):
    updates: list[DocumentUpdate] = Field(min_length=1, max_length=100)
    note: Text | None = None

    def args(self, now: datetime) -> dict[str, Any]:
        return {"updates": [u.model_dump(mode="json") for u in self.updates], "note": self.note}


@STEPS.step("close", f"{CASE}/d8/closure", event=I.Closed, public=pub.CapaClosed,
            clause="4.4.4", may={QC}, method="close", tag=CAPA, operation="close_capa",
            doc="D8: closure and team recognition; only after effectiveness is verified "
            "(4.3.4).")  # fmt: skip
class Close(TeamCommand):
    summary: Text
    recognition: Text = Field(description="D8: how the team's work was recognized.")

    def args(self, now: datetime) -> dict[str, Any]:
        return {**super().args(now), "closed_at": now}


# Report formats (4.3.4) --------------------------------------------------------------------


@STEPS.step("choose_report_format", f"{CASE}/report-format", event=I.ReportFormatChosen,
            public=pub.ReportFormatChosen, clause="4.3.4", may={QC, M},
            method="choose_report_format", tag=REP,
            doc="This case's report format, over the customer's (4.3.4).")  # fmt: skip
class ChooseReportFormat(Command):
    format: ReportFormat
    reason: Text | None = None

    def args(self, now: datetime) -> dict[str, Any]:
        return {"format": self.format.value, "reason": self.reason}


# A customer's first registration creates its record; each one after revises it.
@STEPS.step("register_report_format", "/report-formats/{customer_code}",
            event=CustomerReportFormat.Registered, public=pub.CustomerReportFormatRegistered,
            clause="4.3.4", may={QC, M}, method="revise", tag=REP, verb="PUT",
            aggregate=CustomerReportFormat,
            also={CustomerReportFormat.Revised: pub.CustomerReportFormatRegistered},
            doc="How this customer wants its CAPAs reported: its own Jinja2 template, 8D or "
            "CPAR.")  # fmt: skip
class RegisterReportFormat(Command):
    """A customer's CAPA report format (4.3.4)."""

    format: ReportFormat
    title: NonEmpty | None = None
    template: Annotated[str, Field(min_length=1, max_length=MAX_TEMPLATE_CHARS)] | None = Field(
        default=None, description="Jinja2 template of the customer's own format; format=customer."
    )
