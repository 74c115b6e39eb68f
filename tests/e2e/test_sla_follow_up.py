"""4.6 through the real path: a closing follow-up stops the case's clocks.

intake's HTTP -> Kafka -> sla's clock -> csc.sla.v1. A complaint of last month is
entered with an OEM reply target long enough to end some seconds from now: its warning
is already past (announced, found late), its due time still ahead. After-sales records
the closing follow-up; the clock stops, and its due time then passes with no breach.
A replay of sla from its topics gives back the same history.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from e2e.conftest import Stack
from e2e.support import complaint, intake_client, read, wait_until
from e2e.test_sla import iso, sla_events

pytestmark = pytest.mark.integration

AHEAD = timedelta(seconds=60)  # the due time, after the test's start


def test_4_6_a_closing_follow_up_stops_the_reply_clock_and_it_never_breaches(
    stack: Stack,
) -> None:
    now = datetime.now(UTC)
    received = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)
    target = (now + AHEAD - received).total_seconds() / 3600
    policy = {"oem": {"targets": {"reply": {"hours": target}}}}
    intake = stack.start("intake")
    sla = stack.start(
        "sla",
        CSC_SLA_TICK_SECONDS="0.2",
        CSC_SLA_SETTLING_SECONDS="0",
        CSC_SLA_POLICY=json.dumps(policy),
    )
    marketing = intake_client(stack, intake)
    after_sales = httpx.Client(base_url=intake.url, headers=stack.auth("after_sales"), timeout=30)
    body = complaint(1, category="service", received_at=iso(received))
    case = marketing.post("/complaints", json=body)
    assert case.status_code == 201, case.text
    case_id = case.json()["case_id"]

    def reply_clock(status: str) -> dict[str, Any] | None:
        found = read(f"{sla.url}/cases/{case_id}/clocks")
        if not found.is_success:
            return None
        rows = [c for c in found.json() if c["clock"] == "reply" and c["status"] == status]
        return rows[0] if rows else None

    # Its warning (75 % of the target) passed long before it was entered: found late.
    warned = wait_until(lambda: reply_clock("warned"), 30, "the reply clock warned")
    due_at = datetime.fromisoformat(str(warned["due_at"]))

    month = f"{received.year:04d}-{received.month:02d}"
    followed = after_sales.post(
        f"/register-entries/{case_id}/follow-ups",
        json={"result": "Settled with the customer on the phone", "closed": True},
    )
    assert followed.status_code == 201, followed.text
    stopped = wait_until(lambda: reply_clock("stopped"), 30, "the reply clock stopped")
    assert datetime.now(UTC) < due_at, "the test was too slow: the clock fell due first"
    assert stopped["stop"] == {
        "at": stopped["stop"]["at"],
        "reason": "the register entry was closed by its follow-up (4.6)",
        "month": month,
        "by": {"user": "after_sales.user", "department": "after_sales"},
        "follow_up_event_id": stopped["stop"]["follow_up_event_id"],
        "status": "warned",
    }
    listed = read(f"{sla.url}/clocks", params={"status": "stopped"}).json()
    assert stopped["clock_id"] in [c["clock_id"] for c in listed]

    events = sla_events(stack, case_id, 3)
    assert [name for name, _ in events] == ["ClockStarted", "ClockWarned", "ClockStopped"]
    _, stop = events[2]
    assert stop["status"] == "warned" and stop["month"] == month
    assert stop["actor"]["department"] == "after_sales"
    assert stop["follow_up_event_id"] == stopped["stop"]["follow_up_event_id"]

    # The due time passes, the timer ticks on: nothing more for the closed entry.
    time.sleep(max(0.0, (due_at - datetime.now(UTC)).total_seconds()) + 3)
    after = sla_events(stack, case_id, 3)
    assert [name for name, _ in after] == ["ClockStarted", "ClockWarned", "ClockStopped"]
    assert reply_clock("stopped") is not None

    # sla rebuilt from the topics gives the same history.
    digest = read(f"{sla.url}/digest").json()["digest"]
    sla.stop()
    replayed = subprocess.run(
        [sys.executable, "-m", "csc_sla", "replay", "--wipe"],
        env={**os.environ, **stack.env("sla", CSC_SLA_POLICY=json.dumps(policy))},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout.strip().splitlines()[-1])["digest"] == digest
    sla = stack.restart(sla)
    again = wait_until(lambda: reply_clock("stopped"), 30, "the clock stopped after the replay")
    assert again == stopped
