"""What notify keeps of sla's clocks, from csc.sla.v1: enough for the morning digest.

notify never calls sla: each clock's public events are folded here into where it
stands (its department, its due time, breached or not, still open or not).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

CLOCK_NAMESPACE = UUID("5b0e7d2c-8a41-4f6e-9c3d-2e7a1f4b6c80")


class ClockFacts(Aggregate):
    """One sla clock as its events told it: ``open`` until met or stopped (4.6)."""

    @staticmethod
    def create_id(clock_id: UUID) -> UUID:
        return uuid5(CLOCK_NAMESPACE, str(clock_id))

    class Started(Aggregate.Created):
        clock_id: UUID
        case_id: UUID
        clock: str
        clause: str
        department: str
        due_at: datetime

    class Changed(Aggregate.Event):
        status: str
        due_at: datetime
        breached_at: datetime | None
        open: bool

    @event(Started)
    def __init__(
        self,
        *,
        clock_id: UUID,
        case_id: UUID,
        clock: str,
        clause: str,
        department: str,
        due_at: datetime,
    ) -> None:
        self.clock_id, self.case_id = clock_id, case_id
        self.status = "running"
        self.due_at = due_at
        self.breached_at: datetime | None = None
        self.open = True

    def change(
        self,
        *,
        status: str | None = None,
        due_at: datetime | None = None,
        breached_at: datetime | None = None,
        open: bool = True,
    ) -> None:
        if not self.open:
            return  # met or stopped: nothing later reopens it
        self._changed(
            status=status or self.status,
            due_at=due_at or self.due_at,
            breached_at=breached_at or self.breached_at,
            open=open,
        )

    @event(Changed)
    def _changed(
        self, *, status: str, due_at: datetime, breached_at: datetime | None, open: bool
    ) -> None:
        self.status, self.due_at, self.breached_at, self.open = status, due_at, breached_at, open
