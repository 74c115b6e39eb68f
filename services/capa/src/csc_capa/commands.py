"""Request bodies of capa's commands; the domain checks what depends on the case's state."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from csc_contracts.capa import (
    ActionKind,
    DocumentUpdate,
    Person,
    ProblemDescription,
    ReportFormat,
    TeamMember,
)
from csc_contracts.common import NonEmpty, UtcDatetime

# Every text and list has a bound: an event carries the request's text, and Kafka takes
# records of at most 1 MiB (the body limit, CSC_HTTP_MAX_BODY_BYTES, bounds them all).
Text = Annotated[str, Field(min_length=1, max_length=10_000)]
# A customer's report template, in characters (csc_capa.report_forms checks the same bound).
MAX_TEMPLATE_CHARS = 64 * 1024


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContactCustomer(Command):
    """QC contacted the customer (4.4.3)."""

    contacted_at: UtcDatetime | None = Field(default=None, description="Now when left out.")
    contact: NonEmpty = Field(description="Who QC spoke to at the customer.")
    means: NonEmpty = Field(description="phone, email, visit, ...")
    summary: Text


class RequestEvidence(Command):
    """QC asks for samples or photos (4.4.3)."""

    kinds: list[NonEmpty] = Field(min_length=1, max_length=10, description="samples, photos, ...")
    details: Text
    due: date | None = None


class Confirm(Command):
    finding: Text = Field(description="The nonconformity QC confirmed.")


class NotConfirm(Command):
    reason: Text = Field(description="Why there is no nonconformity.")


class FindMisuse(Command):
    finding: Text = Field(description="How the customer's use caused it (4.2.3).")


class ConveneTeam(Command):
    """The cross-functional team (4.4.4): marketing, development, engineering, production."""

    leader: Person
    members: list[TeamMember] = Field(min_length=4, max_length=50)


class RecordEmergencyResponse(Command):
    actions: Text


class DescribeProblem(ProblemDescription):
    pass


class RecordContainment(Command):
    actions: Text
    scope: Text = Field(description="Stock, WIP, in transit, at the customer ...")
    quantity: int | None = Field(default=None, ge=0)


class IdentifyRootCause(Command):
    root_cause: Text
    escape_point: Text = Field(description="Where the defect should have been caught, and why not.")
    method: NonEmpty = Field(description="5 whys, Ishikawa, fault tree, ...")


class PlanAction(Command):
    kind: ActionKind = ActionKind.CORRECTIVE
    description: Text
    owner: Person
    due: date


class ImplementAction(Command):
    implemented_on: date | None = Field(default=None, description="Today when left out.")
    validation: Text = Field(description="How the implemented action was validated.")


class VerifyEffectiveness(Command):
    effective: bool
    method: Text
    result: Text
    verified_on: date | None = Field(default=None, description="Today when left out.")


class PreventRecurrence(Command):
    updates: list[DocumentUpdate] = Field(min_length=1, max_length=100)
    note: Text | None = None


class Close(Command):
    summary: Text
    recognition: Text = Field(description="D8: how the team's work was recognized.")


class ChooseReportFormat(Command):
    format: ReportFormat
    reason: Text | None = None


class RegisterReportFormat(Command):
    """A customer's CAPA report format (4.3.4)."""

    format: ReportFormat
    title: NonEmpty | None = None
    template: Annotated[str, Field(min_length=1, max_length=MAX_TEMPLATE_CHARS)] | None = Field(
        default=None, description="Jinja2 template of the customer's own format; format=customer."
    )
