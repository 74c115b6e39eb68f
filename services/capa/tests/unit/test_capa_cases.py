"""Capa over HTTP, without Kafka: the investigation, the 8D to closure, evidence and who may act.

Intake's and returns' events are fed by hand (as Kafka would), commands go
over HTTP against a real SQLite store. Each refused step must name its
clause and record nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

import csc_contracts as pub
from csc_capa.application import CapaApplication
from csc_capa.bootstrap import CAPA, CapaSettings
from csc_capa.entrypoints.http import evidence_handlers, routes
from csc_capa.permissions import EIGHT_D_STEPS, WRITES
from csc_contracts import Actor, Department
from csc_devkit.desk import SECRET, Desk, auth, refused

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
LOT = "L2026-11-07"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(17)
CUSTOMER = pub.CustomerRef(code="OEM-001", name="Dongfeng Motor", oem=True)
MARKETING = Actor(user="li.wei", department=Department.MARKETING)

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
PROBLEM = {
    "what": "Housing cracks at the gate",
    "where": "Customer line 3, Wuhan plant 2",
    "when": "2026-11-23 night shift",
    "who": "Customer's incoming inspection",
    "why": "Drawing CN-220 rev C: no cracks",
    "how": "Visual inspection at assembly",
    "how_many": "40 of 2,000",
}
ROOT_CAUSE = {
    "root_cause": "Mould gate temperature 15 K low after a heater change",
    "escape_point": "Final inspection samples 5 per lot; cracks under 0.2 mm not visible",
    "method": "5 whys",
}


class CapaDesk(Desk):
    @property
    def app(self) -> CapaApplication:
        assert isinstance(self.service.app, CapaApplication)
        return self.service.app

    def complaint(self, category: str = "quality") -> str:
        case_id = uuid4()
        self.feed(
            pub.ComplaintLogged(
                event_id=uuid4(),
                case_id=case_id,
                occurred_at=T0,
                actor=MARKETING,
                category=pub.ComplaintCategory(category),
                channel=pub.Channel.PHONE,
                receiving_department=Department.AFTER_SALES,
                received_at=T0,
                customer=CUSTOMER,
                text="Housings cracked on line 3; 40 units affected.",
                product="CN-220 connector",
                lot=LOT,
            )
        )
        return str(case_id)

    def investigation(self, case: str) -> dict[str, Any]:
        response = self.get(f"/investigations/{case}")
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def step(self, case: str, path: str, body: dict[str, Any], department: str = "quality") -> Any:
        response = self.post(f"/investigations/{case}/{path}", body, department)
        assert response.status_code == 201, (path, response.text)
        return response.json()

    def upload(
        self, case: str, data: bytes, media_type: str, name: str = "photo.jpg", **params: Any
    ) -> Any:
        return self.http.post(
            f"/investigations/{case}/evidence",
            content=data,
            params={"filename": name, **params},
            headers={**auth("quality"), "Content-Type": media_type},
        )


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[CapaDesk]:
    service = CAPA.bootstrap(
        CapaSettings(
            data_dir=tmp_path,
            relay_enabled=False,
            auth_hs256_secret=SECRET,
            evidence_max_bytes=1000,
        )
    )
    assert isinstance(service.app, CapaApplication)
    service.app.now = lambda: T0 + timedelta(hours=2)
    yield CapaDesk(service, routes, evidence_handlers)
    service.app.close()


def confirmed(desk: CapaDesk) -> str:
    case = desk.complaint()
    desk.step(case, "contacts", CONTACT)
    desk.step(case, "confirmation", {"finding": "Cracks confirmed on 2 returned samples"})
    return case


def in_progress(desk: CapaDesk) -> str:
    case = confirmed(desk)
    desk.step(case, "team", TEAM)
    desk.step(case, "d2/problem", PROBLEM)
    desk.step(case, "d3/containment", {"actions": "Sort stock", "scope": "FG stock", "quantity": 0})
    desk.step(case, "d4/root-cause", ROOT_CAUSE)
    return case


def plan(desk: CapaDesk, case: str, due: str = "2026-12-10") -> int:
    row = desk.step(
        case,
        "d5/actions",
        {
            "description": "Gate heater alarm at 5 K",
            "owner": {"name": "Chen Jie", "department": "engineering"},
            "due": due,
        },
        "engineering",
    )
    return int(row["actions"][-1]["action_no"])


# Investigation (4.4.3) ------------------------------------------------------------------------


def test_4_4_3_a_quality_complaint_opens_an_investigation_owned_by_qc(desk: CapaDesk) -> None:
    quality = desk.complaint("quality")
    service = desk.complaint("service")
    row = desk.investigation(quality)
    assert (row["status"], row["owner_department"], row["source"]) == (
        "investigating",
        "quality",
        "complaint",
    )
    assert row["capa_no"] == f"CAPA-{UUID(quality).hex[:8].upper()}"
    assert desk.get(f"/investigations/{service}").status_code == 404
    [opened] = desk.get(f"/investigations/{quality}/timeline").json()
    assert (opened["event"], opened["clause"], opened["actor"]["department"]) == (
        "InvestigationOpened",
        "4.4.3",
        "system",
    )


def test_4_4_3_confirmation_follows_a_contact_with_the_customer(desk: CapaDesk) -> None:
    case = desk.complaint()
    before = desk.events()
    refused(desk.post(f"/investigations/{case}/confirmation", {"finding": "x"}, "quality"),
            409, "4.4.3")  # fmt: skip
    early = {**CONTACT, "contacted_at": (T0 - timedelta(hours=1)).isoformat()}
    refused(desk.post(f"/investigations/{case}/contacts", early, "quality"), 422, "4.4.3")
    assert desk.events() == before
    desk.step(case, "contacts", CONTACT)
    request = desk.step(case, "evidence-requests", {"kinds": ["samples", "photos"],
                                                    "details": "2 cracked units"})  # fmt: skip
    assert request["evidence_requests"][0]["request_no"] == 1
    row = desk.step(case, "confirmation", {"finding": "Cracks confirmed"})
    assert row["status"] == "confirmed" and row["finding"]["outcome"] == "confirmed"


def test_4_4_3_evidence_is_stored_by_content_and_refused_with_a_reason(desk: CapaDesk) -> None:
    case = desk.complaint()
    desk.step(case, "evidence-requests", {"kinds": ["photos"], "details": "Of the crack"})
    photo = b"\xff\xd8\xff\xe0 a small JPEG " * 10
    stored = desk.upload(case, photo, "image/jpeg", request_no=1, description="crack, unit 7")
    assert stored.status_code == 201, stored.text
    digest = hashlib.sha256(photo).hexdigest()
    assert stored.json()["sha256"] == digest
    [entry] = stored.json()["investigation"]["evidence"]
    assert (entry["sha256"], entry["size"], entry["media_type"], entry["request_no"]) == (
        digest,
        len(photo),
        "image/jpeg",
        1,
    )
    back = desk.get(f"/investigations/{case}/evidence/{digest}")
    assert back.status_code == 200 and back.content == photo

    before = desk.events()
    too_big = desk.upload(case, b"x" * 1001, "image/jpeg")
    assert too_big.status_code == 413 and "1,000 bytes" in too_big.json()["detail"]
    wrong_type = desk.upload(case, b"MZ\x90\x00", "application/x-msdownload", name="a.exe")
    assert wrong_type.status_code == 415
    assert "application/x-msdownload" in wrong_type.json()["detail"]
    assert desk.upload(case, b"", "image/jpeg").status_code == 422
    unknown_request = desk.upload(case, PNG, "image/png", name="b.png", request_no=9)
    refused(unknown_request, 422, "4.4.3")
    assert desk.events() == before

    # Evidence edited in the store no longer matches its hash: served as an error, not as bytes.
    blob = next((desk.service.settings.data_dir / "capa-evidence").rglob(digest[2:]))
    blob.write_bytes(b"edited")
    assert desk.get(f"/investigations/{case}/evidence/{digest}").status_code == 500


@pytest.mark.parametrize(
    ("sent", "stored", "header"),
    [
        ("裂纹照片.png", "裂纹照片.png",
         "attachment; filename=\"download.png\"; "
         "filename*=UTF-8''%E8%A3%82%E7%BA%B9%E7%85%A7%E7%89%87.png"),
        ("unit\r\n7.png", "unit7.png", 'attachment; filename="unit7.png"'),
        ('a";x=y.png', "a;x=y.png",
         "attachment; filename=\"a_x_y.png\"; filename*=UTF-8''a%3Bx%3Dy.png"),
        ("../../etc/cron.d/x.png", "x.png", 'attachment; filename="x.png"'),
        ("D:\\质量\\照片.png", "照片.png",
         "attachment; filename=\"download.png\"; filename*=UTF-8''%E7%85%A7%E7%89%87.png"),
        ("..", "evidence", 'attachment; filename="evidence"'),
    ],
)  # fmt: skip
def test_4_4_3_evidence_names_are_kept_as_sent_and_served_safely(
    desk: CapaDesk, sent: str, stored: str, header: str
) -> None:
    case = desk.complaint()
    uploaded = desk.upload(case, PNG, "image/png", name=sent)
    assert uploaded.status_code == 201, uploaded.text
    [entry] = uploaded.json()["investigation"]["evidence"]
    assert (entry["filename"], entry["original_filename"]) == (stored, sent)
    back = desk.get(f"/investigations/{case}/evidence/{entry['sha256']}")
    assert back.status_code == 200 and back.content == PNG
    assert back.headers["content-disposition"] == header
    assert back.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("data", "declared", "found"),
    [
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "application/pdf",
         "text/html"),
        (b"<html><body onload=alert(1)>", "application/pdf", "text/html"),
        (b"  <script>alert(1)</script>", "text/plain", "text/html"),
        (PNG, "image/jpeg", "image/png"),
        (b"%PDF-1.7\n", "image/png", "application/pdf"),
        (b"PK\x03\x04 not a workbook", XLSX, "not a package"),
        (b"plain words", "application/pdf", "no file type recognised"),
        (b"\x00\x01\x02 binary", "text/csv", "not text"),
    ],
)  # fmt: skip
def test_4_4_3_evidence_whose_content_is_not_its_type_is_refused(
    desk: CapaDesk, data: bytes, declared: str, found: str
) -> None:
    case = desk.complaint()
    before = desk.events()
    refused_ = desk.upload(case, data, declared, name="report.pdf")
    assert refused_.status_code == 415, refused_.text
    detail = refused_.json()["detail"]
    assert declared in detail and found in detail, detail
    assert desk.events() == before


def test_4_4_3_evidence_of_every_type_is_taken_when_its_content_agrees(desk: CapaDesk) -> None:
    import io
    import zipfile

    from openpyxl import Workbook

    book = io.BytesIO()
    Workbook().save(book)
    document = io.BytesIO()
    with zipfile.ZipFile(document, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", "<w:document/>")
    samples = {
        "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(20),
        "image/png": PNG,
        "image/heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(8),
        "image/webp": b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(20),
        "image/tiff": b"II*\x00\x08\x00\x00\x00" + bytes(20),
        "application/pdf": b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n",
        "video/mp4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00isommp42" + bytes(8),
        "video/quicktime": b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  " + bytes(8),
        "text/plain": "样品已寄出 samples sent\n".encode(),
        "text/csv": "编号,数量\r\n1,40\r\n".encode("gb18030"),
        XLSX: book.getvalue(),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
            document.getvalue()
        ),
    }
    app = desk.service.app
    assert isinstance(app, CapaApplication)
    app.max_evidence_bytes = 100_000  # an empty workbook is ~5 kB
    case = desk.complaint()
    for media_type, data in samples.items():
        uploaded = desk.upload(case, data, media_type, name="sample")
        assert uploaded.status_code == 201, (media_type, uploaded.text)
    kinds = {e["media_type"] for e in desk.investigation(case)["evidence"]}
    assert kinds == set(samples) == set(app.evidence_media_types)


def test_4_4_3_not_confirmed_closes_the_investigation_with_its_reason(desk: CapaDesk) -> None:
    case = desk.complaint()
    row = desk.step(case, "non-confirmation", {"reason": "Samples meet the drawing"})
    assert row["status"] == "not_confirmed" and row["finding"]["text"] == "Samples meet the drawing"
    refused(desk.post(f"/investigations/{case}/team", TEAM, "quality"), 409, "4.4.4")


def test_4_2_3_misuse_from_intake_closes_the_investigation_without_capa(desk: CapaDesk) -> None:
    case = desk.complaint()
    desk.feed(
        pub.MisuseDetermined(
            event_id=uuid4(),
            case_id=UUID(case),
            occurred_at=T0 + timedelta(hours=1),
            actor=MARKETING,
            finding="Connector forced in at an angle",
        )
    )
    row = desk.investigation(case)
    assert row["status"] == "misuse" and row["finding"]["determined_by"] == "intake"
    assert row["closed_at"] == (T0 + timedelta(hours=1)).isoformat()
    before = desk.events()
    refused(desk.post(f"/investigations/{case}/contacts", CONTACT, "quality"), 409, "4.4.3")
    refused(desk.post(f"/investigations/{case}/team", TEAM, "quality"), 409, "4.4.4")
    assert desk.events() == before


def test_4_3_4_a_pnpr_opens_a_confirmed_investigation(desk: CapaDesk) -> None:
    case_id = uuid4()
    desk.feed(
        pub.NonconformanceReported(
            event_id=uuid4(),
            case_id=case_id,
            occurred_at=T0,
            actor=Actor(user="wang.fang", department=Department.QUALITY),
            clause="4.3.3",
            report_no="PNPR-1234ABCD",
            customer=CUSTOMER,
            lot=LOT,
            quantity=40,
            description="Housing cracks at the gate, 40 of 40",
            tag="NC-0042",
            location="Q-1",
        )
    )
    row = desk.investigation(str(case_id))
    assert (row["source"], row["status"]) == ("pnpr", "confirmed")
    assert row["finding"]["by_pnpr"] is True and row["pnprs"][0]["report_no"] == "PNPR-1234ABCD"
    assert [t["event"] for t in row["timeline"]] == [
        "InvestigationOpened",
        "NonconformanceLinked",
        "ComplaintConfirmed",
    ]
    desk.step(str(case_id), "team", TEAM)


# CAPA as 8D (4.4.4, 4.3.4) ----------------------------------------------------------------------


def test_4_4_4_the_team_is_cross_functional(desk: CapaDesk) -> None:
    case = confirmed(desk)
    before = desk.events()
    members: list[dict[str, str]] = list(TEAM["members"])  # type: ignore[arg-type]
    no_production = {**TEAM, "members": [*members[:3], {**members[0], "name": "X"}]}
    message = refused(desk.post(f"/investigations/{case}/team", no_production, "quality"),
                      422, "4.4.4")  # fmt: skip
    assert "missing: production" in message
    refused(desk.post(f"/investigations/{case}/d2/problem", PROBLEM, "quality"), 409, "4.4.4")
    assert desk.events() == before
    assert desk.step(case, "team", TEAM)["status"] == "in_progress"


def test_4_4_4_8d_to_closure_with_effectiveness_and_a_reopening(desk: CapaDesk) -> None:
    case = confirmed(desk)
    desk.step(case, "d0/emergency-response", {"actions": "Sorted 2,000 units at the customer"})
    desk.step(case, "team", TEAM)
    refused(desk.post(f"/investigations/{case}/d4/root-cause", ROOT_CAUSE, "quality"),
            409, "4.4.4")  # fmt: skip
    desk.step(case, "d2/problem", PROBLEM)
    desk.step(case, "d3/containment", {"actions": "Block lot", "scope": "FG, WIP", "quantity": 800})
    desk.step(case, "d4/root-cause", ROOT_CAUSE, "engineering")
    first = plan(desk, case)
    refused(desk.post(f"/investigations/{case}/effectiveness",
                      {"effective": True, "method": "m", "result": "r"}, "quality"),
            409, "4.3.4")  # fmt: skip
    desk.step(case, f"d6/actions/{first}/implementation", {"validation": "Alarm tested"},
              "engineering")  # fmt: skip
    refused(desk.post(f"/investigations/{case}/d8/closure",
                      {"summary": "s", "recognition": "r"}, "quality"), 409, "4.3.4")  # fmt: skip

    # Not effective: back to D4 for a new root cause and new actions (4.3.4).
    row = desk.step(case, "effectiveness", {"effective": False, "method": "3 lots audited",
                                            "result": "Cracks again on lot 3"})  # fmt: skip
    assert row["round"] == 2 and row["reopenings"][0]["round"] == 2
    refused(desk.post(f"/investigations/{case}/effectiveness",
                      {"effective": True, "method": "m", "result": "r"}, "quality"),
            409, "4.3.4")  # fmt: skip
    desk.step(case, "d4/root-cause", {**ROOT_CAUSE, "root_cause": "Resin moisture too high"})
    second = plan(desk, case)
    desk.step(case, f"d6/actions/{second}/implementation", {"validation": "Dryer added"})
    desk.step(case, "effectiveness", {"effective": True, "method": "5 lots audited",
                                      "result": "No cracks in 10,000 units"})  # fmt: skip
    refused(desk.post(f"/investigations/{case}/d8/closure",
                      {"summary": "s", "recognition": "r"}, "quality"), 409, "4.4.4")  # fmt: skip
    desk.step(case, "d7/prevention", {"updates": [
        {"kind": "fmea", "reference": "PFMEA-220 rev D", "change": "Gate temperature cause"},
        {"kind": "control_plan", "reference": "CP-220 rev F", "change": "Dryer dew point"},
    ]})  # fmt: skip
    closure = {"summary": "Effective after round 2", "recognition": "Team thanked"}
    row = desk.step(case, "d8/closure", closure)
    assert row["status"] == "closed" and row["closure"]["days_open"] == 0
    assert [d["round"] for d in row["d4"]] == [1, 2]
    assert [v["effective"] for v in row["verifications"]] == [False, True]
    assert [t["event"] for t in row["timeline"]] == [
        "InvestigationOpened",
        "CustomerContactedByQuality",
        "ComplaintConfirmed",
        "EmergencyResponseRecorded",
        "TeamConvened",
        "ProblemDescribed",
        "ContainmentRecorded",
        "RootCauseIdentified",
        "CorrectiveActionPlanned",
        "CorrectiveActionImplemented",
        "EffectivenessVerified",
        "CapaReopened",
        "RootCauseIdentified",
        "CorrectiveActionPlanned",
        "CorrectiveActionImplemented",
        "EffectivenessVerified",
        "RecurrencePrevented",
        "CapaClosed",
    ]
    refused(desk.post(f"/investigations/{case}/d3/containment",
                      {"actions": "a", "scope": "s"}, "quality"), 409, "4.4.4")  # fmt: skip


def test_4_4_4_overdue_actions_are_visible(desk: CapaDesk) -> None:
    case = in_progress(desk)
    on_time, late = plan(desk, case, "2026-11-25"), plan(desk, case, "2026-11-30")
    assert desk.get("/overdue-actions").json() == []
    desk.app.now = lambda: datetime(2026, 12, 3, 9, tzinfo=UTC)
    desk.step(case, f"d6/actions/{on_time}/implementation",
              {"validation": "done", "implemented_on": "2026-11-27"})  # fmt: skip
    [overdue] = desk.get("/overdue-actions").json()
    assert (overdue["action_no"], overdue["days_overdue"], overdue["capa_no"]) == (
        late,
        3,
        desk.investigation(case)["capa_no"],
    )
    row = desk.investigation(case)
    assert [a["overdue"] for a in row["actions"]] == [False, True]
    assert row["actions"][0]["overdue_days"] == 2  # implemented two days after its due date
    past_due = {"description": "d", "owner": {"name": "n", "department": "quality"},
                "due": date(2026, 12, 2).isoformat()}  # fmt: skip
    refused(desk.post(f"/investigations/{case}/d5/actions", past_due, "quality"), 422, "4.4.4")


def test_retries_record_nothing_twice(desk: CapaDesk) -> None:
    case = desk.complaint()
    first = desk.post(f"/investigations/{case}/contacts", CONTACT, "quality", key="c-1")
    before = desk.events()
    again = desk.post(f"/investigations/{case}/contacts", CONTACT, "quality", key="c-1")
    assert (first.status_code, again.status_code) == (201, 200)  # the first result again
    assert desk.events() == before and len(again.json()["contacts"]) == 1


# Who may do what --------------------------------------------------------------------------------

ACTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "contact_customer": ("contacts", CONTACT),
    "request_evidence": ("evidence-requests", {"kinds": ["photos"], "details": "d"}),
    "confirm": ("confirmation", {"finding": "f"}),
    "not_confirm": ("non-confirmation", {"reason": "r"}),
    "find_misuse": ("misuse", {"finding": "f"}),
    "convene_team": ("team", TEAM),
    "record_emergency_response": ("d0/emergency-response", {"actions": "a"}),
    "describe_problem": ("d2/problem", PROBLEM),
    "record_containment": ("d3/containment", {"actions": "a", "scope": "s"}),
    "identify_root_cause": ("d4/root-cause", ROOT_CAUSE),
    "plan_action": ("d5/actions", {"description": "d", "due": "2026-12-31",
                                   "owner": {"name": "n", "department": "quality"}}),
    "implement_action": ("d6/actions/1/implementation", {"validation": "v"}),
    "verify_effectiveness": ("effectiveness", {"effective": True, "method": "m", "result": "r"}),
    "prevent_recurrence": ("d7/prevention", {"updates": [{"kind": "fmea", "reference": "r",
                                                          "change": "c"}]}),
    "close": ("d8/closure", {"summary": "s", "recognition": "r"}),
    "choose_report_format": ("report-format", {"format": "8d"}),
}  # fmt: skip


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_each_step_is_refused_to_departments_outside_its_remit(desk: CapaDesk, action: str) -> None:
    case = desk.complaint()
    path, body = ACTIONS[action]
    allowed, clause = WRITES[action]
    before = desk.events()
    for department in Department:
        if department in allowed or department is Department.SYSTEM:
            continue
        response = desk.post(f"/investigations/{case}/{path}", body, department.value)
        assert response.status_code == 403, (department, response.text)
        assert response.json()["detail"].startswith(f"{clause}:")
    assert desk.events() == before
    assert desk.http.post(f"/investigations/{case}/{path}", json=body).status_code == 401


def test_reading_an_investigation_needs_a_token(desk: CapaDesk) -> None:
    case = in_progress(desk)
    for path in ("/investigations", f"/investigations/{case}", "/overdue-actions",
                 f"/investigations/{case}/report.pdf"):  # fmt: skip
        assert desk.http.get(path).status_code == 401, path
    assert desk.get(f"/investigations/{case}", "auditor").status_code == 200


EIGHT_D = {action: ACTIONS[action] for action in sorted(EIGHT_D_STEPS)}


def test_4_4_4_before_the_team_is_convened_only_qc_records_d0(desk: CapaDesk) -> None:
    case = confirmed(desk)
    before = desk.events()
    for department in ("marketing", "warehouse", "engineering", "production"):
        response = desk.post(f"/investigations/{case}/d0/emergency-response",
                             {"actions": "Sorted stock"}, department)  # fmt: skip
        message = refused(response, 403, "4.4.4")
        assert "is for quality;" in message and f"acts for {department}" in message
    assert desk.events() == before
    desk.step(case, "d0/emergency-response", {"actions": "Sorted stock"})


@pytest.mark.parametrize("action", sorted(EIGHT_D))
def test_4_4_4_each_8d_step_is_for_qc_and_the_team_s_departments(
    desk: CapaDesk, action: str
) -> None:
    case = in_progress(desk)  # the team: quality (leading), marketing, development, ...
    path, body = EIGHT_D[action]
    allowed, _ = WRITES[action]
    members: list[dict[str, str]] = list(TEAM["members"])  # type: ignore[arg-type]
    on_team = {Department(m["department"]) for m in members} | {Department.QUALITY}
    before = desk.events()
    outsiders = [d for d in allowed if d not in on_team]
    for department in outsiders:
        response = desk.post(f"/investigations/{case}/{path}", body, department.value)
        message = refused(response, 403, "4.4.4")
        assert "(QC and its team)" in message and f"acts for {department.value}" in message
    assert desk.events() == before
    assert outsiders == ([Department.WAREHOUSE] if Department.WAREHOUSE in allowed else [])


def test_4_4_4_a_department_put_on_the_team_records_its_steps(desk: CapaDesk) -> None:
    case = confirmed(desk)
    members = [*TEAM["members"], {"name": "Ma Lin", "department": "warehouse"},
               {"name": "Zhao Yi", "department": "auditor"}]  # fmt: skip
    desk.step(case, "team", {**TEAM, "members": members})
    desk.step(case, "d2/problem", PROBLEM)
    desk.step(case, "d3/containment", {"actions": "Blocked bay 4", "scope": "FG"}, "warehouse")
    desk.step(case, "d0/emergency-response", {"actions": "Swapped units"}, "marketing")
    # Auditors read only, even when QC lists one on the team.
    refused(desk.post(f"/investigations/{case}/d3/containment",
                      {"actions": "a", "scope": "s"}, "auditor"), 403, "4.4.4")  # fmt: skip


def test_4_3_4_an_action_is_implemented_by_its_owner_or_the_team_leader(desk: CapaDesk) -> None:
    case = in_progress(desk)
    action = plan(desk, case)  # owned by engineering; quality leads the team
    before = desk.events()
    for department in ("marketing", "production", "development", "warehouse", "after_sales"):
        response = desk.post(f"/investigations/{case}/d6/actions/{action}/implementation",
                             {"validation": "v"}, department)  # fmt: skip
        message = refused(response, 403, "4.3.4")
        assert f"implement action {action} (its owner or the team leader) is for " \
               "engineering, quality;" in message  # fmt: skip
    refused(desk.post(f"/investigations/{case}/d6/actions/{action}/implementation",
                      {"validation": "v"}, "auditor"), 403, "4.3.4")  # fmt: skip
    assert desk.events() == before
    desk.step(case, f"d6/actions/{action}/implementation", {"validation": "v"}, "engineering")
    second = plan(desk, case)
    desk.step(case, f"d6/actions/{second}/implementation", {"validation": "v"}, "quality")
    refused(desk.post(f"/investigations/{case}/d6/actions/9/implementation",
                      {"validation": "v"}, "engineering"), 422, "4.4.4")  # fmt: skip


def test_4_3_4_qc_implements_only_what_it_owns_when_another_department_leads(
    desk: CapaDesk,
) -> None:
    case = confirmed(desk)
    members = [*TEAM["members"], {"name": "Wang Fang", "department": "quality"}]
    led_by_production = {"leader": {"name": "Zhou Min", "department": "production"},
                         "members": members}  # fmt: skip
    desk.step(case, "team", led_by_production)
    desk.step(case, "d2/problem", PROBLEM)
    desk.step(case, "d4/root-cause", ROOT_CAUSE)
    action = plan(desk, case)
    message = refused(desk.post(f"/investigations/{case}/d6/actions/{action}/implementation",
                                {"validation": "v"}, "quality"), 403, "4.3.4")  # fmt: skip
    assert "engineering, production;" in message
    desk.step(case, f"d6/actions/{action}/implementation", {"validation": "v"}, "production")


def test_4_3_4_every_date_of_a_step_lies_between_the_case_s_opening_and_now(
    desk: CapaDesk,
) -> None:
    case = in_progress(desk)
    action = plan(desk, case)
    path = f"/investigations/{case}/d6/actions/{action}/implementation"
    before = desk.events()
    for day, words in (
        ((T0 - timedelta(days=25 * 365)).date(), "is before this case opened (2026-11-24)"),
        ((T0 - timedelta(days=1)).date(), "is before this case opened"),
    ):
        body = {"validation": "v", "implemented_on": day.isoformat()}
        message = refused(desk.post(path, body, "engineering"), 422, "4.3.4")
        assert message.startswith(f"4.3.4: implemented_on {day.isoformat()} ") and words in message
    tomorrow = (T0 + timedelta(days=1)).date().isoformat()
    future = desk.post(path, {"validation": "v", "implemented_on": tomorrow}, "engineering")
    assert future.status_code == 422 and "implemented_on" in future.text
    assert desk.events() == before
    desk.step(case, path.split(f"{case}/")[1], {"validation": "v", "implemented_on": "2026-11-24"},
              "engineering")  # fmt: skip

    early = {"effective": True, "method": "m", "result": "r", "verified_on": "2026-11-23"}
    message = refused(desk.post(f"/investigations/{case}/effectiveness", early, "quality"),
                      422, "4.3.4")  # fmt: skip
    assert "verified_on 2026-11-23 is before this case opened" in message
    past_due = {"kinds": ["photos"], "details": "d", "due": "2026-11-23"}
    message = refused(desk.post(f"/investigations/{case}/evidence-requests", past_due, "quality"),
                      422, "4.4.3")  # fmt: skip
    assert "due 2026-11-23 is already past" in message
    assert desk.events() == before + 1


def test_no_request_names_the_system_department(desk: CapaDesk) -> None:
    case = confirmed(desk)
    members: list[dict[str, str]] = list(TEAM["members"])  # type: ignore[arg-type]
    for team in (
        {**TEAM, "leader": {"name": "Timer", "department": "system"}},
        {**TEAM, "members": [*members, {"name": "Timer", "department": "system"}]},
    ):
        response = desk.post(f"/investigations/{case}/team", team, "quality")
        assert response.status_code == 422 and "services' own" in response.text
    desk.step(case, "team", TEAM)
    desk.step(case, "d2/problem", PROBLEM)
    desk.step(case, "d4/root-cause", ROOT_CAUSE)
    owner = {
        "description": "d",
        "due": "2026-12-31",
        "owner": {"name": "n", "department": "system"},
    }
    response = desk.post(f"/investigations/{case}/d5/actions", owner, "quality")
    assert response.status_code == 422 and "services' own" in response.text


# Report formats (4.3.4) -------------------------------------------------------------------------


def test_4_3_4_the_customers_format_applies_unless_the_case_overrides_it(desk: CapaDesk) -> None:
    from csc_capa.report_forms import EXAMPLE_TEMPLATE

    case = in_progress(desk)
    row = desk.investigation(case)
    assert (row["report_format"], row["report_format_source"]) == ("cpar", "default")
    refused(desk.post(f"/investigations/{case}/report-format", {"format": "customer"}, "quality"),
            422, "4.3.4")  # fmt: skip

    def register(body: dict[str, Any]) -> Any:
        return desk.http.put(
            "/report-formats/OEM-001",
            json=body,
            headers=auth("quality", key=hashlib.sha256(repr(body).encode()).hexdigest()),
        )

    broken = register({"format": "customer", "template": "x | y: {{ capa.capa_no }\n"})
    assert "line 1" in refused(broken, 422, "4.3.4")
    unknown = register({"format": "customer", "template": "a | b: {{ capa.no_such_field.x }}"})
    refused(unknown, 422, "4.3.4")
    refused(register({"format": "8d", "template": EXAMPLE_TEMPLATE}), 422, "4.3.4")

    first = register({"format": "customer", "template": EXAMPLE_TEMPLATE, "title": "DFM 8D"})
    assert first.status_code == 201 and first.json()["revision"] == 1
    assert desk.investigation(case)["report_format"] == "customer"
    assert desk.investigation(case)["report_format_source"] == "customer"
    pdf = desk.get(f"/investigations/{case}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "customer.pdf" in pdf.headers["content-disposition"]

    revised = register({"format": "8d"})
    assert revised.status_code == 200 and revised.json()["revision"] == 2
    assert desk.investigation(case)["report_format"] == "8d"
    desk.step(case, "report-format", {"format": "cpar", "reason": "customer asked for ours"})
    row = desk.investigation(case)
    assert (row["report_format"], row["report_format_source"]) == ("cpar", "case")
    xlsx = desk.get(f"/investigations/{case}/report.xlsx", params={"format": "8d"})
    assert xlsx.status_code == 200 and "8d.xlsx" in xlsx.headers["content-disposition"]


def test_4_3_4_the_report_previews_as_data_what_its_pdf_prints(desk: CapaDesk) -> None:
    case = in_progress(desk)
    answer = desk.get(f"/investigations/{case}/report.json", params={"format": "8d"})
    assert answer.status_code == 200, answer.text
    preview = answer.json()
    assert preview["format"] == "8d" and "8D" in preview["title_en"]
    cells = [f["value"] for f in preview["fields"]]
    cells += [cell for s in preview["sections"] for row in s["rows"] for cell in row]
    assert desk.investigation(case)["capa_no"] in cells
    assert any(ROOT_CAUSE["root_cause"] in cell for cell in cells)
    # Every row has a cell per column, and a table without rows says so.
    for section in preview["sections"]:
        assert all(len(row) == len(section["columns"]) for row in section["rows"])
        assert section["empty"]
    # Printed in the case's own format when none is asked for: the company's CPAR.
    assert desk.get(f"/investigations/{case}/report.json").json()["format"] == "cpar"
    # A customer format nobody registered is refused as the PDF is, with the clause.
    refused(desk.get(f"/investigations/{case}/report.json", params={"format": "customer"}),
            409, "4.3.4")  # fmt: skip


def test_4_3_4_a_customer_template_over_the_bounds_is_refused_when_saved(desk: CapaDesk) -> None:
    from csc_capa.report_forms import EXAMPLE_TEMPLATE

    def register(template: str) -> Any:
        return desk.http.put(
            "/report-formats/OEM-001",
            json={"format": "customer", "template": template},
            headers=auth("quality", key=hashlib.sha256(template.encode()).hexdigest()),
        )

    before = desk.events()
    burns = (
        "# A | A\n{% for a in range(3000) %}{% for b in range(3000) %}{{ b }}{% endfor %}"
        "{% endfor %}"
    )
    assert "more than 50,000 steps" in refused(register(burns), 422, "4.3.4")
    deep = ("# A | A\n{% for a in capa.actions %}{% for d in capa.d4 %}{% for c in capa.contacts %}"
            "{% endfor %}{% endfor %}{% endfor %}")  # fmt: skip
    assert "loops nest 3 deep" in refused(register(deep), 422, "4.3.4")
    large = "# A | A\nx: 1\n{# " + "x" * 70_000 + " #}"
    too_large = register(large)  # over the template's maxLength, before any rule runs
    assert too_large.status_code == 422, too_large.text
    assert [e["loc"] for e in too_large.json()["errors"]] == [["body", "template"]]
    assert desk.events() == before
    assert register(EXAMPLE_TEMPLATE).status_code == 201
