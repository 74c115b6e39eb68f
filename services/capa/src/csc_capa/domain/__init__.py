"""Investigations and corrective action. Pure: no I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event


class Investigation(Aggregate):
    """QC's investigation of a product-quality complaint (4.4.3), before any CAPA (4.4.4)."""

    @staticmethod
    def create_id(case_id: UUID) -> UUID:
        return case_id

    class Opened(Aggregate.Created):
        case_id: UUID
        complaint_event: UUID
        complained_at: datetime
        customer: dict[str, Any]
        product: str | None
        lot: str | None
        complaint: str
        owner_department: str

    @event(Opened)
    def __init__(
        self,
        *,
        case_id: UUID,
        complaint_event: UUID,
        complained_at: datetime,
        customer: dict[str, Any],
        product: str | None,
        lot: str | None,
        complaint: str,
        owner_department: str,
    ) -> None:
        self.complaint_event = complaint_event
        self.complained_at = complained_at
        self.customer = customer
        self.product = product
        self.lot = lot
        self.complaint = complaint
        self.owner_department = owner_department
        self.status = "open"
