"""``csc audit`` over HTTP (csc_audit.http), through the real path: intake and sla on the real
broker, complaints through intake's API, then the reads an auditor's page makes.

- ``GET /audit/chain`` of intake and sla: verified, with as many events as the store holds;
  and on a copy of intake's store with one byte changed, broken at that event, named as
  ``csc audit verify`` names it (ISO 9001 §7.5.3);
- ``GET /audit/cases/{case}/as-of``: before the reply the case's reply clock runs, after
  it it is met (the time things happened);
- ``GET /audit/cases/{case}/bundle.zip``: a bundle ``csc audit verify --bundle`` passes,
  its manifest's sha256 in ``X-Manifest-SHA256``;
- ``GET /forms/register.pdf|xlsx`` (att. 3): the month's Register, the complaint in it.
"""

from __future__ import annotations

import io
import shutil
import sqlite3
import zipfile
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from openpyxl import load_workbook

from csc_audit.bundle import verify_bundle
from e2e.conftest import STORE, Stack
from e2e.support import (
    complaint,
    created,
    intake_client,
    read,
    wait_caught_up,
    wait_until,
)

pytestmark = pytest.mark.integration


@dataclass
class Published:
    stack: Stack
    intake: str
    sla: str
    cases: list[str]
    replied_at: datetime


@pytest.fixture(scope="module")
def published(module_stack: Stack) -> Published:
    intake = module_stack.start("intake", CSC_AUDIT_CHECKPOINT_SECONDS="0.3")
    sla = module_stack.start("sla", CSC_AUDIT_CHECKPOINT_SECONDS="0.3")
    marketing = intake_client(module_stack, intake)  # the customer too
    cases = [created(f"{intake.url}/complaints", complaint(n))["case_id"] for n in range(2)]
    wait_caught_up(marketing, sla.url)
    replied_at = datetime.now(UTC).replace(microsecond=0)
    reply = {"channel": "phone", "summary": "Replacement units leave today."}
    assert marketing.post(f"/register-entries/{cases[0]}/replies", json=reply).is_success
    wait_caught_up(marketing, sla.url)

    def met() -> bool:
        clocks = read(f"{sla.url}/cases/{cases[0]}/clocks").json()
        return any(c["clock"] == "reply" and c["status"] == "met" for c in clocks)

    wait_until(met, what="the reply clock met")
    return Published(module_stack, intake.url, sla.url, cases, replied_at)


def test_each_service_answers_its_chain_verified(published: Published) -> None:
    def verified(url: str) -> dict[str, object] | None:
        answer = read(f"{url}/audit/chain")
        assert answer.status_code == 200, answer.text
        body: dict[str, object] = answer.json()
        # Checked once everything stored is published (the relay may be a batch behind).
        return body if body["ok"] and not body["unpublished"] else None

    intake = wait_until(lambda: verified(published.intake), what="intake's chain published")
    position = read(f"{published.intake}/digest").json()["position"]
    assert intake["events"] == position and intake["first"] is None
    assert str(intake["lines"][0]).startswith(f"intake: OK {position} events, head ")  # type: ignore[index]
    sla = wait_until(lambda: verified(published.sla), what="sla's chain published")
    assert sla["service"] == "sla" and int(sla["events"]) > 0  # type: ignore[call-overload]
    # A token is needed, as for every read.
    assert httpx.get(f"{published.intake}/audit/chain").status_code == 401


@pytest.mark.skipif(STORE != "sqlite", reason="copies intake's SQLite file")
def test_a_copy_of_the_store_with_one_byte_changed_is_broken_at_that_event(
    published: Published,
) -> None:
    stack = published.stack
    wait_until(
        lambda: not read(f"{published.intake}/audit/chain").json()["unpublished"],
        what="intake published",
    )
    copy = stack.data_dir / "copy"
    copy.mkdir()
    with (
        closing(sqlite3.connect(stack.data_dir / "intake.sqlite")) as source,
        closing(sqlite3.connect(copy / "intake.sqlite")) as target,
    ):
        source.backup(target)  # a consistent copy while the service runs
    for view in stack.data_dir.glob("intake?*.sqlite"):  # its read model, as it stands
        shutil.copy(view, copy / view.name)
    named = published.cases[1]
    with closing(sqlite3.connect(copy / "intake.sqlite")) as db, db:
        position, state = db.execute(
            "SELECT rowid, state FROM stored_events WHERE originator_id = ? "
            "AND originator_version = 1",
            (UUID(named).hex,),
        ).fetchone()
        assert b"(report 1)" in state
        db.execute(
            "UPDATE stored_events SET state = ? WHERE rowid = ?",
            (state.replace(b"(report 1)", b"(report 9)"), position),
        )
    tampered = stack.start("intake", CSC_DATA_DIR=str(copy), CSC_RELAY_ENABLED="false")
    try:
        body = read(f"{tampered.url}/audit/chain").json()
        assert body["ok"] is False
        first = body["first"]
        assert first["position"] == position and first["kind"] == "edited"
        assert first["where"] == "store"
        assert named in first["message"] and "ComplaintLogged" in first["message"]
        assert str(body["lines"][0]).startswith(
            f"intake: BROKEN at notification {position} [edited, store]: "
        )
        # The live store is untouched.
        assert read(f"{published.intake}/audit/chain").json()["ok"] is True
    finally:
        tampered.stop()


def test_the_case_as_of_a_moment(published: Published) -> None:
    case = published.cases[0]
    url = f"{published.intake}/audit/cases/{case}/as-of"

    def as_of(at: datetime) -> dict[str, Any]:
        answer = read(url, params={"at": at.isoformat()})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    # Once sla's relay has published the clock's meeting (read from Kafka, as csc audit reads).
    now = wait_until(
        lambda: (
            (s := as_of(datetime.now(UTC) + timedelta(minutes=1)))["clocks"]
            .get("reply", {})
            .get("stage")
            == "ClockMet"
            and s
        ),
        what="the reply clock met on csc.sla.v1",
    )
    clock = now["clocks"]["reply"]["fields"]
    started, met = (datetime.fromisoformat(clock[k]) for k in ("started_at", "met_at"))
    then = as_of(started + (met - started) / 2)  # after the complaint, before the reply
    assert then["clocks"]["reply"]["stage"] in ("ClockStarted", "ClockWarned"), then["clocks"]
    assert "ReplySent" not in then["services"]["intake"]["history"]
    assert "ReplySent" in now["services"]["intake"]["history"]
    naive = read(url, params={"at": "2026-11-01T08:00"})
    assert naive.status_code == 422 and "time zone" in naive.json()["detail"]


def test_a_case_bundle_checks_on_its_own(published: Published) -> None:
    case = published.cases[0]
    answer = read(f"{published.intake}/audit/cases/{case}/bundle.zip", timeout=60)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    path = published.stack.data_dir / "bundle.zip"
    path.write_bytes(answer.content)
    report = verify_bundle(path, expect_manifest_sha256=answer.headers["x-manifest-sha256"])
    assert report.ok, report.lines()
    names = zipfile.ZipFile(io.BytesIO(answer.content)).namelist()
    assert "events/intake.jsonl" in names and "timeline.json" in names


def test_the_register_of_the_month(published: Published) -> None:
    month = f"{datetime.now(UTC):%Y-%m}"
    pdf = read(f"{published.intake}/forms/register.pdf", params={"month": month}, timeout=60)
    assert pdf.status_code == 200, pdf.text
    assert pdf.content.startswith(b"%PDF")
    xlsx = read(f"{published.intake}/forms/register.xlsx", params={"month": month}, timeout=60)
    assert xlsx.status_code == 200, xlsx.text
    sheet = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert any("(report 0)" in c for c in cells) and any("(report 1)" in c for c in cells)
    neither = read(f"{published.intake}/forms/register.pdf")
    assert neither.status_code == 422
