"""SLA through the real path: intake -> Kafka -> sla's clocks -> csc.sla.v1.

Time is not moved here (these are real processes): cases are registered as
received in the past, so their deadlines pass while the test watches.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from csc_contracts import EVENT_TYPES
from e2e.conftest import Stack
from e2e.support import complaint, intake_client, read, read_topic, wait_caught_up, wait_until

pytestmark = pytest.mark.integration


def sla_events(stack: Stack, case_id: str, at_least: int) -> list[tuple[str, dict[str, Any]]]:
    def events() -> list[tuple[str, dict[str, Any]]] | None:
        found = []
        for r in read_topic(stack.bootstrap, stack.topics.events("sla")):
            body = json.loads(r.value)
            if body["case_id"] == case_id:
                ce_type = dict(r.headers)["ce_type"].decode()
                EVENT_TYPES[ce_type].model_validate(body)
                found.append((ce_type.split(".")[2], body))
        return found if len(found) >= at_least else None

    return wait_until(events, what=f"{at_least} sla events of {case_id}")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_4_2_1_a_late_reply_warns_breaches_and_is_met_late(stack: Stack) -> None:
    intake = stack.start("intake")
    # Entered 9 h late, its warning and breach are found late: held for the settling time.
    stack.start("sla", CSC_SLA_TICK_SECONDS="0.2", CSC_SLA_SETTLING_SECONDS="1")
    marketing = intake_client(stack, intake)
    received = datetime.now(UTC) - timedelta(hours=9)
    case = marketing.post("/complaints", json=complaint(1, received_at=iso(received))).json()
    events = sla_events(stack, case["case_id"], 3)
    assert [name for name, _ in events] == ["ClockStarted", "ClockWarned", "ClockBreached"]
    received_at = datetime.fromisoformat(case["received_at"])
    assert datetime.fromisoformat(events[1][1]["at"]) == received_at + timedelta(hours=6)
    assert datetime.fromisoformat(events[2][1]["at"]) == received_at + timedelta(hours=8)
    assert events[2][1]["notify_department"] == "marketing"

    stack_after_sales = httpx.Client(base_url=intake.url, headers=stack.auth("after_sales"))
    stack_after_sales.post(
        f"/register-entries/{case['case_id']}/replies",
        json={"channel": "phone", "summary": "Sorry for the delay"},
    )
    met = sla_events(stack, case["case_id"], 4)[3]
    assert met[0] == "ClockMet" and met[1]["within_target"] is False


def test_a_breach_while_sla_was_down_is_published_once_with_its_true_due_time(
    stack: Stack,
) -> None:
    intake = stack.start("intake")
    # No settling time: the warning, past when entered, is announced (found late) at once.
    sla = stack.start("sla", CSC_SLA_TICK_SECONDS="0.2", CSC_SLA_SETTLING_SECONDS="0")
    marketing = intake_client(stack, intake)
    received = datetime.now(UTC) - timedelta(hours=8) + timedelta(seconds=15)
    case = marketing.post("/complaints", json=complaint(2, received_at=iso(received))).json()
    started = sla_events(stack, case["case_id"], 2)  # started, and warned at once
    due_at = datetime.fromisoformat(started[0][1]["due_at"])
    sla.kill()
    assert datetime.now(UTC) < due_at, "the test was too slow to kill sla before the due time"
    time.sleep(max(0.0, (due_at - datetime.now(UTC)).total_seconds()) + 2)

    stack.restart(sla, CSC_SLA_TICK_SECONDS="0.2", CSC_SLA_SETTLING_SECONDS="0")
    events = sla_events(stack, case["case_id"], 3)
    time.sleep(2)  # a few more ticks: nothing must fire twice
    events = sla_events(stack, case["case_id"], 3)
    breaches = [body for name, body in events if name == "ClockBreached"]
    assert len(breaches) == 1
    assert datetime.fromisoformat(breaches[0]["at"]) == due_at


def test_pause_and_resume_over_http(stack: Stack) -> None:
    intake = stack.start("intake")
    sla = stack.start("sla", CSC_SLA_TICK_SECONDS="0.2")
    case = intake_client(stack, intake).post("/complaints", json=complaint(3)).json()
    clock = wait_until(
        lambda: (r := read(f"{sla.url}/cases/{case['case_id']}/clocks")).is_success and r.json()[0]
    )
    url = f"{sla.url}/clocks/{clock['clock_id']}"
    body = {"reason": "waiting_for_customer_samples", "note": "samples by courier"}
    assert httpx.post(f"{url}/pause", json=body).status_code == 401
    assert httpx.post(f"{url}/pause", json=body, headers=stack.auth("warehouse")).status_code == 403
    paused = httpx.post(f"{url}/pause", json=body, headers=stack.auth("quality"))
    assert paused.status_code == 200, paused.text
    assert paused.json()["status"] == "paused"
    again = httpx.post(f"{url}/pause", json=body, headers=stack.auth("quality"))
    assert again.status_code == 409
    resumed = httpx.post(f"{url}/resume", headers=stack.auth("marketing"))
    assert resumed.status_code == 200
    names = [name for name, _ in sla_events(stack, case["case_id"], 3)]
    assert names == ["ClockStarted", "ClockPaused", "ClockResumed"]
    assert resumed.json()["pauses"][0]["reason"] == "waiting_for_customer_samples"


def test_att_4_monthly_report_counts_what_happened(stack: Stack) -> None:
    intake = stack.start("intake")
    # October's clocks are entered late: their breaches are found late, after settling.
    sla = stack.start("sla", CSC_SLA_TICK_SECONDS="0.2", CSC_SLA_SETTLING_SECONDS="1")
    marketing = intake_client(stack, intake)
    after_sales = httpx.Client(base_url=intake.url, headers=stack.auth("after_sales"))
    month_start = datetime(2026, 10, 6, 1, 0, tzinfo=UTC)
    posted: list[dict[str, Any]] = []
    kinds = ["quality_problem", "suggestion", "quality_problem", "current_product_requirements"]
    channels = ["phone", "email", "fax", "phone"]
    for n, (kind, channel) in enumerate(zip(kinds, channels, strict=True)):
        body = complaint(10 + n, received_at=iso(month_start + timedelta(days=n)), channel=channel)
        body.pop("category")
        posted.append(marketing.post("/register-entries", json={**body, "kind": kind}).json())
    for n, category in enumerate(["quality", "delivery", "quality"]):
        at = month_start + timedelta(days=10 + n)
        posted.append(
            marketing.post(
                "/complaints", json=complaint(20 + n, category=category, received_at=iso(at))
            ).json()
        )
    # Replies: the first two within 8 h, the third after 9 h; the rest never answered.
    for entry, hours in zip(posted[:3], [1, 7, 9], strict=True):
        at = datetime.fromisoformat(entry["received_at"]) + timedelta(hours=hours)
        reply = {"channel": "phone", "summary": "ok", "replied_at": iso(at)}
        after_sales.post(f"/register-entries/{entry['case_id']}/replies", json=reply)
    quality = posted[4]
    after_sales.post(f"/register-entries/{quality['case_id']}/on-site-requests",
                     json={"reason": "quality_problem"})  # fmt: skip
    for day in ("2026-10-07", "2026-10-08"):
        after_sales.post("/field-service-records", json={
            "kind": "daily", "customer_code": "OEM-001", "site": "Wuhan plant 2",
            "work_date": day})  # fmt: skip
    marketing.post("/field-service-records", json={
        "kind": "visit", "customer_code": "OEM-001", "site": "Wuhan plant 2",
        "work_date": "2026-10-09", "survey": "fine"})  # fmt: skip

    wait_caught_up(marketing, sla.url)

    def fired() -> bool:
        # The timer announces breaches a tick after the clocks start: every clock
        # past its due time must have been breached (or met) before the report is read.
        now = datetime.now(UTC).isoformat()
        clocks = read(f"{sla.url}/clocks").json()
        return all(c["breached_at"] or c["met_at"] or c["due_at"] > now for c in clocks)

    wait_until(fired, what="the timer to announce every breach")
    got = read(f"{sla.url}/reports/monthly/2026-10").json()
    # Counted independently, from what this test recorded.
    feedback = posted[:4]
    assert got["feedback_by_kind"] == dict(sorted(Counter(kinds).items()))
    assert got["feedback_by_channel"] == dict(sorted(Counter(channels).items()))
    assert got["complaints_by_category"] == {"delivery": 1, "quality": 2}
    assert got["replied_within_8h"] == {
        "started": 7, "met_within_target": 2, "stopped": 0, "share": 0.2857,
    }  # fmt: skip
    # On-site service was required today, so its clock counts in this month's report.
    assert got["on_site_within_8h"]["started"] == 0
    today = read(f"{sla.url}/reports/monthly/{datetime.now(UTC):%Y-%m}").json()
    assert today["on_site_within_8h"]["started"] == 1
    # Every clock of October is long past due: all but the two kept promises are breached.
    assert len(got["breaches"]) == 7 - 2
    assert {b["case_id"] for b in got["breaches"]} == {e["case_id"] for e in posted[2:]}
    assert got["visits_made"] == 1
    assert got["field_service_days"] == 2
    assert len(feedback) == 4
