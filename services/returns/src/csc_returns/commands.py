"""Request bodies of returns' commands; the domain checks what depends on the case's state."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from csc_contracts import BoardMember, DecisionLine, Disposition
from csc_contracts.common import NonEmpty, UtcDatetime

Quantity = Annotated[int, Field(ge=1, le=10_000_000)]
# Every text and list has a bound: an event carries the request's text, and Kafka takes
# records of at most 1 MiB (the body limit, CSC_HTTP_MAX_BODY_BYTES, bounds them all).
Text = Annotated[str, Field(min_length=1, max_length=10_000)]
UnitIds = Annotated[list[NonEmpty], Field(max_length=1_000)]
MAX_ITEMS = 100


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class AgreeReplacement(_Opening):
    """A few nonconforming units of a delivered batch to be swapped (4.3.1)."""

    delivery: NonEmpty | None = None
    lot: NonEmpty
    quantity: Quantity
    units: UnitIds = Field(default_factory=list, description="Ids of the units to be swapped.")
    agreed_with: NonEmpty | None = Field(default=None, description="Who agreed at the customer.")


class ShipReplacement(Command):
    quantity: Quantity
    lot: NonEmpty = Field(description="Lot of the replacement units.")
    units: UnitIds = Field(default_factory=list)
    shipped_at: UtcDatetime | None = Field(default=None, description="Now when left out.")
    shipping_note: NonEmpty | None = None


class RequestReturn(_Opening):
    """The customer's request to return a batch (4.3.2)."""

    delivery: NonEmpty = Field(description="The delivery (note number) being returned.")
    lot: NonEmpty
    quantity: Quantity
    reason: Text


class RequestConfirmation(Command):
    note: Text | None = None


class ConfirmReturn(Command):
    finding: Text = Field(description="What QC found: the quality abnormality is real.")


class RejectReturn(Command):
    reason: Text = Field(description="Why there is no real quality abnormality; told to Marketing.")


class AuthorizeReceipt(Command):
    pass


class ReceiveReturn(Command):
    quantity: Quantity
    location: NonEmpty = Field(description="Where the Warehouse put the goods.")
    lot: NonEmpty
    received_at: UtcDatetime | None = Field(default=None, description="Now when left out.")


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


class IdentifyNonconforming(Command):
    tag: NonEmpty = Field(description="The nonconformance tag's number.")


class IsolateNonconforming(Command):
    location: NonEmpty = Field(description="The quarantine location.")


class ReportNonconformance(Command):
    description: Text


class ReviewNonconformance(Command):
    board: list[BoardMember] = Field(
        min_length=2, max_length=MAX_ITEMS, description="The review board's members."
    )
    decision: list[DecisionLine] = Field(min_length=1, max_length=MAX_ITEMS)
    note: Text | None = None


class DispositionNonconforming(Command):
    disposition: Disposition
    quantity: Quantity
    concession: NonEmpty | None = Field(
        default=None, description="Use as is only: the concession that allows it."
    )
    note: Text | None = None
