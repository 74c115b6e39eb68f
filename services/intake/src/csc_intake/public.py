"""The one place where intake's internal events become public events."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from csc_contracts import Actor, ComplaintLogged, CustomerRef, FeedbackReceived, PublicEvent
from csc_intake.domain import Complaint, FeedbackEntry

# The public event id is derived from the stored event's position in its
# aggregate, so every republication of it carries the same id.
EVENT_NAMESPACE = UUID("0d6c1c1e-2b8a-4f44-b0a5-8f3c2f6a9e10")


def public_event_id(originator_id: UUID, originator_version: int) -> UUID:
    return uuid5(EVENT_NAMESPACE, f"intake:{originator_id}:{originator_version}")


def to_public(domain_event: Any) -> PublicEvent | None:
    if isinstance(domain_event, FeedbackEntry.Received):
        return FeedbackReceived(**_register_fields(domain_event), kind=domain_event.kind)
    if isinstance(domain_event, Complaint.Logged):
        return ComplaintLogged(**_register_fields(domain_event), category=domain_event.category)
    return None


def _register_fields(domain_event: FeedbackEntry.Received | Complaint.Logged) -> dict[str, Any]:
    return {
        "event_id": public_event_id(domain_event.originator_id, domain_event.originator_version),
        "case_id": domain_event.originator_id,
        "occurred_at": domain_event.timestamp,
        "actor": Actor.model_validate(domain_event.actor),
        "channel": domain_event.channel,
        "receiving_department": domain_event.receiving_department,
        "received_at": domain_event.received_at,
        "customer": CustomerRef.model_validate(domain_event.customer),
        "text": domain_event.text,
        "product": domain_event.product,
        "lot": domain_event.lot,
    }
