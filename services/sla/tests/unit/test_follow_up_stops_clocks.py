"""4.6: a follow-up that closes the entry stops the case's clocks still open.

Given a complaint whose reply clock has breached (not yet escalated), whose on-site clock
is warned and whose acknowledgement clock is paused, when after-sales records a closing
follow-up, then each clock stops (ClockStopped: the follow-up, its month, who), fires
nothing more, counts in the monthly report as neither met nor breached, and a replay of
the same topics records the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from sla_world import World, make_world
from test_clocks import MARKETING, T0, base, complaint, customer, reply

import csc_contracts as pub
from csc_contracts import Actor, PublicEvent
from csc_sla.domain import ClockRuleViolation

AFTER_SALES = Actor(user="zhang.min", department="after_sales")
CLOSED_AT = T0 + timedelta(hours=10)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path, settling=timedelta(0))


def follow_up(case: UUID, closed: bool = True) -> pub.FollowUpRecorded:
    return pub.FollowUpRecorded(
        **{**base(case, CLOSED_AT), "actor": AFTER_SALES},
        month="2026-11", result="Solved with the customer", closed=closed,
    )  # fmt: skip


def story(case: UUID) -> list[PublicEvent]:
    """The case's facts as intake's topic carries them, in order, up to the follow-up."""
    return [
        customer(),
        complaint(case),
        pub.ImportantInformationReported(**base(case, T0 + timedelta(hours=1)), reason="line stop"),
        pub.OnSiteServiceRequired(**base(case, T0 + timedelta(hours=3)), reason="quality_problem"),
    ]


def test_4_6_a_closing_follow_up_stops_every_open_clock_of_the_case(world: World) -> None:
    case = uuid4()
    for event in story(case):
        world.feed(event)
    ack = world.clock(case, "important_ack")
    world.app.pause(ack.id, "customer_unreachable", None, MARKETING, at=T0 + timedelta(hours=2))
    world.at(CLOSED_AT - timedelta(minutes=1))
    reply_row = world.board.clock(str(world.clock(case).id))
    assert reply_row is not None and reply_row["status"] == "breached"  # not escalated

    world.feed(follow_up(case))

    stops = {}
    for kind in ("reply", "on_site", "important_ack"):
        last = world.published(case, kind)[-1]
        assert isinstance(last, pub.ClockStopped)
        assert last.stopped_at == CLOSED_AT and last.month == "2026-11"
        assert last.actor == AFTER_SALES
        stops[kind] = last.status
        row = world.board.clock(str(world.clock(case, kind).id))
        assert row is not None and row["status"] == "stopped"
        assert row["stop"]["by"] == {"user": "zhang.min", "department": "after_sales"}
        assert row["stop"]["follow_up_event_id"] == str(last.follow_up_event_id)
    assert stops == {"reply": "breached", "on_site": "warned", "important_ack": "paused"}
    # The breach announced before stays; nothing fires after, however long we wait.
    assert [name for name, _ in world.history(case)] == [
        "ClockStarted", "ClockWarned", "ClockBreached", "ClockStopped",
    ]  # fmt: skip
    assert world.at(CLOSED_AT + timedelta(days=40)) == 0
    assert world.board.due_by(CLOSED_AT + timedelta(days=40)) == []
    # A stopped clock takes no more: no pause, no resume, a late reply meets nothing.
    with pytest.raises(ClockRuleViolation, match="stopped"):
        world.app.pause(world.clock(case).id, "other", None, MARKETING, at=CLOSED_AT)
    with pytest.raises(ClockRuleViolation, match="stopped"):
        world.app.resume(ack.id, MARKETING, at=CLOSED_AT + timedelta(hours=1))
    world.feed(reply(case, CLOSED_AT + timedelta(hours=1)))
    assert world.history(case)[-1][0] == "ClockStopped"
    assert world.clock(case).met_at is None


def test_4_6_a_stopped_clock_is_neither_met_nor_breached_in_the_monthly_report(
    world: World,
) -> None:
    case, kept = uuid4(), uuid4()
    for event in story(case):
        world.feed(event)
    world.feed(complaint(kept))
    world.feed(reply(kept, T0 + timedelta(hours=2)))
    world.at(CLOSED_AT)
    world.feed(follow_up(case))

    report = world.board.monthly_report("2026-11")
    # The reply clock breached before the close: a breach it stays, in the share too.
    assert report["replied_within_8h"] == {
        "started": 2, "met_within_target": 1, "stopped": 0, "share": 0.5,
    }  # fmt: skip
    # The on-site clock was only warned: no verdict, left out of the share.
    assert report["on_site_within_8h"] == {
        "started": 1, "met_within_target": 0, "stopped": 1, "share": None,
    }  # fmt: skip
    (breach,) = report["breaches"]
    assert breach["clock"] == "reply" and breach["stopped_at"] == CLOSED_AT.isoformat()


def test_4_6_a_follow_up_that_does_not_close_the_entry_leaves_the_clocks_running(
    world: World,
) -> None:
    case = uuid4()
    world.feed(customer())
    world.feed(complaint(case))
    world.feed(follow_up(case, closed=False))
    assert world.history(case) == [("ClockStarted", None)]
    world.at(T0 + timedelta(hours=9))
    assert [name for name, _ in world.history(case)] == [
        "ClockStarted", "ClockWarned", "ClockBreached",
    ]  # fmt: skip


def test_4_6_replayed_without_the_timer_the_stop_records_what_the_live_service_did(
    world: World, tmp_path: Path
) -> None:
    case = uuid4()
    for event in story(case):
        world.feed(event)
    world.at(CLOSED_AT)
    world.feed(follow_up(case))
    live = {k: world.history(case, k) for k in ("reply", "on_site", "important_ack")}

    # The same topic read again from offset 0 by a new store, no timer tick between.
    for replayed in make_world(tmp_path / "replay", settling=timedelta(0)):
        for event in story(case):
            replayed.feed(event)
        replayed.feed(follow_up(case))
        assert {k: replayed.history(case, k) for k in live} == live
        assert replayed.at(CLOSED_AT + timedelta(days=40)) == 0
