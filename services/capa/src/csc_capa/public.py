"""The one place where capa's internal events become public events on csc.capa.v1."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from csc_capa.commands import STEPS
from csc_capa.domain import CustomerReportFormat, Investigation, capa_no
from csc_contracts import PublicEvent

EVENT_NAMESPACE = UUID("8c3f5a2e-7d41-4b9a-b6e0-2f9d1c4a7e58")
# Investigations opened and facts taken from other services are capa's bookkeeping.
SYSTEM: dict[str, str] = {"user": "capa", "department": "system"}

I = Investigation  # noqa: E741

# Internal and public events carry the same field names, so the mapping is a table, read
# from the steps' declarations; the contract's models validate and drop what is internal.
# An event declared with no public event (ImpactNoted) stays inside capa.
PUBLIC: dict[type[Any], type[PublicEvent]] = STEPS.public
CLAUSES = STEPS.clauses


def occurred_at(e: Any) -> Any:
    """When it happened: the report for an opening, the source's time for a fact from Kafka."""
    if isinstance(e, I.Opened):
        return e.reported_at
    if isinstance(e, I.Step):
        return e.at
    return e.timestamp


def to_public(domain_event: Any) -> PublicEvent | None:
    if not isinstance(domain_event, (Investigation.Event, CustomerReportFormat.Event)):
        return None
    e: Any = domain_event
    cls = next((v for k, v in PUBLIC.items() if isinstance(e, k)), None)
    if cls is None:
        return None
    fields = dict(vars(e))
    fields.update(
        # The same id however often the relay publishes this event.
        event_id=uuid5(EVENT_NAMESPACE, f"capa:{e.originator_id}:{e.originator_version}"),
        case_id=e.originator_id,
        occurred_at=occurred_at(e),
        actor=getattr(e, "actor", None) or SYSTEM,
        clause=CLAUSES[type(e)],
    )
    if isinstance(e, Investigation.Event):
        fields["capa_no"] = capa_no(e.originator_id)
    else:
        fields["revision"] = e.originator_version
    return cls.model_validate(fields)
