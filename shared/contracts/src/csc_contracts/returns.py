"""The returns service's public events, on ``csc.returns.v1``: returned product (4.3).

``case_id`` is the register entry of intake the return belongs to (or, for a
return requested before any complaint, the case returns opened for it), so
one case is followed from the customer's call to the last scrapped unit.
Every step of the procedure is one event: partial replacement (4.3.1), the
whole-batch return and its QC gate (4.3.2), and the Product Nonconformance
Processing Report, PNPR (4.3.3). ``NonconformanceReported`` is what
corrective action (4.3.4) starts from.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from csc_contracts.common import CustomerRef, Department, NonEmpty, PersonDepartment, UtcDatetime
from csc_contracts.events import PublicEvent

Quantity = Annotated[int, Field(ge=1, description="Units.")]


class Disposition(StrEnum):
    """What becomes of nonconforming product (4.3.3)."""

    REWORK = "rework"
    REPAIR = "repair"
    SCRAP = "scrap"
    USE_AS_IS = "use_as_is"  # by concession: the customer accepts it as it is
    RETURN_TO_SUPPLIER = "return_to_supplier"


class BoardMember(BaseModel):
    """A member of the review board that decides a PNPR (4.3.3)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: NonEmpty
    department: PersonDepartment


class DecisionLine(BaseModel):
    """How many units the review board sends to one disposition (4.3.3)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    disposition: Disposition
    quantity: Quantity


class _ReturnsEvent(PublicEvent):
    service: ClassVar[str] = "returns"

    clause: str = Field(description="The procedure's clause this step follows.")


# The case ----------------------------------------------------------------------------


class ReturnCaseOpened(_ReturnsEvent):
    """A quality complaint (4.4.1) or quality-problem report (4.1.2) opened a return case (4.3).

    Nothing is returned yet: Marketing decides with the customer between
    replacing units (4.3.1) and returning the batch (4.3.2). ``occurred_at`` is
    the customer's report, so a replay of intake's events publishes it alike.
    """

    opened_by_event: UUID | None = Field(
        default=None,
        description="event_id of intake's event that opened it; none when Marketing opened "
        "the case with a return or replacement request.",
    )
    opened_by_type: str | None = Field(default=None, description="ce_type of that event.")
    reported_at: UtcDatetime = Field(description="When the customer reported the problem.")
    customer: CustomerRef
    product: str | None = None
    lot: str | None = None
    description: str = Field(description="What the customer said.")


# Partial replacement (4.3.1) ---------------------------------------------------------------


class ReplacementAgreed(_ReturnsEvent):
    """Marketing and the customer agreed to swap a few nonconforming units of a batch (4.3.1)."""

    customer: CustomerRef
    product: str | None = None
    delivery: str | None = Field(default=None, description="The delivery the units came with.")
    lot: NonEmpty
    quantity: Quantity
    units: tuple[NonEmpty, ...] = Field(
        default=(), description="Ids (serial numbers) of the units to be swapped, where known."
    )
    agreed_with: NonEmpty | None = Field(default=None, description="Who agreed for the customer.")


class ReplacementShipped(_ReturnsEvent):
    """The Warehouse shipped the replacement units (4.3.1)."""

    quantity: Quantity
    lot: NonEmpty = Field(description="Lot of the replacement units.")
    units: tuple[NonEmpty, ...] = ()
    shipped_at: UtcDatetime
    shipping_note: NonEmpty | None = None


# Whole-batch return (4.3.2) --------------------------------------------------------------------


class ReturnRequested(_ReturnsEvent):
    """The customer asked to return a batch; Marketing recorded the request (4.3.2)."""

    customer: CustomerRef
    product: str | None = None
    delivery: NonEmpty = Field(description="The delivery (note number) being returned.")
    lot: NonEmpty
    quantity: Quantity
    reason: str


class ReturnConfirmationRequested(_ReturnsEvent):
    """Marketing asked QC to confirm the quality abnormality before anything is sent (4.3.2.1)."""

    notify_department: Department = Department.QUALITY
    note: str | None = None


class ReturnConfirmedByQuality(_ReturnsEvent):
    """QC confirmed the quality abnormality is real: the return may go ahead (4.3.2.2)."""

    finding: str


class ReturnRejectedByQuality(_ReturnsEvent):
    """QC found no real quality abnormality: the return is refused, the case ends (4.3.2.2).

    Marketing is told the reason, to give it to the customer.
    """

    reason: str
    notify_department: Department = Department.MARKETING


class ReturnReceiptAuthorized(_ReturnsEvent):
    """Marketing authorized the Warehouse to receive the returned batch (4.3.2.2)."""

    quantity: Quantity = Field(description="At most this many units may be received.")
    lot: NonEmpty
    notify_department: Department = Department.WAREHOUSE


class ReturnReceived(_ReturnsEvent):
    """The Warehouse received the returned goods (4.3.2.2-4.3.2.3)."""

    quantity: Quantity
    location: NonEmpty = Field(description="Where the goods were put.")
    lot: NonEmpty
    received_at: UtcDatetime


class ReturnSamplesTaken(_ReturnsEvent):
    """QC confirmed the received goods' condition on site and picked samples (4.3.2.3)."""

    condition: str = Field(description="The goods' condition as QC found it.")
    sample_count: Quantity
    sample_ids: tuple[NonEmpty, ...]


class ReturnMoreSamplesRequested(_ReturnsEvent):
    """QC asked the customer for more samples of the returned goods, saying why (4.3.2.3).

    The case stays received: QC picks its samples once they are in.
    """

    asked: str = Field(description="What QC asks the customer for: which samples, photos.")
    quantity: Quantity | None = Field(default=None, description="How many more sample units.")
    reason: str = Field(description="Why the samples received are not enough.")


# The PNPR (4.3.3) --------------------------------------------------------------------------


class _PnprEvent(_ReturnsEvent):
    report_no: NonEmpty = Field(description="The PNPR's number; one report per case.")


class NonconformingProductIdentified(_PnprEvent):
    """The returned nonconforming goods were tagged (4.3.3)."""

    tag: NonEmpty = Field(description="The nonconformance tag's number.")
    quantity: Quantity


class NonconformingProductIsolated(_PnprEvent):
    """The tagged goods were isolated in a quarantine location (4.3.3)."""

    location: NonEmpty = Field(description="The quarantine location.")
    quantity: Quantity


class NonconformanceReported(_PnprEvent):
    """QC reported the nonconformance (4.3.3); corrective action starts from it (4.3.4)."""

    customer: CustomerRef
    product: str | None = None
    delivery: str | None = None
    lot: NonEmpty
    quantity: Quantity = Field(description="Nonconforming units: all that were received.")
    description: str = Field(description="The nonconformance, as QC found it.")
    sample_ids: tuple[NonEmpty, ...] = ()
    tag: NonEmpty
    location: NonEmpty


class NonconformanceReviewed(_PnprEvent):
    """The review board decided how the nonconforming units are dispositioned (4.3.3)."""

    board: tuple[BoardMember, ...] = Field(min_length=1)
    decision: tuple[DecisionLine, ...] = Field(
        min_length=1, description="Units per disposition; they add up to the units received."
    )
    note: str | None = None


class NonconformanceDispositioned(_PnprEvent):
    """Some or all of the units were dispositioned as the board decided (4.3.3)."""

    disposition: Disposition
    quantity: Quantity
    concession: str | None = Field(
        default=None, description="For use as is: the concession that allows it."
    )
    note: str | None = None
    dispositioned: int = Field(ge=0, description="Units dispositioned so far, this one included.")
    remaining: int = Field(ge=0, description="Units still awaiting disposition.")
    complete: bool = Field(description="Every received unit is dispositioned: the PNPR closes.")


RETURNS_EVENTS: tuple[type[PublicEvent], ...] = (
    ReturnCaseOpened,
    ReplacementAgreed,
    ReplacementShipped,
    ReturnRequested,
    ReturnConfirmationRequested,
    ReturnConfirmedByQuality,
    ReturnRejectedByQuality,
    ReturnReceiptAuthorized,
    ReturnReceived,
    ReturnSamplesTaken,
    ReturnMoreSamplesRequested,
    NonconformingProductIdentified,
    NonconformingProductIsolated,
    NonconformanceReported,
    NonconformanceReviewed,
    NonconformanceDispositioned,
)
