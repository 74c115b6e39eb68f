"""Att. 4: the monthly report counts CAPAs opened, closed, open and overdue, per customer.

A CAPA opens when QC convenes the cross-functional team (4.4.4) and closes at
D8 (CapaClosed). It is overdue in a month when, open as of the month's last day,
one of its actions was due by then and not implemented by then; while a month
runs, "by then" is today and an action is late once its due day is over.
The ledger below is the test's own record of what happened; the expected
figures are counted from it, not from sla.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from sla_world import World

import csc_contracts as pub
import csc_contracts.capa as capa
from csc_contracts import Actor
from csc_messaging.settings import ServiceSettings
from csc_messaging.store import eventsourcing_env
from csc_sla.application import SlaApplication
from csc_sla.projections import ClockBoard

QC = Actor(user="wang.fang", department="quality")
TEAM = {
    "leader": {"name": "Wang Fang", "department": "quality"},
    "members": [
        {"name": "Li Wei", "department": "marketing"},
        {"name": "Sun Li", "department": "development"},
        {"name": "Chen Jie", "department": "engineering"},
        {"name": "Zhou Min", "department": "production"},
    ],
}


@dataclass
class Action:
    due: date
    implemented_on: date | None = None


@dataclass
class Capa:
    customer: str
    team: date | None  # 4.4.4: the team convened; None: never (no CAPA)
    actions: list[Action] = field(default_factory=list)
    closed: date | None = None
    source: str = "complaint"
    case_id: UUID = field(default_factory=uuid4)


LEDGER = [
    # Opened in September, its action done early, closed in October.
    Capa("A", date(2026, 9, 20), [Action(date(2026, 10, 10), date(2026, 10, 8))],
         closed=date(2026, 10, 25)),
    # Opened in October, its action due 20 October and never implemented.
    Capa("A", date(2026, 10, 5), [Action(date(2026, 10, 20))]),
    # Due on October's last day, implemented on 3 November: late in October.
    Capa("B", date(2026, 10, 12), [Action(date(2026, 10, 31), date(2026, 11, 3))],
         closed=date(2026, 11, 20)),
    # Due in November, never implemented: on time in October, overdue in November.
    Capa("B", date(2026, 10, 15), [Action(date(2026, 11, 15))]),
    # Confirmed but no team yet: not a CAPA.
    Capa("A", None),
    # From a PNPR (4.3.4): opened and closed in October, its action on time.
    Capa("A", date(2026, 10, 2), [Action(date(2026, 10, 3), date(2026, 10, 3))],
         closed=date(2026, 10, 30), source="pnpr"),
    # Opened in August, due 1 September, implemented 2 October: late in September only.
    Capa("B", date(2026, 8, 1), [Action(date(2026, 9, 1), date(2026, 10, 2))]),
]  # fmt: skip


def moment(day: date) -> datetime:
    return datetime.combine(day, time(1, 0), UTC)  # 09:00 in Shanghai


def events_of(entry: Capa) -> list[pub.PublicEvent]:
    reported = moment(date(2026, 8, 1) if entry.team is None else entry.team)

    def common(day: date | datetime, clause: str = "4.4.4") -> dict[str, Any]:
        at = day if isinstance(day, datetime) else moment(day)
        return {"event_id": uuid4(), "case_id": entry.case_id, "occurred_at": at, "actor": QC,
                "clause": clause, "capa_no": f"CAPA-{entry.case_id.hex[:8].upper()}"}  # fmt: skip

    out: list[pub.PublicEvent] = [
        capa.InvestigationOpened(
            **common(reported, "4.4.3"), source=entry.source, source_event_id=uuid4(),
            reported_at=reported, customer={"code": entry.customer, "oem": True},
            description="cracked housings",
        ),
        capa.ComplaintConfirmed(**common(reported, "4.4.3"), finding="cracks"),
    ]  # fmt: skip
    if entry.team is None:
        return out
    out.append(capa.TeamConvened(**common(entry.team), **TEAM))
    for n, action in enumerate(entry.actions, start=1):
        out.append(
            capa.CorrectiveActionPlanned(
                **common(entry.team, "4.3.4"), action_no=n, kind="corrective",
                description="heater alarm", owner={"name": "Chen Jie",
                                                   "department": "engineering"},
                due=action.due,
            )
        )  # fmt: skip
    for n, action in enumerate(entry.actions, start=1):
        if action.implemented_on is not None:
            out.append(
                capa.CorrectiveActionImplemented(
                    **common(action.implemented_on, "4.3.4"), action_no=n,
                    implemented_on=action.implemented_on, validation="tested",
                    overdue_days=max(0, (action.implemented_on - action.due).days),
                )
            )  # fmt: skip
    if entry.closed is not None:
        out.append(
            capa.CapaClosed(
                **common(entry.closed), summary="s", recognition="r", opened_at=reported,
                days_open=(entry.closed - reported.date()).days,
            )
        )  # fmt: skip
    return out


@pytest.fixture
def sla(tmp_path: Path) -> Iterator[World]:
    app = SlaApplication(env=eventsourcing_env(ServiceSettings(data_dir=tmp_path), "sla"))
    world = World(app)
    # capa keeps each case in order (key = case id); cases interleave, here round-robin.
    streams = [events_of(entry) for entry in LEDGER]
    while any(streams):
        for stream in streams:
            if stream:
                world.feed(stream.pop(0))
    yield world
    app.close()


def month_of(day: date | None) -> str | None:
    return None if day is None else f"{day:%Y-%m}"


def last_day(month: str) -> date:
    year, number = map(int, month.split("-"))
    following = date(year + number // 12, number % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def expected(month: str, customer: str | None = None, today: date | None = None) -> dict[str, int]:
    """The figures counted from the ledger, by the report's documented rule."""
    end = last_day(month)
    running = today is not None and today <= end
    as_of = today if running and today is not None else end
    mine = [c for c in LEDGER if c.team is not None and customer in (None, c.customer)]

    def late(a: Action) -> bool:
        over = a.due < as_of if running else a.due <= as_of
        return over and (a.implemented_on is None or a.implemented_on > as_of)

    return {
        "opened": len([c for c in mine if month_of(c.team) == month]),
        "closed": len([c for c in mine if month_of(c.closed) == month]),
        "open_at_month_end": len(
            [c for c in mine if c.team and c.team <= end and (c.closed is None or c.closed > end)]
        ),
        "overdue": len(
            [
                c
                for c in mine
                if c.team
                and c.team <= as_of
                and (c.closed is None or c.closed > as_of)
                and any(late(a) for a in c.actions)
            ]
        ),
    }


@pytest.mark.parametrize("customer", [None, "A", "B"])
@pytest.mark.parametrize("month", ["2026-08", "2026-09", "2026-10", "2026-11", "2026-12"])
def test_att_4_capa_counts_field_by_field(sla: World, month: str, customer: str | None) -> None:
    got = sla.board.monthly_report(month, customer)["capa"]
    want = expected(month, customer)
    for key in ("opened", "closed", "open_at_month_end", "overdue"):
        assert got[key] == want[key], (month, customer, key)
    assert set(got) == set(want)


def test_att_4_october_in_figures(sla: World) -> None:
    """The ledger read by hand, so the test's own counting is checked too."""
    report = sla.board.monthly_report
    assert report("2026-10")["capa"] == {
        "opened": 4, "closed": 2, "open_at_month_end": 4, "overdue": 2,
    }  # fmt: skip
    assert report("2026-10", "A")["capa"] == {
        "opened": 2, "closed": 2, "open_at_month_end": 1, "overdue": 1,
    }  # fmt: skip
    assert report("2026-10", "B")["capa"] == {
        "opened": 2, "closed": 0, "open_at_month_end": 3, "overdue": 1,
    }  # fmt: skip
    # September: the August CAPA's action, due 1 September, was implemented in October.
    assert report("2026-09")["capa"]["overdue"] == 1
    # November: the CAPA closed on 20 November is not overdue; two open ones are.
    assert report("2026-11")["capa"] == {
        "opened": 0, "closed": 1, "open_at_month_end": 3, "overdue": 2,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("today", "overdue"),
    [
        (date(2026, 11, 15), 1),  # due 20 October; the one due 15 November has today left
        (date(2026, 11, 16), 2),  # 15 November is over
        (date(2026, 12, 1), 2),  # November is over: its figure is the month end's
    ],
)
def test_att_4_while_the_month_runs_overdue_is_as_of_today(
    sla: World, today: date, overdue: int
) -> None:
    got = sla.board.monthly_report("2026-11", today=today)["capa"]
    assert got["overdue"] == overdue == expected("2026-11", today=today)["overdue"]


def test_att_4_a_past_month_does_not_change_with_today(sla: World) -> None:
    october = sla.board.monthly_report("2026-10")["capa"]
    for today in (date(2026, 11, 1), date(2027, 6, 1)):
        assert sla.board.monthly_report("2026-10", today=today)["capa"] == october


def test_att_4_a_republished_event_counts_once_and_a_replay_counts_the_same(sla: World) -> None:
    before = sla.board.monthly_report("2026-10")
    digest = sla.board.digest()
    entry = LEDGER[1]
    for event in events_of(entry)[2:]:  # team and action again, at later offsets
        sla.feed(event)
    assert sla.board.monthly_report("2026-10") == before
    # A fresh read model folded from the same log says the same.
    assert ClockBoard(sla.app).digest() == digest == sla.board.digest()
    assert ClockBoard(sla.app).monthly_report("2026-10") == before


def test_att_4_no_capa_event_yet_counts_zeros(tmp_path: Path) -> None:
    app = SlaApplication(env=eventsourcing_env(ServiceSettings(data_dir=tmp_path), "sla"))
    try:
        assert ClockBoard(app).monthly_report("2026-10")["capa"] == {
            "opened": 0, "closed": 0, "open_at_month_end": 0, "overdue": 0,
        }  # fmt: skip
    finally:
        app.close()
