"""Parallel writers on one return case, two replicas on one store; keys scoped to their user."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from csc_devkit.desk import SECRET, Desk, auth, quality_complaint, refused
from csc_devkit.desk import replicas as desk_replicas
from csc_returns.application import ReturnsApplication
from csc_returns.bootstrap import RETURNS, ReturnsSettings
from csc_returns.entrypoints.http import routes

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
RETURN = {"delivery": "DN-2026-1107", "lot": "L7", "quantity": 40, "reason": "cracked housings"}


def complaint(desk: Desk) -> str:
    """A quality complaint as intake publishes it: returns opens its case."""
    complaint = quality_complaint(T0)
    desk.feed(complaint)
    return str(complaint.case_id)


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[tuple[Desk, Desk]]:
    """Two processes' worth of returns (each its own lock) over the same store."""
    settings = ReturnsSettings(data_dir=tmp_path, relay_enabled=False, auth_hs256_secret=SECRET)
    with desk_replicas(RETURNS, settings, T0) as (one, other):
        assert isinstance(one.app, ReturnsApplication)
        yield Desk(one, routes), Desk(other, routes)


def test_parallel_writers_on_one_case_record_one_step_and_refuse_the_rest(
    replicas: tuple[Desk, Desk],
) -> None:
    one, other = replicas
    case = complaint(one)
    assert one.post("/returns", {**RETURN, "case_id": case}, "marketing").status_code == 201
    before = one.events()

    def ask(n: int) -> Any:
        desk = (one, other)[n % 2]
        body = {"note": f"request {n}"}
        return desk.post(f"/cases/{case}/quality-confirmation-request", body, "marketing")

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(ask, range(20)))
    codes = [r.status_code for r in responses]
    assert set(codes) <= {201, 409}, [r.text for r in responses if r.status_code >= 500]
    # One request is the step; every other one finds it taken (or lost every race).
    assert codes.count(201) == 1
    for response in responses:
        if response.status_code == 409:
            assert response.json()["clause"] in ("4.3.2.1", "concurrency"), response.text
    timeline = [t["event"] for t in one.get(f"/cases/{case}/timeline").json()]
    assert timeline.count("ReturnConfirmationRequested") == 1
    assert one.events() == before + 1


def test_a_key_replays_refuses_a_different_request_and_is_its_users_own(
    replicas: tuple[Desk, Desk],
) -> None:
    desk, _ = replicas
    body = {**RETURN, "customer_code": "OEM-002"}
    first = desk.post("/returns", body, "marketing", key="r-1")
    before = desk.events()
    again = desk.post("/returns", body, "marketing", key="r-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json() and desk.events() == before
    refused(desk.post("/returns", {**body, "quantity": 5}, "marketing", key="r-1"), 422,
            "Idempotency-Key")  # fmt: skip
    someone = desk.http.post("/returns", json=body, headers=auth("marketing", "zhao.min", "r-1"))
    assert someone.status_code == 201 and someone.json()["case_id"] != first.json()["case_id"]
    assert desk.events() == before + 2  # the other user's case: opened and requested
