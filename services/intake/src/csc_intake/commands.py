"""What a user may ask intake to record. Validation errors name the field at fault."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from csc_contracts import (
    Actor,
    Channel,
    ComplaintCategory,
    CustomerRef,
    Department,
    FeedbackKind,
    UtcDatetime,
)

Text = Field(min_length=1, max_length=20_000)
Optional200 = Field(default=None, min_length=1, max_length=200)


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    actor: Actor = Field(description="Who records it: a user acting for a department.")
    channel: Channel
    receiving_department: Department = Field(
        description="The department the customer reached (any department may receive, 4.1.2)."
    )
    received_at: UtcDatetime | None = Field(
        default=None, description="When the customer's message arrived; now when omitted."
    )
    customer: CustomerRef
    text: str = Text
    product: str | None = Optional200
    lot: str | None = Optional200


class RegisterFeedback(_Command):
    """Customer information for the Customer Information Register (4.1.1-4.1.2)."""

    kind: FeedbackKind = Field(description="One of the five kinds of entry of 4.1.2.")


class LogComplaint(_Command):
    """A complaint about service, quality or delivery (4.4.1)."""

    category: ComplaintCategory
