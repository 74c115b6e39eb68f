"""A calendar changed over sla's HTTP API, through the real path: the version on csc.sla.v1,
a new complaint's clock counting by it, an older one keeping its deadline; and a replay
of sla's store giving back the same deadlines.

Two complaints received at the same moment (Monday 30 November 2026, 16:00 in Wuhan),
one recorded before the change and one after: only the second counts by the new
calendar (a lunch break, and Tuesday 1 December off).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from csc_contracts import EVENT_TYPES
from e2e.conftest import Stack
from e2e.support import complaint, intake_client, read, read_topic, wait_until

pytestmark = pytest.mark.integration

WUHAN = ZoneInfo("Asia/Shanghai")
RECEIVED = datetime(2026, 11, 30, 16, 0, tzinfo=WUHAN)  # a Monday
# The reply (4.2.1) in business hours, for OEM customers and the others alike.
BUSINESS = {"targets": {"reply": {"hours": 8, "calendar": "business"}}}
POLICY = json.dumps({"standard": BUSINESS, "oem": BUSINESS})
LUNCH = ["08:00-12:00", "13:00-17:30"]
NEW_CALENDAR = {
    "calendar": {
        "week": {d: LUNCH for d in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": ["2026-12-01"],
    },
    "reason": "Wuhan plant 2: lunch break; 1 December off for the line move",
}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def sla_records(stack: Stack) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for r in read_topic(stack.bootstrap, stack.topics.events("sla")):
        ce_type = dict(r.headers)["ce_type"].decode()
        body = json.loads(r.value)
        EVENT_TYPES[ce_type].model_validate(body)  # each read back by its contract
        found.append((ce_type.split(".")[2], body))
    return found


def started(stack: Stack, case_id: str) -> dict[str, Any] | None:
    for name, body in sla_records(stack):
        if name == "ClockStarted" and body["case_id"] == case_id and body["clock"] == "reply":
            return body
    return None


def reply_clock(sla_url: str, case_id: str) -> dict[str, Any] | None:
    found = read(f"{sla_url}/cases/{case_id}/clocks")
    if not found.is_success:
        return None
    return next((c for c in found.json() if c["clock"] == "reply"), None)


def published_all(url: str) -> bool:
    ready = read(f"{url}/readyz").json()
    return bool(ready["relay"]["position"] == read(f"{url}/digest").json()["position"])


@pytest.mark.timeout(600)
def test_a_calendar_changed_over_http_counts_new_clocks_only_and_replays_the_same(
    stack: Stack,
) -> None:
    intake = stack.start("intake")
    sla = stack.start("sla", CSC_SLA_POLICY=POLICY, CSC_SLA_TICK_SECONDS="0.2")
    marketing = intake_client(stack, intake)

    older = marketing.post("/complaints", json=complaint(1, received_at=iso(RECEIVED))).json()
    older_clock = wait_until(partial(reply_clock, sla.url, older["case_id"]), what="older clock")
    # The first calendar (CSC_SLA_POLICY's business hours, 08:00-17:30): Mon 16:00-17:30
    # and Tue 08:00-14:30.
    assert datetime.fromisoformat(older_clock["due_at"]) == datetime(
        2026, 12, 1, 14, 30, tzinfo=WUHAN
    )
    assert (older_clock["calendar"], older_clock["calendar_version"]) == ("default", 1)

    url = f"{sla.url}/calendars/default"
    body = NEW_CALENDAR
    refused = httpx.put(url, json=body, headers=stack.auth("warehouse"))
    assert refused.status_code == 403, refused.text
    # QC's manager may (clause 3).
    changed = httpx.put(url, json=body, headers=stack.auth("quality", "wang.fang", manager=True))
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"version": 2, "retimed_clocks": []}

    # The change, as other systems see it.
    def recorded() -> dict[str, Any] | None:
        for name, event in sla_records(stack):
            if name == "CalendarVersionRecorded" and event["calendar_version"] == 2:
                return event
        return None

    version = wait_until(recorded, what="CalendarVersionRecorded v2 on csc.sla.v1")
    assert version["calendar"] == "default" and version["holidays"] == ["2026-12-01"]
    assert version["actor"] == {"user": "wang.fang", "department": "quality"}
    assert version["reason"] == NEW_CALENDAR["reason"] and version["retime_running"] is False

    newer = marketing.post("/complaints", json=complaint(2, received_at=iso(RECEIVED))).json()
    newer_started = wait_until(partial(started, stack, newer["case_id"]), what="newer started")
    # Mon 16:00-17:30, Tuesday off, Wed 08:00-12:00 and 13:00-15:30.
    expected_newer = datetime(2026, 12, 2, 15, 30, tzinfo=WUHAN)
    assert datetime.fromisoformat(newer_started["due_at"]) == expected_newer
    assert newer_started["calendar_version"] == 2
    older_started = wait_until(partial(started, stack, older["case_id"]), what="older started")
    assert older_started["calendar_version"] == 1
    expected_older = datetime(2026, 12, 1, 14, 30, tzinfo=WUHAN)
    older_now = reply_clock(sla.url, older["case_id"])
    assert older_now is not None and datetime.fromisoformat(older_now["due_at"]) == expected_older

    # Att. 4 counts each business-hours clock under the calendar version it ran under.
    def by_calendar() -> list[tuple[str, int, int]] | None:
        report = read(f"{sla.url}/reports/monthly/2026-11").json()
        rows = [
            (r["calendar"], r["calendar_version"], r["started"])
            for r in report["by_calendar"]
            if r["clock"] == "reply"
        ]
        return rows if sum(n for *_, n in rows) == 2 else None

    counted = wait_until(by_calendar, what="both reply clocks in the monthly report")
    assert counted == [("default", 1, 1), ("default", 2, 1)]

    versions = read(f"{url}/versions").json()
    assert [(v["version"], v["source"]) for v in versions] == [(1, "CSC_SLA_POLICY"), (2, "api")]

    # A replay of sla's store (csc-sla replay --wipe, from csc.sla.journal) gives back the
    # same deadlines: each clock carries the calendar it counts by.
    wait_until(partial(published_all, sla.url), what="sla's relay to publish everything")
    live_digest = read(f"{sla.url}/digest").json()["digest"]
    sla.stop()
    env = {**os.environ, **stack.env("sla", CSC_SLA_POLICY=POLICY)}
    replayed = subprocess.run(
        [sys.executable, "-m", "csc_sla", "replay", "--wipe"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout.strip().splitlines()[-1])["digest"] == live_digest
    restarted = stack.restart(sla, CSC_SLA_POLICY=POLICY)
    assert read(f"{restarted.url}/digest").json()["digest"] == live_digest
    for case, expected in ((older, expected_older), (newer, expected_newer)):
        clock = reply_clock(restarted.url, case["case_id"])
        assert clock is not None and datetime.fromisoformat(clock["due_at"]) == expected
    # Its timeline says why Tuesday did not count, by the version it ran under.
    timeline = read(f"{restarted.url}/clocks/{newer_started['clock_id']}/timeline").json()
    skipped = [s for s in timeline["segments"] if "holiday 2026-12-01" in s["why"]]
    assert len(skipped) == 1 and skipped[0]["state"] == "out_of_working_hours"
    assert skipped[0]["rule"].startswith("calendar default v2")
    assert timeline["moments"][0]["event"] == "started"
    assert [v["version"] for v in read(f"{restarted.url}/calendars/default/versions").json()] == [
        1,
        2,
    ]
