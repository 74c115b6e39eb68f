"""Public events: the only messages that leave a service.

Every event type is versioned. Its CloudEvents ``type`` is
``csc.<service>.<Name>.v<version>``; a new incompatible shape is a new class
with a higher version, published beside the old one until subscribers move.
Within a version, fields are only ever added as optional, and readers ignore
fields they do not know, so adding one breaks nobody.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from csc_contracts.common import (
    Actor,
    Channel,
    ComplaintCategory,
    CustomerRef,
    Department,
    FeedbackKind,
    UtcDatetime,
)


class PublicEvent(BaseModel):
    """Fields every public event carries."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    service: ClassVar[str]
    version: ClassVar[int] = 1

    event_id: UUID = Field(description="Unique, and the same on every redelivery.")
    case_id: UUID = Field(description="The register entry this event belongs to.")
    occurred_at: UtcDatetime
    actor: Actor

    @classmethod
    def event_type(cls) -> str:
        return f"csc.{cls.service}.{cls.__name__}.v{cls.version}"


class FeedbackReceived(PublicEvent):
    """Customer information recorded in the Customer Information Register (4.1.2)."""

    service: ClassVar[str] = "intake"

    channel: Channel
    kind: FeedbackKind
    receiving_department: Department
    received_at: UtcDatetime
    customer: CustomerRef
    text: str
    product: str | None = None
    lot: str | None = None


class ComplaintLogged(PublicEvent):
    """A service, quality or delivery complaint recorded by Marketing (4.4.1)."""

    service: ClassVar[str] = "intake"

    category: ComplaintCategory
    channel: Channel
    receiving_department: Department
    received_at: UtcDatetime
    customer: CustomerRef
    text: str
    product: str | None = None
    lot: str | None = None


EVENT_TYPES: dict[str, type[PublicEvent]] = {
    cls.event_type(): cls for cls in (FeedbackReceived, ComplaintLogged)
}
