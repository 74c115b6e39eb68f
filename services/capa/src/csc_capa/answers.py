"""What capa's GETs answer: an investigation and its 8D, its timeline, overdue actions, formats.

Each answer is validated against its model on the way out: ``extra="forbid"`` makes a
field the model forgot fail loudly in the tests instead of vanishing from the answer.
Times stay the text the read model holds (ISO 8601 with the offset it was given), typed
``date-time`` in the schema: re-serialising them as datetimes would rewrite ``+00:00``
as ``Z`` and change answers that auditors compare with the events. Routes answer with
``response_model_exclude_unset=True`` (``READ``), so a field a row leaves out (a
customer's time zone an old event did not carry) stays out, as before the models.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from csc_messaging.answers import READ, ActorOut, Answer, CustomerOut, Day, Moment, Uuid

__all__ = ["READ", "ActorOut", "Answer", "CustomerOut", "Day", "Moment", "Uuid"]

Status = Literal["investigating", "not_confirmed", "misuse", "confirmed", "in_progress", "closed"]
Format = Literal["customer", "8d", "cpar"]


class Person(Answer):
    name: str
    department: str


class TeamMember(Person):
    role: str | None = None


class Step(Answer):
    at: Moment = Field(description="When it happened.")
    actor: ActorOut | None = Field(
        description="Who recorded it; null for a fact taken from another service's event."
    )


class Impact(Answer):
    """Marketing's impact assessment from intake (4.4.2), for D0 and D3."""

    lines_stopped: int
    quantity_affected: int
    remedial_measure: str
    remedial_details: str | None


class Contact(Answer):
    """QC's contact with the customer about the complaint (4.4.3)."""

    contacted_at: Moment
    contact: str = Field(description="Who QC spoke to at the customer.")
    means: str
    summary: str
    actor: ActorOut | None


class EvidenceRequest(Step):
    """Samples or photos asked of the customer (4.4.3)."""

    request_no: int
    kinds: list[str]
    details: str
    due: Day | None


class Evidence(Step):
    """Evidence received, stored by the SHA-256 of its bytes (4.4.3)."""

    sha256: str
    filename: str = Field(description="A safe base name: no folders, no control characters.")
    original_filename: str = Field(description="The name as sent.")
    media_type: str
    size: int = Field(description="Bytes.")
    description: str | None
    request_no: int | None = Field(description="The evidence request it answers, if any.")


class Pnpr(Answer):
    """A PNPR of returned goods linked to the case (4.3.3-4.3.4)."""

    report_no: str
    description: str
    lot: str
    quantity: int
    at: Moment


class Finding(Step):
    """QC's finding (4.4.3): confirmed, not confirmed, or misuse (4.2.3)."""

    outcome: Literal["confirmed", "not_confirmed", "misuse"]
    text: str
    by_pnpr: bool = Field(description="Confirmed by a PNPR's report (4.3.3).")
    determined_by: str | None = Field(
        default=None, description="Misuse only: intake (Marketing's finding) or quality."
    )


class Team(Step):
    """D1: the cross-functional team (4.4.4)."""

    leader: Person
    members: list[TeamMember]


class EmergencyResponse(Step):
    """D0: what kept the customer producing."""

    actions: str


class Problem(Step):
    """D2: the problem in 5W2H."""

    what: str
    where: str
    when: str
    who: str
    why: str = Field(description="Why it is a problem: the requirement not met.")
    how: str = Field(description="How it was detected.")
    how_many: str


class Containment(Step):
    """D3: interim containment."""

    actions: str
    scope: str
    quantity: int | None


class RootCause(Step):
    """D4: root cause and escape point (4.3.4), one per round."""

    round: int = Field(description="2 and on: after an ineffective verification.")
    root_cause: str
    escape_point: str
    method: str


class PlannedAction(Step):
    """D5/D6: a permanent corrective or preventive action, and its implementation (4.3.4)."""

    action_no: int
    round: int
    kind: Literal["corrective", "preventive"]
    description: str
    owner: Person
    due: Day
    implemented_on: Day | None
    validation: str | None
    overdue_days: int | None = Field(
        description="Implemented this many days after its due date (0 on time); null while open."
    )
    status: Literal["open", "implemented"]


class Action(PlannedAction):
    overdue: bool = Field(description="Open, on a CAPA under way, and past due as of today.")


class Verification(Step):
    """The actions' effectiveness, verified (4.3.4)."""

    round: int
    effective: bool
    method: str
    result: str
    verified_on: Day


class Reopening(Answer):
    """Not effective: the CAPA reopened at D4 for a new round (4.3.4)."""

    round: int
    reason: str
    at: Moment


class DocumentUpdate(Answer):
    kind: str = Field(description="standard, fmea, control_plan, work_instruction, ...")
    reference: str = Field(description="The document's number and revision.")
    change: str


class Prevention(Step):
    """D7: standards, FMEA, control plans updated against recurrence."""

    updates: list[DocumentUpdate]
    note: str | None


class Closure(Step):
    """D8: closure and the team's recognition (4.4.4)."""

    summary: str
    recognition: str
    days_open: int


class InvestigationRow(Answer):
    """One investigation and its CAPA, as listed: every step, who and when (4.4.3-4.4.4)."""

    case_id: Uuid = Field(description="The register case the investigation belongs to.")
    capa_no: str = Field(description="The CAPA's number, as printed on its reports.")
    status: Status
    source: Literal["complaint", "pnpr"]
    source_event_id: Uuid = Field(description="event_id of the event that opened it.")
    reported_at: Moment
    opened_at: Moment
    closed_at: Moment | None
    round: int = Field(description="The root-cause round under way: 2 and on after reopening.")
    customer: CustomerOut
    product: str | None
    lot: str | None
    description: str = Field(description="What the customer said, or what QC reported.")
    owner_department: str
    impact: Impact | None
    contacts: list[Contact]
    evidence_requests: list[EvidenceRequest]
    evidence: list[Evidence]
    pnprs: list[Pnpr]
    finding: Finding | None
    team: Team | None
    d0: list[EmergencyResponse]
    d2: Problem | None
    d3: list[Containment]
    d4: list[RootCause]
    actions: list[Action]
    verifications: list[Verification]
    reopenings: list[Reopening]
    d7: list[Prevention]
    closure: Closure | None
    report_format: Format = Field(description="The format its report prints in (4.3.4).")
    report_format_source: Literal["case", "customer", "default"] = Field(
        description="Chosen for this case, the customer's registered one, or the company's CPAR."
    )


class TimelineEntry(Answer):
    """One event of the case, in the words of the public event on csc.capa.v1."""

    event: str = Field(description="The public event's name.")
    clause: str = Field(description="The procedure's clause the step follows.")
    at: Moment
    actor: ActorOut
    details: dict[str, Any] = Field(description="The public event's own fields.")


class InvestigationOut(InvestigationRow):
    """One investigation, its CAPA and its timeline."""

    timeline: list[TimelineEntry]


class OverdueAction(PlannedAction):
    """An action past due and not implemented, on a CAPA under way (4.4.4)."""

    case_id: Uuid
    capa_no: str
    customer: CustomerOut
    days_overdue: int = Field(description="Days past its due date, as of today.")


class ReportFormatOut(Answer):
    """How a customer wants its CAPAs reported (4.3.4); the latest revision applies."""

    customer_code: str
    format: Format
    title: str | None
    template: str | None = Field(description="The customer's Jinja2 template, if its own format.")
    template_sha256: str | None
    revision: int = Field(description="1 for the first registration, and so on.")
    at: Moment
    actor: ActorOut


class EvidenceStored(Answer):
    """Evidence received: its hash, and the investigation as it now stands."""

    sha256: str
    investigation: InvestigationOut


class ReportField(Answer):
    label_zh: str
    label_en: str
    value: str = Field(description="As printed; an empty value prints as a dash.")


class ReportColumn(Answer):
    label_zh: str
    label_en: str


class ReportSection(Answer):
    title_zh: str
    title_en: str
    columns: list[ReportColumn]
    rows: list[list[str]] = Field(description="Each cell as printed.")
    empty: str = Field(description="What prints across the table when it has no rows.")


class ReportOut(Answer):
    """The CAPA report as data, to preview what its PDF prints (4.3.4)."""

    format: Format
    title_zh: str
    title_en: str
    reference: str = Field(description="The form's controlled number.")
    fields: list[ReportField]
    sections: list[ReportSection]
    signatures: list[str]
    footer: str = Field(description="What the report was generated from, and when.")
