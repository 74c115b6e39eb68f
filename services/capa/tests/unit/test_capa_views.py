"""Capa's read model as tables: rebuilt from the log it equals the live one, a restart folds
nothing, lists are paged (every row once while rows are added), and every list is an
indexed query.

On SQLite, and on PostgreSQL too under ``CSC_TEST_STORE=postgres``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

import csc_contracts as pub
from csc_capa.application import CapaApplication
from csc_capa.bootstrap import CAPA, CapaSettings
from csc_capa.entrypoints.http import evidence_handlers, routes
from csc_capa.projections import Investigations
from csc_devkit.desk import SECRET, Desk, auth, quality_complaint
from csc_messaging.settings import ServiceSettings
from csc_messaging.store import wipe_store

STORES = ["sqlite"] + (["postgres"] if os.environ.get("CSC_TEST_STORE") == "postgres" else [])
T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
CONTACT = {"contact": "Mr. Zhao, SQE", "means": "phone", "summary": "Cracks at the gate."}
TEAM = {
    "leader": {"name": "Wang Fang", "department": "quality"},
    "members": [
        {"name": "Li Wei", "department": "marketing", "role": "customer contact"},
        {"name": "Sun Li", "department": "development", "role": "design"},
        {"name": "Chen Jie", "department": "engineering", "role": "process engineer"},
        {"name": "Zhou Min", "department": "production", "role": "line 3 lead"},
    ],
}
PROBLEM = {"what": "Cracks", "where": "Line 3", "when": "Night shift", "who": "Incoming QC",
           "why": "No cracks allowed", "how": "Visual", "how_many": "40 of 2,000"}  # fmt: skip
ROOT_CAUSE = {"root_cause": "Gate cold", "escape_point": "Sampling", "method": "5 whys"}


class CapaDesk(Desk):
    @property
    def app(self) -> CapaApplication:
        assert isinstance(self.service.app, CapaApplication)
        return self.service.app

    @property
    def view(self) -> Investigations:
        assert isinstance(self.service.read_model, Investigations)
        return self.service.read_model

    def complaint(self, at: datetime, customer: str = "OEM-001") -> str:
        event = quality_complaint(at, customer=pub.CustomerRef(code=customer, name=customer))
        self.feed(event)
        return str(event.case_id)

    def step(self, case: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.post(f"/investigations/{case}/{path}", body, "quality")
        assert response.status_code == 201, (path, response.text)
        return dict(response.json())

    def under_way(self, case: str, actions: int = 0, due: str = "2026-12-10") -> str:
        self.step(case, "contacts", CONTACT)
        self.step(case, "confirmation", {"finding": "Cracks confirmed"})
        self.step(case, "team", TEAM)
        self.step(case, "d2/problem", PROBLEM)
        self.step(case, "d3/containment", {"actions": "Sort", "scope": "FG", "quantity": 0})
        self.step(case, "d4/root-cause", ROOT_CAUSE)
        for n in range(actions):
            owner = {"name": "Chen Jie", "department": "quality"}
            self.step(case, "d5/actions", {"description": f"action {n}", "owner": owner,
                                           "due": due})  # fmt: skip
        return case

    def pages(self, path: str, limit: int, between: Any = None, **params: Any) -> list[Any]:
        """Every page of a list, following ``Link: <...>; rel="next"`` to the end."""
        rows: list[Any] = []
        response = self.get(path, params={**params, "limit": limit})
        while True:
            assert response.status_code == 200, response.text
            assert len(response.json()) <= limit
            rows.extend(response.json())
            if between is not None:
                between()
            link = response.headers.get("link")
            if link is None:
                assert "x-next-cursor" not in response.headers
                return rows
            target = re.fullmatch(r'<([^>]+)>; rel="next"', link)
            assert target is not None, link
            response = self.get(target.group(1))


def settings_for(store: str, tmp_path: Path, request: pytest.FixtureRequest) -> CapaSettings:
    if store == "sqlite":
        return CapaSettings(data_dir=tmp_path, relay_enabled=False, auth_hs256_secret=SECRET)
    pg = request.getfixturevalue("postgres_params")
    return CapaSettings(
        data_dir=tmp_path, relay_enabled=False, auth_hs256_secret=SECRET, store="postgres",
        postgres_host=pg["host"], postgres_port=pg["port"], postgres_user=pg["user"],
        postgres_password=pg["password"], postgres_db=pg["dbname"],
        postgres_schema=f"capa_{uuid4().hex[:8]}",
    )  # fmt: skip


@pytest.fixture(params=STORES)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CapaSettings]:
    settings = settings_for(request.param, tmp_path, request)
    yield settings
    if settings.store == "postgres":
        wipe_store(settings, "capa")


def open_desk(settings: ServiceSettings, now: datetime) -> CapaDesk:
    service = CAPA.bootstrap(settings)
    vars(service.app)["now"] = lambda: now
    return CapaDesk(service, routes, evidence_handlers)


@pytest.fixture
def desk(settings: CapaSettings) -> Iterator[CapaDesk]:
    desk = open_desk(settings, T0 + timedelta(hours=2))
    yield desk
    desk.service.app.close()


def a_history(desk: CapaDesk) -> list[str]:
    """Cases of two customers at every stage, a registered format, actions done and not."""
    cases = [desk.complaint(T0 - timedelta(minutes=n), ("OEM-001", "OEM-002")[n % 2])
             for n in range(6)]  # fmt: skip
    desk.under_way(cases[0], actions=2)
    desk.step(cases[0], "d6/actions/1/implementation", {"validation": "Alarm tested"})
    desk.under_way(cases[1], actions=1)
    desk.step(cases[2], "non-confirmation", {"reason": "Samples meet the drawing"})
    desk.step(cases[3], "report-format", {"format": "8d"})
    registered = desk.http.put("/report-formats/OEM-002", json={"format": "8d"},
                               headers=auth("quality", key="format-1"))  # fmt: skip
    assert registered.status_code == 201, registered.text
    return cases


def answers(desk: CapaDesk, cases: list[str]) -> list[Any]:
    return [
        desk.pages("/investigations", 4),
        desk.pages("/overdue-actions", 1),
        *(desk.get(f"/investigations/{case}").json() for case in cases),
        desk.get("/report-formats/OEM-002").json(),
    ]


def test_the_view_rebuilt_from_the_log_equals_the_live_one(desk: CapaDesk) -> None:
    cases = a_history(desk)
    later = open_desk(desk.service.settings, datetime(2026, 12, 20, tzinfo=UTC))
    try:
        before = answers(later, cases)
        digest, position = later.view.digest(), later.view.position
        assert position == later.events()
        assert later.view.rebuild() == later.events()
        assert (later.view.digest(), later.view.position) == (digest, position)
        assert answers(later, cases) == before
        overdue = {(r["case_id"], r["action_no"], r["days_overdue"]) for r in before[1]}
        assert overdue == {(cases[0], 2, 10), (cases[1], 1, 10)}
        assert [a["overdue"] for a in before[2]["actions"]] == [False, True]
    finally:
        later.service.app.close()


def test_a_restart_applies_nothing_the_view_already_holds(desk: CapaDesk) -> None:
    cases = a_history(desk)
    before = answers(desk, cases)
    position, digest = desk.view.position, desk.view.digest()
    restarted = open_desk(desk.service.settings, T0 + timedelta(hours=2))
    try:
        assert restarted.view.catch_up() == 0  # what start-up runs: nothing to fold
        assert (restarted.view.position, restarted.view.digest()) == (position, digest)
        assert answers(restarted, cases) == before
        case = desk.complaint(T0 + timedelta(hours=1))
        assert restarted.view.catch_up() == 1  # and only what is new after
        assert restarted.get(f"/investigations/{case}").status_code == 200
    finally:
        restarted.service.app.close()


def test_paging_gives_every_investigation_once_while_cases_arrive(desk: CapaDesk) -> None:
    existing = [desk.complaint(T0 + timedelta(minutes=n)) for n in range(23)]
    added: list[str] = []

    def arrive() -> None:  # a case reported later than any, and one earlier than any
        n = len(added)
        added.append(desk.complaint(T0 + timedelta(days=1, minutes=n)))
        added.append(desk.complaint(T0 - timedelta(days=1, minutes=n)))

    seen = [row["case_id"] for row in desk.pages("/investigations", 5, arrive)]
    assert len(seen) == len(set(seen))
    assert [c for c in seen if c in existing] == existing  # each once, oldest report first
    later = added[::2]
    assert [c for c in seen if c not in existing] == later[: len(seen) - len(existing)]
    assert not set(seen) & set(added[1::2])  # reported before the cursor's place


def test_filters_page_through_their_own_rows(desk: CapaDesk) -> None:
    cases = a_history(desk)
    mine = desk.pages("/investigations", 2, customer="OEM-002")
    assert [r["case_id"] for r in mine] == [cases[5], cases[3], cases[1]]  # oldest report first
    assert {r["report_format_source"] for r in mine} == {"customer", "case"}
    in_progress = desk.pages("/investigations", 1, status="in_progress")
    assert sorted(r["case_id"] for r in in_progress) == sorted(cases[:2])
    assert desk.pages("/investigations", 1, status="closed") == []
    both = desk.pages("/investigations", 1, status="in_progress", customer="OEM-001")
    assert [r["case_id"] for r in both] == [cases[0]]
    assert all("timeline" not in r for r in mine)


def test_overdue_actions_and_a_timeline_page_to_the_end(desk: CapaDesk) -> None:
    first = desk.under_way(desk.complaint(T0), actions=7, due="2026-12-01")
    second = desk.under_way(desk.complaint(T0), actions=5, due="2026-11-30")
    desk.step(first, "d6/actions/3/implementation", {"validation": "done"})
    late = open_desk(desk.service.settings, datetime(2026, 12, 5, 9, tzinfo=UTC))
    try:
        overdue = late.pages("/overdue-actions", 3)
        assert [(r["case_id"], r["action_no"], r["days_overdue"]) for r in overdue] == [
            *((second, n, 5) for n in range(1, 6)),
            *((first, n, 4) for n in (1, 2, 4, 5, 6, 7)),
        ]
        timeline = late.pages(f"/investigations/{first}/timeline", 4)
        assert timeline == late.get(f"/investigations/{first}").json()["timeline"]
        assert [t["event"] for t in timeline][:2] == ["InvestigationOpened",
                                                      "CustomerContactedByQuality"]  # fmt: skip
        assert len(timeline) == 1 + 6 + 7 + 1
    finally:
        late.service.app.close()
    assert desk.get(f"/investigations/{uuid4()}/timeline").status_code == 404


@pytest.mark.parametrize("path", ["/investigations", "/overdue-actions", "timeline"])
@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"cursor": "nope!"}, "cursor"),
        ({"cursor": "W10"}, "cursor"),  # a cursor, but not one of this list's
        ({"cursor": "eyJhIjoxfQ"}, "cursor"),
        ({"limit": 1001}, "limit"),
        ({"limit": 0}, "limit"),
    ],
)
def test_a_bad_cursor_or_limit_is_a_422_naming_it(
    desk: CapaDesk, path: str, params: dict[str, Any], where: str
) -> None:
    case = desk.complaint(T0)
    if path == "timeline":
        path = f"/investigations/{case}/timeline"
    response = desk.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert f"query.{where}" in response.text, response.text


def test_a_page_holds_at_most_its_limit_and_1000_is_allowed(desk: CapaDesk) -> None:
    for n in range(3):
        desk.complaint(T0 + timedelta(minutes=n))
    assert len(desk.get("/investigations", params={"limit": 1000}).json()) == 3
    first = desk.get("/investigations", params={"limit": 2})
    assert len(first.json()) == 2 and 'rel="next"' in first.headers["link"]
    assert len(desk.get("/investigations").json()) == 3  # 100 by default


def test_every_list_is_an_indexed_query_without_a_sort(
    desk: CapaDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's plan for each list's query reads an index in the list's order."""
    if desk.service.settings.store != "sqlite":
        pytest.skip("the plan is SQLite's")
    cases = a_history(desk)
    db = desk.view._db
    statements: list[tuple[str, tuple[Any, ...]]] = []
    execute = db.execute

    def recording(cursor: Any, statement: str, params: Any = ()) -> None:
        if statement.startswith("SELECT") and "view_investigations_" in statement:
            statements.append((statement, tuple(params)))
        execute(cursor, statement, params)

    monkeypatch.setattr(db, "execute", recording)
    desk.get("/overdue-actions", params={"limit": 1})
    first = desk.get("/investigations", params={"status": "in_progress", "limit": 1})
    desk.get(first.headers["link"].split(">")[0][1:])
    desk.get("/investigations", params={"customer": "OEM-002", "limit": 1})
    desk.get("/investigations")
    desk.get(f"/investigations/{cases[0]}/timeline", params={"limit": 2})
    monkeypatch.undo()
    assert len(statements) >= 6
    for statement, params in statements:
        with db.transaction(commit=False) as c:
            c.execute("EXPLAIN QUERY PLAN " + statement, params)
            plan = [row["detail"] for row in c.fetchall()]
        assert not any("TEMP B-TREE" in step for step in plan), (statement, plan)
        assert all("INDEX" in step for step in plan if step.startswith(("SCAN", "SEARCH"))), (
            statement,
            plan,
        )
