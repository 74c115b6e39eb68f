"""SLA's reactions to other services' public events."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent

from csc_contracts import ComplaintLogged, FeedbackReceived
from csc_messaging.application import ConsumerApplication
from csc_sla.domain import ReplyClock


class SlaApplication(ConsumerApplication):
    name = "sla"

    @singledispatchmethod
    def policy(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Events this service does not react to change nothing."""

    @policy.register
    def _(self, event: FeedbackReceived, processing_event: ProcessingEvent[UUID]) -> None:
        self._start_reply_clock(event, processing_event)

    @policy.register
    def _(self, event: ComplaintLogged, processing_event: ProcessingEvent[UUID]) -> None:
        self._start_reply_clock(event, processing_event)

    def _start_reply_clock(
        self, event: FeedbackReceived | ComplaintLogged, processing_event: ProcessingEvent[UUID]
    ) -> None:
        # 4.2.1: a reply is due within 8 hours of the customer's call or letter.
        if self.reply_clock(event.case_id) is not None:
            return  # the same event republished: its clock already runs
        processing_event.collect_events(
            ReplyClock.start(
                case_id=event.case_id,
                event_id=event.event_id,
                event_type=event.event_type(),
                received_at=event.received_at,
                customer=event.customer.model_dump(mode="json"),
            )
        )

    def reply_clock(self, case_id: UUID) -> ReplyClock | None:
        return self.find(ReplyClock.create_id(case_id), ReplyClock)
