"""Intake's read model as tables: rebuilt from the log it equals the live one, a restart
applies nothing already applied, and every list is paged, every row exactly once.

On SQLite, and on PostgreSQL too under ``CSC_TEST_STORE=postgres``.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from intake_http import (
    MARKETING,
    SECRET,
    Clock,
    Intake,
    auth,
    complaint_body,
    customer_body,
    feedback_body,
)

from csc_contracts import Actor, Department
from csc_intake.bootstrap import IntakeSettings, create_app
from csc_intake.commands import RegisterCustomer
from csc_intake.projections import ENTRY_FILTERS, RECORD_FILTERS, IntakeView
from csc_messaging.store import wipe_store

STORES = ["sqlite"] + (["postgres"] if os.environ.get("CSC_TEST_STORE") == "postgres" else [])
AFTER_SALES = auth("after_sales", "zhao.liu")
QUALITY = auth("quality", "qian.qc")
CHIEF = auth("chief_engineer", "wang.zonggong")


@pytest.fixture(params=STORES)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IntakeSettings]:
    if request.param == "sqlite":
        yield IntakeSettings(data_dir=tmp_path, relay_enabled=False, auth_hs256_secret=SECRET)
        return
    pg = request.getfixturevalue("postgres_params")
    made = IntakeSettings(
        relay_enabled=False,
        auth_hs256_secret=SECRET,
        data_dir=tmp_path,
        store="postgres",
        postgres_host=pg["host"],
        postgres_port=pg["port"],
        postgres_user=pg["user"],
        postgres_password=pg["password"],
        postgres_db=pg["dbname"],
        postgres_schema=f"intake_{uuid4().hex[:8]}",
    )
    yield made
    wipe_store(made, "intake")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(settings: IntakeSettings, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(service=Intake(settings, clock).service)) as c:
        yield c


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def every_kind_of_event(client: TestClient, clock: Clock) -> None:
    """One of each thing intake records, so each fold of the view is exercised."""
    ok(client.post("/customers", json=customer_body(), headers=MARKETING))
    ok(client.post("/customers", json=customer_body(code="OEM-002", oem=False), headers=MARKETING))
    details = {k: v for k, v in customer_body(name="Dongfeng Motor Co.").items() if k != "code"}
    ok(client.put("/customers/OEM-001", json=details, headers=MARKETING))
    ok(
        client.post(
            "/customers/OEM-001/contacts",
            json={"channel": "visit", "summary": "review"},
            headers=AFTER_SALES,
        )
    )
    survey = {"year": 2026, "scores": {"quality": 4}, "comments": "good"}
    ok(client.post("/customers/OEM-001/satisfaction-surveys", json=survey, headers=MARKETING))

    case = ok(client.post("/complaints", json=complaint_body(), headers=MARKETING))["case_id"]
    steps: list[tuple[str, dict[str, Any], dict[str, str]]] = [
        ("important", {"reason": "line stop threatened"}, MARKETING),
        ("important/acknowledgement", {"comment": "seen"}, CHIEF),
        ("replies", {"channel": "phone", "summary": "QC will call"}, AFTER_SALES),
        ("on-site-requests", {"reason": "quality_problem", "details": "cracks"}, MARKETING),
        (
            "on-site-visits",
            {
                "arrived_at": "2026-11-24T09:00:00Z",
                "engineers": ["zhao.liu"],
                "diagnosis": "flash",
                "solution": "sorted",
            },
            AFTER_SALES,
        ),
        (
            "quality-impact",
            {"lines_stopped": 1, "quantity_affected": 40, "remedial_measure": "swap_units"},
            MARKETING,
        ),
    ]
    for path, body, headers in steps:
        ok(client.post(f"/register-entries/{case}/{path}", json=body, headers=headers))
    service = ok(
        client.post("/complaints", json=complaint_body(category="service"), headers=MARKETING)
    )["case_id"]
    ok(
        client.post(
            f"/register-entries/{service}/misuse", json={"finding": "wrong tool"}, headers=QUALITY
        )
    )
    ok(
        client.post(
            f"/register-entries/{service}/technician-dispatches",
            json={"technician": "sun.tech", "purpose": "teach"},
            headers=AFTER_SALES,
        )
    )
    feedback = ok(
        client.post("/register-entries", json=feedback_body(kind="suggestion"), headers=MARKETING)
    )["case_id"]

    daily = {
        "kind": "daily",
        "customer_code": "OEM-001",
        "site": "Wuhan plant 2",
        "work_date": "2026-11-23",
        "units_loaded": [{"model": "EQ1180", "quantity": 36}],
    }
    record = ok(client.post("/field-service-records", json=daily, headers=AFTER_SALES))
    ok(
        client.post(
            f"/field-service-records/{record['record_id']}/amendments",
            json={"units_loaded": [], "reason": "miscounted"},
            headers=AFTER_SALES,
        )
    )
    visit = {**daily, "kind": "visit", "units_loaded": []}
    ok(client.post("/field-service-records", json=visit, headers=MARKETING))

    clock.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    ok(
        client.post(
            f"/register-entries/{feedback}/follow-ups",
            json={"result": "satisfied", "closed": True},
            headers=AFTER_SALES,
        )
    )


LISTS = [
    "/register-entries",
    "/complaints",
    "/inbox/engineering",
    "/inbox/chief-engineer?include_acknowledged=true",
    "/field-service-records",
    "/customers",
]


def answers(client: TestClient) -> dict[str, Any]:
    """Everything the read side answers, each list read in one page."""
    got: dict[str, Any] = {
        p: ok_list(client, p + ("&" if "?" in p else "?") + "limit=1000") for p in LISTS
    }
    for entry in got["/register-entries"]:
        got[entry["case_id"]] = ok(
            client.get(f"/register-entries/{entry['case_id']}", headers=MARKETING)
        )
    for customer in got["/customers"]:
        got[customer["code"]] = ok(client.get(f"/customers/{customer['code']}", headers=MARKETING))
    return got


def ok_list(client: TestClient, path: str) -> list[dict[str, Any]]:
    response = client.get(path, headers=MARKETING)
    assert response.status_code == 200, response.text
    assert "link" not in response.headers
    return list(response.json())


def test_a_view_rebuilt_from_the_log_equals_the_live_one(
    client: TestClient, clock: Clock, settings: IntakeSettings
) -> None:
    every_kind_of_event(client, clock)
    live = ok(client.get("/digest", headers=MARKETING))
    before = answers(client)
    assert len(before["/register-entries"]) == 3 and len(before["/field-service-records"]) == 2

    # Rebuilt by another process's view of the same store, while the service runs.
    other = Intake(settings)
    try:
        assert other.view.rebuild() == live["position"]
    finally:
        other.app.close()
    # The running service reads the swapped-in tables: same digest, same answers.
    assert ok(client.get("/digest", headers=MARKETING)) == live
    assert answers(client) == before


def test_views_rebuild_and_status_on_the_command_line(
    client: TestClient, clock: Clock, settings: IntakeSettings
) -> None:
    every_kind_of_event(client, clock)
    live = ok(client.get("/digest", headers=MARKETING))
    store = (
        "store",
        "data_dir",
        "postgres_host",
        "postgres_port",
        "postgres_user",
        "postgres_password",
        "postgres_db",
        "postgres_schema",
    )
    env = {
        f"CSC_{k.upper()}": str(getattr(settings, k))
        for k in store
        if getattr(settings, k) is not None
    }

    def csc_intake(*args: str) -> dict[str, Any]:
        # A process of its own, as an operator runs it beside the service.
        done = subprocess.run(
            [sys.executable, "-m", "csc_intake", *args],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout.splitlines()[-1]))

    status = csc_intake("views", "status")
    assert status == {"view": "intake", "position": live["position"], "behind": 0}
    line = csc_intake("views", "rebuild")
    assert line == {"view": "intake", "position": live["position"], "digest": live["digest"]}
    assert ok(client.get("/digest", headers=MARKETING)) == live


def test_a_restart_applies_only_what_is_new(
    client: TestClient, clock: Clock, settings: IntakeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    every_kind_of_event(client, clock)
    live = ok(client.get("/digest", headers=MARKETING))
    before = answers(client)

    applied: list[Any] = []
    fold = IntakeView.apply

    def counted(self: IntakeView, event: Any, rows: Any) -> None:
        applied.append(event)
        fold(self, event, rows)

    monkeypatch.setattr(IntakeView, "apply", counted)
    with TestClient(create_app(service=Intake(settings, clock).service)) as again:
        assert ok(again.get("/digest", headers=MARKETING)) == live
        assert answers(again) == before
        assert applied == []  # nothing of the log is folded again at start
        ok(again.post("/complaints", json=complaint_body(), headers=MARKETING))
        assert len(ok_list(again, "/complaints")) == 3
        assert [type(e).__name__ for e in applied] == ["Logged", "EngineeringNotified"]


def follow_links(client: TestClient, path: str, between: Any = None) -> list[dict[str, Any]]:
    """Every page of a list, following ``Link: rel="next"`` to the end."""
    rows: list[dict[str, Any]] = []
    url: str | None = path
    pages = 0
    while url is not None:
        response = client.get(url, headers=MARKETING)
        assert response.status_code == 200, response.text
        rows.extend(response.json())
        pages += 1
        link = response.headers.get("link")
        if link is None:
            assert "x-next-cursor" not in response.headers
            url = None
        else:
            assert link.endswith('>; rel="next"') and link.startswith("<")
            url = link[1 : -len('>; rel="next"')]
        if between is not None:
            between(pages)
    return rows


KEYS = {"/customers": "code", "/field-service-records": "record_id"}


@pytest.mark.parametrize("path", LISTS)
def test_paging_follows_link_to_the_end_every_row_exactly_once(
    client: TestClient, clock: Clock, path: str
) -> None:
    every_kind_of_event(client, clock)
    for n in range(4):  # a few more of each, so that pages of 2 are several
        ok(client.post("/customers", json=customer_body(code=f"MORE-{n}"), headers=MARKETING))
        body = feedback_body(important_reason="line stop") if n % 2 else complaint_body()
        ok(
            client.post(
                "/complaints" if not n % 2 else "/register-entries", json=body, headers=MARKETING
            )
        )
        ok(
            client.post(
                "/field-service-records",
                headers=AFTER_SALES,
                json={
                    "kind": "daily",
                    "customer_code": "OEM-001",
                    "site": "Wuhan plant 2",
                    "work_date": f"2026-11-0{n + 1}",
                },
            )
        )
    whole = ok_list(client, path + ("&" if "?" in path else "?") + "limit=1000")
    assert len(whole) >= 3
    paged = follow_links(client, path + ("&" if "?" in path else "?") + "limit=2")
    assert paged == whole


def test_paging_while_rows_are_added_gives_each_existing_row_once(client: TestClient) -> None:
    ok(client.post("/customers", json=customer_body(), headers=MARKETING))
    existing = [
        ok(client.post("/complaints", json=complaint_body(), headers=MARKETING))["case_id"]
        for _ in range(25)
    ]
    added: list[str] = []

    def add(_: int) -> None:
        added.append(
            ok(client.post("/complaints", json=complaint_body(), headers=MARKETING))["case_id"]
        )

    seen = [e["case_id"] for e in follow_links(client, "/register-entries?limit=4", add)]
    # In the order recorded: every row there before, once, then those added while paging
    # (a row is added after each page; the one added after the last page is not seen).
    assert len(added) >= 7
    assert seen == existing + added[:-1]

    # Newest first: rows added while paging are before the place reached, so the pages
    # give exactly the rows there when the first page was read, newest first, once each.
    there = existing + added
    newest_first = [e["case_id"] for e in follow_links(client, "/inbox/engineering?limit=4", add)]
    assert newest_first == there[::-1]


def test_a_queue_reads_the_newest_open_entries_and_the_entries_of_its_clocks(
    client: TestClient,
) -> None:
    ok(client.post("/customers", json=customer_body(), headers=MARKETING))
    cases = [
        ok(client.post("/complaints", json=complaint_body(), headers=MARKETING))["case_id"]
        for _ in range(7)
    ]
    newest = follow_links(client, "/register-entries?status=open&order=newest&limit=3")
    assert [e["case_id"] for e in newest] == cases[::-1]
    some = [cases[5], cases[1], cases[3], cases[1]]  # in any order, once each
    query = "&".join(f"case_id={c}" for c in some)
    mine = follow_links(client, f"/register-entries?{query}&limit=2")
    assert [e["case_id"] for e in mine] == [cases[1], cases[3], cases[5]]
    too_many = "&".join(f"case_id={uuid4()}" for _ in range(101))
    refused = client.get(f"/register-entries?{too_many}", headers=MARKETING)
    assert refused.status_code == 422 and "case_id" in refused.text
    assert client.get("/register-entries?order=oldest", headers=MARKETING).status_code == 422
    # 4.2.2: the entries asked on site, for the sites whose daily record is due (4.1.4).
    asked = {"reason": "quality_problem", "details": "cracks"}
    for case in (cases[2], cases[4]):
        path = f"/register-entries/{case}/on-site-requests"
        ok(client.post(path, json=asked, headers=MARKETING))
    on_site = follow_links(client, "/register-entries?on_site=true&status=open&limit=1")
    assert [e["case_id"] for e in on_site] == [cases[2], cases[4]]
    assert all(e["on_site"] for e in on_site)
    others = follow_links(client, "/register-entries?on_site=false&limit=2")
    assert len(others) == 5 and not any(e["on_site"] for e in others)
    # 4.2.1: those replied to, and those still waiting for a reply.
    reply = {"channel": "phone", "summary": "Replacement units leave today."}
    for case in (cases[1], cases[6]):
        ok(client.post(f"/register-entries/{case}/replies", json=reply, headers=MARKETING))
    replied = follow_links(client, "/register-entries?replied=true&status=open&order=newest")
    assert [e["case_id"] for e in replied] == [cases[6], cases[1]]
    waiting = follow_links(client, "/register-entries?replied=false&limit=2")
    assert len(waiting) == 5 and not any(e["replies"] for e in waiting)


def test_a_case_s_history_is_paged_by_version(client: TestClient, clock: Clock) -> None:
    ok(client.post("/customers", json=customer_body(), headers=MARKETING))
    case = ok(client.post("/complaints", json=complaint_body(), headers=MARKETING))["case_id"]
    for n in range(5):
        ok(
            client.post(
                f"/register-entries/{case}/replies",
                json={"channel": "phone", "summary": f"call {n}"},
                headers=AFTER_SALES,
            )
        )
    whole = ok_list(client, f"/register-entries/{case}/history")
    assert [s["version"] for s in whole] == list(range(1, 8))
    assert follow_links(client, f"/register-entries/{case}/history?limit=3") == whole


def _cursor(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "path", [*LISTS, "/register-entries/{case}/history", "/register-entries?customer=OEM-001"]
)
@pytest.mark.parametrize(
    "cursor",
    [
        "nonsense",
        _cursor([1]),
        _cursor(["a", "b", "c"]),
        _cursor(["x", 2]),
        _cursor([True, "a"]),
        _cursor([0.5]),
        _cursor("abc"),
        _cursor([2**64, "a"]),
        _cursor([2**64]),
    ],
)
def test_a_bad_cursor_or_limit_is_a_422_naming_it(
    client: TestClient, path: str, cursor: str
) -> None:
    ok(client.post("/customers", json=customer_body(), headers=MARKETING))
    case = ok(client.post("/complaints", json=complaint_body(), headers=MARKETING))["case_id"]
    path = path.format(case=case)
    glue = "&" if "?" in path else "?"
    response = client.get(f"{path}{glue}cursor={cursor}", headers=MARKETING)
    if "history" in path and cursor == _cursor([1]):  # a cursor that list gives: after v1
        assert response.status_code == 200, response.text
        assert [s["version"] for s in response.json()] == [2]
    else:
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == ["query", "cursor"]
    for limit in ("1001", "0", "-1", "many"):
        response = client.get(f"{path}{glue}limit={limit}", headers=MARKETING)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == ["query", "limit"]
    assert client.get(f"{path}{glue}limit=1000", headers=MARKETING).status_code == 200


def test_every_filter_and_order_of_a_list_reads_one_index_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On SQLite, whose planner says so: no list sorts rows or scans the whole table.
    settings = IntakeSettings(data_dir=tmp_path, relay_enabled=False, auth_hs256_secret=SECRET)
    intake = Intake(settings)
    view = intake.view
    statements: list[tuple[str, list[Any]]] = []
    db = type(view._db)
    execute = db.execute

    def spy(self: Any, cursor: Any, statement: str, params: Any = ()) -> None:
        if statement.startswith("SELECT") and "ORDER BY" in statement:
            statements.append((statement, list(params)))
        execute(self, cursor, statement, params)

    monkeypatch.setattr(db, "execute", spy)
    after = _cursor([5, "x"])
    for name in ENTRY_FILTERS:
        view.entries({name: "x"})
        view.entries({name: "x"}, cursor=after)
    view.entries()
    view.entries({"entry_type": "complaint", "customer": "x"}, cursor=after)
    view.entries({"status": "open"}, cursor=after, newest_first=True)  # a work queue's
    view.entries({"on_site": True, "status": "open"}, cursor=after, newest_first=True)
    view.entries({"replied": True, "status": "open"}, cursor=after, newest_first=True)
    view.engineering_inbox(cursor=after)
    view.chief_engineer_inbox(cursor=after)
    view.chief_engineer_inbox(include_acknowledged=True, cursor=after)
    for name in RECORD_FILTERS:
        view.field_service_records({name: "x"}, cursor=after)
    view.field_service_records()
    view.customers(cursor=_cursor(["x"]))
    marketing = Actor(user="li.wei", department=Department.MARKETING)
    intake.app.record("register_customer", RegisterCustomer(**customer_body()), marketing, None)
    assert view.customer("OEM-001") is not None
    assert len(statements) >= 2 * len(ENTRY_FILTERS) + len(RECORD_FILTERS) + 8
    with sqlite3.connect(tmp_path / "intake.sqlite") as conn:
        for statement, params in statements:
            plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}", params)]
            assert len(plan) == 1 and " USING " in plan[0], (statement, plan)
            assert "INDEX" in plan[0] or "PRIMARY KEY" in plan[0], (statement, plan)
    intake.app.close()
