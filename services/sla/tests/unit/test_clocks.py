"""Given intake's public events, when time moves, then these clocks (4.2.1, 4.2.2, 4.1.3).

Time is injected: tests move it instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError, Tracking
from sla_world import World, make_world

import csc_contracts as pub
from csc_contracts import Actor
from csc_sla.domain import Calendar, Clock, ClockRuleViolation
from csc_sla.policy import BusinessHours, ClassPolicy, ClockKind, Ladder, SlaPolicy, Target
from csc_sla.public import to_public

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # Tuesday 09:00 in Shanghai
MARKETING = Actor(user="li.wei", department="marketing")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path)


def base(case_id: UUID, at: datetime = T0) -> dict[str, Any]:
    return {"event_id": uuid4(), "case_id": case_id, "occurred_at": at, "actor": MARKETING}


def customer(
    code: str = "OEM-001", oem: bool = False, tz: str = "Asia/Shanghai"
) -> pub.CustomerRegistered:
    return pub.CustomerRegistered(
        **base(uuid4(), T0 - timedelta(days=400)), code=code, name=code, oem=oem,
        sites=[{"name": "plant", "timezone": tz}],
    )  # fmt: skip


def complaint(case_id: UUID, received: datetime = T0, code: str = "OEM-001") -> pub.ComplaintLogged:
    return pub.ComplaintLogged(
        **base(case_id, received), category="quality", channel="phone",
        receiving_department="marketing", received_at=received,
        customer={"code": code}, text="cracked",
    )  # fmt: skip


def reply(case_id: UUID, at: datetime) -> pub.ReplySent:
    return pub.ReplySent(**base(case_id, at), replied_at=at, channel="phone", summary="ok")


def test_4_2_1_met_within_target(world: World) -> None:
    case = uuid4()
    world.feed(customer())
    world.feed(complaint(case))
    world.at(T0 + timedelta(hours=5))
    world.feed(reply(case, T0 + timedelta(hours=5)))
    assert world.history(case) == [("ClockStarted", None), ("ClockMet", T0 + timedelta(hours=5))]
    assert world.clock(case).due_at == T0 + timedelta(hours=8)


def test_4_2_1_warned_breached_escalated_at_their_true_times(world: World) -> None:
    case = uuid4()
    world.feed(customer())
    world.feed(complaint(case))
    assert world.at(T0 + timedelta(hours=5)) == 0
    assert world.at(T0 + timedelta(hours=6, minutes=1)) == 1  # 75 % of 8 h
    assert world.at(T0 + timedelta(hours=20)) == 2  # breach, then breach + 4 h
    assert world.at(T0 + timedelta(hours=30)) == 0  # nothing fires twice
    world.feed(reply(case, T0 + timedelta(hours=31)))
    assert world.history(case) == [
        ("ClockStarted", None),
        ("ClockWarned", T0 + timedelta(hours=6)),
        ("ClockBreached", T0 + timedelta(hours=8)),
        ("ClockEscalated", T0 + timedelta(hours=12)),
        ("ClockMet", T0 + timedelta(hours=31)),
    ]
    events = [to_public(e) for e in world.app.events.get(Clock.create_id(case, "reply"))]
    assert isinstance(events[2], pub.ClockBreached) and events[2].notify_department == "marketing"
    assert isinstance(events[3], pub.ClockEscalated)
    assert events[3].notify_department == "chief_engineer"
    assert isinstance(events[4], pub.ClockMet) and events[4].within_target is False


def test_a_late_reply_records_the_missed_deadlines_first(world: World) -> None:
    """Event time, not wall time: the same log gives the same history, live or replayed."""
    case = uuid4()
    world.feed(customer())
    world.feed(complaint(case))
    world.feed(reply(case, T0 + timedelta(hours=10)))  # the timer never ran
    assert [name for name, _ in world.history(case)] == [
        "ClockStarted", "ClockWarned", "ClockBreached", "ClockMet",
    ]  # fmt: skip


def test_an_answer_recorded_late_but_dated_in_time_replays_as_it_happened(tmp_path: Path) -> None:
    """Live, the timer announced the breach before the reply was recorded (dated 7 h, typed
    in at 9 h); a replay of the same log, with no timer, announces it too, then the reply
    meets the clock within target."""
    case = uuid4()
    late = pub.ReplySent(
        **base(case, T0 + timedelta(hours=9)), replied_at=T0 + timedelta(hours=7),
        channel="phone", summary="called back at 16:00",
    )  # fmt: skip
    live = make_world(tmp_path / "live")
    world = next(live)
    world.feed(customer())
    world.feed(complaint(case))
    world.at(T0 + timedelta(hours=8, seconds=1))  # the timer: warned, breached
    world.feed(late)
    lived = world.history(case)
    assert lived == [
        ("ClockStarted", None),
        ("ClockWarned", T0 + timedelta(hours=6)),
        ("ClockBreached", T0 + timedelta(hours=8)),
        ("ClockMet", T0 + timedelta(hours=7)),
    ]
    [met] = [e for e in world.app.events.get(Clock.create_id(case, "reply")) if "met_at" in vars(e)]
    assert vars(met)["within_target"] is True
    live.close()

    replay = make_world(tmp_path / "replay")
    world = next(replay)
    for event in (customer(), complaint(case), late):
        world.feed(event)
    assert world.history(case) == lived
    replay.close()


def test_a_breach_while_the_service_was_down_fires_once_on_start_up(tmp_path: Path) -> None:
    case = uuid4()
    first = make_world(tmp_path)
    world = next(first)
    world.feed(customer())
    world.feed(complaint(case))
    world.at(T0 + timedelta(hours=7))  # warned, then the service stops
    first.close()

    again = make_world(tmp_path)
    world = next(again)
    assert world.at(T0 + timedelta(hours=9, minutes=30)) == 1  # started 90 min after the due time
    assert world.at(T0 + timedelta(hours=9, minutes=31)) == 0
    assert world.history(case)[2] == ("ClockBreached", T0 + timedelta(hours=8))


def test_4_2_2_on_site_clock_starts_only_when_required(world: World) -> None:
    case = uuid4()
    world.feed(customer())
    world.feed(complaint(case))
    assert world.app.find(Clock.create_id(case, "on_site"), Clock) is None
    required_at = T0 + timedelta(hours=1)
    world.feed(pub.OnSiteServiceRequired(**base(case, required_at), reason="quality_problem"))
    world.feed(
        pub.OnSiteVisitCompleted(**base(case, T0 + timedelta(hours=12)),
                                 arrived_at=T0 + timedelta(hours=7), engineers=["zhao"],
                                 diagnosis="d", solution="s")
    )  # fmt: skip
    on_site = world.clock(case, "on_site")
    assert on_site.due_at == required_at + timedelta(hours=8)
    assert on_site.met_at == T0 + timedelta(hours=7)  # the arrival time meets it


def test_4_1_3_oem_customers_get_the_stricter_policy(world: World) -> None:
    case = uuid4()
    world.feed(customer("OEM-9", oem=True))
    world.feed(complaint(case, code="OEM-9"))
    world.feed(pub.ImportantInformationReported(**base(case), reason="line stop"))
    ack = world.clock(case, "important_ack")
    assert ack.due_at == T0 + timedelta(hours=8)  # 24 h for standard customers
    assert ack.customer_class == "oem"


def test_paused_and_resumed_across_a_holiday_in_business_hours(tmp_path: Path) -> None:
    holiday = date(2026, 11, 25)
    policy = SlaPolicy(
        standard=ClassPolicy(
            targets={kind: Target(hours=8, calendar="business") for kind in ClockKind},
            ladder=Ladder(warn_share=0.5, escalate_after_hours=4),
        ),
        business_hours=BusinessHours(holidays=[holiday]),
    )
    world = next(make_world(tmp_path, policy))
    case = uuid4()
    world.feed(customer())
    world.feed(complaint(case))  # Tue 09:00 Shanghai; working hours 08:00-17:30
    clock = world.clock(case)
    assert clock.due_at == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tue 17:00

    paused_at = T0 + timedelta(hours=2)  # Tue 11:00
    world.app.pause(clock.id, "customer_unreachable", "no answer", MARKETING, at=paused_at)
    assert world.at(T0 + timedelta(days=3)) == 0  # nothing fires while paused
    resumed_at = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # Thu 09:00
    world.app.resume(clock.id, MARKETING, at=resumed_at)

    clock = world.clock(case)
    # 6 of the 8 working hours were left at the pause: Thu 09:00 + 6 h = Thu 15:00.
    assert clock.due_at == datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    resumed = [to_public(e) for e in world.app.events.get(clock.id)][-1]
    assert isinstance(resumed, pub.ClockResumed)
    # Counted pause: Tue 11:00-17:30 and Thu 08:00-09:00; the holiday counts nothing.
    assert resumed.paused_hours == pytest.approx(6.5 + 1)
    row = world.board.clock(str(clock.id))
    assert row is not None and row["pauses"][0]["reason"] == "customer_unreachable"


def test_pause_rules(world: World) -> None:
    case = uuid4()
    world.feed(customer())
    world.feed(complaint(case))
    clock_id = Clock.create_id(case, "reply")
    with pytest.raises(ClockRuleViolation, match="not paused"):
        world.app.resume(clock_id, MARKETING, at=T0)
    world.feed(reply(case, T0 + timedelta(hours=1)))
    with pytest.raises(ClockRuleViolation, match="met"):
        world.app.pause(clock_id, "other", None, MARKETING, at=T0 + timedelta(hours=2))


def test_the_same_position_is_never_applied_twice(world: World) -> None:
    event = complaint(uuid4())
    world.app.apply_public(event, Tracking("csc.intake.v1:0", 1))
    with pytest.raises(IntegrityError):
        world.app.apply_public(event, Tracking("csc.intake.v1:0", 1))
    world.app.apply_public(event, Tracking("csc.intake.v1:0", 7))  # republished: no second clock
    assert len(world.board.clocks()) == 1


def test_calendar_counts_business_hours() -> None:
    calendar = Calendar(business=True, holidays=frozenset({date(2026, 11, 25)}))
    friday_5pm = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # 17:00 Shanghai
    assert calendar.add(friday_5pm, timedelta(hours=1)) == datetime(
        2026, 11, 30, 0, 30, tzinfo=UTC
    )  # Monday 08:30
    assert calendar.between(friday_5pm, datetime(2026, 11, 30, 0, 30, tzinfo=UTC)) == timedelta(
        hours=1
    )


def test_the_order_kafka_delivers_customer_events_in_does_not_show(tmp_path: Path) -> None:
    """A customer's events and the events naming it travel on different partitions."""
    registered = customer("OEM-5", oem=True)
    ref = {"code": "OEM-5", "name": "OEM-5", "oem": True, "timezone": "Asia/Shanghai"}
    served = pub.FieldServiceRecorded(
        **base(uuid4()), customer=ref, site="plant", work_date=date(2026, 11, 20), engineer="e"
    )
    visited = pub.CustomerVisited(
        **base(uuid4()), customer=ref, site="plant", work_date=date(2026, 11, 21), engineer="m"
    )
    digests = []
    for n, order in enumerate(([registered, served, visited], [visited, served, registered])):
        world = next(make_world(tmp_path / str(n)))
        for event in order:
            world.feed(event)
        digests.append(world.board.digest())
        (row,) = world.board.visit_schedule(date(2026, 11, 24))
        assert row["last"] == "2026-11-21"
    assert digests[0] == digests[1]


def test_att_4_the_report_counts_returns_opened_and_closed(world: World) -> None:
    october = datetime(2026, 10, 5, 1, 0, tzinfo=UTC)
    closed_case, open_case = uuid4(), uuid4()
    for case in (closed_case, open_case):
        world.feed(
            pub.ReturnCaseOpened(
                **base(case, october), clause="4.3", reported_at=october,
                customer={"code": "OEM-001"}, description="cracked housings",
            )
        )  # fmt: skip
    world.feed(
        pub.NonconformanceDispositioned(
            **base(closed_case, october + timedelta(days=9)), clause="4.3.3",
            report_no="PNPR-1", disposition="scrap", quantity=40, dispositioned=40,
            remaining=0, complete=True,
        )
    )  # fmt: skip
    assert world.board.monthly_report("2026-10")["returns"] == {
        "opened": 2,
        "closed": 1,
        "open_at_month_end": 1,
    }
    assert world.board.monthly_report("2026-11")["returns"] == {
        "opened": 0,
        "closed": 0,
        "open_at_month_end": 1,
    }
