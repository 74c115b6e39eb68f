"""The read side at scale, through the real path: read models kept as tables in each
service's store, lists paged by cursor, rebuilt from the log, kept across restarts.

The checks are the same for every service's lists: every row exactly once while rows
are added, ``Link: rel="next"`` to the end, a cursor or limit the list did not give
refused naming the parameter; ``views rebuild`` gives the live digest; a restart with
nothing new in the log applies nothing (its ``/readyz`` says how much it applied).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from csc_devkit.processes import ServiceProcess
from e2e.conftest import Stack
from e2e.support import read, wait_until

pytestmark = pytest.mark.integration


def page_through(url: str, first: str, between: Callable[[], None]) -> list[dict[str, Any]]:
    """Every row of a list, a page at a time by its ``Link`` header, calling ``between``
    after each page (rows arriving while a client pages)."""
    rows: list[dict[str, Any]] = []
    path: str | None = first
    while path is not None:
        answer = read(f"{url}{path}")
        assert answer.status_code == 200, answer.text
        rows.extend(answer.json())
        between()
        path = answer.links.get("next", {}).get("url")
    return rows


def assert_refuses_bad_paging(url: str, path: str) -> None:
    too_many = read(f"{url}{path}?limit=1001")
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["loc"] == ["query", "limit"]
    for cursor in ("abc", "W10", "WyJ4Il0"):
        bad = read(f"{url}{path}", params={"cursor": cursor})
        assert bad.status_code == 422, bad.text
        assert bad.json()["errors"][0]["loc"] == ["query", "cursor"]


def rebuild_views(stack: Stack, service: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", f"csc_{service}", "views", "rebuild"],
        env={**os.environ, **stack.env(service)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def assert_rebuilt_and_kept(stack: Stack, service: ServiceProcess, name: str) -> ServiceProcess:
    """``views rebuild`` beside the running service gives its live digest; a restart
    applies nothing and answers the same digest."""
    live = read(f"{service.url}/digest").json()
    rebuilt = rebuild_views(stack, name)
    assert [v["digest"] for v in rebuilt] == [live["digest"]]
    assert read(f"{service.url}/digest").json() == live
    service.stop()
    restarted = stack.restart(service)
    ready = read(f"{restarted.url}/readyz").json()
    assert ready["view"] == {"position": live["position"], "applied": 0}
    assert read(f"{restarted.url}/digest").json() == live
    return restarted


def test_returns_cases_page_by_cursor_while_cases_are_opened(stack: Stack) -> None:
    returns = stack.start("returns")
    marketing = httpx.Client(base_url=returns.url, headers=stack.auth("marketing"), timeout=30)
    opened = iter(range(10_000))

    def open_case() -> None:
        n = next(opened)
        body = {"customer_code": f"C-{n % 3}", "delivery": f"DN-{n}", "lot": "L1",
                "quantity": 5, "reason": "housings cracked"}  # fmt: skip
        answer = marketing.post("/returns", json=body, headers={"Idempotency-Key": f"r-{n}"})
        assert answer.status_code == 201, answer.text

    for _ in range(23):
        open_case()
    existing = {row["case_id"] for row in read(f"{returns.url}/cases?limit=1000").json()}
    assert len(existing) == 23

    rows = page_through(returns.url, "/cases?limit=4", open_case)
    ids = [row["case_id"] for row in rows]
    assert len(ids) == len(set(ids))  # no row twice
    assert existing <= set(ids)  # every row there at the start
    assert [r["reported_at"] for r in rows] == sorted(r["reported_at"] for r in rows)

    one = page_through(returns.url, "/cases?customer=C-1&limit=2", lambda: None)
    assert {r["customer"]["code"] for r in one} == {"C-1"}
    assert len(one) == len(read(f"{returns.url}/cases?customer=C-1&limit=1000").json())
    assert_refuses_bad_paging(returns.url, "/cases")
    assert_refuses_bad_paging(returns.url, "/quarantine")

    wait_until(lambda: read(f"{returns.url}/digest").json()["position"] > 0, what="a digest")
    assert_rebuilt_and_kept(stack, returns, "returns")
