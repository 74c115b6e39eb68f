"""sla's read side as tables: rebuilt from the log it equals the live one, a restart folds
nothing, every list is paged (and stays exact while rows arrive), the timer seeks, not scans.

On SQLite, and on PostgreSQL too under ``CSC_TEST_STORE=postgres``.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import Tracking

import csc_contracts as pub
import csc_contracts.capa as capa
from csc_contracts import Actor
from csc_devkit.desk import SECRET, Desk
from csc_messaging.runtime import ConsumingService
from csc_messaging.store import wipe_store
from csc_sla import projections
from csc_sla.application import SlaApplication
from csc_sla.bootstrap import SLA, SlaSettings, _timer
from csc_sla.domain import Clock
from csc_sla.entrypoints.http import routes
from csc_sla.projections import ClockBoard

STORES = ["sqlite"] + (["postgres"] if os.environ.get("CSC_TEST_STORE") == "postgres" else [])
T0 = datetime(2026, 10, 13, 1, 0, tzinfo=UTC)  # a Tuesday, 09:00 in Shanghai
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
MARKETING = Actor(user="li.wei", department="marketing")
QC = Actor(user="wang.fang", department="quality")
LISTS = ["/clocks", "/schedules/visits", "/schedules/surveys", "/follow-up-tasks"]


@pytest.fixture(params=STORES)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SlaSettings]:
    if request.param == "sqlite":
        yield SlaSettings(data_dir=tmp_path, store="sqlite", auth_hs256_secret=SECRET)
        return
    pg = request.getfixturevalue("postgres_params")
    found = SlaSettings(
        data_dir=tmp_path, store="postgres", auth_hs256_secret=SECRET,
        postgres_host=pg["host"], postgres_port=pg["port"], postgres_user=pg["user"],
        postgres_password=pg["password"], postgres_db=pg["dbname"],
        postgres_schema=f"sla_{uuid4().hex[:8]}",
    )  # fmt: skip
    yield found
    wipe_store(found, "sla")


def open_service(settings: SlaSettings) -> ConsumingService:
    service = SLA.bootstrap(settings)
    assert isinstance(service.app, SlaApplication)
    service.app.now = lambda: NOW
    return service


@pytest.fixture
def desk(settings: SlaSettings) -> Iterator[Desk]:
    service = open_service(settings)
    yield Desk(service, routes)
    service.app.close()


def board_of(desk: Desk) -> ClockBoard:
    board = desk.service.read_model
    assert isinstance(board, ClockBoard)
    return board


def app_of(desk: Desk) -> SlaApplication:
    assert isinstance(desk.service.app, SlaApplication)
    return desk.service.app


def base(case_id: UUID, at: datetime) -> dict[str, Any]:
    return {"event_id": uuid4(), "case_id": case_id, "occurred_at": at, "actor": MARKETING}


def complaint(case_id: UUID, at: datetime, code: str = "OEM-001") -> pub.ComplaintLogged:
    return pub.ComplaintLogged(
        **base(case_id, at), category="quality", channel="phone",
        receiving_department="marketing", received_at=at, customer={"code": code},
        text="cracked housings",
    )  # fmt: skip


def registered(code: str) -> pub.CustomerRegistered:
    return pub.CustomerRegistered(
        **base(uuid4(), T0 - timedelta(days=400)), code=code, name=code, oem=code < "OEM-003",
        sites=[{"name": "plant", "timezone": "Asia/Shanghai"}],
    )  # fmt: skip


def a_history(desk: Desk) -> list[UUID]:
    """Something of every kind sla keeps: customers, cases, clocks fired, paused and met,
    follow-ups, visits, field days, surveys, returns and CAPAs."""
    for code in ("OEM-001", "OEM-002", "OEM-003"):
        desk.feed(registered(code))
    cases = [uuid4() for _ in range(12)]
    for n, case in enumerate(cases):
        desk.feed(complaint(case, T0 + timedelta(days=n, hours=n), f"OEM-00{n % 3 + 1}"))
    desk.feed(pub.FeedbackReceived(
        **base(uuid4(), T0), channel="email", kind="suggestion", receiving_department="marketing",
        received_at=T0, customer={"code": "OEM-002"}, text="...",
    ))  # fmt: skip
    replied = T0 + timedelta(hours=3)
    desk.feed(pub.ReplySent(**base(cases[0], replied), replied_at=replied, channel="phone",
                            summary="ok"))  # fmt: skip
    desk.feed(pub.OnSiteServiceRequired(**base(cases[1], T0 + timedelta(days=1, hours=2)),
                                        reason="quality_problem"))  # fmt: skip
    desk.feed(pub.FollowUpRecorded(
        **base(cases[2], T0 + timedelta(days=20)), month="2026-10", closed=True,
        result="settled",
    ))  # fmt: skip
    for day, engineer in ((14, "zhao.lei"), (15, "zhao.lei"), (15, "wang.fang")):
        desk.feed(pub.FieldServiceRecorded(
            **base(uuid4(), T0), customer={"code": "OEM-001"}, site="plant",
            work_date=date(2026, 10, day), engineer=engineer,
        ))  # fmt: skip
    desk.feed(pub.CustomerVisited(
        **base(uuid4(), T0), customer={"code": "OEM-002"}, site="plant",
        work_date=date(2026, 10, 20), engineer="zhao.lei",
    ))  # fmt: skip
    desk.feed(pub.SatisfactionSurveyRecorded(
        **base(uuid4(), T0 + timedelta(days=3)), code="OEM-003", year=2026,
        scores={"service": 4},
    ))  # fmt: skip
    desk.feed(pub.ReturnCaseOpened(
        **base(cases[3], T0), clause="4.3", reported_at=T0, customer={"code": "OEM-001"},
        description="cracked housings",
    ))  # fmt: skip
    desk.feed(capa.InvestigationOpened(
        **base(cases[4], T0 + timedelta(days=4)), clause="4.4.3", capa_no="CAPA-2026-001",
        source="complaint", source_event_id=uuid4(), customer={"code": "OEM-002"},
        reported_at=T0 + timedelta(days=4), description="cracked housings",
    ))  # fmt: skip
    desk.feed(capa.TeamConvened(
        **{**base(cases[4], T0 + timedelta(days=5)), "actor": QC}, clause="4.4.4",
        capa_no="CAPA-2026-001", **TEAM,
    ))  # fmt: skip
    app = app_of(desk)
    board = board_of(desk)
    # The timer, up to the morning after the last complaint; a pause over HTTP meanwhile.
    app.fire_due(board.due_by(T0 + timedelta(days=3)), T0 + timedelta(days=3))
    clock = Clock.create_id(cases[11], "reply")
    paused = desk.post(f"/clocks/{clock}/pause", {"reason": "other", "at": (
        T0 + timedelta(days=11, hours=12)).isoformat()}, "marketing")  # fmt: skip
    assert paused.status_code == 200, paused.text
    for moment in (T0 + timedelta(days=8), NOW):
        app.fire_due(board.due_by(moment), moment)
    return cases


TEAM = {
    "leader": {"name": "Wang Fang", "department": "quality"},
    "members": [
        {"name": "Li Wei", "department": "marketing"},
        {"name": "Sun Li", "department": "development"},
        {"name": "Chen Jie", "department": "engineering"},
        {"name": "Zhou Min", "department": "production"},
    ],
}


def answers(desk: Desk) -> list[Any]:
    """What the GETs answer, every page of every list."""
    got = [desk.get("/reports/monthly/2026-10").json()]
    for path in LISTS:
        got.append(every_page(desk, path, limit=5))
    return got


def every_page(desk: Desk, path: str, limit: int, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    response = desk.get(path, params={"limit": limit, **params})
    while True:
        assert response.status_code == 200, response.text
        rows.extend(response.json())
        link = response.headers.get("link")
        if link is None:
            assert len(response.json()) <= limit
            return rows
        assert len(response.json()) == limit
        assert link.endswith('>; rel="next"')
        response = desk.get(link[1 : -len('>; rel="next"')])


def test_a_board_rebuilt_from_the_log_equals_the_live_one(desk: Desk) -> None:
    a_history(desk)
    board = board_of(desk)
    live, before = board.digest(), answers(desk)
    assert len(before[1]) == 12 + 1 + 1 + 1  # replies (complaints, feedback), on site, QC
    assert board.rebuild() == board.head()
    assert board.digest() == live
    assert answers(desk) == before
    # And a board of a store that holds the same log, folded from its first event.
    assert ClockBoard(desk.service.app).digest() == live


def test_a_restart_folds_nothing(settings: SlaSettings) -> None:
    service = open_service(settings)
    try:
        a_history(Desk(service, routes))
        board = service.read_model
        digest, position, bookkeeping = board.digest(), board.position, board.bookkeeping
        assert position == service.app.recorder.max_notification_id()
    finally:
        service.app.close()

    class Counting(ClockBoard):
        applied = 0

        def apply(self, event: Any, rows: Any) -> None:
            type(self).applied += 1
            super().apply(event, rows)

    again = open_service(settings)
    try:
        restarted = Counting(again.app)
        assert restarted.catch_up() == 0 and Counting.applied == 0
        assert (restarted.position, restarted.bookkeeping) == (position, bookkeeping)
        assert restarted.digest() == digest
        again.app.apply_public(complaint(uuid4(), NOW), Tracking("csc.intake.v1:0", 10_000))
        assert restarted.catch_up() == 2 and Counting.applied == 2  # the case and its clock
    finally:
        again.app.close()


def test_paging_clocks_gives_every_clock_once_while_clocks_are_added(desk: Desk) -> None:
    for n in range(120):
        desk.feed(complaint(uuid4(), T0 + timedelta(minutes=10 * n)))
    existing = {row["clock_id"] for row in board_of(desk).clocks()}
    seen: list[str] = []
    response = desk.get("/clocks", params={"limit": 25})
    added = 0
    while True:
        assert response.status_code == 200, response.text
        seen.extend(row["clock_id"] for row in response.json())
        # Clocks start between pages: after the place reached, and before it.
        desk.feed(complaint(uuid4(), T0 + timedelta(days=30, minutes=added)))
        desk.feed(complaint(uuid4(), T0 - timedelta(days=1, minutes=added)))
        added += 1
        link = response.headers.get("link")
        if link is None:
            break
        assert parse_qs(urlsplit(link[1:-13]).query)["limit"] == ["25"]
        response = desk.get(link[1 : -len('>; rel="next"')])
    assert len(seen) == len(set(seen))
    assert existing <= set(seen)
    # Four pages of 25, then the last 20 with the 4 clocks started later meanwhile.
    assert added == 5 and len(seen) == 124
    started = [row["started_at"] for row in every_page(desk, "/clocks", limit=1000)]
    assert started == sorted(started)


def test_the_clock_lists_filter_by_case_and_status(desk: Desk) -> None:
    cases = a_history(desk)
    board = board_of(desk)
    for status in ("running", "warned", "breached", "escalated", "paused", "met"):
        want = [r["clock_id"] for r in board.clocks(status=status)]
        got = every_page(desk, "/clocks", limit=2, status=status)
        assert [r["clock_id"] for r in got] == want
        assert all(r["status"] == status for r in got)
    assert {r["status"] for r in board.clocks()} >= {"met", "paused", "escalated"}
    (one,) = desk.get("/clocks", params={"case_id": str(cases[0])}).json()
    assert one["met_at"] == (T0 + timedelta(hours=3)).isoformat()
    assert [r["clock"] for r in every_page(desk, f"/cases/{cases[1]}/clocks", limit=1)] == [
        "reply", "on_site",
    ]  # fmt: skip
    assert desk.get(f"/cases/{uuid4()}/clocks").status_code == 404
    assert desk.get("/clocks", params={"status": "lost"}).status_code == 422


def test_a_queue_reads_only_the_open_clocks_of_its_promise(desk: Desk) -> None:
    cases = a_history(desk)
    board = board_of(desk)
    open_ = ("running", "warned", "breached", "escalated", "paused")
    for kind in ("reply", "on_site"):
        want = [
            r["clock_id"] for r in board.clocks() if r["clock"] == kind and r["status"] in open_
        ]
        got = every_page(desk, "/clocks", limit=2, clock=kind, status=list(open_))
        assert [r["clock_id"] for r in got] == want
    met = every_page(desk, "/clocks", limit=5, clock="reply", status=["met"])
    assert met and all(r["clock"] == "reply" and r["status"] == "met" for r in met)
    # The follow-up that closed cases[2] (4.6) stopped its reply clock.
    stopped = every_page(desk, "/clocks", limit=5, status=["stopped"])
    assert [r["case_id"] for r in stopped] == [str(cases[2])]
    everything = every_page(desk, "/clocks", limit=5, status=[*open_, "met", "stopped"])
    assert len(everything) == len(board.clocks())
    refused = desk.get("/clocks", params={"clock": "coffee"})
    assert refused.status_code == 422 and "clock" in refused.text


def test_a_queue_reads_its_soonest_due_clocks_first_and_its_cases_own(desk: Desk) -> None:
    # 4.2.1: "due in < 2 h" on top: the queue asks for the first page, soonest due first.
    cases = a_history(desk)
    board = board_of(desk)
    open_ = ("running", "warned", "breached", "escalated", "paused")
    want = sorted(
        (r for r in board.clocks() if r["status"] in open_),
        key=lambda r: (datetime.fromisoformat(r["due_at"]), r["clock_id"]),
    )
    got = every_page(desk, "/clocks", limit=2, status=list(open_), order="due")
    assert [r["clock_id"] for r in got] == [r["clock_id"] for r in want]
    assert len(got) > 2  # more than one page
    # The clocks of several cases at once, in the order they started.
    some = [str(c) for c in cases[:3]]
    mine = every_page(desk, "/clocks", limit=2, case_id=some)
    assert [r["clock_id"] for r in mine] == [
        r["clock_id"] for r in board.clocks() if r["case_id"] in some
    ]
    too_many = desk.get("/clocks", params={"case_id": [str(uuid4()) for _ in range(101)]})
    assert too_many.status_code == 422 and "case_id" in too_many.text
    # A cursor of one order is not one of the other.
    first = desk.get("/clocks", params={"limit": 1, "order": "due"})
    cursor = first.headers["X-Next-Cursor"]
    crossed = desk.get("/clocks", params={"cursor": cursor})
    assert crossed.status_code == 422 and "cursor" in crossed.text
    assert desk.get("/clocks", params={"order": "soon"}).status_code == 422
    # One customer's, soonest due first (a clerk's own view of a queue).
    for code in {r["customer"]["code"] for r in board.clocks()}:
        theirs = every_page(desk, "/clocks", limit=1, customer=code, order="due")
        assert [r["clock_id"] for r in theirs] == [
            r["clock_id"]
            for r in sorted(
                board.clocks(), key=lambda r: (datetime.fromisoformat(r["due_at"]), r["clock_id"])
            )
            if r["customer"]["code"] == code
        ]
    assert every_page(desk, "/clocks", limit=5, customer="NOBODY") == []
    assert desk.get("/clocks", params={"customer": "x" * 201}).status_code == 422


def test_the_paged_schedules_and_tasks_say_what_the_board_says(desk: Desk) -> None:
    a_history(desk)
    board = board_of(desk)
    today = NOW.date()
    assert every_page(desk, "/schedules/visits", 2) == board.visit_schedule(today)
    assert every_page(desk, "/schedules/surveys", 2) == board.survey_schedule(today)
    tasks = every_page(desk, "/follow-up-tasks", 3)
    assert tasks == board.follow_up_tasks(today)
    assert len(tasks) == 12 + 1 - 1  # October's entries but the one followed up to a close
    (visit,) = [r for r in board.visit_schedule(today) if r["code"] == "OEM-002"]
    assert visit["last"] == "2026-10-20" and visit["due_on"] == "2027-04-20"
    (survey,) = [r for r in board.survey_schedule(today) if r["code"] == "OEM-003"]
    assert survey["last"] == (T0 + timedelta(days=3)).date().isoformat()


@pytest.mark.parametrize("which", ["visits", "surveys"])
def test_a_schedule_gives_one_customers_row_when_asked(desk: Desk, which: str) -> None:
    # 4.5, 4.1.5: a customer's page asks for its own row, not every customer's.
    a_history(desk)
    everyone = every_page(desk, f"/schedules/{which}", 2)
    assert len(everyone) == 3
    for row in everyone:
        assert every_page(desk, f"/schedules/{which}", 1, customer=row["code"]) == [row]
    assert every_page(desk, f"/schedules/{which}", 2, customer="NOBODY") == []
    on = "2027-06-01"  # the filter keeps the day asked for
    (later,) = every_page(desk, f"/schedules/{which}", 2, customer="OEM-002", on=on)
    assert later == next(r for r in every_page(desk, f"/schedules/{which}", 5, on=on)
                         if r["code"] == "OEM-002")  # fmt: skip
    assert desk.get(f"/schedules/{which}", params={"customer": "x" * 201}).status_code == 422


@pytest.mark.parametrize("path", [*LISTS, "/cases/{case}/clocks"])
@pytest.mark.parametrize(
    "params",
    # Not base64 JSON; three values; [1, 2] (numbers where the order has text); a space.
    [{"cursor": "nope"}, {"cursor": "WzEsMiwzXQ"}, {"cursor": "WzEsMl0"}, {"cursor": "a b"},
     {"limit": 1001}, {"limit": 0}],
)  # fmt: skip
def test_a_bad_cursor_or_limit_is_a_422_naming_it(
    desk: Desk, path: str, params: dict[str, Any]
) -> None:
    case = uuid4()
    desk.feed(complaint(case, T0))
    response = desk.get(path.format(case=case), params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert f"query.{next(iter(params))}" in response.text


def test_the_timer_fires_batch_after_batch_in_one_tick(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(projections, "DUE_BATCH", 4)
    for n in range(11):
        desk.feed(complaint(uuid4(), T0 + timedelta(minutes=n)))
    board = board_of(desk)
    assert len(board.due_by(NOW)) == 4
    desk.service.settings.sla_tick_seconds = 30  # type: ignore[attr-defined]
    (timer,) = _timer(desk.service)

    async def one_tick() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(timer(stop))
        for _ in range(200):  # the first tick; the next is 30 s away
            await asyncio.sleep(0.05)
            if not await asyncio.to_thread(board.due_by, NOW):
                break
        stop.set()
        await task

    asyncio.run(one_tick())
    assert board.due_by(NOW) == []
    rows = board.clocks()
    assert len(rows) == 11 and all(r["status"] == "escalated" for r in rows)
    # Each deadline once: warned, breached, escalated, after the start.
    assert all(len(list(app_of(desk).events.get(UUID(r["clock_id"])))) == 4 for r in rows)


def test_what_is_due_is_an_index_seek_not_a_scan(settings: SlaSettings) -> None:
    if settings.store != "sqlite":
        pytest.skip("the plan is SQLite's")
    service = open_service(settings)
    try:
        desk = Desk(service, routes)
        for n in range(30):
            desk.feed(complaint(uuid4(), T0 + timedelta(minutes=n)))
        board = board_of(desk)
        assert len(board.due_by(T0 + timedelta(hours=7))) == 30
        (table,) = [t for t in board._live().values() if "_clocks_" in t]
    finally:
        service.app.close()
    with sqlite3.connect(settings.data_dir / "sla.sqlite") as db:
        plan = db.execute(
            f'EXPLAIN QUERY PLAN SELECT doc FROM "{table}" WHERE next_deadline <= ? '
            "ORDER BY next_deadline, clock_id LIMIT 5",
            (0,),
        ).fetchall()
    (step,) = [row[-1] for row in plan]
    assert step.startswith("SEARCH") and "INDEX" in step and "next_deadline<?" in step, step


def figures_of(report: dict[str, Any]) -> dict[tuple[str, str | None], int]:
    """Every figure of the report that counts rows, by (figure, key), as the report says."""
    found: dict[tuple[str, str | None], int] = {}
    for name in ("feedback_by_kind", "feedback_by_channel", "complaints_by_category"):
        found[(name, None)] = sum(report[name].values())
        found |= {(name, key): n for key, n in report[name].items()}
    for name in ("replied_within_8h", "on_site_within_8h"):
        for part in ("started", "met_within_target", "stopped"):
            found[(f"{name}.{part}", None)] = report[name][part]
    for name in ("breaches", "escalations"):
        found[(name, None)] = len(report[name])
        for row in report[name]:
            found[(name, row["clock"])] = found.get((name, row["clock"]), 0) + 1
    for group in ("returns", "capa"):
        found |= {(f"{group}.{part}", None): n for part, n in report[group].items()}
    return found


def test_the_rows_behind_each_figure_are_the_ones_it_counts(desk: Desk) -> None:
    cases = a_history(desk)
    # Started on October's last evening: breached in October, escalated in November.
    late = uuid4()
    evening = datetime(2026, 10, 31, 12, 0, tzinfo=UTC)
    desk.feed(complaint(late, evening, "OEM-003"))
    app_of(desk).fire_due(board_of(desk).due_by(NOW), NOW)
    listed = 0
    for month in ("2026-10", "2026-11"):
        for customer in (None, "OEM-001", "OEM-003"):
            params = {"customer": customer} if customer else {}
            report = desk.get(f"/reports/monthly/{month}", params=params).json()
            for (figure, key), n in figures_of(report).items():
                query = {"figure": figure, **params, **({"key": key} if key else {})}
                answer = desk.get(f"/reports/monthly/{month}/rows", params=query)
                assert answer.status_code == 200, answer.text
                rows = answer.json()
                assert len(rows) == n, (month, customer, figure, key)
                listed += len(rows)
                assert all(customer in (None, r["customer"]["code"]) for r in rows)
            for name in ("breaches", "escalations"):
                rows = desk.get(
                    f"/reports/monthly/{month}/rows", params={"figure": name, **params}
                ).json()
                assert [r["clock_id"] for r in rows] == [b["clock_id"] for b in report[name]]
    assert listed > 50  # a history of every kind: the figures are not all nought
    october, november = (desk.get(f"/reports/monthly/{m}").json() for m in ("2026-10", "2026-11"))
    late_clock = str(Clock.create_id(late, "reply"))
    # An escalation counts in the month it was recorded; its breach in its clock's month.
    assert late_clock in {b["clock_id"] for b in october["breaches"]}
    assert late_clock not in {e["clock_id"] for e in october["escalations"]}
    (escalated,) = [e for e in november["escalations"] if e["clock_id"] == late_clock]
    assert escalated["escalated_at"].startswith("2026-11")
    assert str(cases[0]) not in {e["case_id"] for e in october["escalations"]}  # replied in time
    assert october["escalations"]  # and October's own, the clocks it started and escalated


def test_a_figure_the_report_does_not_have_is_refused(desk: Desk) -> None:
    answer = desk.get("/reports/monthly/2026-10/rows", params={"figure": "visits_made"})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["loc"] == ["query", "figure"]
