"""Fixtures: intake over HTTP against a real SQLite store; Kafka left out (relay disabled)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from intake_http import MARKETING, SECRET, Clock, Intake, customer_body

from csc_intake.bootstrap import IntakeSettings, create_app


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(tmp_path: Path, clock: Clock) -> Iterator[TestClient]:
    settings = IntakeSettings(data_dir=tmp_path, relay_enabled=False, auth_hs256_secret=SECRET)
    with TestClient(create_app(service=Intake(settings, clock).service)) as c:
        yield c


@pytest.fixture
def customer(client: TestClient) -> dict[str, Any]:
    response = client.post("/customers", json=customer_body(), headers=MARKETING)
    assert response.status_code == 201, response.text
    return dict(response.json())
