"""Field Service Work Records (4.1.4, form att. 2) and customer visits (4.5)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

FIELD_SERVICE_NAMESPACE = UUID("9e3c7d10-4b2a-4f6e-a1c8-2d5e8f0b7c33")

ActorRecord = dict[str, str]
"""Who acted, as an event records it: csc_contracts.Actor dumped, {"user", "department"}."""


class FieldServiceRecord(Aggregate):
    """One engineer's record of one day at one customer site.

    ``kind`` is ``daily`` for the after-sales work record at an OEM customer
    (4.1.4) and ``visit`` for Marketing's customer visit (4.5). There is one
    record per engineer, site, day and kind: a second report of the same day
    amends it, and the amendment keeps what it replaced in the history.
    """

    @staticmethod
    def create_id(
        kind: str, customer: dict[str, Any], site: str, work_date: str, engineer: str
    ) -> UUID:
        return uuid5(
            FIELD_SERVICE_NAMESPACE, f"{kind}|{customer['code']}|{site}|{work_date}|{engineer}"
        )

    class Recorded(Aggregate.Created):
        kind: str
        customer: dict[str, Any]
        site: str
        work_date: str
        engineer: str
        details: dict[str, Any]
        actor: ActorRecord
        request_key: str | None

    class Amended(Aggregate.Event):
        customer: dict[str, Any]
        site: str
        work_date: str
        engineer: str
        details: dict[str, Any]
        reason: str
        actor: ActorRecord
        request_key: str | None

    @event(Recorded)
    def __init__(
        self,
        *,
        kind: str,
        customer: dict[str, Any],
        site: str,
        work_date: str,
        engineer: str,
        details: dict[str, Any],
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        self.kind = kind
        self.customer = customer
        self.site = site
        self.work_date = work_date
        self.engineer = engineer
        self.details = details
        self.amendments: list[dict[str, Any]] = []
        self.request_keys: set[str] = {request_key} if request_key else set()

    def amend(
        self, *, details: dict[str, Any], reason: str, actor: ActorRecord, request_key: str | None
    ) -> None:
        # The amendment repeats what the record is about, so a subscriber reading
        # only amendments still knows whose day it corrects.
        self._amended(
            customer=self.customer,
            site=self.site,
            work_date=self.work_date,
            engineer=self.engineer,
            details=details,
            reason=reason,
            actor=actor,
            request_key=request_key,
        )

    @event(Amended)
    def _amended(
        self,
        *,
        customer: dict[str, Any],
        site: str,
        work_date: str,
        engineer: str,
        details: dict[str, Any],
        reason: str,
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        self.amendments.append({"before": self.details, "reason": reason, "by": actor})
        self.details = details
        if request_key:
            self.request_keys.add(request_key)

    def has_handled(self, request_key: str | None) -> bool:
        return request_key is not None and request_key in self.request_keys
