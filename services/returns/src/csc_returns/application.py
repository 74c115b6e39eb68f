"""Returns' reactions to intake's public events."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent

from csc_contracts import ComplaintCategory, ComplaintLogged, FeedbackKind, FeedbackReceived
from csc_messaging.application import ConsumerApplication
from csc_returns.domain import ReturnCase


class ReturnsApplication(ConsumerApplication):
    name = "returns"

    @singledispatchmethod
    def policy(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Events this service does not react to change nothing."""

    @policy.register
    def _(self, event: ComplaintLogged, processing_event: ProcessingEvent[UUID]) -> None:
        # 4.4.2: a product-quality complaint may need units swapped or returned.
        if event.category is ComplaintCategory.QUALITY:
            self._open(event, processing_event)

    @policy.register
    def _(self, event: FeedbackReceived, processing_event: ProcessingEvent[UUID]) -> None:
        # 4.1.2 kind 3: nonconformities found in use may come back as returns.
        if event.kind is FeedbackKind.QUALITY_PROBLEM:
            self._open(event, processing_event)

    def _open(
        self, event: ComplaintLogged | FeedbackReceived, processing_event: ProcessingEvent[UUID]
    ) -> None:
        if self.case(event.case_id) is not None:
            return
        processing_event.collect_events(
            ReturnCase(
                case_id=event.case_id,
                opened_by_event=event.event_id,
                opened_by_type=event.event_type(),
                reported_at=event.received_at,
                customer=event.customer.model_dump(mode="json"),
                product=event.product,
                lot=event.lot,
                description=event.text,
            )
        )

    def case(self, case_id: UUID) -> ReturnCase | None:
        return self.find(case_id, ReturnCase)
