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


def to_public(domain_event: Any) -> PublicEvent | None:
    if not isinstance(domain_event, ReturnCase.Event):
        return None
    e: Any = domain_event
    common: dict[str, Any] = {
        # The same id however often the relay publishes this event.
        "event_id": uuid5(EVENT_NAMESPACE, f"returns:{e.originator_id}:{e.originator_version}"),
        "case_id": e.originator_id,
        # An opening replayed from Kafka is stored anew, at a new time; the customer's
        # report it follows is the same, so the public event (and its digest) is too.
        "occurred_at": e.reported_at if isinstance(e, C.Opened) else e.timestamp,
        "actor": getattr(e, "actor", SYSTEM),
        "clause": CLAUSES[type(e)],
    }
    pnpr = {**common, "report_no": report_no(e.originator_id)}
    match e:
        case C.Opened():
            return pub.ReturnCaseOpened(
                **common,
                opened_by_event=e.opened_by_event,
                opened_by_type=e.opened_by_type,
                reported_at=e.reported_at,
                customer=e.customer,
                product=e.product,
                lot=e.lot,
                description=e.description,
            )
        case C.ReplacementAgreed():
            return pub.ReplacementAgreed(
                **common,
                customer=e.customer,
                product=e.product,
                delivery=e.delivery,
                lot=e.lot,
                quantity=e.quantity,
                units=tuple(e.units),
                agreed_with=e.agreed_with,
            )
        case C.ReplacementShipped():
            return pub.ReplacementShipped(
                **common,
                quantity=e.quantity,
                lot=e.lot,
                units=tuple(e.units),
                shipped_at=e.shipped_at,
                shipping_note=e.shipping_note,
            )
        case C.ReturnRequested():
            return pub.ReturnRequested(
                **common,
                customer=e.customer,
                product=e.product,
                delivery=e.delivery,
                lot=e.lot,
                quantity=e.quantity,
                reason=e.reason,
            )
        case C.ConfirmationRequested():
            return pub.ReturnConfirmationRequested(**common, note=e.note)
        case C.ConfirmedByQuality():
            return pub.ReturnConfirmedByQuality(**common, finding=e.finding)
        case C.RejectedByQuality():
            return pub.ReturnRejectedByQuality(**common, reason=e.reason)
        case C.ReceiptAuthorized():
            return pub.ReturnReceiptAuthorized(**common, quantity=e.quantity, lot=e.lot)
        case C.Received():
            return pub.ReturnReceived(
                **common,
                quantity=e.quantity,
                location=e.location,
                lot=e.lot,
                received_at=e.received_at,
            )
        case C.SamplesTaken():
            return pub.ReturnSamplesTaken(
                **common,
                condition=e.condition,
                sample_count=len(e.sample_ids),
                sample_ids=tuple(e.sample_ids),
            )
        case C.Identified():
            return pub.NonconformingProductIdentified(**pnpr, tag=e.tag, quantity=e.quantity)
        case C.Isolated():
            return pub.NonconformingProductIsolated(
                **pnpr, location=e.location, quantity=e.quantity
            )
        case C.NonconformanceReported():
            return pub.NonconformanceReported(
                **pnpr,
                customer=e.customer,
                product=e.product,
                delivery=e.delivery,
                lot=e.lot,
                quantity=e.quantity,
                description=e.description,
                sample_ids=tuple(e.sample_ids),
                tag=e.tag,
                location=e.location,
            )
        case C.Reviewed():
            return pub.NonconformanceReviewed(
                **pnpr, board=tuple(e.board), decision=tuple(e.decision), note=e.note
            )
        case C.Dispositioned():
            return pub.NonconformanceDispositioned(
                **pnpr,
                disposition=e.disposition,
                quantity=e.quantity,
                concession=e.concession,
                note=e.note,
                dispositioned=e.dispositioned,
                remaining=e.remaining,
                complete=e.remaining == 0,
            )
    return None
