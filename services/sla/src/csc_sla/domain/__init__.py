"""SLA clocks. Pure: times come from the events that start them, never from the wall clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

CLOCK_NAMESPACE = UUID("a4b1c6de-7f1e-4c33-9a55-0f2d6b8e4c21")

# 4.2.1: calls and letters from customers get a reply within 8 hours.
REPLY_TARGET = timedelta(hours=8)


class ReplyClock(Aggregate):
    """The 8-hour reply promise of one case (4.2.1)."""

    @staticmethod
    def create_id(case_id: UUID) -> UUID:
        return uuid5(CLOCK_NAMESPACE, f"reply:{case_id}")

    class Started(Aggregate.Created):
        case_id: UUID
        started_by_event: UUID
        started_by_type: str
        started_at: datetime
        due_at: datetime
        customer: dict[str, Any]

    @event(Started)
    def __init__(
        self,
        *,
        case_id: UUID,
        started_by_event: UUID,
        started_by_type: str,
        started_at: datetime,
        due_at: datetime,
        customer: dict[str, Any],
    ) -> None:
        self.case_id = case_id
        self.started_by_event = started_by_event
        self.started_by_type = started_by_type
        self.started_at = started_at
        self.due_at = due_at
        self.customer = customer

    @classmethod
    def start(
        cls,
        *,
        case_id: UUID,
        event_id: UUID,
        event_type: str,
        received_at: datetime,
        customer: dict[str, Any],
    ) -> ReplyClock:
        # The clock runs from when the customer's call or letter arrived, not from
        # when it was typed into the Register.
        return cls(
            case_id=case_id,
            started_by_event=event_id,
            started_by_type=event_type,
            started_at=received_at,
            due_at=received_at + REPLY_TARGET,
            customer=customer,
        )
