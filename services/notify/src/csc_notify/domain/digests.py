"""The morning digest (issue 19): once per working day, each department's clocks due
within the next hours and those breached and still open, in one message.

Its id is the department and the site's day, so it is recorded once: a restart the
same morning finds it and sends nothing again.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

DIGEST_NAMESPACE = UUID("d41e6a9b-3c72-4f05-8b1e-6f2a9c0d7e53")
DIGEST_TYPE = "csc.notify.Digest.v1"
"""What a digest's notifications are about (``about.type``): notify's own message."""


class Digest(Aggregate):
    @staticmethod
    def create_id(department: str, day: date) -> UUID:
        return uuid5(DIGEST_NAMESPACE, f"{department}:{day.isoformat()}")

    class Prepared(Aggregate.Created):
        department: str
        day: date
        at: datetime
        hours: float
        due_soon: list[dict[str, Any]]
        breached: list[dict[str, Any]]

    @event(Prepared)
    def __init__(
        self,
        *,
        department: str,
        day: date,
        at: datetime,
        hours: float,
        due_soon: list[dict[str, Any]],
        breached: list[dict[str, Any]],
    ) -> None:
        self.department, self.day, self.at = department, day, at
        self.hours = hours
        self.due_soon, self.breached = due_soon, breached

    @property
    def about(self) -> dict[str, Any]:
        """What its notifications tell of, as a public event's ``about`` is kept."""
        return {
            "type": DIGEST_TYPE,
            "event_id": str(self.id),
            # No case: the digest is its own record, as a rulebook is sla's.
            "case_id": str(self.id),
            "occurred_at": self.at.isoformat(),
            "fields": {
                "department": self.department,
                "day": self.day.isoformat(),
                "hours": self.hours,
                "due_soon": self.due_soon,
                "breached": self.breached,
            },
        }
