"""Return cases by status."""

from __future__ import annotations

from typing import Any

from csc_messaging.readmodel import ReadModel
from csc_returns.domain import ReturnCase


class ReturnCases(ReadModel):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cases: dict[str, dict[str, Any]] = {}

    def apply(self, event: Any) -> None:
        if isinstance(event, ReturnCase.Opened):
            self._cases[str(event.originator_id)] = {
                "case_id": str(event.originator_id),
                "status": "reported",
                "opened_by_event": str(event.opened_by_event),
                "opened_by_type": event.opened_by_type,
                "reported_at": event.reported_at.isoformat(),
                "customer": event.customer,
                "product": event.product,
                "lot": event.lot,
                "description": event.description,
            }

    def rows(self) -> list[dict[str, Any]]:
        return sorted(self._cases.values(), key=lambda r: (r["reported_at"], r["case_id"]))

    def cases(self, status: str | None = None) -> list[dict[str, Any]]:
        self.catch_up()
        return [r for r in self.rows() if status is None or r["status"] == status]

    def case(self, case_id: str) -> dict[str, Any] | None:
        self.catch_up()
        return self._cases.get(case_id)
