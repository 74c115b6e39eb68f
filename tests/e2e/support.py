"""Small helpers for the end-to-end tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from csc_contracts import Department
from csc_messaging.auth import issue_token
from csc_messaging.kafka_io import read_to_end

T = TypeVar("T")
SECRET = "e2e-secret-of-at-least-thirty-two-bytes"


def auth(department: str, user: str | None = None, *, manager: bool = False) -> dict[str, str]:
    """A bearer token the test services accept, for ``user`` acting for ``department`` (as
    its manager if ``manager``)."""
    token = issue_token(
        SECRET, user or f"{department}.user", Department(department), manager=manager
    )
    return {"Authorization": f"Bearer {token}"}


def read(url: str, department: str = "auditor", **kwargs: Any) -> httpx.Response:
    """GET as someone of ``department``: every service's reads need a token."""
    headers = {**auth(department), **kwargs.pop("headers", {})}
    return httpx.get(url, headers=headers, **kwargs)


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


def created(url: str, body: dict[str, Any], department: str = "marketing") -> dict[str, Any]:
    """POST ``body`` as someone of ``department``; the answer of its 201."""
    answer = httpx.post(url, headers=auth(department), json=body, timeout=30)
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def posted(url: str, body: dict[str, Any], department: str = "marketing") -> dict[str, Any]:
    """POST ``body`` as someone of ``department``; the answer of its 200 or 201 (a step on
    a record that exists answers 200)."""
    answer = httpx.post(url, headers=auth(department), json=body, timeout=30)
    assert answer.status_code in (200, 201), answer.text
    result: dict[str, Any] = answer.json()
    return result


CUSTOMER: dict[str, Any] = {
    "code": "OEM-001",
    "name": "Dongfeng Motor",
    "oem": True,
    "sites": [{"name": "Wuhan plant 2", "timezone": "Asia/Shanghai"}],
}


def complaint(n: int = 0, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "quality",
        "channel": "phone",
        "receiving_department": "after_sales",
        "customer_code": "OEM-001",
        "product": "CN-220 connector",
        "lot": f"L2026-11-{n:04d}",
        "text": f"Housings cracked at the customer's line 3 (report {n}).",
    }
    body.update(overrides)
    return body


def read_topic(
    bootstrap: str, topic: str, isolation_level: str = "read_committed"
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` up to its current end."""

    async def read() -> list[ConsumerRecord[bytes, bytes]]:
        return [r async for r in read_to_end(bootstrap, topic, isolation_level=isolation_level)]

    return asyncio.run(read())


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


def intake_client(stack: Any, intake: Any, department: str = "marketing") -> httpx.Client:
    """An HTTP client of a running intake, acting for ``department``; the customer exists."""
    client = httpx.Client(base_url=intake.url, headers=stack.auth(department), timeout=30)
    response = client.post(
        "/customers",
        json=CUSTOMER,
        headers={**stack.auth("marketing"), "Idempotency-Key": "customer-OEM-001"},
    )
    assert response.status_code in (200, 201), response.text
    return client


def wait_caught_up(intake: httpx.Client, consumer_url: str, timeout: float = 60) -> None:
    """Wait until a consumer started before intake published has read all it published."""

    # Every event intake stored is published as one record: its store's head is the
    # number of records the consumer must have read.
    stored = intake.get("/digest").json()["position"]

    def caught_up() -> bool:
        if intake.get("/relay").json()["position"] < stored:
            return False
        stats = read(f"{consumer_url}/ingest-stats").json()
        handled = sum(sum(c.values()) for topic, c in stats.items() if "intake" in topic)
        return bool(handled >= stored)

    wait_until(caught_up, timeout, what=f"{consumer_url} to read all intake published")
