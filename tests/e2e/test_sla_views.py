"""sla's board as tables, through the real path: intake -> Kafka -> sla's store.

Its clocks are read page by page while complaints keep arriving; the board survives
a restart in the store, beside its position, and ``csc-sla views rebuild`` (run beside
the live service) builds the same board anew from the log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from e2e.conftest import Stack
from e2e.support import complaint, intake_client, read, wait_caught_up, wait_until

pytestmark = pytest.mark.integration

NEXT = '>; rel="next"'


def every_clock(sla_url: str, limit: int = 1000) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    path = f"/clocks?limit={limit}"
    while path:
        response = read(f"{sla_url}{path}")
        assert response.status_code == 200, response.text
        rows.extend(response.json())
        link = response.headers.get("link")
        path = link[1 : -len(NEXT)] if link else ""
    return rows


def csc_sla(stack: Stack, *args: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "csc_sla", *args],
        env={**os.environ, **stack.env("sla")},
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_sla_pages_its_clocks_and_keeps_its_board_in_the_store(stack: Stack) -> None:
    intake = stack.start("intake")
    # Received long ago and not held to settle: every deadline fires at the first tick,
    # and the board then keeps still while it is compared.
    quick = {"CSC_SLA_SETTLING_SECONDS": "0", "CSC_SLA_TICK_SECONDS": "0.2"}
    sla = stack.start("sla", CSC_SLA_SETTLING_SECONDS="0", CSC_SLA_TICK_SECONDS="0.2")
    marketing = intake_client(stack, intake)
    start = datetime.now(UTC) - timedelta(days=20)

    def post(n: int, received: datetime) -> str:
        body = complaint(n, category="service", received_at=received.isoformat())
        created = marketing.post("/complaints", json=body)
        assert created.status_code == 201, created.text
        return str(created.json()["case_id"])

    first = {post(n, start + timedelta(minutes=n)) for n in range(30)}
    wait_until(lambda: len(every_clock(sla.url)) == 30, what="30 clocks")

    # Page by page, 7 at a time, while complaints arrive received before the place
    # reached and after it: each clock read once, every one of the first 30 read.
    seen: list[str] = []
    path = "/clocks?limit=7"
    for n in range(100, 200):
        response = read(f"{sla.url}{path}")
        assert response.status_code == 200, response.text
        assert len(response.json()) <= 7
        seen.extend(row["case_id"] for row in response.json())
        post(n, start - timedelta(hours=n))
        post(n + 1000, start + timedelta(hours=1, minutes=n))
        link = response.headers.get("link")
        if link is None:
            break
        path = link[1 : -len(NEXT)]
    else:
        pytest.fail("the pages never ended")
    assert len(seen) == len(set(seen))
    assert first <= set(seen)

    for bad in ("cursor=nope", "limit=1001"):
        refused = read(f"{sla.url}/clocks?{bad}")
        assert refused.status_code == 422, refused.text
        assert f"query.{bad.split('=')[0]}" in refused.text

    wait_caught_up(marketing, sla.url)
    wait_until(
        lambda: all(c["status"] == "escalated" for c in every_clock(sla.url)),
        what="every deadline fired",
    )
    live = read(f"{sla.url}/digest").json()
    sla.stop()

    # Stopped, the board is in the store, caught up with the log.
    (status,) = csc_sla(stack, "views", "status")
    assert status == {"view": "sla_board", "position": live["position"], "behind": 0}

    sla = stack.restart(sla, **quick)
    assert read(f"{sla.url}/digest").json() == live

    # Rebuilt from the log beside the running service, into new tables swapped in.
    (rebuilt,) = csc_sla(stack, "views", "rebuild")
    assert rebuilt["digest"] == live["digest"] and rebuilt["position"] == live["position"]
    assert read(f"{sla.url}/digest").json() == live
    assert len(every_clock(sla.url, limit=50)) == len(every_clock(sla.url))
