"""The clocks board: every clock, when it is due."""

from __future__ import annotations

from typing import Any

from csc_messaging.readmodel import ReadModel
from csc_sla.domain import ReplyClock


class ClockBoard(ReadModel):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clocks: dict[str, dict[str, Any]] = {}

    def apply(self, event: Any) -> None:
        if isinstance(event, ReplyClock.Started):
            self._clocks[str(event.originator_id)] = {
                "clock_id": str(event.originator_id),
                "clock": "reply",
                "clause": "4.2.1",
                "case_id": str(event.case_id),
                "customer": event.customer,
                "started_by_event": str(event.started_by_event),
                "started_by_type": event.started_by_type,
                "started_at": event.started_at.isoformat(),
                "due_at": event.due_at.isoformat(),
                "status": "running",
            }

    def rows(self) -> list[dict[str, Any]]:
        return sorted(self._clocks.values(), key=lambda r: (r["due_at"], r["clock_id"]))

    def clocks(self, case_id: str | None = None) -> list[dict[str, Any]]:
        self.catch_up()
        return [r for r in self.rows() if case_id is None or r["case_id"] == case_id]
