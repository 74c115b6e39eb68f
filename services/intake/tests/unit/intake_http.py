"""Helpers of intake's HTTP tests: tokens, a hand-moved clock, intake as its spec builds it,
request bodies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from csc_contracts import Department
from csc_intake.application import IntakeApplication
from csc_intake.bootstrap import INTAKE, IntakeSettings
from csc_intake.projections import IntakeView
from csc_messaging.auth import issue_token
from csc_messaging.commands import utcnow
from csc_messaging.runtime import Service

SECRET = "unit-test-secret-of-at-least-32-bytes"


class Clock:
    """Time that tests move by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Intake:
    """Intake as ``INTAKE`` builds it (``service``), its time read from ``clock``; its
    application and read model as intake's own types."""

    def __init__(self, settings: IntakeSettings, clock: Callable[[], datetime] = utcnow) -> None:
        self.service: Service = INTAKE.bootstrap(settings)
        app, view = self.service.app, self.service.read_model
        assert isinstance(app, IntakeApplication) and isinstance(view, IntakeView)
        app.clock = clock
        self.app, self.view = app, view


def auth(department: str, user: str | None = None) -> dict[str, str]:
    token = issue_token(SECRET, user or f"{department}.user", Department(department))
    return {"Authorization": f"Bearer {token}"}


MARKETING = auth("marketing", "li.wei")


def customer_body(code: str = "OEM-001", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "name": "Dongfeng Motor",
        "oem": True,
        "contacts": [{"name": "Zhang San", "role": "SQE", "phone": "+86 27 1234 5678"}],
        "sites": [{"name": "Wuhan plant 2", "timezone": "Asia/Shanghai"}],
    }
    body.update(overrides)
    return body


def complaint_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "quality",
        "channel": "phone",
        "receiving_department": "production",
        "customer_code": "OEM-001",
        "product": "CN-220 connector",
        "lot": "L2026-11-07",
        "text": "Housings cracked on line 3; 40 units affected.",
    }
    body.update(overrides)
    return body


def feedback_body(**overrides: Any) -> dict[str, Any]:
    body = complaint_body(**overrides)
    body.pop("category")
    body.setdefault("kind", "potential_product_requirements")
    return body
