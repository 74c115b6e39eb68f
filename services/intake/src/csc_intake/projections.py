"""The Customer Information Register as a read model (form att. 3)."""

from __future__ import annotations

from typing import Any

from csc_intake.domain import Complaint, FeedbackEntry
from csc_messaging.readmodel import ReadModel


class RegisterView(ReadModel):
    """Every register entry and complaint, in the order they were recorded."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._entries: dict[str, dict[str, Any]] = {}

    def apply(self, event: Any) -> None:
        if isinstance(event, FeedbackEntry.Received | Complaint.Logged):
            self._entries[str(event.originator_id)] = {
                "case_id": str(event.originator_id),
                "entry_type": "complaint" if isinstance(event, Complaint.Logged) else "feedback",
                "kind": getattr(event, "kind", None),
                "category": getattr(event, "category", None),
                "channel": event.channel,
                "receiving_department": event.receiving_department,
                "received_at": event.received_at.isoformat(),
                "recorded_at": event.timestamp.isoformat(),
                "customer": event.customer,
                "product": event.product,
                "lot": event.lot,
                "text": event.text,
                "recorded_by": event.actor,
            }

    def rows(self) -> list[dict[str, Any]]:
        return list(self._entries.values())

    def entries(self, entry_type: str | None = None) -> list[dict[str, Any]]:
        self.catch_up()
        return [r for r in self.rows() if entry_type is None or r["entry_type"] == entry_type]

    def entry(self, case_id: str) -> dict[str, Any] | None:
        self.catch_up()
        return self._entries.get(case_id)
