"""The one place where returns' internal events become public events on csc.returns.v1."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from csc_contracts import PublicEvent
from csc_returns.commands import STEPS
from csc_returns.domain import ReturnCase, report_no

EVENT_NAMESPACE = UUID("b2e4c7a1-5d3f-4a8e-9c61-7f0a2d4e6b13")
# Cases opened from intake's events are returns' own bookkeeping, not a person's act.
SYSTEM: dict[str, str] = {"user": "returns", "department": "system"}

C = ReturnCase

# Internal and public events carry the same field names, so the mapping is a table, read
# from the steps' declarations; the contract's models validate and drop what is internal.
PUBLIC: dict[type[Any], type[PublicEvent]] = STEPS.public
CLAUSES = STEPS.clauses


def to_public(domain_event: Any) -> PublicEvent | None:
    if not isinstance(domain_event, ReturnCase.Event):
        return None
    e: Any = domain_event
    found = next((v for k, v in PUBLIC.items() if isinstance(e, k)), None)
    if found is None:
        return None
    cls = found
    fields = dict(vars(e))
    fields.update(
        # The same id however often the relay publishes this event.
        event_id=uuid5(EVENT_NAMESPACE, f"returns:{e.originator_id}:{e.originator_version}"),
        case_id=e.originator_id,
        # An opening replayed from Kafka is stored anew, at a new time; the customer's
        # report it follows is the same, so the public event (and its digest) is too.
        occurred_at=e.reported_at if isinstance(e, C.Opened) else e.timestamp,
        actor=getattr(e, "actor", SYSTEM),
        clause=CLAUSES[type(e)],
    )
    # PNPR steps (4.3.3) also carry the report's number.
    if "report_no" in cls.model_fields:
        fields["report_no"] = report_no(e.originator_id)
    if isinstance(e, C.SamplesTaken):
        fields["sample_count"] = len(e.sample_ids)
    if isinstance(e, C.Dispositioned):
        fields["complete"] = e.remaining == 0
    return cls.model_validate(fields)
