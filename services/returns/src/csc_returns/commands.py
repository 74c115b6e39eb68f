"""Returns' steps, each declared once on its request body: route, who, clause, events.

The domain checks what depends on the case's state; ``args`` is what a body gives the
aggregate's method that decides the step. Everything else returns serves (permissions,
routes, the clause and the public event of each recorded event) is read from ``STEPS``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

import csc_contracts.returns as pub
from csc_contracts import BoardMember, DecisionLine, Department, Disposition
from csc_contracts.common import NonEmpty, UtcDatetime
from csc_messaging.commands import not_future
from csc_messaging.steps import Steps
from csc_returns.domain import ReturnCase as C

Quantity = Annotated[int, Field(ge=1, le=10_000_000)]
# Every text and list has a bound: an event carries the request's text, and Kafka takes
# records of at most 1 MiB (the body limit, CSC_HTTP_MAX_BODY_BYTES, bounds them all).
Text = Annotated[str, Field(min_length=1, max_length=10_000)]
UnitIds = Annotated[list[NonEmpty], Field(max_length=1_000)]
MAX_ITEMS = 100


M = Department.MARKETING
QC = Department.QUALITY
WH = Department.WAREHOUSE
P = Department.PRODUCTION
REPLACEMENT, WHOLE, PNPR = "replacement 4.3.1", "whole-batch return 4.3.2", "PNPR 4.3.3"
CASE = "/cases/{case_id}"

STEPS = Steps()
# intake's quality complaints and quality-problem reports open a case; no one's command.
STEPS.fact(C.Opened, pub.ReturnCaseOpened, "4.3")


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def args(self, now: datetime) -> dict[str, Any]:
        """The aggregate method's arguments, less who asked (``csc_messaging.commands.by``)."""
        return {name: getattr(self, name) for name in type(self).model_fields}


_OPENING = frozenset({"case_id", "customer_code", "customer_name"})


class _Opening(Command):
    case_id: UUID | None = Field(
        default=None,
        description="The intake case (complaint or quality-problem report) this belongs to, "
        "which returns has seen. Without it a new case is opened; its id derives from the "
        "Idempotency-Key, so a retry finds the same case.",
    )
    customer_code: NonEmpty | None = Field(
        default=None, description="Needed when no case_id is given; else the case's customer."
    )
    customer_name: NonEmpty | None = None
    product: NonEmpty | None = None

    def args(self, now: datetime) -> dict[str, Any]:
        return {k: v for k, v in super().args(now).items() if k not in _OPENING}

    def opening(self) -> str:
        """What a case opened by this request says, there being no complaint before it."""
        raise NotImplementedError


@STEPS.step("agree_replacement", "/replacements", event=C.ReplacementAgreed,
            public=pub.ReplacementAgreed, clause="4.3.1", may={M}, method="agree_replacement",
            tag=REPLACEMENT, doc="Record the replacement of a few nonconforming units agreed "
            "with the customer (4.3.1).")  # fmt: skip
class AgreeReplacement(_Opening):
    """A few nonconforming units of a delivered batch to be swapped (4.3.1)."""

    delivery: NonEmpty | None = None
    lot: NonEmpty
    quantity: Quantity
    units: UnitIds = Field(default_factory=list, description="Ids of the units to be swapped.")
    agreed_with: NonEmpty | None = Field(default=None, description="Who agreed at the customer.")

    def opening(self) -> str:
        return f"Replacement of {self.quantity} units of lot {self.lot}"


@STEPS.step("ship_replacement", f"{CASE}/replacement/shipment", event=C.ReplacementShipped,
            public=pub.ReplacementShipped, clause="4.3.1", may={WH}, method="ship_replacement",
            tag=REPLACEMENT,
            doc="The Warehouse ships the agreed replacement units (4.3.1).")  # fmt: skip
class ShipReplacement(Command):
    quantity: Quantity
    lot: NonEmpty = Field(description="Lot of the replacement units.")
    units: UnitIds = Field(default_factory=list)
    shipped_at: UtcDatetime | None = Field(default=None, description="Now when left out.")
    shipping_note: NonEmpty | None = None

    def args(self, now: datetime) -> dict[str, Any]:
        return {**super().args(now), "shipped_at": not_future(self.shipped_at, now, "shipped_at")}


@STEPS.step("request_return", "/returns", event=C.ReturnRequested, public=pub.ReturnRequested,
            clause="4.3.2", may={M}, method="request_return", tag=WHOLE,
            doc="Record the customer's request to return a batch (4.3.2, step 1).")  # fmt: skip
class RequestReturn(_Opening):
    """The customer's request to return a batch (4.3.2)."""

    delivery: NonEmpty = Field(description="The delivery (note number) being returned.")
    lot: NonEmpty
    quantity: Quantity
    reason: Text

    def opening(self) -> str:
        return self.reason


@STEPS.step("request_confirmation", f"{CASE}/quality-confirmation-request",
            event=C.ConfirmationRequested, public=pub.ReturnConfirmationRequested,
            clause="4.3.2.1", may={M}, method="request_confirmation", tag=WHOLE,
            doc="Marketing asks QC to confirm the quality abnormality (4.3.2.1, "
            "step 2).")  # fmt: skip
class RequestConfirmation(Command):
    note: Text | None = None


@STEPS.step("confirm_return", f"{CASE}/quality-confirmation", event=C.ConfirmedByQuality,
            public=pub.ReturnConfirmedByQuality, clause="4.3.2.2", may={QC}, method="confirm",
            tag=WHOLE,
            doc="QC confirms the quality abnormality is real (4.3.2.2, step 3).")  # fmt: skip
class ConfirmReturn(Command):
    finding: Text = Field(description="What QC found: the quality abnormality is real.")


@STEPS.step("reject_return", f"{CASE}/quality-rejection", event=C.RejectedByQuality,
            public=pub.ReturnRejectedByQuality, clause="4.3.2.2", may={QC}, method="reject",
            tag=WHOLE, doc="QC rejects the return with a reason, told to Marketing; the case "
            "ends (4.3.2.2).")  # fmt: skip
class RejectReturn(Command):
    reason: Text = Field(description="Why there is no real quality abnormality; told to Marketing.")


@STEPS.step("authorize_receipt", f"{CASE}/receipt-authorization", event=C.ReceiptAuthorized,
            public=pub.ReturnReceiptAuthorized, clause="4.3.2.2", may={M},
            method="authorize_receipt", tag=WHOLE,
            doc="Marketing authorizes the Warehouse to receive, only after QC confirmed "
            "(4.3.2.2, step 4).")  # fmt: skip
class AuthorizeReceipt(Command):
    pass


@STEPS.step("receive_return", f"{CASE}/receipt", event=C.Received, public=pub.ReturnReceived,
            clause="4.3.2.2", may={WH}, method="receive", tag=WHOLE,
            doc="The Warehouse records receipt: quantity (at most as requested), location, "
            "lot (4.3.2.2-4.3.2.3, step 4).")  # fmt: skip
class ReceiveReturn(Command):
    quantity: Quantity
    location: NonEmpty = Field(description="Where the Warehouse put the goods.")
    lot: NonEmpty
    received_at: UtcDatetime | None = Field(default=None, description="Now when left out.")

    def args(self, now: datetime) -> dict[str, Any]:
        return {
            **super().args(now),
            "received_at": not_future(self.received_at, now, "received_at"),
        }


@STEPS.step("take_samples", f"{CASE}/samples", event=C.SamplesTaken,
            public=pub.ReturnSamplesTaken, clause="4.3.2.3", may={QC}, method="take_samples",
            tag=WHOLE, doc="QC confirms the received goods' condition on site and picks "
            "samples (4.3.2.3, step 5).")  # fmt: skip
class TakeSamples(Command):
    condition: Text = Field(description="The received goods' condition, as QC found it on site.")
    sample_count: Quantity
    sample_ids: UnitIds = Field(min_length=1)

    @model_validator(mode="after")
    def _count_matches_ids(self) -> TakeSamples:
        if self.sample_count != len(self.sample_ids):
            raise ValueError(
                f"sample_count {self.sample_count} but {len(self.sample_ids)} sample_ids"
            )
        if len(set(self.sample_ids)) != len(self.sample_ids):
            raise ValueError("a sample id appears twice")
        return self

    def args(self, now: datetime) -> dict[str, Any]:
        # The count is the caller's check of the ids; the event counts them itself.
        return {"condition": self.condition, "sample_ids": list(self.sample_ids)}


@STEPS.step("request_more_samples", f"{CASE}/more-samples-request",
            event=C.MoreSamplesRequested, public=pub.ReturnMoreSamplesRequested,
            clause="4.3.2.3", may={QC}, method="request_more_samples", tag=WHOLE,
            doc="QC asks the customer for more samples of the returned goods, saying what "
            "and why; the case stays received (4.3.2.3).")  # fmt: skip
class RequestMoreSamples(Command):
    asked: Text = Field(description="What QC asks the customer for: which samples, photos.")
    quantity: Quantity | None = Field(default=None, description="How many more sample units.")
    reason: Text = Field(description="Why the samples received are not enough.")


@STEPS.step("identify_nonconforming", f"{CASE}/pnpr/identification", event=C.Identified,
            public=pub.NonconformingProductIdentified, clause="4.3.3", may={QC},
            method="identify", tag=PNPR,
            doc="QC tags the returned nonconforming goods (4.3.3).")  # fmt: skip
class IdentifyNonconforming(Command):
    tag: NonEmpty = Field(description="The nonconformance tag's number.")


@STEPS.step("isolate_nonconforming", f"{CASE}/pnpr/isolation", event=C.Isolated,
            public=pub.NonconformingProductIsolated, clause="4.3.3", may={WH},
            method="isolate", tag=PNPR,
            doc="The Warehouse isolates them in a quarantine location (4.3.3).")  # fmt: skip
class IsolateNonconforming(Command):
    location: NonEmpty = Field(description="The quarantine location.")


@STEPS.step("report_nonconformance", f"{CASE}/pnpr/report", event=C.NonconformanceReported,
            public=pub.NonconformanceReported, clause="4.3.3", may={QC}, method="report",
            tag=PNPR, doc="QC reports the nonconformance; corrective action starts from it "
            "(4.3.3, 4.3.4).")  # fmt: skip
class ReportNonconformance(Command):
    description: Text


@STEPS.step("review_nonconformance", f"{CASE}/pnpr/review", event=C.Reviewed,
            public=pub.NonconformanceReviewed, clause="4.3.3", may={QC}, method="review",
            tag=PNPR, doc="The review board's members and decision: units per disposition, "
            "adding up to the units received (4.3.3).")  # fmt: skip
class ReviewNonconformance(Command):
    board: list[BoardMember] = Field(
        min_length=2, max_length=MAX_ITEMS, description="The review board's members."
    )
    decision: list[DecisionLine] = Field(min_length=1, max_length=MAX_ITEMS)
    note: Text | None = None

    def args(self, now: datetime) -> dict[str, Any]:
        return {
            "board": [m.model_dump(mode="json") for m in self.board],
            "decision": [d.model_dump(mode="json") for d in self.decision],
            "note": self.note,
        }


# Dispositions are carried out where the work is done (rework and repair in Production,
# scrap and return to supplier through the Warehouse) and recorded by whoever did it or QC.
@STEPS.step("disposition_nonconforming", f"{CASE}/pnpr/dispositions", event=C.Dispositioned,
            public=pub.NonconformanceDispositioned, clause="4.3.3", may={QC, WH, P},
            method="disposition", tag=PNPR, doc="Units dispositioned as the board decided; the "
            "PNPR closes when all received units are (4.3.3).")  # fmt: skip
class DispositionNonconforming(Command):
    disposition: Disposition
    quantity: Quantity
    concession: NonEmpty | None = Field(
        default=None, description="Use as is only: the concession that allows it."
    )
    note: Text | None = None

    def args(self, now: datetime) -> dict[str, Any]:
        return {**super().args(now), "disposition": self.disposition.value}
