"""Return cases. Pure: no I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event


class ReturnCase(Aggregate):
    """Returned product of one register case, from the first report to disposition (4.3).

    A quality complaint or a quality-problem report may end in replacement
    (4.3.1) or a return (4.3.2), so returns keeps its own case for it from
    the start, under the register's case id.
    """

    @staticmethod
    def create_id(case_id: UUID) -> UUID:
        return case_id

    class Opened(Aggregate.Created):
        case_id: UUID
        opened_by_event: UUID
        opened_by_type: str
        reported_at: datetime
        customer: dict[str, Any]
        product: str | None
        lot: str | None
        description: str

    @event(Opened)
    def __init__(
        self,
        *,
        case_id: UUID,
        opened_by_event: UUID,
        opened_by_type: str,
        reported_at: datetime,
        customer: dict[str, Any],
        product: str | None,
        lot: str | None,
        description: str,
    ) -> None:
        self.opened_by_event = opened_by_event
        self.opened_by_type = opened_by_type
        self.reported_at = reported_at
        self.customer = customer
        self.product = product
        self.lot = lot
        self.description = description
        self.status = "reported"
