"""CAPA's reactions to other services' public events."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent

from csc_capa.domain import Investigation
from csc_contracts import ComplaintCategory, ComplaintLogged, Department
from csc_messaging.application import ConsumerApplication


class CapaApplication(ConsumerApplication):
    name = "capa"

    @singledispatchmethod
    def policy(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Events this service does not react to change nothing."""

    @policy.register
    def _(self, event: ComplaintLogged, processing_event: ProcessingEvent[UUID]) -> None:
        # 4.4.2-4.4.3: a product-quality complaint goes to QC, who confirms it.
        if event.category is not ComplaintCategory.QUALITY:
            return
        if self.investigation(event.case_id) is not None:
            return
        processing_event.collect_events(
            Investigation(
                case_id=event.case_id,
                complaint_event=event.event_id,
                complained_at=event.received_at,
                customer=event.customer.model_dump(mode="json"),
                product=event.product,
                lot=event.lot,
                complaint=event.text,
                owner_department=Department.QUALITY.value,
            )
        )

    def investigation(self, case_id: UUID) -> Investigation | None:
        return self.find(case_id, Investigation)
