"""The live consumer under a backlog, and where it starts: a running sla, a real broker.

A backlog is applied a run of records per store transaction, not a transaction per
record; and sla starts each partition where its store stands, whatever offsets Kafka
holds for its consumer group.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from csc_messaging.topology import partitions_of
from e2e.support import complaint, intake_client, read, wait_until
from e2e.test_failures import post_many

pytestmark = pytest.mark.integration


# sla records the first versions of its policy and calendars (CSC_SLA_POLICY) at start.
RULEBOOK = 2


def set_group_offsets(bootstrap: str, group: str, topic: str, at: Callable[[int], int]) -> None:
    """Commit ``at(end offset)`` for each partition of ``topic`` as ``group``'s offset
    (the group has no member running)."""

    async def go() -> None:
        tps = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            consumer.assign(tps)
            end = await consumer.end_offsets(tps)
            await consumer.commit({tp: at(end[tp]) for tp in tps})
        finally:
            await consumer.stop()

    asyncio.run(go())


def test_a_backlog_is_applied_in_far_fewer_transactions_than_records(stack) -> None:  # type: ignore[no-untyped-def]
    intake = stack.start("intake")
    case_ids = post_many(stack, intake, 300)
    marketing = intake_client(stack, intake)
    # The customer, then two events per complaint (ComplaintLogged, EngineeringNotified).
    records = 1 + 2 * 300
    wait_until(
        lambda: marketing.get("/relay").json()["position"] == records,
        what=f"intake to publish {records} events",
    )

    sla = stack.start("sla")
    wait_until(
        lambda: len(read(f"{sla.url}/clocks?limit=1000").json()) >= 300,
        timeout=120,
        what="sla to apply the backlog",
    )
    clocks = read(f"{sla.url}/clocks?limit=1000").json()
    assert sorted(c["case_id"] for c in clocks) == sorted(case_ids)
    stats = read(f"{sla.url}/ingest-stats").json()[stack.topics.intake]
    assert stats["applied"] == records
    log = read(f"{sla.url}/digest").json()
    assert log["position"] - log["bookkeeping"] == 2 + 2 * 300 + RULEBOOK  # nothing doubled
    # Each transaction that applied records stored one RecordApplied: a run of a
    # partition's records per transaction, not one per record.
    assert log["bookkeeping"] <= records / 10, f"{log['bookkeeping']} transactions"


def test_sla_starts_where_its_store_stands_not_where_kafka_says(stack) -> None:  # type: ignore[no-untyped-def]
    intake = stack.start("intake")
    marketing = intake_client(stack, intake)
    for n in range(20):
        assert marketing.post("/complaints", json=complaint(n)).status_code == 201
    wait_until(lambda: marketing.get("/relay").json()["position"] == 41, what="41 events")
    group, topic = f"{stack.prefix}csc-sla", stack.topics.intake

    # Kafka says sla's group read everything; sla's store (a new one, as if restored
    # from an older state) holds none of it: the store is right, nothing is skipped.
    set_group_offsets(stack.bootstrap, group, topic, lambda end: end)
    sla = stack.start("sla")
    wait_until(lambda: len(read(f"{sla.url}/clocks?limit=1000").json()) == 20, what="all 20 clocks")
    sla.stop()

    # Kafka says the group read nothing: sla reads on from its store's position.
    set_group_offsets(stack.bootstrap, group, topic, lambda end: 0)
    sla = stack.restart(sla)
    for n in range(20, 25):
        assert marketing.post("/complaints", json=complaint(n)).status_code == 201
    wait_until(lambda: len(read(f"{sla.url}/clocks?limit=1000").json()) == 25, what="all 25 clocks")
    stats = read(f"{sla.url}/ingest-stats").json()[topic]
    assert stats["duplicate"] == 0  # not one of the first 41 records read again
    assert stats["applied"] == 10
    log = read(f"{sla.url}/digest").json()
    assert log["position"] - log["bookkeeping"] == 2 + 2 * 25 + RULEBOOK


def test_replay_shows_its_progress_on_stderr_and_its_result_on_stdout(stack) -> None:  # type: ignore[no-untyped-def]
    intake = stack.start("intake")
    marketing = intake_client(stack, intake)
    for n in range(30):
        assert marketing.post("/complaints", json=complaint(n)).status_code == 201
    wait_until(lambda: marketing.get("/relay").json()["position"] == 61, what="61 events")

    replayed = subprocess.run(
        [sys.executable, "-m", "csc_sla", "replay", "--progress"],
        env={**os.environ, **stack.env("sla"), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    result = json.loads(replayed.stdout.strip().splitlines()[-1])
    assert result["records"] == 61
    assert result["topics"][stack.topics.intake]["applied"] == 61
    # A bar per topic sla reads, each finished: offsets done of those it covered.
    for source in ("intake", "returns", "capa"):
        bar = next(
            line for line in replayed.stderr.splitlines()
            if f"replaying {stack.topics.events(source)}" in line
        )  # fmt: skip
        done = re.search(r"(\d+)/(\d+)", bar)
        assert done is not None and done[1] == done[2], bar
