"""The customer archive (4.1.5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from csc_intake.domain.errors import RuleViolation

CUSTOMER_NAMESPACE = UUID("5b0f6e2a-61c4-4a8e-8d2b-3c1f9e7a4d55")

ActorRecord = dict[str, str]
"""Who acted, as an event records it: csc_contracts.Actor dumped, {"user", "department"}."""


class Customer(Aggregate):
    """A customer's archive entry, its contact log and its yearly surveys."""

    @staticmethod
    def create_id(code: str) -> UUID:
        return uuid5(CUSTOMER_NAMESPACE, code)

    class Registered(Aggregate.Created):
        code: str
        name: str
        oem: bool
        contacts: list[dict[str, Any]]
        sites: list[dict[str, Any]]
        actor: ActorRecord
        request_key: str | None

    class Updated(Aggregate.Event):
        code: str
        name: str
        oem: bool
        contacts: list[dict[str, Any]]
        sites: list[dict[str, Any]]
        actor: ActorRecord
        request_key: str | None

    class Contacted(Aggregate.Event):
        code: str
        contacted_at: datetime
        channel: str
        summary: str
        actor: ActorRecord
        request_key: str | None

    class SurveyRecorded(Aggregate.Event):
        code: str
        year: int
        scores: dict[str, int]
        comments: str | None
        actor: ActorRecord
        request_key: str | None

    @event(Registered)
    def __init__(
        self,
        *,
        code: str,
        name: str,
        oem: bool,
        contacts: list[dict[str, Any]],
        sites: list[dict[str, Any]],
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        self.code = code
        self.name = name
        self.oem = oem
        self.contacts = contacts
        self.sites = sites
        self.contact_log: list[dict[str, Any]] = []
        self.surveys: dict[int, dict[str, Any]] = {}
        self.request_keys: set[str] = {request_key} if request_key else set()

    def update(
        self,
        *,
        name: str,
        oem: bool,
        contacts: list[dict[str, Any]],
        sites: list[dict[str, Any]],
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        self._updated(
            code=self.code,
            name=name,
            oem=oem,
            contacts=contacts,
            sites=sites,
            actor=actor,
            request_key=request_key,
        )

    @event(Updated)
    def _updated(
        self,
        *,
        code: str,
        name: str,
        oem: bool,
        contacts: list[dict[str, Any]],
        sites: list[dict[str, Any]],
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        self.name, self.oem, self.contacts, self.sites = name, oem, contacts, sites
        self._seen(request_key)

    def log_contact(
        self,
        *,
        contacted_at: datetime,
        channel: str,
        summary: str,
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        self._contacted(
            code=self.code,
            contacted_at=contacted_at,
            channel=channel,
            summary=summary,
            actor=actor,
            request_key=request_key,
        )

    @event(Contacted)
    def _contacted(
        self,
        *,
        code: str,
        contacted_at: datetime,
        channel: str,
        summary: str,
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        self.contact_log.append(
            {"contacted_at": contacted_at, "channel": channel, "summary": summary, "by": actor}
        )
        self._seen(request_key)

    def record_survey(
        self,
        *,
        year: int,
        scores: dict[str, int],
        comments: str | None,
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        # 4.1.5: the satisfaction survey is yearly: one result per customer and year.
        if year in self.surveys:
            raise RuleViolation(
                "4.1.5",
                f"the {year} satisfaction survey of {self.code} is already recorded",
                code="intake.survey.already_recorded",
                params={"year": year, "customer": self.code},
            )
        self._survey_recorded(
            code=self.code,
            year=year,
            scores=scores,
            comments=comments,
            actor=actor,
            request_key=request_key,
        )

    @event(SurveyRecorded)
    def _survey_recorded(
        self,
        *,
        code: str,
        year: int,
        scores: dict[str, int],
        comments: str | None,
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        self.surveys[year] = {"scores": scores, "comments": comments, "by": actor}
        self._seen(request_key)

    def has_handled(self, request_key: str | None) -> bool:
        return request_key is not None and request_key in self.request_keys

    def _seen(self, request_key: str | None) -> None:
        if request_key:
            self.request_keys.add(request_key)

    def site(self, name: str) -> dict[str, Any] | None:
        return next((s for s in self.sites if s["name"] == name), None)

    @property
    def ref(self) -> dict[str, Any]:
        """How events name this customer: with what their consumers' policies depend on."""
        return {
            "code": self.code,
            "name": self.name,
            "oem": self.oem,
            "timezone": self.sites[0]["timezone"] if self.sites else None,
        }
