"""What the benchmarks send: complaints as intake takes them, and as Kafka carries them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx

from csc_contracts import ComplaintLogged, CustomerRegistered, Department
from csc_messaging.auth import issue_token
from csc_messaging.codec import OutgoingMessage, encode

CATEGORIES = ("quality", "service", "delivery")
# Complaints spread over a handful of customers, as a week at the help desk would.
CUSTOMERS = [
    {
        "code": f"OEM-{i:03d}",
        "name": f"Bench OEM {i}",
        "oem": i % 2 == 0,
        "sites": [{"name": "Plant 1", "timezone": "Asia/Shanghai"}],
    }
    for i in range(1, 9)
]
SECRET = "bench-secret-of-at-least-thirty-two-bytes"
MARKETING = {"user": "bench.marketing", "department": "marketing"}


def complaint_body(n: int) -> dict[str, Any]:
    """The body of ``POST /complaints`` (as in tests/e2e/support.py), numbered ``n``."""
    return {
        "category": CATEGORIES[n % 3],
        "channel": "phone",
        "receiving_department": "after_sales",
        "customer_code": CUSTOMERS[n % len(CUSTOMERS)]["code"],
        "product": "CN-220 connector",
        "lot": f"L2026-11-{n:07d}",
        "text": f"Housings cracked at the customer's line 3 (report {n}).",
    }


def intake_env() -> dict[str, str]:
    """Environment intake needs beyond its store and Kafka: a key to check tokens with."""
    return {"CSC_AUTH_HS256_SECRET": SECRET}


def intake_headers() -> dict[str, str]:
    """Headers every request to intake carries: Marketing records complaints (4.4.1)."""
    token = issue_token(SECRET, MARKETING["user"], Department.MARKETING)
    return {"Authorization": f"Bearer {token}"}


def prepare_intake(url: str) -> None:
    """The customers complaints name must be in intake's customer archive (4.1.5)."""
    with httpx.Client(base_url=url, headers=intake_headers(), timeout=30) as client:
        for customer in CUSTOMERS:
            response = client.post(
                "/customers",
                json=customer,
                headers={"Idempotency-Key": f"bench-customer-{customer['code']}"},
            )
            response.raise_for_status()


def intake_topic_events(complaints: int) -> Iterator[OutgoingMessage]:
    """Intake's topic as its relay would fill it: the customers, then ``complaints``
    complaints, as CloudEvents encoded by the system's own codec."""
    at = datetime.now(UTC)
    actor = {"user": MARKETING["user"], "department": MARKETING["department"]}
    for customer in CUSTOMERS:
        yield encode(
            CustomerRegistered.model_validate(
                {
                    **customer,
                    "event_id": uuid4(),
                    "case_id": uuid4(),
                    "occurred_at": at,
                    "actor": actor,
                }
            )
        )
    for n in range(complaints):
        body = complaint_body(n)
        customer = CUSTOMERS[n % len(CUSTOMERS)]
        event = ComplaintLogged.model_validate(
            {
                **{k: v for k, v in body.items() if k != "customer_code"},
                # As intake names the customer: with its class and zone (CustomerRef).
                "customer": {
                    "code": customer["code"],
                    "name": customer["name"],
                    "oem": customer["oem"],
                    "timezone": "Asia/Shanghai",
                },
                "event_id": uuid4(),
                "case_id": uuid4(),
                "occurred_at": at,
                "received_at": at,
                "actor": actor,
            }
        )
        yield encode(event)
