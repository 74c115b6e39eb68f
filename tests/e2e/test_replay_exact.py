"""A replay gives back each consumer's whole history: its own decisions included.

returns, capa and sla each hold decisions no topic they consume can give back (the
timer's warnings and breaches, QC's confirmation, a pause, a return requested) and an
order of arrival that is theirs. Here a history with all of them and a poison record is
wiped and replayed service by service: the same events under the same notification ids,
the same digest, and ``csc audit verify`` clean right after the replay and after the
restart that follows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from csc_audit.chain_commands import open_store, service_settings
from csc_devkit.cli import app as csc
from e2e.conftest import Stack
from e2e.support import complaint, intake_client, produce, read, read_topic, wait_until

pytestmark = pytest.mark.integration

Log = list[tuple[int, str, int, str, bytes]]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def service_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def use(stack: Stack, service: str) -> None:
        for name, value in stack.env(service).items():
            monkeypatch.setenv(name, value)

    yield use


def store_log(stack: Stack, service: str, use: Any) -> Log:
    """Every notification of the service's store: id, aggregate, version, topic, bytes."""
    use(stack, service)
    with open_store(service, service_settings(service)) as (app, _):
        return [
            (n.id, str(n.originator_id), n.originator_version, n.topic, bytes(n.state))
            for n in app.recorder.select_notifications(1, 100_000)
        ]


def verify(stack: Stack, service: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        csc, ["audit", "verify", "--service", service], env=stack.env(service)
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def replay(stack: Stack, service: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", f"csc_{service}", "replay", "--wipe"],
        env={**os.environ, **stack.env(service)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def published_all(url: str) -> bool:
    """The relay has published (and journaled) everything the store holds."""
    ready = read(f"{url}/readyz").json()
    return bool(ready["relay"]["position"] == read(f"{url}/digest").json()["position"])


@pytest.mark.timeout(900)  # three services stopped, replayed and restarted in turn
def test_each_consumer_replays_to_the_same_events_digest_and_chain(
    stack: Stack, service_env: Any
) -> None:
    intake = stack.start("intake")
    returns = stack.start("returns")
    capa = stack.start("capa")
    # The late case's deadlines are found late once its facts have settled (a second).
    sla = stack.start("sla", CSC_SLA_TICK_SECONDS="0.2", CSC_SLA_SETTLING_SECONDS="1")
    marketing = intake_client(stack, intake)
    # 4.2.1: received nine hours ago and not answered: the timer warns and breaches.
    late = marketing.post(
        "/complaints", json=complaint(1, received_at=iso(datetime.now(UTC) - timedelta(hours=9)))
    ).json()
    fresh = marketing.post("/complaints", json=complaint(2)).json()
    produce(stack.bootstrap, stack.topics.intake, b"not a cloud event", b"poison", [])
    case_id = fresh["case_id"]

    # Human decisions: a pause and its end in sla, QC's contact and confirmation in capa,
    # a whole-batch return asked for in returns.
    clocks = wait_until(
        lambda: (r := read(f"{sla.url}/cases/{case_id}/clocks")).is_success and r.json(),
        what="the fresh case's clocks",
    )
    clock = next(c for c in clocks if c["clock"] == "reply")
    clock_url = f"{sla.url}/clocks/{clock['clock_id']}"
    paused = httpx.post(
        f"{clock_url}/pause",
        json={"reason": "waiting_for_customer_samples", "note": "by courier"},
        headers=stack.auth("quality"),
    )
    assert paused.status_code == 200, paused.text
    assert httpx.post(f"{clock_url}/resume", headers=stack.auth("quality")).status_code == 200
    wait_until(
        lambda: read(f"{capa.url}/investigations/{case_id}").status_code == 200,
        what="QC's investigation",
    )
    for path, body in (
        ("contacts", {"contact": "Mr. Zhao, SQE", "means": "phone", "summary": "Cracks"}),
        ("confirmation", {"finding": "Cracks confirmed on the samples"}),
    ):
        done = httpx.post(
            f"{capa.url}/investigations/{case_id}/{path}", json=body, headers=stack.auth("quality")
        )
        assert done.status_code == 201, done.text
    wait_until(lambda: read(f"{returns.url}/cases/{case_id}").status_code == 200, what="a case")
    request = {"case_id": case_id, "delivery": "DN-1", "lot": "L1", "quantity": 5, "reason": "x"}
    asked = httpx.post(f"{returns.url}/returns", json=request, headers=stack.auth("marketing"))
    assert asked.status_code == 201, asked.text

    def breached() -> bool:
        found = read(f"{sla.url}/cases/{late['case_id']}/clocks").json()
        return any(c["clock"] == "reply" and c["breached_at"] for c in found)

    wait_until(breached, what="the timer to breach the late case's reply clock")
    services = {"returns": returns, "capa": capa, "sla": sla}
    for process in services.values():
        wait_until(partial(published_all, process.url), what=f"{process.service}'s relay")
    dlq = stack.topics.dlq(stack.topics.intake)
    wait_until(lambda: len(read_topic(stack.bootstrap, dlq)) == 3, what="3 dead letters")

    for name, process in services.items():
        live_digest = read(f"{process.url}/digest").json()["digest"]
        process.stop()
        before = store_log(stack, name, service_env)
        if name == "sla":  # the timer's decision is in the history replayed
            assert any(row[3].endswith("Clock.Breached") for row in before)
        code, said = verify(stack, name)
        assert code == 0, said

        replayed = replay(stack, name)
        assert replayed.returncode == 0, replayed.stderr
        result = json.loads(replayed.stdout.strip().splitlines()[-1])
        assert result["restored"]["notifications"] == len(before)
        assert result["digest"] == live_digest
        assert store_log(stack, name, service_env) == before  # byte for byte, same ids
        code, said = verify(stack, name)
        assert code == 0, said

        restarted = stack.restart(process)
        services[name] = restarted
        assert read(f"{restarted.url}/digest").json()["digest"] == live_digest
        wait_until(partial(published_all, restarted.url), what=f"{name} after the restart")
        code, said = verify(stack, name)
        assert code == 0, said

    # The poison record was dead-lettered once, live; no replay sent it again.
    assert len(read_topic(stack.bootstrap, dlq)) == 3  # one per consumer
    # And each breach was announced once (the reply clock's and QC's contact clock's): the
    # restored store is what was published.
    breaches = [
        json.loads(r.value)["clock"]
        for r in read_topic(stack.bootstrap, stack.topics.events("sla"))
        if dict(r.headers)["ce_type"] == b"csc.sla.ClockBreached.v1"
        and json.loads(r.value)["case_id"] == late["case_id"]
    ]
    assert sorted(breaches) == ["qc_contact", "reply"]
