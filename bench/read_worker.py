"""One step of the read case, in a process of its own: ``python -m bench.read_worker '<spec>'``.

``fill``: N return cases saved by returns' own application, a thousand aggregates
per ``save`` (one transaction), each taken by its own domain methods to a status
of a realistic mix. ``build``: ``ReturnCases(app).catch_up()`` over that log.
``query``: the same walks through the lists three ways: over HTTP from a running
service, ``view.page`` in this process, and the bare indexed SELECT of the same
page on the same table. Prints one JSON document.
"""

from __future__ import annotations

import http.client
import json
import random
import sqlite3
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from bench.harness import latency_summary
from csc_messaging.settings import ServiceSettings
from csc_messaging.store import eventsourcing_env
from csc_returns.application import ReturnsApplication
from csc_returns.domain import ReturnCase
from csc_returns.domain.cases import IN_QUARANTINE, STATUSES
from csc_returns.projections import ReturnCases

SAVE_EVERY = 1_000
CUSTOMERS = [f"CUST-{i:03d}" for i in range(1, 51)]
FIRST_MONTH = datetime(2025, 1, 1, tzinfo=UTC)
MONTHS = [f"{2025 + m // 12:04d}-{m % 12 + 1:02d}" for m in range(24)]
# Where cases stand, in percent: most end early (replaced, or still waiting), few reach
# the PNPR's end. About 3.9 events a case.
MIX = {
    "reported": 30,
    "replacement_agreed": 8,
    "replacement_shipped": 17,
    "return_requested": 6,
    "awaiting_quality": 5,
    "confirmed_by_quality": 4,
    "rejected_by_quality": 5,
    "receipt_authorized": 3,
    "received": 3,
    "sampled": 3,
    "identified": 2,
    "isolated": 3,
    "nonconformance_reported": 3,
    "reviewed": 3,
    "dispositioned": 5,
}
PAGE_LIMIT = 100

MARKETING = {"user": "bench.marketing", "department": "marketing"}
QUALITY = {"user": "bench.qc", "department": "quality"}
WAREHOUSE = {"user": "bench.warehouse", "department": "warehouse"}
BOARD = [
    {"name": "Wang Li", "department": "quality"},
    {"name": "Chen Jie", "department": "production"},
    {"name": "Zhao Min", "department": "engineering"},
]
# The whole-batch path (4.3.2-4.3.3), in order; a case stops at its status.
RETURN_PATH = (
    "return_requested",
    "awaiting_quality",
    "confirmed_by_quality",
    "receipt_authorized",
    "received",
    "sampled",
    "identified",
    "isolated",
    "nonconformance_reported",
    "reviewed",
    "dispositioned",
)


def _store(data_dir: str) -> ReturnsApplication:
    settings = ServiceSettings(store="sqlite", data_dir=Path(data_dir))
    return ReturnsApplication(env=eventsourcing_env(settings, "returns"))


def make_case(n: int, rng: random.Random, status: str) -> ReturnCase:
    reported = FIRST_MONTH + timedelta(seconds=rng.randrange(0, 730 * 86_400))
    code = CUSTOMERS[rng.randrange(len(CUSTOMERS))]
    lot = f"L{reported:%Y%m}-{n:07d}"
    case = ReturnCase(
        case_id=UUID(int=rng.getrandbits(128), version=4),
        opened_by_event=UUID(int=rng.getrandbits(128), version=4),
        opened_by_type="com.csc.intake.complaint-logged.v1",
        reported_at=reported,
        customer={
            "code": code,
            "name": f"Customer {code}",
            "oem": n % 2 == 0,
            "timezone": "Asia/Shanghai",
        },
        product="CN-220 connector",
        lot=lot,
        description=f"Housings cracked at the customer's line 3 (report {n}).",
    )
    if status == "reported":
        return case
    no_key: dict[str, Any] = {"request_key": None}

    def dispose() -> None:
        for disposition, quantity in (("rework", 30), ("scrap", 10)):
            case.disposition(
                disposition=disposition,
                quantity=quantity,
                concession=None,
                note=None,
                actor=WAREHOUSE,
                **no_key,
            )

    if status in ("replacement_agreed", "replacement_shipped"):
        units = [f"U{n}-{i}" for i in range(3)]
        case.agree_replacement(
            product=None,
            delivery=f"DN-{n}",
            lot=lot,
            quantity=3,
            units=units,
            agreed_with="the customer's buyer",
            actor=MARKETING,
            **no_key,
        )
        if status == "replacement_shipped":
            case.ship_replacement(
                quantity=3,
                lot=f"{lot}R",
                units=units,
                shipped_at=reported + timedelta(days=2),
                shipping_note=f"SN-{n}",
                actor=WAREHOUSE,
                **no_key,
            )
        return case
    steps: dict[str, Callable[[], None]] = {
        "return_requested": lambda: case.request_return(
            product=None,
            delivery=f"DN-{n}",
            lot=lot,
            quantity=40,
            reason="cracked housings across the batch",
            actor=MARKETING,
            **no_key,
        ),
        "awaiting_quality": lambda: case.request_confirmation(
            note="please confirm", actor=MARKETING, **no_key
        ),
        "confirmed_by_quality": lambda: case.confirm(
            finding="cracks confirmed on the samples", actor=QUALITY, **no_key
        ),
        "receipt_authorized": lambda: case.authorize_receipt(actor=MARKETING, **no_key),
        "received": lambda: case.receive(
            quantity=40,
            location="Dock 2",
            lot=lot,
            received_at=reported + timedelta(days=5),
            actor=WAREHOUSE,
            **no_key,
        ),
        "sampled": lambda: case.take_samples(
            condition="as returned", sample_ids=["S1", "S2"], actor=QUALITY, **no_key
        ),
        "identified": lambda: case.identify(tag=f"NC-{n}", actor=QUALITY, **no_key),
        "isolated": lambda: case.isolate(location="Q-rack 4", actor=WAREHOUSE, **no_key),
        "nonconformance_reported": lambda: case.report(
            description="housing wall below drawing thickness", actor=QUALITY, **no_key
        ),
        "reviewed": lambda: case.review(
            board=BOARD,
            decision=[
                {"disposition": "rework", "quantity": 30},
                {"disposition": "scrap", "quantity": 10},
            ],
            note=None,
            actor=QUALITY,
            **no_key,
        ),
        "dispositioned": dispose,
    }
    if status == "rejected_by_quality":
        steps["return_requested"]()
        steps["awaiting_quality"]()
        case.reject(reason="no abnormality found", actor=QUALITY, **no_key)
        return case
    for step in RETURN_PATH:
        steps[step]()
        if step == status:
            break
    return case


def fill(spec: dict[str, Any]) -> dict[str, Any]:
    cases: int = spec["cases"]
    rng = random.Random(spec.get("seed", 15))
    statuses = list(MIX)
    weights = list(MIX.values())
    app = _store(spec["data_dir"])
    began = time.perf_counter()
    saving = 0.0
    events = 0
    made: dict[str, int] = defaultdict(int)
    try:
        n = 0
        while n < cases:
            batch = []
            for _ in range(min(SAVE_EVERY, cases - n)):
                status = rng.choices(statuses, weights)[0]
                made[status] += 1
                batch.append(make_case(n, rng, status))
                n += 1
            events += sum(len(case.pending_events) for case in batch)
            t0 = time.perf_counter()
            app.save(*batch)
            saving += time.perf_counter() - t0
            if n % 100_000 == 0:
                print(f"filled {n:,} cases", file=sys.stderr, flush=True)
    finally:
        app.close()
    return {
        "cases": cases,
        "events": events,
        "elapsed_s": time.perf_counter() - began,
        "save_s": saving,
        "statuses": made,
    }


def build(spec: dict[str, Any]) -> dict[str, Any]:
    app = _store(spec["data_dir"])
    try:
        view = ReturnCases(app)
        began = time.perf_counter()
        applied = view.catch_up()
        elapsed = time.perf_counter() - began
        head = view.head()
        state = view._state()
        assert state is not None
        return {
            "applied": applied,
            "elapsed_s": elapsed,
            "head": head,
            "position": view.position,
            "tables": state.tables,
            "cases": view.count("cases"),
        }
    finally:
        app.close()


# Queries ----------------------------------------------------------------------------------


def walks(requests: int, seed: int = 7) -> list[tuple[str, str, dict[str, str], int]]:
    """(kind, list, filters, pages deep) until ``requests`` pages in all: every filter and
    combination the list offers, some followed by their cursor a few pages deep."""
    rng = random.Random(seed)

    def status() -> str:
        return rng.choice(STATUSES)

    def customer() -> str:
        return rng.choice(CUSTOMERS)

    def month() -> str:
        return rng.choice(MONTHS)

    kinds: list[tuple[str, Callable[[], dict[str, str]], int]] = [
        ("none, 5 pages", lambda: {}, 5),
        ("status", lambda: {"status": status()}, 1),
        ("status, 5 pages", lambda: {"status": status()}, 5),
        ("customer", lambda: {"customer": customer()}, 1),
        ("customer, 5 pages", lambda: {"customer": customer()}, 5),
        ("month", lambda: {"month": month()}, 1),
        ("status+customer", lambda: {"status": status(), "customer": customer()}, 1),
        ("status+month", lambda: {"status": status(), "month": month()}, 1),
        ("customer+month", lambda: {"customer": customer(), "month": month()}, 1),
        (
            "status+customer+month",
            lambda: {"status": status(), "customer": customer(), "month": month()},
            1,
        ),
    ]
    out: list[tuple[str, str, dict[str, str], int]] = []
    total = 0
    i = 0
    while total < requests:
        if i % (len(kinds) + 1) == len(kinds):
            out.append(("quarantine, 2 pages", "quarantine", {}, 2))
            total += 2
        else:
            kind, where, pages = kinds[i % (len(kinds) + 1)]
            out.append((kind, "cases", where(), pages))
            total += pages
        i += 1
    return out


class Client:
    """Sequential keep-alive GETs: the stdlib's client, nothing of its own to measure."""

    def __init__(self, url: str, token: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, params: dict[str, str]) -> tuple[int, bytes, str | None]:
        target = path + ("?" + urlencode(params) if params else "")
        self.conn.request("GET", target, headers=self.headers)
        response = self.conn.getresponse()
        body = response.read()
        return response.status, body, response.getheader("X-Next-Cursor")


def _timed(
    plan: list[tuple[str, str, dict[str, str], int]],
    page: Callable[[str, dict[str, str], str | None], str | None],
) -> tuple[list[float], dict[str, list[float]]]:
    """Each walk's pages through ``page(list, filters, cursor) -> next cursor``, timed."""
    samples: list[float] = []
    by_kind: dict[str, list[float]] = defaultdict(list)
    for kind, which, where, pages in plan:
        cursor: str | None = None
        for _ in range(pages):
            t0 = time.perf_counter()
            cursor = page(which, where, cursor)
            took = time.perf_counter() - t0
            samples.append(took)
            by_kind[kind].append(took)
            if cursor is None:
                break
    return samples, by_kind


def _bare(path: str, tables: dict[str, str]) -> Callable[[str, dict[str, str], str | None], Any]:
    """The SELECT the view makes for the page, on sqlite3 alone: no catch-up, no decoding."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    table = tables["cases"]
    quarantine = tuple(sorted(IN_QUARANTINE))

    def page(which: str, where: dict[str, str], after: Any) -> Any:
        order = "isolated" if which == "quarantine" else "reported"
        clauses: list[str] = []
        params: list[Any] = []
        if which == "quarantine":
            clauses.append(f"status IN ({', '.join('?' for _ in quarantine)})")
            params.extend(quarantine)
        for column, value in where.items():
            clauses.append(f'"{column}" = ?')
            params.append(value)
        if after is not None:
            clauses.append(f"({order}, case_id) > (?, ?)")
            params.extend(after)
        sql = f'SELECT {order}, case_id, doc FROM "{table}"'
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY {order}, case_id LIMIT ?"
        rows = conn.execute(sql, [*params, PAGE_LIMIT + 1]).fetchall()
        return rows[PAGE_LIMIT - 1][:2] if len(rows) > PAGE_LIMIT else None

    return page


def query(spec: dict[str, Any]) -> dict[str, Any]:
    plan = walks(spec["requests"])
    report: dict[str, Any] = {"walks": len(plan)}
    statuses: dict[str, int] = defaultdict(int)
    client = Client(spec["url"], spec["token"])

    def over_http(which: str, where: dict[str, str], cursor: str | None) -> str | None:
        params = {**where, "limit": str(PAGE_LIMIT)}
        if cursor is not None:
            params["cursor"] = cursor
        status, _, next_cursor = client.get(f"/{which}", params)
        statuses[str(status)] += 1
        return next_cursor

    http_samples, http_kinds = _timed(plan, over_http)
    report["http"] = latency_summary(http_samples)
    report["http_by_kind"] = {k: latency_summary(v) for k, v in http_kinds.items()}
    report["statuses"] = statuses
    if not spec.get("http_only"):
        app = _store(spec["data_dir"])
        try:
            view = ReturnCases(app)

            def in_process(which: str, where: dict[str, str], cursor: str | None) -> str | None:
                if which == "quarantine":
                    return view.quarantine(cursor=cursor, limit=PAGE_LIMIT).next_cursor
                return view.cases(**where, cursor=cursor, limit=PAGE_LIMIT).next_cursor

            page_samples, page_kinds = _timed(plan, in_process)
            report["view_applied"] = view.applied
        finally:
            app.close()
        report["page"] = latency_summary(page_samples)
        report["page_by_kind"] = {k: latency_summary(v) for k, v in page_kinds.items()}
        bare = _bare(spec["db"], spec["tables"])
        bare_samples, bare_kinds = _timed(plan, bare)
        report["bare"] = latency_summary(bare_samples)
        report["bare_by_kind"] = {k: latency_summary(v) for k, v in bare_kinds.items()}
    return report


def main() -> None:
    spec = json.loads(sys.argv[1])
    steps = {"fill": fill, "build": build, "query": query}
    print(json.dumps(steps[spec["what"]](spec), default=str))


if __name__ == "__main__":
    main()
