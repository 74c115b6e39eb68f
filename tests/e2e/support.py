"""Small helpers for the end-to-end tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from csc_messaging.topology import partitions_of

T = TypeVar("T")


def wait_until(probe: Callable[[], T | None], timeout: float = 60, what: str = "") -> T:
    """Poll until ``probe`` returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or probe}: last {last!r}")


def complaint(n: int = 0, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "actor": {"user": "li.wei", "department": "marketing"},
        "category": "quality",
        "channel": "phone",
        "receiving_department": "after_sales",
        "customer": {"code": "OEM-001", "name": "Dongfeng Motor"},
        "product": "CN-220 connector",
        "lot": f"L2026-11-{n:04d}",
        "text": f"Housings cracked at the customer's line 3 (report {n}).",
    }
    body.update(overrides)
    return body


async def _read_topic(
    bootstrap: str, topic: str, isolation_level: str
) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level=isolation_level,
        auto_offset_reset="earliest",
    )
    tps = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        records: list[ConsumerRecord[bytes, bytes]] = []
        while [tp for tp in tps if await consumer.position(tp) < end[tp]]:
            for batch in (await consumer.getmany(*tps, timeout_ms=500)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


def read_topic(
    bootstrap: str, topic: str, isolation_level: str = "read_committed"
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` up to its current end."""
    return asyncio.run(_read_topic(bootstrap, topic, isolation_level))


def produce(
    bootstrap: str, topic: str, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]]
) -> None:
    async def go() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(topic, value=value, key=key, headers=headers)
        finally:
            await producer.stop()

    asyncio.run(go())
