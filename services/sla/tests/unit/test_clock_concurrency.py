"""Pause, resume and the timer racing on one clock, two replicas on one store; their keys."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from csc_devkit.desk import SECRET, Desk, auth, quality_complaint, refused
from csc_devkit.desk import replicas as desk_replicas
from csc_sla.application import SlaApplication
from csc_sla.bootstrap import SLA, SlaSettings
from csc_sla.domain import Clock
from csc_sla.entrypoints.http import routes

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, a Tuesday
PAUSE = {"reason": "customer_unreachable", "note": "line busy"}


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[tuple[Desk, Desk]]:
    """Two processes' worth of sla (each its own lock) over the same store."""
    settings = SlaSettings(data_dir=tmp_path, relay_enabled=False, auth_hs256_secret=SECRET)
    with desk_replicas(SLA, settings, T0 + timedelta(hours=1)) as (one, other):
        assert isinstance(one.app, SlaApplication)
        yield Desk(one, routes), Desk(other, routes)


def reply_clock(desk: Desk) -> str:
    """A complaint fed as Kafka would: its 8-hour reply clock (4.2.1) starts."""
    complaint = quality_complaint(T0)
    desk.feed(complaint)
    return str(Clock.create_id(complaint.case_id, "reply"))


def events(desk: Desk, clock_id: str) -> list[str]:
    return [type(e).__name__ for e in desk.service.app.events.get(UUID(clock_id))]


def test_parallel_pauses_and_resumes_record_each_once(replicas: tuple[Desk, Desk]) -> None:
    one, other = replicas
    clock = reply_clock(one)

    def send(what: str) -> Any:
        def go(n: int) -> Any:
            return (one, other)[n % 2].post(f"/clocks/{clock}/{what}", PAUSE if what == "pause"
                                            else {}, "marketing")  # fmt: skip

        with ThreadPoolExecutor(20) as pool:
            return list(pool.map(go, range(20)))

    for what in ("pause", "resume"):
        responses = send(what)
        codes = [r.status_code for r in responses]
        assert set(codes) <= {200, 409}, [r.text for r in responses if r.status_code >= 500]
        assert codes.count(200) == 1, (what, codes)
    assert events(one, clock) == ["Started", "Paused", "Resumed"]


def test_the_timer_and_its_replica_fire_a_deadline_once(replicas: tuple[Desk, Desk]) -> None:
    one, other = replicas
    clock = UUID(reply_clock(one))
    late = T0 + timedelta(hours=7)  # past the warning, before the breach

    def fire(n: int) -> int:
        app = (one, other)[n % 2].service.app
        assert isinstance(app, SlaApplication)
        return app.fire_due([clock], late)

    with ThreadPoolExecutor(10) as pool:
        fired = list(pool.map(fire, range(10)))
    assert sum(fired) == 1
    assert events(one, str(clock)) == ["Started", "Warned"]


def test_pause_and_resume_take_an_idempotency_key(replicas: tuple[Desk, Desk]) -> None:
    desk, _ = replicas
    clock = reply_clock(desk)

    def post(what: str, body: dict[str, Any], key: str, user: str = "li.wei") -> Any:
        return desk.http.post(f"/clocks/{clock}/{what}", json=body,
                              headers=auth("marketing", user, key))  # fmt: skip

    first = post("pause", PAUSE, "pause-1")
    again = post("pause", PAUSE, "pause-1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    refused(post("pause", {**PAUSE, "note": "other"}, "pause-1"), 422, "Idempotency-Key")
    # Another user's "pause-1" is their own request: the clock is paused already.
    assert post("pause", PAUSE, "pause-1", user="zhao.min").status_code == 409
    assert post("resume", {}, "resume-1").status_code == 200
    assert post("resume", {}, "resume-1").status_code == 200  # a retry, not "not paused"
    assert events(desk, clock) == ["Started", "Paused", "Resumed"]
