"""Business time the way a Chinese plant works: windows with a lunch break, China's
official holidays with their make-up working days (调休), a calendar per site.

Real dates: 2026's Spring Festival is 15-23 February (the State Council's notice,
as chinese-calendar carries it); Saturday 14 and Saturday 28 February are worked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from pydantic import ValidationError
from sla_world import make_world

import csc_contracts as pub
from csc_contracts import Actor
from csc_sla.calendars import CalendarDefinition, CalendarRule, CalendarVersion
from csc_sla.domain.calendar import Calendar, calendar_of, calendar_spec
from csc_sla.policy import ClassPolicy, ClockKind, SlaPolicy, Target

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
MARKETING = Actor(user="li.wei", department="marketing")
LUNCH = ["08:00-12:00", "13:00-17:30"]
PLANT = {"mon": LUNCH, "tue": LUNCH, "wed": LUNCH, "thu": LUNCH, "fri": LUNCH}


def shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def china_plant(**extra: Any) -> Calendar:
    definition = CalendarDefinition.model_validate({"week": PLANT, "official": "CN", **extra})
    return CalendarVersion.record(definition).calendar(business=True, timezone="Asia/Shanghai")


def test_the_package_has_2026s_spring_festival_and_its_make_up_saturdays() -> None:
    # What the tests below count on, read from the source itself.
    assert chinese_calendar.is_holiday(datetime(2026, 2, 15).date())
    assert chinese_calendar.is_holiday(datetime(2026, 2, 23).date())
    for saturday in (datetime(2026, 2, 14).date(), datetime(2026, 2, 28).date()):
        assert saturday.weekday() == 5 and chinese_calendar.is_workday(saturday)


def test_4_2_1_reply_from_friday_16_00_before_spring_festival_is_due_on_the_make_up_saturday() -> (
    None
):
    plant = china_plant()
    friday = shanghai(2026, 2, 13, 16, 0)
    # Fri 16:00-17:30 (1.5 h), Sat 14 Feb worked: 08:00-12:00 (4 h), 13:00-15:30 (2.5 h).
    assert plant.add(friday, timedelta(hours=8)) == shanghai(2026, 2, 14, 15, 30)
    # A calendar that knew only the week would skip that Saturday and the holiday after.
    week_only = CalendarVersion.record(CalendarDefinition(week=PLANT)).calendar(
        business=True, timezone="Asia/Shanghai"
    )
    assert week_only.add(friday, timedelta(hours=8)) == shanghai(2026, 2, 16, 15, 30)


def test_a_clock_across_the_whole_spring_festival_counts_both_make_up_saturdays() -> None:
    plant = china_plant()
    friday = shanghai(2026, 2, 13, 16, 0)
    # 24 h: Fri 1.5 + Sat 14 8.5, the holiday 15-23 Feb counts nothing, Tue 24 8.5,
    # Wed 25 08:00-12:00 and 13:00-14:30.
    assert plant.add(friday, timedelta(hours=24)) == shanghai(2026, 2, 25, 14, 30)
    # 48 h: ... Thu 26 8.5, Fri 27 8.5 (44 h), and Sat 28 Feb, worked, 08:00-12:00.
    assert plant.add(friday, timedelta(hours=48)) == shanghai(2026, 2, 28, 12, 0)
    assert plant.between(friday, shanghai(2026, 2, 28, 12, 0)) == timedelta(hours=48)
    assert plant.between(shanghai(2026, 2, 15, 8, 0), shanghai(2026, 2, 23, 18, 0)) == timedelta(0)


def test_the_lunch_break_is_not_counted() -> None:
    plant = china_plant()
    monday_11 = shanghai(2026, 3, 2, 11, 0)
    assert plant.add(monday_11, timedelta(hours=2)) == shanghai(2026, 3, 2, 14, 0)
    assert plant.between(monday_11, shanghai(2026, 3, 2, 14, 0)) == timedelta(hours=2)
    # Started in the break: counting begins at 13:00.
    assert plant.add(shanghai(2026, 3, 2, 12, 20), timedelta(minutes=30)) == shanghai(
        2026, 3, 2, 13, 30
    )


def test_a_sites_own_days_take_precedence_over_the_official_ones() -> None:
    # The plant works 16 Feb (a holiday by the notice) and closes on the make-up 14 Feb.
    plant = china_plant(makeup_days=["2026-02-16"], holidays=["2026-02-14"])
    friday = shanghai(2026, 2, 13, 16, 0)
    assert plant.add(friday, timedelta(hours=8)) == shanghai(2026, 2, 16, 15, 30)


def test_two_shifts_to_midnight_and_a_six_day_week() -> None:
    shifts = ["06:00-14:00", "14:00-24:00"]
    calendar = CalendarVersion.record(
        CalendarDefinition.model_validate(
            {"week": {d: shifts for d in ("mon", "tue", "wed", "thu", "fri", "sat")}}
        )
    ).calendar(business=True, timezone="Asia/Shanghai")
    saturday_20 = shanghai(2026, 3, 7, 20, 0)
    # Sat 20:00-24:00 (4 h), Sunday off, Mon 06:00-10:00.
    assert calendar.add(saturday_20, timedelta(hours=8)) == shanghai(2026, 3, 9, 10, 0)


def test_what_a_clock_keeps_of_a_calendar_reads_back_the_same() -> None:
    plant = china_plant()
    kept = CalendarVersion.record(
        CalendarDefinition.model_validate({"week": PLANT, "official": "CN"})
    ).calendar(business=True, timezone="Asia/Shanghai", around=shanghai(2026, 2, 13).date())
    assert all(d.year in (2025, 2026, 2027, 2028) for d in kept.holidays)
    again = calendar_of(calendar_spec(kept))
    assert again == kept
    friday = shanghai(2026, 2, 13, 16, 0)
    assert again.add(friday, timedelta(hours=48)) == plant.add(friday, timedelta(hours=48))


def test_a_clock_stored_before_windows_reads_its_old_calendar() -> None:
    old = {
        "business": True,
        "timezone": "Asia/Shanghai",
        "day_start": "08:00:00",
        "day_end": "17:30:00",
        "workdays": [0, 1, 2, 3, 4],
        "holidays": ["2026-11-25"],
    }
    calendar = calendar_of(old)
    friday_17 = shanghai(2026, 11, 27, 17, 0)
    assert calendar.add(friday_17, timedelta(hours=1)) == shanghai(2026, 11, 30, 8, 30)


@pytest.mark.parametrize(
    ("definition", "says"),
    [
        ({"week": {"mon": ["12:00-08:00"]}}, "closes after it opens"),
        ({"week": {"mon": ["08:00-12:00", "11:00-13:00"]}}, "do not overlap"),
        ({"week": {"mon": ["8 to 12"]}}, "not a window"),
        ({"week": {}}, "at least one working window"),
        ({"holidays": ["2026-02-14"], "makeup_days": ["2026-02-14"]}, "both a holiday"),
        ({"timezone": "Asia/Wuhan"}, "unknown IANA time zone"),
        ({"week": {"someday": LUNCH}}, "week.someday"),
    ],
)
def test_a_calendar_that_cannot_count_is_refused_saying_where(
    definition: dict[str, Any], says: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        CalendarDefinition.model_validate(definition)
    shown = str(refused.value)
    assert says in shown or says in str(refused.value.errors())


def base(case_id: UUID, at: datetime) -> dict[str, Any]:
    return {"event_id": uuid4(), "case_id": case_id, "occurred_at": at, "actor": MARKETING}


def test_two_sites_count_the_same_complaint_by_their_own_calendars(tmp_path: Path) -> None:
    business = {kind: Target(hours=8, calendar="business") for kind in ClockKind}
    policy = SlaPolicy(
        oem=ClassPolicy(targets=business),
        calendars={
            # A Wuhan plant on China's official calendar with a lunch break.
            "wuhan": CalendarDefinition.model_validate({"week": PLANT, "official": "CN"}),
            # An OEM's line in Leipzig: its own zone, 07:00-15:30, no 调休.
            "leipzig": CalendarDefinition.model_validate(
                {
                    "timezone": "Europe/Berlin",
                    "week": {d: ["07:00-15:30"] for d in ("mon", "tue", "wed", "thu", "fri")},
                }
            ),
        },
        calendar_rules=[
            CalendarRule(customer="OEM-WH", calendar="wuhan"),
            CalendarRule(customer="OEM-DE", calendar="leipzig"),
        ],
    )
    world = next(make_world(tmp_path, policy))
    received = shanghai(2026, 2, 13, 16, 0)  # Fri 16:00 Shanghai, 09:00 in Leipzig
    cases = {}
    for code, tz in (("OEM-WH", "Asia/Shanghai"), ("OEM-DE", "Europe/Berlin")):
        world.feed(
            pub.CustomerRegistered(
                **base(uuid4(), received - timedelta(days=30)), code=code, name=code, oem=True,
                sites=[{"name": "plant", "timezone": tz}],
            )
        )  # fmt: skip
        cases[code] = uuid4()
        world.feed(
            pub.ComplaintLogged(
                **base(cases[code], received), category="quality", channel="phone",
                receiving_department="marketing", received_at=received,
                customer={"code": code}, text="cracked",
            )
        )  # fmt: skip
    wuhan, leipzig = world.clock(cases["OEM-WH"]), world.clock(cases["OEM-DE"])
    assert wuhan.due_at == shanghai(2026, 2, 14, 15, 30)  # the make-up Saturday
    # Leipzig: Fri 09:00-15:30 (6.5 h), the weekend off, Mon 07:00-08:30.
    assert leipzig.due_at == datetime(2026, 2, 16, 8, 30, tzinfo=BERLIN)
    assert leipzig.due_at == datetime(2026, 2, 16, 7, 30, tzinfo=UTC)
    assert (wuhan.calendar_name, wuhan.calendar_version) == ("wuhan", 1)
    assert leipzig.calendar_name == "leipzig"
    row = world.board.clock(str(wuhan.id))
    assert row is not None and datetime.fromisoformat(row["due_at"]) == wuhan.due_at


def test_a_rule_naming_no_calendar_is_refused() -> None:
    with pytest.raises(ValidationError, match="no calendar 'wuhan'"):
        SlaPolicy(calendar_rules=[CalendarRule(customer="OEM-WH", calendar="wuhan")])


def test_the_timeline_shows_each_stretch_with_the_rule_that_counted_it(tmp_path: Path) -> None:
    business = {kind: Target(hours=8, calendar="business") for kind in ClockKind}
    policy = SlaPolicy(
        oem=ClassPolicy(targets=business),
        calendars={"default": CalendarDefinition.model_validate({"week": PLANT, "official": "CN"})},
    )
    world = next(make_world(tmp_path, policy))
    received = shanghai(2026, 2, 13, 16, 0)  # Friday before the Spring Festival
    world.feed(
        pub.CustomerRegistered(
            **base(uuid4(), received - timedelta(days=30)), code="OEM-WH", name="Wuhan",
            oem=True, sites=[{"name": "plant", "timezone": "Asia/Shanghai"}],
        )
    )  # fmt: skip
    case = uuid4()
    world.feed(
        pub.ComplaintLogged(
            **base(case, received), category="quality", channel="phone",
            receiving_department="marketing", received_at=received,
            customer={"code": "OEM-WH"}, text="cracked",
        )
    )  # fmt: skip
    clock = world.clock(case)
    world.app.pause(
        clock.id, "customer_unreachable", "line busy", MARKETING, at=shanghai(2026, 2, 14, 9)
    )
    world.app.resume(clock.id, MARKETING, at=shanghai(2026, 2, 14, 10))
    assert world.at(shanghai(2026, 2, 14, 15)) == 1  # warned at 14:30: 6 of the 8 hours
    answered = shanghai(2026, 2, 14, 16)
    world.feed(
        pub.ReplySent(**base(case, answered), replied_at=answered, channel="phone", summary="ok")
    )

    told = world.app.timeline(clock.id, until=shanghai(2026, 3, 1))
    stretches = [(local(s["start"]), s["state"], s["why"]) for s in told["segments"]]
    assert stretches == [
        ("Fri 16:00", "counting", ["fri 13:00-17:30"]),
        ("Fri 17:30", "out_of_working_hours", ["out of working hours"]),
        ("Sat 08:00", "counting", ["make-up working day 2026-02-14, sat 08:00-12:00"]),
        ("Sat 09:00", "paused", ["paused, customer_unreachable: line busy"]),
        ("Sat 10:00", "counting", ["make-up working day 2026-02-14, sat 08:00-12:00"]),
        ("Sat 12:00", "out_of_working_hours", ["out of working hours"]),
        ("Sat 13:00", "counting", ["make-up working day 2026-02-14, sat 13:00-17:30"]),
    ]
    assert all(s["rule"] == "calendar default v1, policy v1" for s in told["segments"])
    assert told["counted_hours"] == 1.5 + 1 + 2 + 3
    assert [(m["event"], local(m["at"])) for m in told["moments"]] == [
        ("started", "Fri 16:00"), ("paused", "Sat 09:00"), ("resumed", "Sat 10:00"),
        ("warned", "Sat 14:30"), ("met", "Sat 16:00"),
    ]  # fmt: skip
    assert datetime.fromisoformat(told["until"]) == answered


def local(moment: str) -> str:
    return datetime.fromisoformat(moment).astimezone(SHANGHAI).strftime("%a %H:%M")


def test_the_timeline_names_the_holidays_it_skipped() -> None:
    plant = china_plant()
    stretch = plant.segments(shanghai(2026, 2, 14, 17), shanghai(2026, 2, 24, 9))
    assert [s.counting for s in stretch] == [True, False, True]
    skipped = stretch[1]
    assert (skipped.start, skipped.end) == (shanghai(2026, 2, 14, 17, 30), shanghai(2026, 2, 24, 8))
    assert skipped.why[0] == "out of working hours"
    assert [w for w in skipped.why if w.startswith("holiday")] == [
        f"holiday 2026-02-{day}" for day in range(15, 24)
    ]
