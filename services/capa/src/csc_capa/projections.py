"""Investigations, as QC's work list."""

from __future__ import annotations

from typing import Any

from csc_capa.domain import Investigation
from csc_messaging.readmodel import ReadModel


class Investigations(ReadModel):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._items: dict[str, dict[str, Any]] = {}

    def apply(self, event: Any) -> None:
        if isinstance(event, Investigation.Opened):
            self._items[str(event.originator_id)] = {
                "case_id": str(event.originator_id),
                "status": "open",
                "owner_department": event.owner_department,
                "complaint_event": str(event.complaint_event),
                "complained_at": event.complained_at.isoformat(),
                "customer": event.customer,
                "product": event.product,
                "lot": event.lot,
                "complaint": event.complaint,
            }

    def rows(self) -> list[dict[str, Any]]:
        return sorted(self._items.values(), key=lambda r: (r["complained_at"], r["case_id"]))

    def list(self) -> list[dict[str, Any]]:
        self.catch_up()
        return self.rows()

    def get(self, case_id: str) -> dict[str, Any] | None:
        self.catch_up()
        return self._items.get(case_id)
