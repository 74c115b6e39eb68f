"""Att. 4 by calendar: the business-hours clocks of the month counted by the calendar (name and
version) each ran under, with the time each took in that calendar's working hours.

Two sites, two calendars, real dates (November 2026): OEM-001's plant keeps the default
calendar (Monday to Friday, 08:00-17:30), OEM-002's Wuhan plant 2 works six days with a
lunch break. sla is fed by hand and asked over HTTP on a real store, as in
test_rules_as_versions.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from openpyxl import load_workbook
from test_rules_as_versions import LUNCH, Now, business_desk, shanghai

import csc_contracts as pub
from csc_contracts import Actor, Department
from csc_devkit.desk import Desk, quality_complaint
from csc_devkit.desk import auth as token
from csc_sla.domain import Clock

WUHAN = {
    "calendar": {"week": {d: LUNCH for d in ("mon", "tue", "wed", "thu", "fri", "sat")}},
    "reason": "Wuhan plant 2 works six days, with a lunch break",
}


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[tuple[Desk, Now]]:
    yield from business_desk(tmp_path, shanghai(13, 8))


def manager(d: Desk, path: str, body: dict[str, Any]) -> None:
    changed = d.http.put(path, json=body, headers=token("quality", "xu.gang", manager=True))
    assert changed.status_code == 200, changed.text


def complaint(d: Desk, at: datetime, customer: str) -> UUID:
    logged = quality_complaint(at, customer=pub.CustomerRef(code=customer, oem=True))
    d.feed(logged)
    return logged.case_id


def replied(d: Desk, case_id: UUID, at: datetime) -> None:
    d.feed(
        pub.ReplySent(
            event_id=uuid4(), case_id=case_id, occurred_at=at,
            actor=Actor(user="li.wei", department=Department.MARKETING),
            replied_at=at, channel="phone", summary="ok",
        )
    )  # fmt: skip


def test_att_4_counts_business_hours_clocks_by_the_calendar_each_ran_under(
    desk: tuple[Desk, Now],
) -> None:
    d, now = desk
    manager(d, "/calendars/wuhan-plant-2", WUHAN)
    policy = d.get("/policy").json()["policy"]
    policy["calendar_rules"] = [{"customer": "OEM-002", "calendar": "wuhan-plant-2"}]
    manager(d, "/policy", {"policy": policy, "reason": "OEM-002 is at Wuhan plant 2"})

    # Monday 16 November, Wuhan: received 11:00, the customer unreachable 11:30-14:00,
    # replied 15:00. Counted: 11:00-11:30 and 14:00-15:00, 1.5 h.
    now.at = shanghai(16, 11)
    paused = complaint(d, shanghai(16, 11), "OEM-002")
    clock = Clock.create_id(paused, "reply")
    now.at = shanghai(16, 14)
    at = shanghai(16, 11, 30).isoformat()
    stop = d.post(
        f"/clocks/{clock}/pause", {"reason": "customer_unreachable", "at": at}, "marketing"
    )
    assert stop.status_code == 200, stop.text
    go = d.post(f"/clocks/{clock}/resume", {"at": shanghai(16, 14).isoformat()}, "marketing")
    assert go.status_code == 200, go.text
    now.at = shanghai(16, 15)
    replied(d, paused, shanghai(16, 15))

    # Friday 20 November 15:00, one complaint at each plant, both replied to on Monday 23
    # at 10:00. Default: Fri 15:00-17:30 and Mon 08:00-10:00, 4.5 h, within the 8 h.
    # Wuhan works Saturday: Fri 2.5 h, Sat 8.5 h, Mon 2 h, 13 h: late.
    now.at = shanghai(20, 15)
    plant = complaint(d, shanghai(20, 15), "OEM-001")
    wuhan = complaint(d, shanghai(20, 15), "OEM-002")
    now.at = shanghai(23, 10)
    replied(d, plant, shanghai(23, 10))
    replied(d, wuhan, shanghai(23, 10))
    assert d.get(f"/clocks/{Clock.create_id(wuhan, 'reply')}").json()["calendar"] == (
        "wuhan-plant-2"
    )

    report = d.get("/reports/monthly/2026-11").json()
    # The total, as before: three replies, two in time.
    assert report["replied_within_8h"] == {
        "started": 3, "met_within_target": 2, "stopped": 0, "share": 0.6667
    }  # fmt: skip
    replies = [r for r in report["by_calendar"] if r["clock"] == "reply"]
    assert replies == [
        {
            "calendar": "default", "calendar_version": 1, "clock": "reply",
            "started": 1, "met_within_target": 1, "stopped": 0, "share": 1.0, "met": 1,
            "working_hours_total": 4.5, "working_hours_mean": 4.5, "working_hours_max": 4.5,
        },
        {
            "calendar": "wuhan-plant-2", "calendar_version": 1, "clock": "reply",
            "started": 2, "met_within_target": 1, "stopped": 0, "share": 0.5, "met": 2,
            "working_hours_total": 14.5, "working_hours_mean": 7.25, "working_hours_max": 13.0,
        },
    ]  # fmt: skip
    # Every business-hours clock of the month is under one calendar, none twice.
    started = sum(r["started"] for r in report["by_calendar"])
    assert started == sum(1 for c in d.get("/clocks").json() if c["business_hours"])

    # The printed form says the same (att. 4 as a spreadsheet).
    sheet = d.get("/reports/monthly/2026-11.xlsx")
    assert sheet.status_code == 200, sheet.text
    cells = [
        [c for c in row]
        for ws in load_workbook(io.BytesIO(sheet.content)).worksheets
        for row in ws.iter_rows(values_only=True)
    ]
    wuhan_rows = [r for r in cells if "wuhan-plant-2 v1" in r]
    assert wuhan_rows and any(7.25 in r and 13.0 in r for r in wuhan_rows), wuhan_rows
