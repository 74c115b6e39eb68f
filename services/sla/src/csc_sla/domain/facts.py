"""What sla keeps of other services' facts, to know a case's customer and the schedules."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

FACTS_NAMESPACE = UUID("c2d9f1a0-3e4b-4c5d-8e6f-7a8b9c0d1e2f")


class CaseFile(Aggregate):
    """A register entry as sla sees it: who, what kind, when; and its follow-ups (4.6)."""

    @staticmethod
    def create_id(case_id: UUID) -> UUID:
        return uuid5(FACTS_NAMESPACE, f"case:{case_id}")

    class Opened(Aggregate.Created):
        case_id: UUID
        entry_type: str
        kind: str | None
        category: str | None
        channel: str
        customer: dict[str, Any]
        received_at: datetime

    class FollowedUp(Aggregate.Event):
        month: str
        closed: bool
        at: datetime

    @event(Opened)
    def __init__(
        self,
        *,
        case_id: UUID,
        entry_type: str,
        kind: str | None,
        category: str | None,
        channel: str,
        customer: dict[str, Any],
        received_at: datetime,
    ) -> None:
        self.case_id = case_id
        self.customer = customer
        self.received_at = received_at
        self.closed = False

    @event(FollowedUp)
    def follow_up(self, *, month: str, closed: bool, at: datetime) -> None:
        self.closed = closed


class CustomerProfile(Aggregate):
    """A customer as sla knows it: class and zone, visits, surveys, field service days.

    Customer events travel on other partitions than the events that mention
    the customer, so the profile starts at whichever arrives first; the
    archive's registration then adds its date. Either order gives one profile.
    """

    @staticmethod
    def create_id(code: str) -> UUID:
        return uuid5(FACTS_NAMESPACE, f"customer:{code}")

    class Known(Aggregate.Created):
        code: str
        name: str | None
        oem: bool | None
        timezone: str | None
        known_at: datetime

    class Registered(Aggregate.Event):
        name: str
        oem: bool
        timezone: str | None
        registered_at: datetime

    class Updated(Aggregate.Event):
        name: str
        oem: bool
        timezone: str | None

    class Visited(Aggregate.Event):
        visit_date: str
        record_id: UUID

    class Surveyed(Aggregate.Event):
        year: int
        at: datetime

    class Serviced(Aggregate.Event):
        work_date: str
        engineer: str
        site: str
        record_id: UUID

    @event(Known)
    def __init__(
        self,
        *,
        code: str,
        name: str | None,
        oem: bool | None,
        timezone: str | None,
        known_at: datetime,
    ) -> None:
        self.code = code
        self.oem = oem
        self.timezone = timezone
        self.registered = False
        self.records: set[UUID] = set()
        self.survey_years: set[int] = set()

    @event(Registered)
    def register(
        self, *, name: str, oem: bool, timezone: str | None, registered_at: datetime
    ) -> None:
        self.registered = True
        self.oem = oem
        self.timezone = timezone

    @event(Updated)
    def update(self, *, name: str, oem: bool, timezone: str | None) -> None:
        self.oem = oem
        self.timezone = timezone

    @event(Visited)
    def visited(self, *, visit_date: str, record_id: UUID) -> None:
        self.records.add(record_id)

    @event(Surveyed)
    def surveyed(self, *, year: int, at: datetime) -> None:
        self.survey_years.add(year)

    @event(Serviced)
    def serviced(self, *, work_date: str, engineer: str, site: str, record_id: UUID) -> None:
        self.records.add(record_id)


class ReturnFile(Aggregate):
    """A return case as the monthly report counts it: opened, and closed how (4.3)."""

    @staticmethod
    def create_id(case_id: UUID) -> UUID:
        return uuid5(FACTS_NAMESPACE, f"return:{case_id}")

    class Opened(Aggregate.Created):
        case_id: UUID
        customer: dict[str, Any]
        reported_at: datetime

    class Closed(Aggregate.Event):
        at: datetime
        how: str

    @event(Opened)
    def __init__(self, *, case_id: UUID, customer: dict[str, Any], reported_at: datetime) -> None:
        self.closed = False

    @event(Closed)
    def close(self, *, at: datetime, how: str) -> None:
        self.closed = True


class CapaFile(Aggregate):
    """A quality case's CAPA as the monthly report counts it (4.4.4, 4.3.4; att. 4).

    Started by capa's InvestigationOpened, which names the customer; the CAPA
    itself opens when QC convenes the team (4.4.4) and closes at D8. Its actions'
    due dates and implementation days say when it was overdue. capa publishes a
    case's events in order on one partition (key = case id), so the opening comes first.
    """

    @staticmethod
    def create_id(case_id: UUID) -> UUID:
        return uuid5(FACTS_NAMESPACE, f"capa:{case_id}")

    class Opened(Aggregate.Created):
        case_id: UUID
        capa_no: str
        source: str
        customer: dict[str, Any]
        reported_at: datetime

    class Started(Aggregate.Event):
        at: datetime

    class ActionPlanned(Aggregate.Event):
        action_no: int
        due: date
        at: datetime

    class ActionImplemented(Aggregate.Event):
        action_no: int
        implemented_on: date

    class Closed(Aggregate.Event):
        at: datetime

    @event(Opened)
    def __init__(
        self,
        *,
        case_id: UUID,
        capa_no: str,
        source: str,
        customer: dict[str, Any],
        reported_at: datetime,
    ) -> None:
        self.started = False
        self.closed = False
        self.actions: dict[int, bool] = {}  # action_no -> implemented

    @event(Started)
    def start(self, *, at: datetime) -> None:
        self.started = True

    @event(ActionPlanned)
    def plan(self, *, action_no: int, due: date, at: datetime) -> None:
        self.actions[action_no] = False

    @event(ActionImplemented)
    def implement(self, *, action_no: int, implemented_on: date) -> None:
        self.actions[action_no] = True

    @event(Closed)
    def close(self, *, at: datetime) -> None:
        self.closed = True
