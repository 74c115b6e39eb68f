"""Intake's aggregates. Pure: no I/O, times and ids come in as arguments.

Event attributes are plain values (str, dict, datetime, UUID) so the store
never depends on the public contract's classes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event


class FeedbackEntry(Aggregate):
    """One entry of the Customer Information Register (4.1.2, form att. 3)."""

    @staticmethod
    def create_id(case_id: UUID) -> UUID:
        return case_id

    class Received(Aggregate.Created):
        case_id: UUID
        channel: str
        kind: str
        receiving_department: str
        received_at: datetime
        customer: dict[str, Any]
        text: str
        product: str | None
        lot: str | None
        actor: dict[str, str]

    @event(Received)
    def __init__(
        self,
        *,
        case_id: UUID,
        channel: str,
        kind: str,
        receiving_department: str,
        received_at: datetime,
        customer: dict[str, Any],
        text: str,
        product: str | None,
        lot: str | None,
        actor: dict[str, str],
    ) -> None:
        self.channel = channel
        self.kind = kind
        self.receiving_department = receiving_department
        self.received_at = received_at
        self.customer = customer
        self.text = text
        self.product = product
        self.lot = lot
        self.recorded_by = actor


class Complaint(Aggregate):
    """A customer complaint about service, quality or delivery (4.4.1)."""

    @staticmethod
    def create_id(case_id: UUID) -> UUID:
        return case_id

    class Logged(Aggregate.Created):
        case_id: UUID
        category: str
        channel: str
        receiving_department: str
        received_at: datetime
        customer: dict[str, Any]
        text: str
        product: str | None
        lot: str | None
        actor: dict[str, str]

    @event(Logged)
    def __init__(
        self,
        *,
        case_id: UUID,
        category: str,
        channel: str,
        receiving_department: str,
        received_at: datetime,
        customer: dict[str, Any],
        text: str,
        product: str | None,
        lot: str | None,
        actor: dict[str, str],
    ) -> None:
        self.category = category
        self.channel = channel
        self.receiving_department = receiving_department
        self.received_at = received_at
        self.customer = customer
        self.text = text
        self.product = product
        self.lot = lot
        self.recorded_by = actor
