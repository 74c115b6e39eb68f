"""The one place where intake's internal events become public events.

Internal and public events carry the same field names, so the mapping is a table from
internal to public class, read from the steps' declarations (``commands.STEPS``); the
contract's models validate (and drop what is internal, such as ``request_key``).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from csc_contracts import PublicEvent
from csc_intake.commands import STEPS
from csc_intake.domain import FieldServiceRecord

# The public event id is derived from the stored event's position in its
# aggregate, so every republication of it carries the same id.
EVENT_NAMESPACE = UUID("0d6c1c1e-2b8a-4f44-b0a5-8f3c2f6a9e10")

PUBLIC: dict[type[Any], type[PublicEvent]] = STEPS.public


FIELD_SERVICE_EVENTS = (FieldServiceRecord.Recorded, FieldServiceRecord.Amended)


def public_event_id(originator_id: UUID, originator_version: int) -> UUID:
    return uuid5(EVENT_NAMESPACE, f"intake:{originator_id}:{originator_version}")


def public_class(domain_event: Any) -> type[PublicEvent] | None:
    # 4.5: a visit is kept as a field service record of kind visit (the step's ``when``).
    return STEPS.public_of(domain_event)


def to_public(domain_event: Any) -> PublicEvent | None:
    cls = public_class(domain_event)
    if cls is None:
        return None
    fields = dict(vars(domain_event))
    if isinstance(domain_event, FIELD_SERVICE_EVENTS):
        # A day's record keeps its details as one dict; the public event has them as fields.
        # (Elsewhere ``details`` is a field of its own: the on-site request's text.)
        fields.update(fields.pop("details", None) or {})
    fields.update(
        event_id=public_event_id(domain_event.originator_id, domain_event.originator_version),
        case_id=domain_event.originator_id,
        occurred_at=domain_event.timestamp,
    )
    return cls.model_validate(fields)
