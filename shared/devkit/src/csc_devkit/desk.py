"""A consuming service at a desk: its HTTP routes over a real store, upstream events fed by hand.

For the services' own tests of their rules: no Kafka and no relay, but the
same application, store (SQLite), read model and HTTP layer as in production.
Cross-service behaviour is proven through Kafka in tests/e2e.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from itertools import count
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import Tracking
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

import csc_contracts as pub
from csc_contracts import Actor, Department, PublicEvent
from csc_messaging.auth import issue_token
from csc_messaging.problems import install_error_handlers
from csc_messaging.runtime import ConsumerSpec, ConsumingService
from csc_messaging.settings import ServiceSettings

SECRET = "unit-test-secret-of-at-least-32-bytes"


def served_by(router: APIRouter) -> list[tuple[str, str]]:
    """The ``(method, path)`` pairs ``router`` serves, as ``Steps.missing`` takes them."""
    return [
        (method, route.path)
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    ]


def auth(
    department: str, user: str | None = None, key: str | None = None, *, manager: bool = False
) -> dict[str, str]:
    """Bearer token (signed with ``SECRET``), as the department's manager if ``manager``, and,
    if given, an Idempotency-Key."""
    token = issue_token(
        SECRET, user or f"{department}.user", Department(department), manager=manager
    )
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    return headers


class Desk:
    """One service's routes on a TestClient; ``feed`` applies a public event as Kafka would."""

    def __init__(
        self,
        service: ConsumingService,
        routes: Callable[[ConsumingService], APIRouter],
        *extra_handlers: Callable[[FastAPI], None],
    ) -> None:
        self.service = service
        self.offsets: dict[str, count[int]] = {}
        http = FastAPI()
        http.include_router(routes(service))
        install_error_handlers(http)
        for install in extra_handlers:
            install(http)
        self.http = TestClient(http)

    def feed(self, event: PublicEvent) -> None:
        topic = f"csc.{event.service}.v1:0"
        offset = next(self.offsets.setdefault(topic, count(1)))
        self.service.app.apply_public(event, Tracking(topic, offset))

    def post(self, path: str, body: dict[str, Any], department: str, key: str | None = None) -> Any:
        return self.http.post(path, json=body, headers=auth(department, key=key))

    def get(self, path: str, department: str = "auditor", **kwargs: Any) -> Any:
        """Read as someone of ``department`` would (every read needs a token)."""
        return self.http.get(path, headers=auth(department), **kwargs)

    def events(self) -> int:
        """How many events the store holds: a refused command adds none."""
        return self.service.app.recorder.max_notification_id() or 0


def refused(response: Any, code: int, clause: str) -> str:
    """Assert a refusal with ``code`` that names ``clause``; return its message."""
    assert response.status_code == code, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json", response.text
    message = problem["detail"]
    assert message.startswith(f"{clause}:"), message
    return str(message)


def quality_complaint(
    at: datetime, case_id: UUID | None = None, **overrides: Any
) -> pub.ComplaintLogged:
    """A quality complaint as intake publishes it (4.4.1), received and recorded at ``at``."""
    fields: dict[str, Any] = {
        "event_id": uuid4(),
        "case_id": case_id or uuid4(),
        "occurred_at": at,
        "actor": Actor(user="li.wei", department=Department.MARKETING),
        "category": pub.ComplaintCategory.QUALITY,
        "channel": pub.Channel.PHONE,
        "receiving_department": Department.AFTER_SALES,
        "received_at": at,
        "customer": pub.CustomerRef(code="OEM-001", name="Dongfeng Motor", oem=True),
        "text": "Housings cracked",
        "product": "CN-220 connector",
        "lot": "L7",
    }
    fields.update(overrides)
    return pub.ComplaintLogged(**fields)


@contextmanager
def replicas(
    spec: ConsumerSpec, settings: ServiceSettings, now: datetime, count: int = 2
) -> Iterator[Sequence[ConsumingService]]:
    """``count`` processes' worth of one service (each its own lock) over the same store,
    their time fixed at ``now``: writers that really race, as replicas in production do."""
    services = [spec.bootstrap(settings) for _ in range(count)]
    for service in services:
        vars(service.app)["now"] = lambda: now
    try:
        yield services
    finally:
        for service in services:
            service.app.close()
