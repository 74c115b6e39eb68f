"""The morning digest (issue 19): notify's own view of sla's clocks, one message per
department and working morning, recorded once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from test_notify_units import T0, World, envelope

import csc_contracts as pub
from csc_contracts.sla import OfficialDays
from csc_messaging.settings import ServiceSettings
from csc_messaging.store import eventsourcing_env
from csc_notify.application import NotifyApplication
from csc_notify.digest import DigestSchedule
from csc_notify.domain import DIGEST_TYPE, Notification
from csc_notify.messages import render
from csc_notify.projections import NotifyBoard

DAY = date(2026, 11, 24)  # a Tuesday; T0 is 09:00 in Shanghai


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.app.close()


def started(case: UUID, clock: str, due_in: timedelta) -> pub.ClockStarted:
    due = T0 + due_in
    return pub.ClockStarted(
        **envelope(case), clock_id=uuid4(), clock=clock, clause={"reply": "4.2.1",
        "qc_contact": "4.4.3", "on_site": "4.2.2"}[clock], customer={"code": "OEM-001",
        "name": "Dongfeng"}, customer_class="oem", started_at=T0 - timedelta(hours=1),
        target_hours=8, business_hours=False, timezone="Asia/Shanghai", warn_at=due, due_at=due,
        escalate_at=due + timedelta(hours=2),
    )  # fmt: skip


def ids(clock: pub.ClockStarted) -> dict[str, object]:
    return {"clock_id": clock.clock_id, "clock": clock.clock, "clause": clock.clause}


def a_morning(world: World) -> dict[str, pub.ClockStarted]:
    """Clocks of every kind of standing: due soon, due later, breached, met, stopped, paused."""
    clocks = {
        "soon": started(uuid4(), "reply", timedelta(hours=3)),
        "later": started(uuid4(), "reply", timedelta(hours=10)),
        "breached": started(uuid4(), "reply", timedelta(hours=-2)),
        "breached_paused": started(uuid4(), "reply", timedelta(hours=-1)),
        "met": started(uuid4(), "reply", timedelta(hours=1)),
        "stopped": started(uuid4(), "on_site", timedelta(hours=1)),
        "paused": started(uuid4(), "qc_contact", timedelta(hours=1)),
        "on_site": started(uuid4(), "on_site", timedelta(hours=2)),
    }
    for clock in clocks.values():
        world.feed(clock)
    b, m, s, p = (clocks[k] for k in ("breached", "met", "stopped", "paused"))
    world.feed(
        pub.ClockBreached(
            **envelope(b.case_id), **ids(b), at=b.due_at, notify_department="marketing"
        )
    )
    world.feed(
        pub.ClockMet(**envelope(m.case_id), **ids(m), met_at=T0, within_target=True,
                     paused_hours=0)
    )  # fmt: skip
    world.feed(
        pub.ClockStopped(**envelope(s.case_id), **ids(s), stopped_at=T0, reason="closed",
                         month="2026-10", follow_up_event_id=uuid4(), status="running")
    )  # fmt: skip
    world.feed(pub.ClockPaused(**envelope(p.case_id), **ids(p), paused_at=T0, reason="other"))
    bp = clocks["breached_paused"]
    world.feed(
        pub.ClockBreached(**envelope(bp.case_id), **ids(bp), at=bp.due_at,
                          notify_department="marketing")
    )  # fmt: skip
    world.feed(pub.ClockPaused(**envelope(bp.case_id), **ids(bp), paused_at=T0, reason="other"))
    return clocks


def test_issue_19_each_department_gets_its_clocks_due_soon_and_breached(world: World) -> None:
    world.person("li.wei", "marketing", language="en")
    world.person("zhao.lei", "after_sales")
    world.person("wang.fang", "quality")
    clocks = a_morning(world)
    still_open = {row["clock_id"] for row in world.board.open_clocks()}
    gone = {str(clocks[k].clock_id) for k in ("met", "stopped")}
    assert still_open == {str(c.clock_id) for c in clocks.values()} - gone

    made = world.app.prepare_digests(DAY, world.board.open_clocks(), hours=4)
    by_department = {d.department: d for d in made}
    # QC's only clock is paused: nothing to act on, no message.
    assert sorted(by_department) == ["after_sales", "marketing"]
    marketing = by_department["marketing"]
    assert [i["clock_id"] for i in marketing.due_soon] == [str(clocks["soon"].clock_id)]
    # Soonest due first; one paused after its breach is still breached.
    assert [i["clock_id"] for i in marketing.breached] == [
        str(clocks["breached"].clock_id), str(clocks["breached_paused"].clock_id),
    ]  # fmt: skip
    assert marketing.breached[0]["breached_at"] is not None
    assert [i["clock_id"] for i in by_department["after_sales"].due_soon] == [
        str(clocks["on_site"].clock_id)
    ]

    digests = [n for n in world.notifications() if n["about"]["type"] == DIGEST_TYPE]
    assert sorted((n["handle"], n["channel"], n["clause"]) for n in digests) == [
        ("li.wei", "email", "4.2.1"),
        ("zhao.lei", "email", "4.2.2"),
    ]
    (to_li_wei,) = [n for n in digests if n["handle"] == "li.wei"]
    note = world.app.find(UUID(to_li_wei["notification_id"]), Notification)
    assert note is not None
    mail = render(note.about, note.clause, {"name": "Li Wei", "language": "en"}, "http://c/")
    assert "Deadlines this morning" in mail.subject and "2026-11-24" in mail.subject
    assert "Due within 4 h (1)" in mail.text and "Breached and still open (2)" in mail.text
    assert f"http://c/cases/{clocks['soon'].case_id}" in mail.text
    zh = render(note.about, note.clause, {"name": "李伟", "language": "zh-CN"}, "http://c/")
    assert "今日时限提醒" in zh.subject and "4 小时内到期" in zh.text


def test_issue_19_a_digest_is_recorded_once_per_department_and_day(
    world: World, tmp_path: Path
) -> None:
    world.person("li.wei", "marketing")
    a_morning(world)
    # After-sales has nobody in the directory yet: its digest waits for someone.
    (first,) = world.app.prepare_digests(DAY, world.board.open_clocks(), hours=4)
    assert first.department == "marketing"
    assert world.app.prepare_digests(DAY, world.board.open_clocks(), hours=4) == []
    world.person("zhao.lei", "after_sales")
    (later,) = world.app.prepare_digests(DAY, world.board.open_clocks(), hours=4)
    assert later.department == "after_sales"
    # Restarted the same morning, on the same store: nothing again.
    again = NotifyApplication(
        env=eventsourcing_env(ServiceSettings(data_dir=tmp_path), "notify"), now=lambda: T0
    )
    try:
        assert again.prepare_digests(DAY, NotifyBoard(again).open_clocks(), hours=4) == []
    finally:
        again.close()
    (digest,) = world.board.digests(DAY.isoformat())[:1]
    assert digest["department"] == "after_sales"


def test_issue_19_the_digest_goes_on_working_mornings_site_time() -> None:
    schedule = DigestSchedule(at=time(8, 30), until=time(12, 0), timezone="Asia/Shanghai")
    tuesday_0830 = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)
    assert schedule.morning(tuesday_0830) == DAY
    assert schedule.morning(tuesday_0830 - timedelta(seconds=1)) is None
    assert schedule.morning(tuesday_0830 + timedelta(hours=3, minutes=29)) == DAY
    assert schedule.morning(tuesday_0830 + timedelta(hours=3, minutes=30)) is None
    assert schedule.morning(tuesday_0830 + timedelta(days=4)) is None  # Saturday
    # Monday 08:30 in Shanghai is still Sunday in UTC: the site's day counts.
    monday = datetime(2026, 11, 30, 0, 45, tzinfo=UTC)
    assert schedule.morning(monday) == date(2026, 11, 30)


def calendar_version(version: int, **days: object) -> pub.CalendarVersionRecorded:
    five = {d: ["08:30-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")}
    fields: dict[str, object] = {
        "week": five,
        "holidays": [],
        "makeup_days": [],
        "official": None,
        **days,
    }
    return pub.CalendarVersionRecorded(
        **envelope(uuid4()), effective_at=None, reason="the plant's year", retime_running=False,
        source="api", calendar="default", calendar_version=version, timezone=None,
        makeup_windows=None, note=None, **fields,
    )  # fmt: skip


def test_issue_19_the_digest_goes_on_sla_calendar_days_holidays_none_make_up_days_one(
    world: World,
) -> None:
    schedule = DigestSchedule(at=time(8, 30), until=time(12, 0), timezone="Asia/Shanghai")
    tuesday, saturday = datetime(2026, 11, 24, 1, tzinfo=UTC), datetime(2026, 11, 28, 1, tzinfo=UTC)
    assert world.board.working_days("default") is None  # not read yet: the weekdays
    assert schedule.morning(tuesday) == DAY

    official = OfficialDays(
        source="chinese-calendar 1.11.0", years=[2026, 2026],
        holidays={date(2026, 11, 24): "a holiday", date(2026, 11, 25): "a holiday"},
        makeup_days={date(2026, 11, 28): "worked for it", date(2026, 11, 29): "worked too"},
    )  # fmt: skip
    # The calendar's own days take precedence over the official ones, as sla counts them.
    world.feed(
        calendar_version(1, official=official, makeup_days=[date(2026, 11, 25)],
                         holidays=[date(2026, 11, 29)])
    )  # fmt: skip
    days = world.board.working_days("default")
    assert days is not None
    assert days["holidays"] == ["2026-11-24", "2026-11-29"]
    assert days["makeup_days"] == ["2026-11-25", "2026-11-28"]
    assert schedule.morning(tuesday, days) is None  # a holiday: no digest
    assert schedule.morning(tuesday + timedelta(days=1), days) == date(2026, 11, 25)
    assert schedule.morning(saturday, days) == date(2026, 11, 28)  # a make-up day: one
    assert schedule.morning(saturday + timedelta(days=1), days) is None

    # A later version replaces it; the earlier one applied again changes nothing.
    world.feed(calendar_version(2, week={"sat": ["09:00-12:00"]}))
    world.feed(calendar_version(1, official=official))
    days = world.board.working_days("default")
    assert days is not None and (days["version"], days["weekdays"]) == (2, [5])
    assert schedule.morning(tuesday, days) is None
    assert schedule.morning(saturday, days) == date(2026, 11, 28)
