"""The one place where returns' internal events become public events on csc.returns.v1."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

import csc_contracts.returns as pub
from csc_contracts import PublicEvent
from csc_returns.domain import CLAUSES, ReturnCase, report_no

EVENT_NAMESPACE = UUID("b2e4c7a1-5d3f-4a8e-9c61-7f0a2d4e6b13")
# Cases opened from intake's events are returns' own bookkeeping, not a person's act.
SYSTEM: dict[str, str] = {"user": "returns", "department": "system"}

C = ReturnCase

# Internal and public events carry the same field names, so the mapping is a table;
# the contract's models validate and drop what is internal. PNPR steps (4.3.3) also
# carry the report's number.
PUBLIC: dict[type[Any], tuple[type[PublicEvent], bool]] = {
    C.Opened: (pub.ReturnCaseOpened, False),
    C.ReplacementAgreed: (pub.ReplacementAgreed, False),
    C.ReplacementShipped: (pub.ReplacementShipped, False),
    C.ReturnRequested: (pub.ReturnRequested, False),
    C.ConfirmationRequested: (pub.ReturnConfirmationRequested, False),
    C.ConfirmedByQuality: (pub.ReturnConfirmedByQuality, False),
    C.RejectedByQuality: (pub.ReturnRejectedByQuality, False),
    C.ReceiptAuthorized: (pub.ReturnReceiptAuthorized, False),
    C.Received: (pub.ReturnReceived, False),
    C.SamplesTaken: (pub.ReturnSamplesTaken, False),
    C.Identified: (pub.NonconformingProductIdentified, True),
    C.Isolated: (pub.NonconformingProductIsolated, True),
    C.NonconformanceReported: (pub.NonconformanceReported, True),
    C.Reviewed: (pub.NonconformanceReviewed, True),
    C.Dispositioned: (pub.NonconformanceDispositioned, True),
}


def to_public(domain_event: Any) -> PublicEvent | None:
    if not isinstance(domain_event, ReturnCase.Event):
        return None
    e: Any = domain_event
    found = next((v for k, v in PUBLIC.items() if isinstance(e, k)), None)
    if found is None:
        return None
    cls, is_pnpr = found
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
    if is_pnpr:
        fields["report_no"] = report_no(e.originator_id)
    if isinstance(e, C.SamplesTaken):
        fields["sample_count"] = len(e.sample_ids)
    if isinstance(e, C.Dispositioned):
        fields["complete"] = e.remaining == 0
    return cls.model_validate(fields)
