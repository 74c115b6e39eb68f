"""Crashes, redelivery, poison and replay: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys

import httpx
import pytest

from csc_contracts import ComplaintLogged
from csc_messaging.codec import encode
from e2e.support import CUSTOMER, complaint, intake_client, produce, read, read_topic, wait_until

pytestmark = pytest.mark.integration


# sla records the first versions of its policy and calendars (CSC_SLA_POLICY) at start.
RULEBOOK = 2


def post_many(stack, intake, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    intake_client(stack, intake)  # the customer exists

    async def go() -> list[str]:
        limits = httpx.Limits(max_connections=8)
        async with httpx.AsyncClient(
            base_url=intake.url, limits=limits, timeout=30, headers=stack.auth("marketing")
        ) as client:
            semaphore = asyncio.Semaphore(8)

            async def one(n: int) -> str:
                async with semaphore:
                    r = await client.post("/complaints", json=complaint(n, category="service"))
                    assert r.status_code == 201, r.text
                    return str(r.json()["case_id"])

            return list(await asyncio.gather(*(one(n) for n in range(count))))

    return asyncio.run(go())


def test_consumer_killed_mid_stream_applies_every_event_once(stack) -> None:  # type: ignore[no-untyped-def]
    intake = stack.start("intake")
    case_ids = post_many(stack, intake, 500)
    marketing = intake_client(stack, intake)
    # The customer, then two events per complaint (ComplaintLogged, EngineeringNotified).
    wait_until(
        lambda: marketing.get("/relay").json()["position"] == 1001,
        what="intake to publish 1,001 events",
    )

    # Small batches (a run of 10 records a transaction): the stream takes long enough
    # to be caught part-way, where one getmany of 500 would drain it before a look.
    sla = stack.start("sla", CSC_CONSUMER_MAX_RECORDS="10")
    applied_at_kill = wait_until(
        lambda: (n := read(f"{sla.url}/digest").json()["position"]) >= 50 and n,
        what="sla to be part-way through",
    )
    sla.kill()
    assert applied_at_kill < 1002, "sla finished before it could be killed mid-stream"

    sla = stack.restart(sla)
    wait_until(
        lambda: len(read(f"{sla.url}/clocks?limit=1000").json()) >= 500,
        timeout=120,
        what="sla to catch up after the crash",
    )
    clocks = read(f"{sla.url}/clocks?limit=1000").json()  # one page holds the 500
    assert sorted(c["case_id"] for c in clocks) == sorted(case_ids)  # none missing, none doubled
    # sla's whole log: the customer's profile (known, registered), then per complaint a
    # case file and a clock; beside them, which record each transaction applied.
    log = read(f"{sla.url}/digest").json()
    # Counted, not read off the last notification id: a transaction the kill cut short
    # leaves a gap in PostgreSQL's ids (its sequence does not roll back).
    stored = read(f"{sla.url}/audit/chain").json()
    assert stored["ok"] is True and log["position"] >= stored["events"]
    assert stored["events"] - log["bookkeeping"] == 2 + 2 * 500 + RULEBOOK


def post_through_a_kill(client: httpx.Client, path: str, body: dict[str, object]) -> None:
    """POST to a process its failpoint kills: the answer may die with it, the commit not."""
    # Killed after the store committed, perhaps before the answer went out.
    with contextlib.suppress(httpx.RemoteProtocolError):
        assert client.post(path, json=body).status_code == 201


@pytest.mark.parametrize("failpoint", ["relay.before_commit", "relay.after_commit"])
def test_intake_killed_between_commit_and_publish(stack, failpoint: str) -> None:  # type: ignore[no-untyped-def]
    intake = stack.start("intake", CSC_FAILPOINTS=failpoint)
    marketing = httpx.Client(base_url=intake.url, headers=stack.auth("marketing"), timeout=30)
    post_through_a_kill(marketing, "/customers", CUSTOMER)  # the relay dies at that batch
    assert intake.wait_exit(timeout=30) == -9
    intake = stack.restart(intake)
    wait_until(lambda: marketing.get("/relay").json()["position"] == 1, what="the customer")
    intake.stop()

    intake = stack.restart(intake, CSC_FAILPOINTS=failpoint)
    post_through_a_kill(marketing, "/complaints", complaint(7))
    assert intake.wait_exit(timeout=30) == -9  # the failpoint killed it

    intake = stack.restart(intake)
    # After restart the relay publishes what was committed, exactly once.
    wait_until(lambda: marketing.get("/relay").json()["position"] == 3, what="relay to catch up")
    (case,) = marketing.get("/register-entries").json()
    records = read_topic(stack.bootstrap, stack.topics.intake)
    assert [dict(r.headers)["ce_type"] for r in records if r.key == case["case_id"].encode()] == [
        b"csc.intake.ComplaintLogged.v1",
        b"csc.intake.EngineeringNotified.v1",
    ]
    assert len(records) == 3  # with the customer: nothing twice
    event = ComplaintLogged.model_validate_json(
        next(r.value for r in records if dict(r.headers)["ce_type"].endswith(b"Logged.v1"))
    )
    assert str(event.case_id) == case["case_id"]
    assert event.text == case["text"]
    assert event.received_at.isoformat() == case["received_at"]
    assert event.actor.user == "marketing.user"


def test_replay_from_offset_zero_rebuilds_the_same_state(stack) -> None:  # type: ignore[no-untyped-def]
    intake = stack.start("intake")
    sla = stack.start("sla")
    marketing = intake_client(stack, intake)
    for n in range(40):
        category = ("quality", "service", "delivery")[n % 3]
        assert marketing.post("/complaints", json=complaint(n, category=category)).is_success
    wait_until(lambda: len(read(f"{sla.url}/clocks").json()) == 40, what="40 clocks")
    live = read(f"{sla.url}/digest").json()
    sla.stop()

    replayed = subprocess.run(
        [sys.executable, "-m", "csc_sla", "replay", "--wipe"],
        env={**__import__("os").environ, **stack.env("sla")},
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    result = json.loads(replayed.stdout.strip().splitlines()[-1])
    assert result["records"] == 81  # the customer, then two events per complaint
    assert result["digest"] == live["digest"]

    sla = stack.restart(sla)
    assert read(f"{sla.url}/digest").json()["digest"] == live["digest"]


def test_poison_goes_to_the_dlq_and_the_consumer_goes_on(stack) -> None:  # type: ignore[no-untyped-def]
    sla = stack.start("sla")
    intake_topic = stack.topics.intake
    produce(stack.bootstrap, intake_topic, b"\x00garbage", b"k", [])
    # A well-formed event of a type sla does not know yet: skipped, not dead-lettered.
    future = encode(
        ComplaintLogged.model_validate(
            {**_event_body(), "event_id": "00000000-0000-4000-8000-000000000001"}
        )
    )
    future_headers = [
        (k, b"csc.intake.ComplaintEscalated.v1" if k == "ce_type" else v) for k, v in future.headers
    ]
    produce(stack.bootstrap, intake_topic, future.value, future.key, future_headers)

    intake = stack.start("intake")
    good = intake_client(stack, intake).post("/complaints", json=complaint(9)).json()
    wait_until(
        lambda: read(f"{sla.url}/cases/{good['case_id']}/clocks").status_code == 200,
        what="the good complaint's clock",
    )
    dead = wait_until(
        lambda: read_topic(stack.bootstrap, stack.topics.dlq(intake_topic)), what="the DLQ"
    )
    assert [r.value for r in dead] == [b"\x00garbage"]
    headers = {k: v.decode() for k, v in dead[0].headers}
    assert "missing header" in headers["csc_dlq_reason"]
    assert headers["csc_dlq_topic"] == intake_topic
    assert headers["csc_dlq_consumer"] == f"{stack.prefix}csc-sla"
    # CustomerRegistered, ComplaintLogged, EngineeringNotified: sla applies (tracks) all three.
    stats = wait_until(
        lambda: (s := read(f"{sla.url}/ingest-stats").json()[intake_topic])["applied"] == 3 and s
    )
    assert stats["dead_lettered"] == 1
    assert stats["skipped_unknown_type"] == 1


def _event_body() -> dict[str, object]:
    return {
        "case_id": "00000000-0000-4000-8000-0000000000aa",
        "occurred_at": "2026-11-24T08:00:00Z",
        "actor": {"user": "li.wei", "department": "marketing"},
        "category": "quality",
        "channel": "phone",
        "receiving_department": "marketing",
        "received_at": "2026-11-24T08:00:00Z",
        "customer": {"code": "OEM-001"},
        "text": "from a newer producer",
    }


def test_dead_letters_are_listed_and_redriven_once_in_order(stack) -> None:  # type: ignore[no-untyped-def]
    sla = stack.start("sla")
    intake_topic, group = stack.topics.intake, f"{stack.prefix}csc-sla"
    dlq_topic = stack.topics.dlq(intake_topic)
    # Garbage no release will read: sla dead-letters it live.
    produce(stack.bootstrap, intake_topic, b"\x00garbage", b"k", [])
    wait_until(lambda: read_topic(stack.bootstrap, dlq_topic), what="the garbage in the DLQ")
    # A complaint sla failed to apply before a fix, as the consumer dead-letters a record.
    case_id = "00000000-0000-4000-8000-0000000000dd"
    fixed = encode(
        ComplaintLogged.model_validate(
            {
                **_event_body(),
                "case_id": case_id,
                "event_id": "00000000-0000-4000-8000-0000000000de",
            }
        )
    )
    letter = [
        *fixed.headers,
        ("csc_dlq_reason", b"ComplaintLogged could not be applied: KeyError('zone')"),
        ("csc_dlq_consumer", group.encode()),
        ("csc_dlq_topic", intake_topic.encode()),
        ("csc_dlq_partition", b"0"),
        ("csc_dlq_offset", b"7"),
    ]
    # The same source record dead-lettered twice (a crash before its position was kept).
    for _ in range(2):
        produce(stack.bootstrap, dlq_topic, fixed.value, fixed.key, letter)
    garbage_id, complaint_id, copy_id = (f"{dlq_topic}:0@{n}" for n in range(3))

    def dlq(*args: str) -> tuple[int, list[dict[str, object]]]:
        done = subprocess.run(
            [sys.executable, "-m", "csc_sla", "dlq", "--json", *args],
            env={**os.environ, **stack.env("sla")}, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode in (0, 1, 2), done.stderr
        return done.returncode, [json.loads(line) for line in done.stdout.splitlines() if line]

    def statuses(letters: list[dict[str, object]]) -> list[tuple[object, object]]:
        return [(letter["id"], letter["status"]) for letter in letters]

    rc, letters = dlq()
    assert rc == 0
    assert statuses(letters) == [
        (garbage_id, "pending"), (complaint_id, "pending"), (copy_id, "duplicate"),
    ]  # fmt: skip
    assert "missing header" in str(letters[0]["reason"])
    assert letters[1]["source"] == f"{intake_topic}:0@7"
    assert letters[1]["event_type"] == ComplaintLogged.event_type()

    # In order, and no further than the first that still fails.
    rc, letters = dlq("--redrive")
    assert rc == 1
    assert statuses(letters) == [
        (garbage_id, "failing"), (complaint_id, "blocked"), (copy_id, "blocked"),
    ]  # fmt: skip
    assert read(f"{sla.url}/cases/{case_id}/clocks").status_code == 404
    # A mistyped --skip is refused before anything is applied.
    assert dlq("--redrive", "--skip", f"{dlq_topic}:0@99")[0] == 2
    assert read(f"{sla.url}/cases/{case_id}/clocks").status_code == 404

    rc, letters = dlq("--redrive", "--skip", garbage_id)
    assert rc == 0
    assert statuses(letters) == [
        (garbage_id, "skipped"), (complaint_id, "applied"), (copy_id, "duplicate"),
    ]  # fmt: skip
    clocks = wait_until(
        lambda: (r := read(f"{sla.url}/cases/{case_id}/clocks")).status_code == 200 and r.json(),
        what="the redriven complaint's clock in the live service",
    )
    assert [c["clock"] for c in clocks] == ["reply"]

    # Each at most once.
    rc, letters = dlq("--redrive")
    assert rc == 0
    assert statuses(letters) == [(garbage_id, "done"), (complaint_id, "done"), (copy_id, "done")]
    assert len(read(f"{sla.url}/cases/{case_id}/clocks").json()) == 1
