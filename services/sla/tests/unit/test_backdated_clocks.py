"""Facts entered after they happened: a call received on Friday, entered on Wednesday.

Given a clock that starts in the past, when time moves, then deadlines that had
passed before it was recorded are held until the facts entered with it settle;
met by then, nothing is announced; still open, they are recorded once, found late.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from sla_world import World, make_world

import csc_contracts as pub
import csc_contracts.capa as capa
from csc_contracts import Actor
from csc_devkit.desk import SECRET, Desk, auth, refused
from csc_sla.application import SlaApplication
from csc_sla.bootstrap import SLA, SlaSettings
from csc_sla.domain import Clock
from csc_sla.entrypoints.http import routes

FRIDAY_CALL = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)  # Friday 17:30 in Shanghai
FRIDAY_REPLY = FRIDAY_CALL + timedelta(minutes=30)  # Friday 18:00
WEDNESDAY = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # Wednesday 10:00: typed in
SETTLING = timedelta(minutes=15)
MARKETING = Actor(user="li.wei", department="marketing")
AFTER_SALES = Actor(user="zhang.san", department="after_sales")
Alarm = pub.ClockWarned | pub.ClockBreached | pub.ClockEscalated


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path, settling=SETTLING)


def base(case_id: UUID, recorded: datetime, actor: Actor = MARKETING) -> dict[str, Any]:
    return {"event_id": uuid4(), "case_id": case_id, "occurred_at": recorded, "actor": actor}


def registered() -> pub.CustomerRegistered:
    return pub.CustomerRegistered(
        **base(uuid4(), WEDNESDAY - timedelta(days=400)), code="C-1", name="C-1", oem=False
    )


def complaint(case_id: UUID, received: datetime = FRIDAY_CALL) -> pub.ComplaintLogged:
    return pub.ComplaintLogged(
        **base(case_id, WEDNESDAY), category="service", channel="phone",
        receiving_department="marketing", received_at=received,
        customer={"code": "C-1"}, text="nobody called back",
    )  # fmt: skip


def reply(case_id: UUID, replied: datetime, recorded: datetime) -> pub.ReplySent:
    return pub.ReplySent(
        **base(case_id, recorded), replied_at=replied, channel="phone", summary="called back"
    )


def alarms(events: list[pub.PublicEvent]) -> list[Alarm]:
    return [e for e in events if isinstance(e, pub.ClockWarned | pub.ClockBreached |
                                            pub.ClockEscalated)]  # fmt: skip


def tick(world: World, start: datetime, end: datetime) -> int:
    """The live timer, once a minute from ``start`` to ``end``."""
    fired, moment = 0, start
    while moment <= end:
        fired += world.at(moment)
        moment += timedelta(minutes=1)
    return fired


def test_4_2_1_a_kept_promise_entered_days_later_raises_no_alarm(world: World) -> None:
    case = uuid4()
    world.feed(registered())
    world.feed(complaint(case))
    assert tick(world, WEDNESDAY, WEDNESDAY + timedelta(seconds=59)) == 0
    world.feed(reply(case, FRIDAY_REPLY, recorded=WEDNESDAY + timedelta(minutes=1)))
    assert tick(world, WEDNESDAY + timedelta(minutes=1), WEDNESDAY + timedelta(hours=2)) == 0

    assert world.history(case) == [("ClockStarted", None), ("ClockMet", FRIDAY_REPLY)]
    started, met = world.published(case)
    assert isinstance(started, pub.ClockStarted) and started.started_at == FRIDAY_CALL
    assert started.recorded_at == WEDNESDAY and started.settle_at == WEDNESDAY + SETTLING
    assert isinstance(met, pub.ClockMet) and met.within_target is True

    (row,) = world.board.clocks(str(case))
    assert row["status"] == "met" and row["within_target"] is True
    assert (row["warned_at"], row["breached_at"], row["escalated_at"]) == (None, None, None)
    report = world.board.monthly_report("2026-11")
    assert report["replied_within_8h"] == {
        "started": 1, "met_within_target": 1, "stopped": 0, "share": 1.0,
    }  # fmt: skip
    assert report["breaches"] == []


def test_4_2_1_still_unmet_after_settling_is_recorded_once_found_late(world: World) -> None:
    case = uuid4()
    world.feed(registered())
    world.feed(complaint(case))
    assert tick(world, WEDNESDAY, WEDNESDAY + SETTLING - timedelta(seconds=1)) == 0
    assert world.at(WEDNESDAY + SETTLING) == 3
    assert tick(world, WEDNESDAY + SETTLING, WEDNESDAY + timedelta(hours=3)) == 0

    found = alarms(world.published(case))
    assert [(type(e).__name__, e.at) for e in found] == [
        ("ClockWarned", FRIDAY_CALL + timedelta(hours=6)),
        ("ClockBreached", FRIDAY_CALL + timedelta(hours=8)),
        ("ClockEscalated", FRIDAY_CALL + timedelta(hours=12)),
    ]
    assert all(e.found_late is True for e in found)
    (breach,) = world.board.monthly_report("2026-11")["breaches"]
    assert breach["found_late"] is True and breach["met_at"] is None


def test_a_reply_entered_after_settling_replays_as_the_live_timer_announced(
    tmp_path: Path,
) -> None:
    """Live, the timer records the found-late alarms at the settling time; the reply typed
    in 20 minutes later still meets the clock in time. A replay with no timer agrees."""
    case = uuid4()
    late_entry = reply(case, FRIDAY_REPLY, recorded=WEDNESDAY + timedelta(minutes=20))
    live = make_world(tmp_path / "live", settling=SETTLING)
    world = next(live)
    world.feed(registered())
    world.feed(complaint(case))
    tick(world, WEDNESDAY, WEDNESDAY + timedelta(minutes=19))
    world.feed(late_entry)
    lived = world.published(case)
    assert [type(e).__name__ for e in lived] == [
        "ClockStarted", "ClockWarned", "ClockBreached", "ClockEscalated", "ClockMet",
    ]  # fmt: skip
    assert isinstance(lived[-1], pub.ClockMet) and lived[-1].within_target is True
    live.close()

    replay = make_world(tmp_path / "replay", settling=SETTLING)
    world = next(replay)
    for event in (registered(), complaint(case), late_entry):
        world.feed(event)
    strip = {"event_id", "occurred_at"}  # the moment of processing: another concern
    assert [e.model_dump(exclude=strip) for e in world.published(case)] == [
        e.model_dump(exclude=strip) for e in lived
    ]
    replay.close()


def test_a_late_reply_entered_with_the_clock_records_its_breach_found_late(world: World) -> None:
    case = uuid4()
    world.feed(registered())
    world.feed(complaint(case))
    replied = FRIDAY_CALL + timedelta(hours=9)  # after the due time
    world.feed(reply(case, replied, recorded=WEDNESDAY + timedelta(minutes=1)))
    published = world.published(case)
    assert world.history(case) == [
        ("ClockStarted", None),
        ("ClockWarned", FRIDAY_CALL + timedelta(hours=6)),
        ("ClockBreached", FRIDAY_CALL + timedelta(hours=8)),
        ("ClockMet", replied),
    ]
    assert all(e.found_late for e in alarms(published))
    assert isinstance(published[-1], pub.ClockMet) and published[-1].within_target is False
    (breach,) = world.board.monthly_report("2026-11")["breaches"]
    assert breach["found_late"] is True


def test_a_deadline_still_ahead_when_entered_is_a_live_alarm(world: World) -> None:
    """Received 7 h 55 min before it was entered: the warning had passed (found late), the
    due time is 5 minutes ahead and fires then, live, inside the settling time; the
    warning goes first, so the ladder keeps its order."""
    case = uuid4()
    world.feed(registered())
    world.feed(complaint(case, received=WEDNESDAY - timedelta(hours=7, minutes=55)))
    assert world.at(WEDNESDAY + timedelta(minutes=4)) == 0
    assert world.at(WEDNESDAY + timedelta(minutes=5)) == 2
    warned, breached = world.published(case)[1:]
    assert isinstance(warned, pub.ClockWarned) and warned.found_late is True
    assert isinstance(breached, pub.ClockBreached) and breached.found_late is False


def test_a_clock_entered_as_it_happens_fires_as_before(world: World) -> None:
    case = uuid4()
    world.feed(registered())
    world.feed(complaint(case, received=WEDNESDAY))
    assert world.at(WEDNESDAY + timedelta(hours=6)) == 1
    (warned,) = world.published(case)[1:]
    assert isinstance(warned, pub.ClockWarned) and warned.found_late is False


def test_4_2_2_the_on_site_clock_runs_from_when_it_was_decided(world: World) -> None:
    case = uuid4()
    world.feed(registered())
    world.feed(complaint(case))
    decided = FRIDAY_CALL + timedelta(minutes=45)
    world.feed(
        pub.OnSiteServiceRequired(
            **base(case, WEDNESDAY + timedelta(minutes=2), AFTER_SALES),
            reason="not_solved_by_phone", requested_at=decided,
        )
    )  # fmt: skip
    on_site = world.clock(case, "on_site")
    assert on_site.started_at == decided and on_site.due_at == decided + timedelta(hours=8)
    world.feed(
        pub.OnSiteVisitCompleted(
            **base(case, WEDNESDAY + timedelta(minutes=3), AFTER_SALES),
            arrived_at=decided + timedelta(hours=5), engineers=["zhao"], diagnosis="d",
            solution="s",
        )
    )  # fmt: skip
    assert world.history(case, "on_site") == [
        ("ClockStarted", None),
        ("ClockMet", decided + timedelta(hours=5)),
    ]


def test_4_1_3_the_acknowledgement_meets_the_clock_when_it_was_given(world: World) -> None:
    case = uuid4()
    world.feed(registered())
    world.feed(complaint(case))
    reported = WEDNESDAY - timedelta(hours=30)
    world.feed(
        pub.ImportantInformationReported(
            **base(case, WEDNESDAY), reason="line stop", reported_at=reported
        )
    )
    acknowledged = reported + timedelta(hours=10)
    world.feed(
        pub.ImportantInformationAcknowledged(
            **base(case, WEDNESDAY + timedelta(minutes=1)), acknowledged_at=acknowledged
        )
    )
    assert world.history(case, "important_ack") == [
        ("ClockStarted", None),
        ("ClockMet", acknowledged),
    ]


def test_4_4_3_qc_contact_on_a_complaint_entered_late_is_found_late(world: World) -> None:
    """capa dates the investigation at the customer's call; its recorded_at says when the
    complaint was entered, so QC's passed deadlines are found late, not live alarms."""
    case = uuid4()
    world.feed(registered())
    world.feed(
        capa.InvestigationOpened(
            **base(case, FRIDAY_CALL), clause="4.4.3", capa_no="CAPA-1",
            source=capa.InvestigationSource.COMPLAINT, source_event_id=uuid4(),
            reported_at=FRIDAY_CALL, customer={"code": "C-1"}, description="cracks",
            recorded_at=WEDNESDAY,
        )
    )  # fmt: skip
    assert world.at(WEDNESDAY + timedelta(minutes=1)) == 0
    assert world.at(WEDNESDAY + SETTLING) == 3
    found = alarms(world.published(case, "qc_contact"))
    assert len(found) == 3 and all(e.found_late is True for e in found)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    settings = SlaSettings(data_dir=tmp_path, store="sqlite", auth_hs256_secret=SECRET)
    service = SLA.bootstrap(settings)
    assert isinstance(service.app, SlaApplication)
    service.app.now = lambda: WEDNESDAY + timedelta(minutes=5)
    yield Desk(service, routes)
    service.app.close()


def test_a_pause_and_its_resumption_say_when_they_happened_in_order(desk: Desk) -> None:
    case = uuid4()
    desk.feed(registered())
    desk.feed(complaint(case))
    url = f"/clocks/{Clock.create_id(case, 'reply')}"
    recorded = desk.events()

    def pause(at: datetime | None) -> Any:
        body = {"reason": "customer_unreachable", **({"at": at.isoformat()} if at else {})}
        return desk.post(f"{url}/pause", body, "marketing")

    for wrong in (FRIDAY_CALL - timedelta(minutes=1), WEDNESDAY + timedelta(days=1)):
        response = pause(wrong)  # before the clock started; in the future
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == ["body", "at"]
    assert refused(pause(FRIDAY_CALL - timedelta(minutes=1)), 422, "4.2.1")
    assert desk.events() == recorded

    unreachable = FRIDAY_CALL + timedelta(hours=2, minutes=30)  # Friday 20:00
    assert pause(unreachable).json()["pauses"][0]["paused_at"] == unreachable.isoformat()
    early = desk.post(f"{url}/resume", {"at": (unreachable - timedelta(hours=1)).isoformat()},
                      "marketing")  # fmt: skip
    assert refused(early, 422, "4.2.1")
    resumed = desk.http.post(f"{url}/resume", headers=auth("marketing"))  # no body: now
    assert resumed.status_code == 200, resumed.text
    now = WEDNESDAY + timedelta(minutes=5)
    # 2 h 30 min had run at the pause: 5 h 30 min of the 8 are left from the resumption.
    assert resumed.json()["due_at"] == (now + timedelta(hours=5, minutes=30)).isoformat()

    # The warning, live, 3 h 30 min later; a pause dated before it would move it.
    app = desk.service.app
    assert isinstance(app, SlaApplication)
    assert app.fire_due([Clock.create_id(case, "reply")], now + timedelta(hours=3, minutes=31))
    app.now = lambda: now + timedelta(hours=4)
    assert refused(pause(now + timedelta(hours=3)), 422, "4.2.1")
