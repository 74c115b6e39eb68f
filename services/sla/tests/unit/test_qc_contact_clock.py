"""Given capa's public events, when time moves, then QC's first-contact clock (4.4.3).

QC contacts the customer about a quality complaint (4.4.3). The clock starts when
capa opens the investigation of the complaint, at the event's occurred_at (the
customer's report), and the first CustomerContactedByQuality meets it at its
contacted_at. A PNPR (4.3.4) is QC's own report: no contact is owed, no clock.
An investigation that finishes before any contact meets the clock at its closing.
Time is injected: tests move it instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
import sla_world
from sla_world import World

import csc_contracts as pub
import csc_contracts.capa as capa
from csc_contracts import Actor
from csc_sla.domain import Clock, ClockRuleViolation
from csc_sla.policy import ClassPolicy, ClockKind, SlaPolicy, Target

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # Tuesday 09:00 in Shanghai
MARKETING = Actor(user="li.wei", department="marketing")
QC = Actor(user="wang.fang", department="quality")
CAPA = Actor(user="capa", department="system")
STANDARD = {"code": "STD-001", "name": "Wuhan Pumps", "oem": False, "timezone": "Asia/Shanghai"}
OEM = {"code": "OEM-001", "name": "Dongfeng Motor", "oem": True, "timezone": "Asia/Shanghai"}
QC_CONTACT = ClockKind.QC_CONTACT.value


def make_world(tmp_path: Path, policy: SlaPolicy | None = None) -> Generator[World, None, None]:
    """QC's clocks (the cases' reply clocks run too, but the timer here fires only QC's)."""
    yield from sla_world.make_world(tmp_path, policy, kind=QC_CONTACT, fires_only_kind=True)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path)


def base(case_id: UUID, at: datetime, actor: Actor = QC) -> dict[str, Any]:
    return {"event_id": uuid4(), "case_id": case_id, "occurred_at": at, "actor": actor}


def step(case_id: UUID, at: datetime, clause: str = "4.4.3") -> dict[str, Any]:
    return {**base(case_id, at), "clause": clause, "capa_no": f"CAPA-{case_id.hex[:8].upper()}"}


def complaint(case_id: UUID, customer: dict[str, Any] = STANDARD) -> pub.ComplaintLogged:
    return pub.ComplaintLogged(
        **base(case_id, T0, MARKETING), category="quality", channel="phone",
        receiving_department="marketing", received_at=T0, customer=customer, text="cracked",
    )  # fmt: skip


def opened(
    case_id: UUID, source: str = "complaint", customer: dict[str, Any] = STANDARD
) -> capa.InvestigationOpened:
    # capa dates the opening at the customer's report (its public.py occurred_at), so
    # occurred_at and reported_at are both T0.
    return capa.InvestigationOpened(
        **{**step(case_id, T0), "actor": CAPA}, source=source, source_event_id=uuid4(),
        reported_at=T0, customer=customer, description="cracked housings",
    )  # fmt: skip


def contacted(case_id: UUID, at: datetime, recorded: datetime | None = None) -> pub.PublicEvent:
    return capa.CustomerContactedByQuality(
        **step(case_id, recorded or at), contacted_at=at, contact="Mr. Zhao, SQE",
        means="phone", summary="40 cracked units",
    )  # fmt: skip


def not_confirmed(case_id: UUID, at: datetime) -> pub.PublicEvent:
    return capa.ComplaintNotConfirmed(**step(case_id, at), reason="samples conform")


def misuse(case_id: UUID, at: datetime) -> pub.PublicEvent:
    return capa.InvestigationClosedAsMisuse(
        **step(case_id, at, "4.2.3"), finding="wrong torque", determined_by="intake"
    )


def capa_closed(case_id: UUID, at: datetime) -> pub.PublicEvent:
    return capa.CapaClosed(
        **step(case_id, at, "4.4.4"), summary="s", recognition="r", opened_at=T0,
        days_open=(at - T0).days,
    )  # fmt: skip


def test_4_4_3_started_by_the_opening_and_met_by_the_first_contact(world: World) -> None:
    case = uuid4()
    world.feed(complaint(case))
    opening = opened(case)
    world.feed(opening)
    clock = world.find(case)
    assert clock is not None
    assert (clock.kind, clock.clause, clock.customer_class) == ("qc_contact", "4.4.3", "standard")
    assert clock.started_at == opening.occurred_at == T0  # the customer's report
    assert clock.due_at == T0 + timedelta(hours=24)  # standard customers: one day
    assert clock.ladder["owner"] == "quality"

    # Recorded an hour after the call: the call's time meets the promise.
    world.feed(contacted(case, T0 + timedelta(hours=5), recorded=T0 + timedelta(hours=6)))
    world.feed(contacted(case, T0 + timedelta(hours=9)))  # a second contact changes nothing
    assert world.history(case) == [("ClockStarted", None), ("ClockMet", T0 + timedelta(hours=5))]
    started, met = world.published(case)
    assert isinstance(started, pub.ClockStarted) and started.clock == "qc_contact"
    assert isinstance(met, pub.ClockMet) and met.within_target and met.clause == "4.4.3"
    row = world.board.clock(str(clock.id))
    assert row is not None
    assert row["started_by_event"] == str(opening.event_id) and row["status"] == "met"


def test_4_4_3_the_reply_clock_and_the_qc_clock_run_side_by_side(world: World) -> None:
    case = uuid4()
    world.feed(complaint(case))
    world.feed(opened(case))
    at = T0 + timedelta(hours=1)
    world.feed(
        pub.ReplySent(**base(case, at, MARKETING), replied_at=at, channel="phone", summary="ok")
    )
    clocks = {row["clock"]: row["status"] for row in world.board.clocks(str(case))}
    assert clocks == {"reply": "met", "qc_contact": "running"}  # marketing's reply is not QC's


def test_4_4_3_warned_breached_escalated_when_no_one_calls(world: World) -> None:
    case = uuid4()
    world.feed(complaint(case))
    world.feed(opened(case))
    assert world.at(T0 + timedelta(hours=17)) == 0
    assert world.at(T0 + timedelta(hours=18, minutes=1)) == 1  # 75 % of 24 h
    assert world.at(T0 + timedelta(hours=30)) == 2  # breach at 24 h, escalation 4 h later
    assert world.at(T0 + timedelta(hours=40)) == 0  # nothing fires twice
    world.feed(contacted(case, T0 + timedelta(hours=41)))
    assert world.history(case) == [
        ("ClockStarted", None),
        ("ClockWarned", T0 + timedelta(hours=18)),
        ("ClockBreached", T0 + timedelta(hours=24)),
        ("ClockEscalated", T0 + timedelta(hours=28)),
        ("ClockMet", T0 + timedelta(hours=41)),
    ]
    _, warned, breached, escalated, met = world.published(case)
    assert isinstance(warned, pub.ClockWarned) and warned.notify_department == "quality"
    assert isinstance(breached, pub.ClockBreached) and breached.notify_department == "marketing"
    assert isinstance(escalated, pub.ClockEscalated)
    assert escalated.notify_department == "chief_engineer"
    assert isinstance(met, pub.ClockMet) and met.within_target is False


def test_4_4_3_oem_customers_get_8_hours_even_before_intake_s_event_is_read(
    world: World,
) -> None:
    """capa's topic may be read before intake's: the opening names the customer's class."""
    case = uuid4()
    world.feed(opened(case, customer=OEM))  # no ComplaintLogged yet
    clock = world.find(case)
    assert clock is not None and clock.customer_class == "oem"
    assert clock.due_at == T0 + timedelta(hours=8)
    assert clock.escalate_at == T0 + timedelta(hours=10)  # the OEM ladder: 2 h after
    world.feed(complaint(case, OEM))
    assert {row["clock"] for row in world.board.clocks(str(case))} == {"reply", "qc_contact"}


def test_4_4_3_paused_while_the_customer_is_unreachable_then_resumed(world: World) -> None:
    case = uuid4()
    world.feed(complaint(case))
    world.feed(opened(case))
    clock = world.find(case)
    assert clock is not None
    world.app.pause(clock.id, "customer_unreachable", "plant closed", QC,
                    at=T0 + timedelta(hours=2))  # fmt: skip
    assert world.at(T0 + timedelta(hours=49)) == 0  # nothing fires while paused
    world.app.resume(clock.id, QC, at=T0 + timedelta(hours=50))
    resumed = world.find(case)
    assert resumed is not None
    # 22 of the 24 hours were left at the pause.
    assert resumed.due_at == T0 + timedelta(hours=50 + 22)
    assert world.at(T0 + timedelta(hours=50 + 16, minutes=1)) == 1  # warned, 18 h of 24 counted
    world.feed(contacted(case, T0 + timedelta(hours=70)))
    assert [name for name, _ in world.history(case)] == [
        "ClockStarted", "ClockPaused", "ClockResumed", "ClockWarned", "ClockMet",
    ]  # fmt: skip
    met = world.published(case)[-1]
    assert isinstance(met, pub.ClockMet) and met.within_target and met.paused_hours == 48
    with pytest.raises(ClockRuleViolation, match="met"):
        world.app.pause(clock.id, "other", None, QC, at=T0 + timedelta(hours=71))


def test_4_3_4_a_pnpr_owes_no_contact_so_starts_no_clock(world: World) -> None:
    case = uuid4()
    world.feed(opened(case, source="pnpr"))
    world.feed(contacted(case, T0 + timedelta(hours=1)))
    world.feed(not_confirmed(case, T0 + timedelta(hours=2)))
    assert world.find(case) is None
    assert world.board.clocks(str(case)) == []
    assert world.at(T0 + timedelta(days=30)) == 0


@pytest.mark.parametrize("closing", [not_confirmed, misuse, capa_closed])
def test_4_4_3_an_investigation_finished_before_any_contact_meets_the_clock_at_its_close(
    world: World, closing: Any
) -> None:
    """capa records no contact on a finished case; the clock contract has no cancel."""
    early, late = uuid4(), uuid4()
    for case in (early, late):
        world.feed(complaint(case))
        world.feed(opened(case))
    ending = closing(early, T0 + timedelta(hours=3))
    world.feed(ending)
    world.feed(closing(late, T0 + timedelta(hours=26)))  # after the breach (the timer was off)
    world.feed(contacted(early, T0 + timedelta(hours=4)))  # nothing more to meet

    assert world.history(early) == [("ClockStarted", None), ("ClockMet", T0 + timedelta(hours=3))]
    met = world.published(early)[-1]
    assert isinstance(met, pub.ClockMet) and met.within_target is True
    clock = world.find(early)
    assert clock is not None and clock.met_at == ending.occurred_at
    event = list(world.app.events.get(clock.id))[-1]
    assert isinstance(event, Clock.Met) and event.met_by_event == ending.event_id

    assert [name for name, _ in world.history(late)] == [
        "ClockStarted", "ClockWarned", "ClockBreached", "ClockMet",
    ]  # fmt: skip
    late_met = world.published(late)[-1]
    assert isinstance(late_met, pub.ClockMet) and late_met.within_target is False
    assert world.at(T0 + timedelta(days=30)) == 0  # both stopped: no escalation


def test_a_policy_configured_before_qc_contact_existed_falls_back_to_the_default(
    tmp_path: Path,
) -> None:
    policy = SlaPolicy(
        standard=ClassPolicy(targets={ClockKind.REPLY: Target(hours=4)}),
    )
    world = next(make_world(tmp_path, policy))
    case = uuid4()
    world.feed(complaint(case))
    world.feed(opened(case))
    clock = world.find(case)
    assert clock is not None and clock.due_at == T0 + timedelta(hours=24)
    reply = world.app.find(Clock.create_id(case, "reply"), Clock)
    assert reply is not None and reply.due_at == T0 + timedelta(hours=4)


def test_the_order_the_topics_are_read_in_does_not_show(tmp_path: Path) -> None:
    """intake's and capa's topics are read independently: either first, the same clocks."""
    case = uuid4()
    events: list[pub.PublicEvent] = [
        complaint(case),
        opened(case),
        contacted(case, T0 + timedelta(hours=30)),
    ]
    digests, histories = [], []
    for n, order in enumerate((events, [events[1], events[2], events[0]])):
        world = next(make_world(tmp_path / str(n)))
        for event in order:
            world.feed(event)
        digests.append(world.board.digest())
        histories.append(world.history(case))
    assert digests[0] == digests[1]
    assert (
        histories[0]
        == histories[1]
        == [
            ("ClockStarted", None),
            ("ClockWarned", T0 + timedelta(hours=18)),
            ("ClockBreached", T0 + timedelta(hours=24)),
            ("ClockEscalated", T0 + timedelta(hours=28)),
            ("ClockMet", T0 + timedelta(hours=30)),
        ]
    )
