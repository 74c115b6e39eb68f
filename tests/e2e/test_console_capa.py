"""A quality complaint's CAPA run as a guided 8D through the console, in a real browser.

Marketing logged a quality complaint; capa opened QC's investigation (4.4.3). In the
browser QC contacts the customer, asks for photos, uploads one (shown as a thumbnail with
its SHA-256) and confirms; records D0; convenes the team, first without Production
(refused at the field with the rule of 4.4.4), then with every department it needs;
describes the problem (D2) and contains it (D3). Engineering finds the root cause (D4) and
plans an action owned by Production (D5); QC tries to close before the action is verified
and the page shows capa's refusal with its clause (4.3.4) and what is still missing.
Production finds the action in its own queue and records its implementation (D6); QC
verifies effectiveness, records D7 and closes (D8). The 8D report is downloaded from the
page and read back with pdftotext; every step is read back from capa's HTTP API and the
closure from csc.capa.v1. Each page is scanned with axe and kept as a screenshot under
``artifacts/console/<locale>/``; run in zh-CN (Asia/Shanghai) and en (Europe/Berlin).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import struct
import subprocess
import uuid
import zlib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from csc_devkit.processes import ServiceProcess
from e2e.browser import RUNS, People, look, no_id_twice, send
from e2e.conftest import Stack
from e2e.support import auth, read, read_topic, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ROOT_CAUSE = "Gate heater 15 K low after maintenance"
ESCAPE = "Final inspection misses cracks under 0.2 mm"
ACTION = "Heater alarm at 5 K below set point"
VALIDATION = "Alarm tested on three shifts"
RESULT = "No cracks in 10,000 units"
RECOGNITION = "Team thanked at the plant meeting"
WORDS = {
    "zh-CN": {"missing": "生产部", "closed": "已关闭", "not_verified": "经效果验证有效后才能关闭"},
    "en": {"missing": "production", "closed": "closed", "not_verified": "verified effective"},
}


def png(width: int = 16, height: int = 12) -> bytes:
    """A small red photo, as a camera's PNG would begin and end."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xd0\x20\x20" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _pdf_text(path: Path) -> str:
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    # Long texts wrap in table cells: compare without whitespace to find them across wraps.
    return "".join(done.stdout.split())


def _investigation(capa: str, case_id: str) -> dict[str, Any]:
    answer = read(f"{capa}/investigations/{case_id}")
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


@pytest.mark.timeout(600)  # four browsers through twenty steps, each page scanned with axe
@pytest.mark.parametrize("language", list(RUNS))
def test_a_quality_complaints_capa_through_the_8d_to_closure_in_the_browser(
    browser: Browser,
    console: tuple[ServiceProcess, dict[str, ServiceProcess]],
    module_stack: Stack,
    language: str,
    tmp_path: Path,
) -> None:
    process, services = console
    url, intake, capa = process.url, services["intake"].url, services["capa"].url
    code = f"OEM-{uuid.uuid4().hex[:6].upper()}"
    for path, body in (
        ("customers", {"code": code, "name": f"Dongfeng Motor {code}", "oem": True,
                       "sites": [{"name": "Wuhan plant 2", "timezone": "Asia/Shanghai"}]}),
        ("complaints", {"category": "quality", "channel": "phone",
                        "receiving_department": "after_sales", "customer_code": code,
                        "product": "CN-220 connector", "lot": "L2026-11-0042",
                        "text": f"Housings cracked at line 3 ({code})."}),
    ):  # fmt: skip
        answer = httpx.post(f"{intake}/{path}", headers=auth("marketing"), json=body)
        assert answer.status_code == 201, answer.text
    case_id = answer.json()["case_id"]
    wait_until(
        lambda: read(f"{capa}/investigations/{case_id}").status_code == 200,
        what="QC's investigation opened from the complaint",
    )
    signed_in = People(browser, language, url)

    def capa_page(page: Page) -> None:
        page.goto(f"{url}/cases/{case_id}/capa")
        expect(page.locator("#h-investigation")).to_be_visible()
        no_id_twice(page)

    try:
        # ---- 4.4.3: QC's investigation, from the case page --------------------------------
        qc = signed_in("wang.fang")
        expect(qc.locator(f"#capa-investigating-{case_id}")).to_be_visible()
        qc.goto(f"{url}/cases/{case_id}")
        qc.locator("#capa-link").click()
        qc.wait_for_url(f"{url}/cases/{case_id}/capa")
        for later in ("#team-form", "#d2-form", "#d8-form"):
            expect(qc.locator(later)).to_have_count(0)
        look(qc, language, "40-capa-investigation")

        qc.locator("#f-contact-contact").fill("Mr. Zhao, SQE")
        qc.locator("#f-contact-means").fill("phone")
        qc.locator("#f-contact-summary").fill("Cracks at the gate on 40 units")
        send(qc, "#contact-form")
        qc.locator("#evidence-request-form input[name=kind_photos]").check()
        qc.locator("#f-evreq-details").fill("Photos of two cracked units, close up")
        send(qc, "#evidence-request-form")
        photo = png()
        digest = hashlib.sha256(photo).hexdigest()
        qc.locator("#f-evidence-file").set_input_files(
            {"name": "unit7.png", "mimeType": "image/png", "buffer": photo}
        )
        qc.locator("#f-evidence-description").fill("Unit 7, crack at the gate")
        qc.locator("#f-evidence-request_no").select_option("1")
        qc.locator("#evidence-form button[type=submit]").click()
        item = qc.locator(f".evidence-item[data-sha256='{digest}']")
        expect(item.locator("code.sha256")).to_have_text(digest)
        thumb = item.locator("img.thumb")
        expect(thumb).to_be_visible()
        # The thumbnail is the photo itself, read back through the console from capa.
        qc.wait_for_function(
            "img => img.complete && img.naturalWidth === 16", arg=thumb.element_handle()
        )
        qc.locator("#f-confirm-finding").fill("Cracks confirmed on both photos")
        send(qc, "#confirm-form")
        expect(qc.locator(".finding[data-outcome=confirmed]")).to_be_visible()
        qc.locator("#f-d0-actions").fill("Sorted 2,000 units at the customer")
        send(qc, "#d0-form")
        look(qc, language, "41-capa-confirmed")
        inv = _investigation(capa, case_id)
        assert inv["status"] == "confirmed" and inv["evidence"][0]["sha256"] == digest
        assert inv["evidence"][0]["request_no"] == 1
        assert inv["contacts"][0]["actor"] == {"user": "wang.fang", "department": "quality"}
        assert read(f"{capa}/investigations/{case_id}/evidence/{digest}").content == photo

        # ---- D1: the team, first without Production: the rule of 4.4.4 at the field -------
        team = qc.locator("#team-form")
        expect(qc.locator("#team-rule")).to_contain_text("4.4.4")
        expect(team.locator(".team-check li[data-department=production] .state")).not_to_be_empty()
        qc.locator("#f-team-leader_name").fill("Wang Fang")
        members = [
            ("Li Wei", "marketing", "customer contact"),
            ("Liu Yang", "development", "design"),
            ("Chen Jie", "engineering", "process engineer"),
        ]
        for i, (name, department, role) in enumerate(members):
            qc.locator(f"#f-team-member_{i}_name").fill(name)
            qc.locator(f"#f-team-member_{i}_department").select_option(department)
            qc.locator(f"#f-team-member_{i}_role").fill(role)
        expect(team.locator(".team-check li[data-department=production]")).not_to_have_class(
            "present"
        )
        expect(team.locator(".team-check li[data-department=engineering]")).to_have_class("present")
        # Three members: capa takes at least four; the page says so in the rule's words.
        send(qc, "#team-form")
        expect(qc.locator("#err-team-members")).to_contain_text("4.4.4")
        expect(qc.locator("#f-team-member_2_name")).to_have_value("Chen Jie")
        qc.locator("#f-team-member_3_name").fill("Zhou Min")
        qc.locator("#f-team-member_3_department").select_option("warehouse")
        send(qc, "#team-form")
        expect(qc.locator("#team-form .refusal .clause")).to_contain_text("4.4.4")
        expect(qc.locator("#err-team-members")).to_contain_text("production")
        look(qc, language, "42-capa-team-refused")
        assert _investigation(capa, case_id)["team"] is None
        qc.locator("#f-team-member_3_department").select_option("production")
        qc.locator("#f-team-member_3_role").fill("line 3 lead")
        send(qc, "#team-form")
        expect(qc.locator("#d1 table.team tbody tr")).to_have_count(5)

        # ---- D2, D3 by QC ------------------------------------------------------------------
        for name, text in (("what", "Housing cracks at the gate"), ("where", "Line 3"),
                           ("when", "Night shift"), ("who", "Incoming inspection"),
                           ("why", "Drawing CN-220 rev C allows no cracks"),
                           ("how", "Visual inspection"), ("how_many", "40 of 2,000")):  # fmt: skip
            qc.locator(f"#f-d2-{name}").fill(text)
        send(qc, "#d2-form")
        qc.locator("#f-d3-actions").fill("Blocked lot L2026-11-0042")
        qc.locator("#f-d3-scope").fill("FG and WIP")
        qc.locator("#f-d3-quantity").fill("800")
        send(qc, "#d3-form")

        # ---- D4, D5 by Engineering, on the team -------------------------------------------
        engineering = signed_in("chen.jie")
        capa_page(engineering)
        for not_theirs in ("#contact-form", "#confirm-form", "#d8-form", "#effectiveness-form"):
            expect(engineering.locator(not_theirs)).to_have_count(0)
        engineering.locator("#f-d4-root_cause").fill(ROOT_CAUSE)
        engineering.locator("#f-d4-escape_point").fill(ESCAPE)
        engineering.locator("#f-d4-method").fill("5 whys")
        send(engineering, "#d4-form")
        due = date.today() + timedelta(days=3)
        engineering.locator("#f-d5-description").fill(ACTION)
        engineering.locator("#f-d5-owner_name").fill("Zhou Min")
        engineering.locator("#f-d5-owner_department").select_option("production")
        engineering.locator("#f-d5-due").fill(due.isoformat())
        send(engineering, "#d5-form")
        expect(engineering.locator("#action-1 .badge")).to_be_visible()
        # Not the owner's department, nor the leader's: no implementation form (4.3.4).
        expect(engineering.locator("#d6-1-form")).to_have_count(0)
        look(engineering, language, "43-capa-actions")

        # ---- D8 too early: capa refuses, the page says why with the clause -----------------
        capa_page(qc)
        expect(qc.locator("#close-gaps")).to_contain_text("4.3.4")
        qc.locator("#f-d8-summary").fill("Closed early")
        qc.locator("#f-d8-recognition").fill("None yet")
        send(qc, "#d8-form")
        refusal = qc.locator("#d8-form .refusal")
        expect(refusal).to_be_visible()
        expect(refusal.locator(".clause")).to_contain_text("4.3.4")
        # in the viewer's language, by capa's code for the refusal
        expect(refusal).to_contain_text(WORDS[language]["not_verified"])
        expect(qc.locator("#f-d8-summary")).to_have_value("Closed early")
        look(qc, language, "44-capa-close-refused")
        assert _investigation(capa, case_id)["status"] == "in_progress"

        # ---- D6 by Production, from its own queue ------------------------------------------
        production = signed_in("zhao.lei")
        mine = production.locator(f"#capa-mine-{case_id}-1")
        expect(mine).to_contain_text(ACTION[:20])
        expect(mine.locator(".badge")).to_be_visible()
        look(production, language, "45-queue-production-my-actions")
        mine.locator("a[href*='/capa']").click()
        production.locator("#f-d6-1-validation").fill(VALIDATION)
        send(production, "#d6-1-form")
        expect(production.locator("#action-1")).to_have_attribute("data-status", "implemented")

        # ---- verification, D7, D8 by QC ----------------------------------------------------
        capa_page(qc)
        qc.locator("#effectiveness-form input[name=effective][value=yes]").check()
        qc.locator("#f-eff-method").fill("5 lots audited")
        qc.locator("#f-eff-result").fill(RESULT)
        send(qc, "#effectiveness-form")
        qc.locator("#f-d7-update_0_kind").select_option("fmea")
        qc.locator("#f-d7-update_0_reference").fill("PFMEA-220 rev D")
        qc.locator("#f-d7-update_0_change").fill("Heater drift as a cause")
        send(qc, "#d7-form")
        expect(qc.locator("#close-gaps")).to_have_count(0)
        qc.locator("#f-d8-summary").fill("Effective after the heater alarm")
        qc.locator("#f-d8-recognition").fill(RECOGNITION)
        send(qc, "#d8-form")
        expect(qc.locator("#capa-status")).to_have_attribute("data-status", "closed")
        expect(qc.locator("#capa-status")).to_have_text(WORDS[language]["closed"])
        look(qc, language, "46-capa-closed")

        inv = _investigation(capa, case_id)
        assert inv["status"] == "closed"
        assert inv["closure"]["recognition"] == RECOGNITION
        assert inv["closure"]["actor"] == {"user": "wang.fang", "department": "quality"}
        assert inv["d4"][0]["actor"] == {"user": "chen.jie", "department": "engineering"}
        assert inv["actions"][0]["actor"]["department"] == "engineering"
        assert inv["actions"][0]["owner"] == {"name": "Zhou Min", "department": "production"}
        assert inv["actions"][0]["status"] == "implemented"
        assert inv["verifications"][0]["effective"] is True
        assert {m["department"] for m in inv["team"]["members"]} == {
            "marketing", "development", "engineering", "production"
        }  # fmt: skip

        # ---- 4.3.4: the customer asks for 8D; the preview shows what the PDF prints --------
        expect(qc.locator("#report-format")).to_contain_text("CPAR")
        qc.locator("#customer-format-more > summary").press("Enter")
        qc.locator("#f-customer-format-format").select_option("8d")
        send(qc, "#customer-format-form")
        expect(qc.locator("#report-format")).to_contain_text("8D")
        assert _investigation(capa, case_id)["report_format_source"] == "customer"
        qc.locator("#preview-8d").click()
        sheet = qc.locator("#report-preview-body .report-sheet[data-format='8d']")
        expect(sheet).to_contain_text(ROOT_CAUSE)
        expect(sheet).to_contain_text(inv["capa_no"])
        expect(sheet).to_contain_text(RECOGNITION)
        look(qc, language, "47-capa-report-preview")

        # ---- the 8D, downloaded from the page and read back -------------------------------
        with qc.expect_download() as download:
            qc.locator("#download-8d-pdf").click()
        pdf = tmp_path / f"capa-{language}.pdf"
        download.value.save_as(pdf)
        assert download.value.suggested_filename.endswith(".pdf")
        text = _pdf_text(pdf)
        for expected in (inv["capa_no"], "D0", "D4", "D8", ROOT_CAUSE, ESCAPE, ACTION,
                         "PFMEA-220 rev D", RESULT, RECOGNITION, "Zhou Min"):  # fmt: skip
            assert "".join(expected.split()) in text, expected

        # The closure came out on csc.capa.v1, by QC, under the clause of 4.4.4.
        def closed() -> dict[str, Any] | None:
            for record in read_topic(module_stack.bootstrap, module_stack.topics.events("capa")):
                body = json.loads(record.value)
                kind = dict(record.headers)["ce_type"].decode()
                if body.get("case_id") == case_id and kind.split(".")[2] == "CapaClosed":
                    return dict(body)
            return None

        with concurrent.futures.ThreadPoolExecutor(1) as pool:  # away from Playwright's loop
            event = pool.submit(wait_until, closed, 30, "CapaClosed on csc.capa.v1").result()
        assert event["actor"] == {"user": "wang.fang", "department": "quality"}
        assert event["clause"] == "4.4.4"
    finally:
        signed_in.close()
