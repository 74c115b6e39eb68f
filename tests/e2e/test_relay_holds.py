"""One event the relay cannot publish never stops the stream.

Intake runs with a record limit below what one stored complaint needs (as a broker
with a smaller ``message.max.bytes`` would): that complaint is held with its reason,
its case's later events wait behind it, every other case goes on to sla. A release
that can publish it (here: the limit raised) publishes the held event and those that
waited, in order, and the audit chain still verifies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from csc_devkit.cli import app as csc
from csc_devkit.localkafka import LocalKafka
from csc_devkit.processes import free_port
from e2e.conftest import Stack, new_stack
from e2e.support import complaint, intake_client, read, read_topic, wait_until

pytestmark = pytest.mark.integration

SMALL = "20000"


def held(stack: Stack) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "csc_intake", "held", "--json"],
        env={**os.environ, **stack.env("intake")},
        capture_output=True,
        text=True,
        timeout=120,
    )


def types_of(stack: Stack, case_id: str) -> list[str]:
    return [
        dict(r.headers)["ce_type"].decode().split(".")[2]
        for r in sorted(
            read_topic(stack.bootstrap, stack.topics.intake), key=lambda r: (r.partition, r.offset)
        )
        if r.key == case_id.encode()
    ]


def test_an_unpublishable_event_is_held_and_the_rest_goes_on(stack: Stack) -> None:
    intake = stack.start("intake", CSC_RELAY_MAX_RECORD_BYTES=SMALL)
    sla = stack.start("sla")
    marketing = intake_client(stack, intake)
    # 8,000 characters of Chinese: 24 KB in UTF-8, more than this broker takes in a record.
    big = marketing.post("/complaints", json=complaint(1, text="外壳开裂" * 2000))
    assert big.status_code == 201, big.text
    big_case = big.json()["case_id"]
    reply = marketing.post(
        f"/register-entries/{big_case}/replies",
        json={"channel": "phone", "summary": "We are on it"},
        headers={**stack.auth("after_sales")},
    )
    assert reply.status_code == 201, reply.text
    after = marketing.post("/complaints", json=complaint(2)).json()

    # The complaint after it reaches sla: the stream did not stop.
    wait_until(
        lambda: (r := read(f"{sla.url}/cases/{after['case_id']}/clocks")).is_success and r.json(),
        what="the next complaint's clock",
    )
    relay = marketing.get("/relay").json()
    assert [h["originator_id"] for h in relay["held"]] == [big_case] * 3  # logged, notified, reply
    assert "more than the 20000" in relay["held"][0]["reason"]
    assert relay["held"][1]["behind"] == relay["held"][0]["seq"]
    ready = marketing.get("/readyz").json()
    assert ready["status"] == "ready" and "held back" in ready["warnings"][0]
    listed = held(stack)
    assert listed.returncode == 1, listed.stderr
    assert [json.loads(line)["seq"] for line in listed.stdout.splitlines()] == [
        h["seq"] for h in relay["held"]
    ]
    assert types_of(stack, big_case) == []
    assert read(f"{sla.url}/cases/{big_case}/clocks").status_code == 404

    # A release that can publish it: the held events go out, in their case's order.
    intake.stop()
    intake = stack.restart(intake)
    wait_until(lambda: not marketing.get("/relay").json()["held"], what="the hold to end")
    assert types_of(stack, big_case) == ["ComplaintLogged", "EngineeringNotified", "ReplySent"]
    clocks = wait_until(
        lambda: (r := read(f"{sla.url}/cases/{big_case}/clocks")).is_success and r.json(),
        what="the held complaint's clocks",
    )
    assert next(c for c in clocks if c["clock"] == "reply")["met_at"]
    assert held(stack).returncode == 0
    result = CliRunner().invoke(
        csc, ["audit", "verify", "--service", "intake"], env=stack.env("intake")
    )
    assert result.exit_code == 0, result.stdout


@pytest.mark.skipif(
    bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS")), reason="stops a broker of its own"
)
def test_intake_is_not_ready_while_it_cannot_publish(
    tmp_path: Path, store_env: dict[str, str]
) -> None:
    broker = LocalKafka(tmp_path / "kafka", port=free_port(), controller_port=free_port())
    bootstrap = broker.start()
    try:
        with new_stack(bootstrap, store_env, tmp_path / "stack") as stack:
            intake = stack.start("intake")
            marketing = intake_client(stack, intake)
            assert marketing.get("/readyz").status_code == 200
            broker.stop()

            def unready() -> dict[str, Any] | None:
                response = marketing.get("/readyz")
                return response.json() if response.status_code == 503 else None

            down = wait_until(unready, timeout=60, what="/readyz to say it cannot publish")
            assert "relay" in down["problems"], down
            # Recorded meanwhile, published once the broker is back.
            during = marketing.post("/complaints", json=complaint(5))
            assert during.status_code == 201, during.text
            broker.start()
            wait_until(
                lambda: marketing.get("/readyz").status_code == 200,
                timeout=120,
                what="/readyz to be ready again",
            )
            case_id = during.json()["case_id"]
            wait_until(lambda: "ComplaintLogged" in types_of(stack, case_id), what="the record")
    finally:
        broker.stop()
