"""Calendars and the SLA policy as recorded versions, over sla's HTTP API on a real store.

Given clocks running, when Marketing's or QC's manager records a new calendar or policy, then clocks
started after it count by it, the running ones keep what they started under, and only a
change that says so re-times them (recorded as such, with their new deadlines).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

import csc_contracts as pub
from csc_devkit.desk import SECRET, Desk, quality_complaint, refused
from csc_devkit.desk import auth as token
from csc_sla.application import SlaApplication
from csc_sla.bootstrap import SLA, SlaSettings
from csc_sla.domain import Clock
from csc_sla.domain.rulebook import Rulebook
from csc_sla.entrypoints.http import routes
from csc_sla.policy import ClassPolicy, ClockKind, SlaPolicy, Target
from csc_sla.projections import ClockBoard
from csc_sla.public import to_public

SHANGHAI = ZoneInfo("Asia/Shanghai")
LUNCH = ["08:00-12:00", "13:00-17:30"]


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of November 2026 in Shanghai (Monday is the 16th)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


class Now:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[tuple[Desk, Now]]:
    yield from business_desk(tmp_path, shanghai(16, 8))


def business_desk(tmp_path: Path, at: datetime) -> Iterator[tuple[Desk, Now]]:
    """sla over HTTP with every OEM promise 8 business hours, its clock stopped at ``at``."""
    business = {kind: Target(hours=8, calendar="business") for kind in ClockKind}
    settings = SlaSettings(
        data_dir=tmp_path,
        relay_enabled=False,
        auth_hs256_secret=SECRET,
        sla_policy=SlaPolicy(oem=ClassPolicy(targets=business)),
    )
    service = SLA.bootstrap(settings)
    now = Now(at)
    vars(service.app)["now"] = now
    assert isinstance(service.app, SlaApplication)
    service.app.record_first_versions()  # as the service does when it starts
    yield Desk(service, routes), now
    service.app.close()


def put(
    desk: Desk,
    path: str,
    body: dict[str, Any],
    department: str = "marketing",
    *,
    manager: bool = True,
) -> Any:
    """As the department's manager, unless told otherwise: managers set the rules (clause 3)."""
    return desk.http.put(path, json=body, headers=token(department, "li.wei", manager=manager))


def start(desk: Desk, at: datetime) -> UUID:
    """A complaint received and recorded at ``at``: its reply clock starts (4.2.1)."""
    complaint = quality_complaint(at)
    desk.feed(complaint)
    return Clock.create_id(complaint.case_id, "reply")


def clock(desk: Desk, clock_id: UUID) -> dict[str, Any]:
    found = desk.get(f"/clocks/{clock_id}")
    assert found.status_code == 200, found.text
    return dict(found.json())


def due(desk: Desk, clock_id: UUID) -> datetime:
    return datetime.fromisoformat(clock(desk, clock_id)["due_at"])


def published(desk: Desk, aggregate_id: UUID) -> list[pub.PublicEvent]:
    events = []
    for e in desk.service.app.events.get(aggregate_id):
        public = to_public(e)
        assert public is not None
        events.append(type(public).model_validate(public.model_dump(mode="json")))
    return events


LUNCH_AND_SHUTDOWN = {
    "calendar": {
        "week": {d: LUNCH for d in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": ["2026-11-17"],
        "note": "Line 3 shut down for maintenance on Tuesday",
    },
    "reason": "Plant calendar: lunch break, and Tuesday's shutdown",
}


def test_csc_sla_policy_is_the_first_version_of_the_policy_and_each_calendar(
    desk: tuple[Desk, Now],
) -> None:
    d, _ = desk
    (first,) = d.get("/calendars/default/versions").json()
    assert first["version"] == 1 and first["source"] == "CSC_SLA_POLICY"
    assert first["by"]["department"] == "system" and first["effective_at"] is None
    assert first["definition"]["week"]["mon"] == ["08:00-17:30"]
    assert [c["calendar"] for c in d.get("/calendars").json()] == ["default"]
    policy = d.get("/policy").json()
    assert policy["version"] == 1
    assert policy["policy"]["oem"]["targets"]["reply"] == {"hours": 8.0, "calendar": "business"}
    app = d.service.app
    assert isinstance(app, SlaApplication) and app.record_first_versions() == 0  # once


def test_a_calendar_change_applies_to_clocks_started_after_it(desk: tuple[Desk, Now]) -> None:
    d, now = desk
    older = start(d, shanghai(16, 16))
    # Mon 16:00-17:30, Tue 08:00-14:30: 8 working hours, no break.
    assert due(d, older) == shanghai(17, 14, 30)

    now.at = shanghai(16, 17)
    changed = put(d, "/calendars/default", LUNCH_AND_SHUTDOWN)
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"version": 2, "retimed_clocks": []}

    newer = start(d, shanghai(16, 17, 10))
    # Mon 17:10-17:30, Tuesday shut, Wed 08:00-12:00 and 13:00-16:40.
    assert due(d, newer) == shanghai(18, 16, 40)
    assert due(d, older) == shanghai(17, 14, 30)  # kept what it started under
    assert (clock(d, older)["calendar_version"], clock(d, newer)["calendar_version"]) == (1, 2)
    assert clock(d, newer)["calendar"] == "default" and clock(d, newer)["policy_version"] == 1

    versions = d.get("/calendars/default/versions").json()
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[1]["by"] == {"user": "li.wei", "department": "marketing"}
    assert versions[1]["reason"] == LUNCH_AND_SHUTDOWN["reason"]
    assert datetime.fromisoformat(versions[1]["effective_at"]) == shanghai(16, 17)
    assert d.get("/calendars/default").json()["definition"]["holidays"] == ["2026-11-17"]

    # What csc.sla.v1 carries: the version, and each clock naming the one it counts by.
    recorded = published(d, Rulebook.create_id("calendar", "default"))
    assert [type(e).__name__ for e in recorded] == ["CalendarVersionRecorded"] * 2
    last = recorded[-1]
    assert isinstance(last, pub.CalendarVersionRecorded)
    assert last.calendar_version == 2 and last.week["mon"] == LUNCH
    assert last.actor.user == "li.wei" and last.retime_running is False
    started = published(d, newer)[0]
    assert isinstance(started, pub.ClockStarted) and started.calendar_version == 2


def test_a_calendar_change_that_says_so_re_times_the_running_clocks(
    desk: tuple[Desk, Now],
) -> None:
    d, now = desk
    running = start(d, shanghai(16, 16))
    assert due(d, running) == shanghai(17, 14, 30)
    now.at = shanghai(16, 17)
    changed = put(d, "/calendars/default", {**LUNCH_AND_SHUTDOWN, "retime_running": True})
    assert changed.json() == {"version": 2, "retimed_clocks": [str(running)]}
    # One hour counted by Monday 17:00 stays counted; 7 left by the new calendar:
    # Mon 17:00-17:30, Tuesday shut, Wed 08:00-12:00, 13:00-15:30.
    assert due(d, running) == shanghai(18, 15, 30)
    row = clock(d, running)
    assert row["calendar_version"] == 2
    (retime,) = row["retimed"]
    assert retime["reason"] == LUNCH_AND_SHUTDOWN["reason"] and retime["by"]["user"] == "li.wei"
    retimed = published(d, running)[-1]
    assert isinstance(retimed, pub.ClockRetimed)
    assert retimed.due_at == shanghai(18, 15, 30)
    assert retimed.warn_at == shanghai(18, 13, 30)  # 6 of 8 h: 5 h after Mon 17:00
    assert d.get("/calendars/default/versions").json()[1]["retime_running"] is True

    # The timer fires by the new deadlines.
    app = d.service.app
    board = d.service.read_model
    assert isinstance(app, SlaApplication) and isinstance(board, ClockBoard)
    assert app.fire_due(board.due_by(shanghai(17, 18)), shanghai(17, 18)) == 0
    assert app.fire_due(board.due_by(shanghai(18, 15, 31)), shanghai(18, 15, 31)) == 2


def test_a_policy_change_in_the_middle_of_the_month_re_times_only_when_told(
    desk: tuple[Desk, Now],
) -> None:
    d, now = desk
    first = start(d, shanghai(16, 9))
    assert due(d, first) == shanghai(16, 17)
    policy = d.get("/policy").json()["policy"]

    now.at = shanghai(16, 10)
    policy["oem"]["targets"]["reply"]["hours"] = 4
    shorter = put(d, "/policy", {"policy": policy, "reason": "OEM replies within 4 h"})
    assert shorter.json() == {"version": 2, "retimed_clocks": []}
    second = start(d, shanghai(16, 10, 30))
    assert due(d, second) == shanghai(16, 14, 30)
    assert due(d, first) == shanghai(16, 17)  # left as it was
    assert (clock(d, first)["policy_version"], clock(d, second)["policy_version"]) == (1, 2)

    now.at = shanghai(16, 11)
    policy["oem"]["targets"]["reply"]["hours"] = 12
    told = put(
        d,
        "/policy",
        {"policy": policy, "reason": "12 h, for the running ones too", "retime_running": True},
        department="quality",
    )
    assert told.status_code == 200, told.text
    assert sorted(told.json()["retimed_clocks"]) == sorted([str(first), str(second)])
    # first: 2 h counted by 11:00, 10 left: Mon 11:00-17:30, Tue 08:00-11:30.
    assert due(d, first) == shanghai(17, 11, 30)
    # second: 0.5 h counted, 11.5 left: Mon 11:00-17:30, Tue 08:00-13:00.
    assert due(d, second) == shanghai(17, 13)
    assert clock(d, first)["policy_version"] == 3 and clock(d, first)["target_hours"] == 12
    versions = d.get("/policy/versions").json()
    assert [(v["version"], v["by"]["department"]) for v in versions] == [
        (1, "system"),
        (2, "marketing"),
        (3, "quality"),
    ]


def test_who_may_change_the_rules_and_what_is_refused(desk: tuple[Desk, Now]) -> None:
    d, _ = desk
    before = d.events()
    message = refused(put(d, "/calendars/default", LUNCH_AND_SHUTDOWN, "warehouse"), 403, "3")
    assert "marketing, quality" in message
    refused(put(d, "/policy", {"policy": {}, "reason": "x"}, "after_sales"), 403, "3")
    bad = put(
        d, "/calendars/default", {"calendar": {"week": {"mon": ["13:00-12:00"]}}, "reason": "x"}
    )
    assert bad.status_code == 422 and "closes after it opens" in bad.text
    assert put(d, "/calendars/Not A Name", LUNCH_AND_SHUTDOWN).status_code in (404, 422)
    policy = d.get("/policy").json()["policy"]
    policy["calendar_rules"] = [{"customer": "OEM-001", "calendar": "wuhan"}]
    unknown = put(d, "/policy", {"policy": policy, "reason": "Wuhan's calendar"})
    assert unknown.status_code == 422, unknown.text
    assert "no calendar 'wuhan'" in unknown.text and "calendar_rules" in unknown.text
    assert d.get("/calendars/wuhan").status_code == 404
    assert d.events() == before  # nothing recorded


def test_3_only_marketings_and_qcs_managers_change_the_rules_and_auditors_read_them(
    desk: tuple[Desk, Now],
) -> None:
    d, _ = desk
    before = d.events()
    ordinary = put(d, "/calendars/default", LUNCH_AND_SHUTDOWN, "quality", manager=False)
    message = refused(ordinary, 403, "3")
    assert message == (
        "3: set calendar is for the managers of marketing, quality; "
        "li.wei acts for quality (not as its manager)"
    )
    problem = ordinary.json()
    assert problem["code"] == "forbidden.manager"
    assert problem["params"] == {
        "action": "set_calendar",
        "allowed": ["marketing", "quality"],
        "user": "li.wei",
        "department": "quality",
    }
    policy = d.get("/policy").json()["policy"]
    change = {"policy": policy, "reason": "x"}
    refused(put(d, "/policy", change, "marketing", manager=False), 403, "3")
    # A manager of another department is not one of those the clause names.
    warehouse = refused(put(d, "/policy", change, "warehouse"), 403, "3")
    assert warehouse.endswith("li.wei acts for warehouse")
    assert d.events() == before  # nothing recorded

    assert put(d, "/calendars/default", LUNCH_AND_SHUTDOWN, "quality").status_code == 200
    auditor = token("auditor", "wu.hua")
    assert d.http.get("/calendars/default", headers=auditor).json()["version"] == 2
    assert d.http.get("/policy/versions", headers=auditor).status_code == 200
    assert d.http.put("/policy", json=change, headers=auditor).status_code == 403


def test_a_new_site_calendar_and_a_rule_pointing_a_customer_at_it(desk: tuple[Desk, Now]) -> None:
    d, now = desk
    now.at = shanghai(16, 8)
    wuhan = {
        "calendar": {"week": {d: LUNCH for d in ("mon", "tue", "wed", "thu", "fri", "sat")}},
        "reason": "Wuhan plant 2 works six days",
    }
    assert put(d, "/calendars/wuhan-plant-2", wuhan).json()["version"] == 1
    policy = d.get("/policy").json()["policy"]
    policy["calendar_rules"] = [{"customer": "OEM-001", "calendar": "wuhan-plant-2"}]
    assert put(d, "/policy", {"policy": policy, "reason": "OEM-001 is at Wuhan"}).status_code == 200
    friday = start(d, datetime(2026, 11, 20, 15, 0, tzinfo=SHANGHAI))
    # Fri 15:00-17:30 (2.5 h), Sat 08:00-12:00, 13:00-14:30.
    assert due(d, friday) == datetime(2026, 11, 21, 14, 30, tzinfo=SHANGHAI)
    assert clock(d, friday)["calendar"] == "wuhan-plant-2"
    names = [c["calendar"] for c in d.get("/calendars").json()]
    assert names == ["default", "wuhan-plant-2"]


def test_the_timeline_over_http_names_the_versions_a_re_timed_clock_ran_under(
    desk: tuple[Desk, Now],
) -> None:
    d, now = desk
    running = start(d, shanghai(16, 16))
    now.at = shanghai(16, 17)
    put(d, "/calendars/default", {**LUNCH_AND_SHUTDOWN, "retime_running": True})
    now.at = shanghai(18, 9)
    told = d.get(f"/clocks/{running}/timeline")
    assert told.status_code == 200, told.text
    body = told.json()
    rules = [(s["state"], s["rule"]) for s in body["segments"]]
    # Counted by version 1 until the change, by version 2 after it.
    assert rules[0] == ("counting", "calendar default v1, policy v1")
    assert rules[-1] == ("counting", "calendar default v2, policy v1")
    shutdown = [s for s in body["segments"] if "holiday 2026-11-17" in s["why"]]
    assert len(shutdown) == 1 and shutdown[0]["state"] == "out_of_working_hours"
    assert [m["event"] for m in body["moments"]] == ["started", "retimed"]
    assert body["counted_hours"] == 1 + 0.5 + 1  # Mon 16:00-17:00 | 17:00-17:30, Wed 08-09
    assert d.get(f"/clocks/{UUID(int=1)}/timeline").status_code == 404
