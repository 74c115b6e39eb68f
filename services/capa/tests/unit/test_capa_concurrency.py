"""Parallel writers on one investigation, two replicas on one store; keys, uploads included."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from csc_capa.application import CapaApplication
from csc_capa.bootstrap import CAPA, CapaSettings
from csc_capa.entrypoints.http import evidence_handlers, routes
from csc_devkit.desk import SECRET, Desk, auth, quality_complaint, refused
from csc_devkit.desk import replicas as desk_replicas

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
CONTACT = {"contact": "Mr. Zhao, SQE", "means": "phone", "summary": "Cracks at the gate."}


class CapaDesk(Desk):
    def complaint(self) -> str:
        """A quality complaint as intake publishes it: QC's investigation opens (4.4.3)."""
        complaint = quality_complaint(T0)
        self.feed(complaint)
        return str(complaint.case_id)

    def investigation(self, case: str) -> dict[str, Any]:
        response = self.get(f"/investigations/{case}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def step(self, case: str, path: str, body: dict[str, Any]) -> None:
        response = self.post(f"/investigations/{case}/{path}", body, "quality")
        assert response.status_code == 201, response.text


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[tuple[CapaDesk, CapaDesk]]:
    """Two processes' worth of capa (each its own lock) over the same store."""
    settings = CapaSettings(
        data_dir=tmp_path, relay_enabled=False, auth_hs256_secret=SECRET, evidence_max_bytes=1000
    )
    with desk_replicas(CAPA, settings, T0 + timedelta(hours=2)) as (one, other):
        assert isinstance(one.app, CapaApplication)
        yield CapaDesk(one, routes, evidence_handlers), CapaDesk(other, routes, evidence_handlers)


def test_parallel_contacts_on_one_case_are_each_recorded_once_or_refused_409(
    replicas: tuple[CapaDesk, CapaDesk],
) -> None:
    one, other = replicas
    case = one.complaint()

    def contact(n: int) -> Any:
        body = {**CONTACT, "summary": f"call {n}"}
        return (one, other)[n % 2].post(f"/investigations/{case}/contacts", body, "quality")

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(contact, range(20)))
    codes = [r.status_code for r in responses]
    assert set(codes) <= {201, 409}, [r.text for r in responses if r.status_code >= 500]
    for response in responses:
        if response.status_code == 409:
            refused(response, 409, "concurrency")
    contacts = [c["summary"] for c in one.investigation(case)["contacts"]]
    assert sorted(contacts) == sorted(f"call {n}" for n, c in enumerate(codes) if c == 201)


def test_an_uploads_key_replays_the_same_bytes_and_refuses_others(
    replicas: tuple[CapaDesk, CapaDesk],
) -> None:
    desk, _ = replicas
    case = desk.complaint()
    desk.step(case, "contacts", CONTACT)

    def upload(data: bytes, user: str = "wang.fang") -> Any:
        return desk.http.post(
            f"/investigations/{case}/evidence",
            content=data,
            params={"filename": "crack.jpg"},
            headers={**auth("quality", user, "photo-1"), "Content-Type": "image/jpeg"},
        )

    first = upload(b"\xff\xd8 the photo")
    before = desk.events()
    again = upload(b"\xff\xd8 the photo")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json() and desk.events() == before
    refused(upload(b"\xff\xd8 another photo"), 422, "Idempotency-Key")
    # Another user's key of the same name is their own request.
    assert upload(b"\xff\xd8 another photo", user="chen.jie").status_code == 201
    assert len(desk.investigation(case)["evidence"]) == 2


def test_a_report_formats_key_replays_without_a_new_revision(
    replicas: tuple[CapaDesk, CapaDesk],
) -> None:
    desk, _ = replicas
    headers = auth("quality", key="format-1")
    first = desk.http.put("/report-formats/OEM-001", json={"format": "8d"}, headers=headers)
    again = desk.http.put("/report-formats/OEM-001", json={"format": "8d"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["revision"] == first.json()["revision"] == 1
    other = desk.http.put("/report-formats/OEM-001", json={"format": "cpar"}, headers=headers)
    refused(other, 422, "Idempotency-Key")


def test_every_write_takes_an_idempotency_key(replicas: tuple[CapaDesk, CapaDesk]) -> None:
    desk, _ = replicas
    paths = desk.http.app.openapi()["paths"]  # type: ignore[attr-defined]
    writes = [
        (m, p, op) for p, ops in paths.items() for m, op in ops.items() if m in ("post", "put")
    ]
    assert len(writes) > 15
    for method, path, op in writes:
        headers = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
        assert "Idempotency-Key" in headers, (method, path)
