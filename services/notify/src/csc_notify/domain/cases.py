"""What notify knows of a case: who the customer is and what they reported.

Most events that tell someone (QC notified, a clock breached) name only the
case; the message must still say which customer and product it is about. The
customer's report (4.1.2, 4.4.1) is remembered when it is read.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

CASE_NAMESPACE = UUID("2a7c9e15-4f3b-4d86-9b0a-8e1f5c2d7a39")


class CaseFacts(Aggregate):
    @staticmethod
    def create_id(case_id: UUID) -> UUID:
        return uuid5(CASE_NAMESPACE, str(case_id))

    class Reported(Aggregate.Created):
        case_id: UUID
        facts: dict[str, Any]

    @event(Reported)
    def __init__(self, *, case_id: UUID, facts: dict[str, Any]) -> None:
        self.case_id, self.facts = case_id, facts
