"""Facts entered days after they happened, through the real path.

A complaint entered today for a call received on Friday 17:30, with the reply of
Friday 18:00 entered right after it: no alarm on csc.sla.v1 for the kept
promise, the clock met within target, the monthly report agreeing; QC's clock
on the same complaint, still open, is announced once, found late, after the
settling time. ``csc audit as-of`` tells each clock of the case on its own, in
the time things happened.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from csc_audit.cli import app as audit_app
from e2e.conftest import Stack
from e2e.support import complaint, intake_client, read, wait_caught_up
from e2e.test_sla import iso, sla_events

pytestmark = pytest.mark.integration

SETTLING = 4.0  # seconds, short for the test (CSC_SLA_SETTLING_SECONDS; 15 min by default)
ALARMS = ("ClockWarned", "ClockBreached", "ClockEscalated")


def friday_half_past_five() -> datetime:
    """The last Friday 17:30 in Shanghai at least two days ago, in UTC."""
    moment = (datetime.now(UTC) - timedelta(days=2)).replace(
        hour=9, minute=30, second=0, microsecond=0
    )
    while moment.weekday() != 4:
        moment -= timedelta(days=1)
    return moment


def of_clock(events: list[tuple[str, dict[str, Any]]], kind: str) -> list[tuple[str, Any]]:
    return [(name, body) for name, body in events if body["clock"] == kind]


def test_4_2_1_a_kept_promise_entered_days_later_raises_no_alarm(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    intake = stack.start("intake")
    stack.start("capa")
    sla = stack.start("sla", CSC_SLA_TICK_SECONDS="0.2", CSC_SLA_SETTLING_SECONDS=str(SETTLING))
    marketing = intake_client(stack, intake)
    after_sales = httpx.Client(base_url=intake.url, headers=stack.auth("after_sales"), timeout=30)
    call = friday_half_past_five()

    case = marketing.post("/complaints", json=complaint(1, received_at=iso(call))).json()
    case_id = case["case_id"]
    replied = after_sales.post(
        f"/register-entries/{case_id}/replies",
        json={"replied_at": iso(call + timedelta(minutes=30)), "channel": "phone",
              "summary": "Engineer on the way"},
    )  # fmt: skip
    assert replied.status_code == 201, replied.text
    # The visit was decided on Friday too; one dated before that decision is refused.
    decided = call + timedelta(minutes=40)
    required = after_sales.post(
        f"/register-entries/{case_id}/on-site-requests",
        json={"reason": "quality_problem", "requested_at": iso(decided)},
    )
    assert required.status_code == 201, required.text
    visit = {"engineers": ["zhao.liu"], "diagnosis": "Flash at gate 2", "solution": "Sorted"}
    early = after_sales.post(
        f"/register-entries/{case_id}/on-site-visits",
        json={**visit, "arrived_at": iso(decided - timedelta(minutes=5))},
    )
    assert early.status_code == 422, early.text
    assert early.json()["clause"] == "4.2.2"
    assert early.json()["errors"][0]["loc"] == ["body", "arrived_at"]
    arrived = decided + timedelta(hours=3)
    done = after_sales.post(
        f"/register-entries/{case_id}/on-site-visits", json={**visit, "arrived_at": iso(arrived)}
    )
    assert done.status_code == 201, done.text

    # QC's contact clock (4.4.3) on the same complaint stays open: announced once, found
    # late, after the settling time: reply and on-site started and met, and QC's three.
    events = sla_events(stack, case_id, 2 + 2 + 1 + 3)
    started = {body["clock"]: body for name, body in events if name == "ClockStarted"}
    settle_at = datetime.fromisoformat(started["reply"]["settle_at"])
    assert datetime.fromisoformat(started["reply"]["started_at"]) == call
    time.sleep(max(0.0, (settle_at - datetime.now(UTC)).total_seconds()) + 2)  # a few ticks more
    events = sla_events(stack, case_id, 8)

    reply = of_clock(events, "reply")
    assert [name for name, _ in reply] == ["ClockStarted", "ClockMet"]
    assert reply[1][1]["within_target"] is True
    on_site = of_clock(events, "on_site")
    assert [name for name, _ in on_site] == ["ClockStarted", "ClockMet"]
    assert datetime.fromisoformat(on_site[0][1]["started_at"]) == decided
    assert on_site[1][1]["within_target"] is True
    qc = of_clock(events, "qc_contact")
    assert [name for name, _ in qc] == ["ClockStarted", *ALARMS]
    assert all(body["found_late"] is True for _, body in qc[1:])
    assert all(datetime.fromisoformat(body["occurred_at"]) >= settle_at for _, body in qc[1:])
    escalated = qc[3][1]
    assert escalated["notify_department"] == "chief_engineer"
    assert not [name for name, _ in reply + on_site if name in ALARMS]

    # The clocks and the monthly report say the same.
    wait_caught_up(marketing, sla.url)
    rows = {r["clock"]: r for r in read(f"{sla.url}/cases/{case_id}/clocks").json()}
    assert rows["reply"]["status"] == "met" and rows["reply"]["within_target"] is True
    assert rows["reply"]["warned_at"] is None and rows["reply"]["breached_at"] is None
    assert rows["qc_contact"]["found_late"] is True
    report = read(f"{sla.url}/reports/monthly/{call:%Y-%m}").json()
    assert report["replied_within_8h"]["started"] == report["replied_within_8h"][
        "met_within_target"
    ] == 1  # fmt: skip
    assert report["on_site_within_8h"]["met_within_target"] == 1
    assert [(b["clock"], b["found_late"]) for b in report["breaches"]] == [("qc_contact", True)]

    # As of Friday 19:00, in the time things happened: each clock on its own.
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", stack.bootstrap)
    monkeypatch.setenv("CSC_TOPIC_PREFIX", stack.prefix)
    friday_evening = call + timedelta(hours=1, minutes=30)
    ran = CliRunner().invoke(
        audit_app, ["as-of", case_id, "--at", friday_evening.isoformat(), "--json"]
    )
    assert ran.exit_code == 0, (ran.output, ran.exception)
    as_of = json.loads(ran.output)
    clocks = as_of["clocks"]
    assert set(clocks) == {"reply", "on_site", "qc_contact"}
    assert clocks["reply"]["history"] == ["ClockStarted", "ClockMet"]
    assert clocks["on_site"]["history"] == ["ClockStarted"]  # arrived at 21:10
    assert clocks["qc_contact"]["history"] == ["ClockStarted"]
    intake_then = as_of["services"]["intake"]["history"]
    assert intake_then[:2] == ["ComplaintLogged", "ReplySent"]
    assert "OnSiteVisitCompleted" not in intake_then
    later = CliRunner().invoke(
        audit_app, ["as-of", case_id, "--at", (arrived + timedelta(hours=4)).isoformat(),
                    "--json"],
    )  # fmt: skip
    clocks = json.loads(later.output)["clocks"]
    assert clocks["on_site"]["stage"] == "ClockMet"
    assert clocks["qc_contact"]["stage"] == "ClockWarned"  # 6 h of QC's 8 had passed
