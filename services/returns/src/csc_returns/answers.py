"""What returns' GETs answer: a case, its timeline, the quarantine stock and the PNPR."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from csc_messaging.answers import ActorOut, Answer, CustomerOut, Moment, MonthText, Uuid

Status = Literal[
    "reported",
    "replacement_agreed",
    "replacement_shipped",
    "return_requested",
    "awaiting_quality",
    "confirmed_by_quality",
    "rejected_by_quality",
    "receipt_authorized",
    "received",
    "sampled",
    "identified",
    "isolated",
    "nonconformance_reported",
    "reviewed",
    "dispositioned",
]


class Step(Answer):
    at: Moment = Field(description="When it was recorded.")
    by: ActorOut


class Shipment(Step):
    quantity: int
    lot: str
    units: list[str]
    shipped_at: Moment
    shipping_note: str | None


class Replacement(Answer):
    """A few units swapped (4.3.1)."""

    delivery: str | None
    lot: str
    quantity: int
    units: list[str]
    agreed_with: str | None
    agreed: Step
    shipment: Shipment | None


class ReturnRequest(Step):
    """The customer's request to return a batch (4.3.2, step 1)."""

    delivery: str
    lot: str
    quantity: int
    reason: str


class QualityRequest(Step):
    note: str | None


class QualityDecision(Step):
    confirmed: bool
    finding: str | None = Field(default=None, description="When confirmed: what QC found.")
    reason: str | None = Field(default=None, description="When rejected: why (4.3.2.2).")


class Quality(Answer):
    """Marketing's request to QC and QC's decision (4.3.2.1-4.3.2.2)."""

    requested: QualityRequest
    decision: QualityDecision | None


class ReceiptAuthorized(Step):
    quantity: int
    lot: str


class Receipt(Step):
    quantity: int
    location: str
    lot: str
    received_at: Moment


class Samples(Step):
    condition: str
    sample_count: int
    sample_ids: list[str]


class Tagged(Step):
    tag: str


class Isolated(Step):
    location: str


class Reported(Step):
    description: str


class BoardMember(Answer):
    name: str
    department: str


class DecisionLine(Answer):
    disposition: str
    quantity: int


class Reviewed(Step):
    board: list[BoardMember]
    decision: list[DecisionLine]
    note: str | None


class DispositionDone(Step):
    disposition: str
    quantity: int
    concession: str | None
    note: str | None


class Pnpr(Answer):
    """The Product Nonconformance Processing Report's steps (4.3.3)."""

    report_no: str
    quantity: int
    identified: Tagged
    isolated: Isolated | None
    reported: Reported | None
    reviewed: Reviewed | None
    dispositions: list[DispositionDone]
    dispositioned: int
    remaining: int


class ReturnCaseRow(Answer):
    """A return case as lists show it: where it stands and each step's details."""

    case_id: Uuid
    status: Status
    opened_by_event: Uuid | None = Field(description="The intake event that opened it, if any.")
    opened_by_type: str | None
    reported_at: Moment
    month: MonthText = Field(description="The month it was reported.")
    customer: CustomerOut
    product: str | None
    lot: str | None
    description: str
    replacement: Replacement | None
    request: ReturnRequest | None
    quality: Quality | None
    receipt_authorized: ReceiptAuthorized | None
    receipt: Receipt | None
    samples: Samples | None
    pnpr: Pnpr | None


class TimelineEntry(Answer):
    """One event of a case, in the words of the public event subscribers received."""

    version: int
    at: Moment
    event: str = Field(description="The public event's name.")
    type: str = Field(description="Its CloudEvents type.")
    event_id: Uuid
    clause: str | None
    actor: ActorOut
    fields: dict[str, Any] = Field(description="The public event's own fields.")


class ReturnCase(ReturnCaseRow):
    """One case, with its timeline."""

    timeline: list[TimelineEntry]


class QuarantineStock(Answer):
    """Goods isolated in quarantine, awaiting a decision (4.3.3)."""

    case_id: Uuid
    report_no: str
    location: str
    tag: str
    quantity: int = Field(description="Units not dispositioned yet.")
    customer: CustomerOut
    product: str | None
    lot: str
    isolated_at: Moment
    awaiting: Literal["nonconformance report", "review board decision", "disposition"]
    awaiting_dispositions: dict[str, int] = Field(
        description="Once reviewed: units per disposition the board decided and not yet done."
    )


class PnprReport(Pnpr):
    """The PNPR of one case with what led to it (4.3.2-4.3.3)."""

    case_id: Uuid
    status: Status
    customer: CustomerOut
    product: str | None
    complaint: str
    reported_at: Moment
    request: ReturnRequest | None
    quality: Quality | None
    receipt: Receipt | None
    samples: Samples | None
