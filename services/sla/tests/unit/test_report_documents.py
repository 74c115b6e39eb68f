"""Att. 4 as documents: the PDF and XLSX say what the JSON report says, in Chinese and English.

sla is fed by hand, as in test_clocks, and asked over HTTP without Kafka.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from pypdf import PdfReader

import csc_contracts as pub
import csc_contracts.capa as capa
from csc_contracts import Actor, Channel, ComplaintCategory, FeedbackKind
from csc_devkit.desk import SECRET, Desk
from csc_forms import CHANNELS, label
from csc_sla.application import SlaApplication
from csc_sla.bootstrap import SLA, SlaSettings
from csc_sla.entrypoints.http import routes
from csc_sla.report_form import COMPLAINT_CATEGORIES, FEEDBACK_KINDS

OCTOBER = datetime(2026, 10, 13, 1, 0, tzinfo=UTC)  # a Tuesday, 09:00 in Shanghai
GENERATED = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
MARKETING = Actor(user="li.wei", department="marketing")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    service = SLA.bootstrap(
        SlaSettings(data_dir=tmp_path, store="sqlite", auth_hs256_secret=SECRET)
    )
    assert isinstance(service.app, SlaApplication)
    service.app.now = lambda: GENERATED
    yield Desk(service, routes)
    service.app.close()


def base(case_id: UUID, at: datetime) -> dict[str, Any]:
    return {"event_id": uuid4(), "case_id": case_id, "occurred_at": at, "actor": MARKETING}


def feedback(kind: FeedbackKind, channel: Channel, at: datetime) -> pub.FeedbackReceived:
    return pub.FeedbackReceived(
        **base(uuid4(), at), channel=channel, kind=kind, receiving_department="marketing",
        received_at=at, customer={"code": "OEM-001"}, text="...",
    )  # fmt: skip


def complaint(
    case_id: UUID, category: ComplaintCategory, at: datetime, code: str = "OEM-001"
) -> pub.ComplaintLogged:
    return pub.ComplaintLogged(
        **base(case_id, at), category=category, channel="phone",
        receiving_department="marketing", received_at=at, customer={"code": code},
        text="cracked housings",
    )  # fmt: skip


def reply(case_id: UUID, at: datetime) -> pub.ReplySent:
    return pub.ReplySent(**base(case_id, at), replied_at=at, channel="phone", summary="ok")


def registered(code: str) -> pub.CustomerRegistered:
    return pub.CustomerRegistered(
        **base(uuid4(), OCTOBER - timedelta(days=400)), code=code, name=code, oem=True,
        sites=[{"name": "plant", "timezone": "Asia/Shanghai"}],
    )  # fmt: skip


def on_site(case_id: UUID, required: timedelta, arrived: timedelta) -> list[pub.PublicEvent]:
    return [
        pub.OnSiteServiceRequired(**base(case_id, OCTOBER + required), reason="quality_problem"),
        pub.OnSiteVisitCompleted(
            **base(case_id, OCTOBER + arrived + timedelta(hours=2)), arrived_at=OCTOBER + arrived,
            engineers=["zhao.lei"], diagnosis="d", solution="s",
        ),
    ]  # fmt: skip


def field_day(day: int, engineer: str) -> pub.FieldServiceRecorded:
    return pub.FieldServiceRecorded(
        **base(uuid4(), OCTOBER), customer={"code": "OEM-001"}, site="plant",
        work_date=date(2026, 10, day), engineer=engineer,
    )  # fmt: skip


def visit(day: int) -> pub.CustomerVisited:
    return pub.CustomerVisited(
        **base(uuid4(), OCTOBER), customer={"code": "OEM-001"}, site="plant",
        work_date=date(2026, 10, day), engineer="zhao.lei",
    )  # fmt: skip


@pytest.fixture
def october(desk: Desk) -> dict[str, UUID]:
    """Three pieces of feedback of two kinds, three complaints: one answered in 5 h, one in 10 h."""
    desk.feed(registered("OEM-001"))
    desk.feed(registered("OEM-002"))
    desk.feed(feedback(FeedbackKind.QUALITY_PROBLEM, Channel.PHONE, OCTOBER))
    desk.feed(feedback(FeedbackKind.QUALITY_PROBLEM, Channel.EMAIL, OCTOBER + timedelta(days=1)))
    desk.feed(feedback(FeedbackKind.SUGGESTION, Channel.LETTER, OCTOBER + timedelta(days=2)))
    desk.feed(feedback(FeedbackKind.SUGGESTION, Channel.WEB, OCTOBER + timedelta(days=30)))
    on_time, late, elsewhere = uuid4(), uuid4(), uuid4()
    desk.feed(complaint(on_time, ComplaintCategory.QUALITY, OCTOBER))
    desk.feed(complaint(late, ComplaintCategory.DELIVERY, OCTOBER + timedelta(days=3)))
    desk.feed(complaint(elsewhere, ComplaintCategory.SERVICE, OCTOBER, code="OEM-002"))
    desk.feed(reply(on_time, OCTOBER + timedelta(hours=5)))
    desk.feed(reply(late, OCTOBER + timedelta(days=3, hours=10)))
    for event in on_site(on_time, required=timedelta(hours=1), arrived=timedelta(hours=6)):
        desk.feed(event)
    for day, engineer in ((14, "zhao.lei"), (15, "zhao.lei"), (15, "wang.fang")):
        desk.feed(field_day(day, engineer))
    desk.feed(visit(20))
    return {"on_time": on_time, "late": late, "elsewhere": elsewhere}


def pdf_text(document: bytes) -> str:
    assert document.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(document)).pages)


def rows(document: bytes) -> dict[str, list[Any]]:
    """The sheet's rows by their first cell (labels are unique within this form)."""
    sheet = load_workbook(io.BytesIO(document)).active
    assert isinstance(sheet, Worksheet)
    found: dict[str, list[Any]] = {}
    for row in sheet.iter_rows(values_only=True):
        if isinstance(row[0], str):
            found.setdefault(row[0], list(row[1:]))
    return found


def test_the_pdf_is_the_monthly_report_in_both_languages(
    desk: Desk, october: dict[str, UUID]
) -> None:
    response = desk.get("/reports/monthly/2026-10.pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        'attachment; filename="field-service-monthly-report-2026-10.pdf"'
    )
    text = pdf_text(response.content)
    for title in (
        "现场服务月报表",
        "Field Service Monthly Report",
        "CSC-F-04",
        "顾客反馈（按类别） Feedback by kind",
        "顾客反馈（按渠道） Feedback by channel",
        "顾客投诉（按类别） Complaints by category",
        "8小时响应 Response within 8 hours",
        "超时 Breaches",
        "现场服务与走访 Field service and visits",
        "退货与纠正预防措施 Returns and CAPA",
        "编制 Prepared by",
        "审核 Reviewed by",
        "批准 Approved by",
    ):
        assert title in text, title

    def count_of(what: str) -> str:
        found = re.search(re.escape(what) + r"\s+(\S+)", text)
        assert found, what
        return found.group(1)

    assert count_of("质量问题的意见 quality problem") == "2"
    assert count_of("管理、服务和发展的建议 suggestion") == "1"
    assert count_of("潜在产品的期望和要求 potential product requirements") == "0"
    assert count_of("电子邮件 e-mail") == "1"
    assert count_of("网站 web") == "0"  # the web feedback arrived in November
    assert count_of("交付 delivery") == "1"
    assert re.search(r"8小时内答复率 replied within 8 h\s+6\s+1\s+0\s+16\.7%", text)
    assert re.search(r"8小时内到达现场率 on site within 8 h\s+1\s+1\s+0\s+100\.0%", text)
    assert str(october["late"]) in text  # the breach, by case
    assert str(october["on_time"]) not in text
    assert re.search(r"现场服务天数 field service days\s+3", text)
    assert re.search(r"走访（本月已完成） visits made this month\s+1", text)
    assert "暂无 not yet published" not in text  # returns and CAPAs are both counted
    assert re.search(r"已开启\s+opened\s+已关闭\s+closed\s+月末未结\s+open\s+at\s+month\s+end\s+"
                     r"逾期\s+overdue", text), "the columns of Returns and CAPA"  # fmt: skip
    assert re.search(r"退货 returns\s+0\s+0\s+0\s+—", text)  # returns have no due dates
    assert re.search(r"纠正预防措施 CAPA\s+0\s+0\s+0\s+0", text)
    assert "2026-11-02T08:30:00Z" in text
    assert desk.service.read_model.digest() in text


def test_the_xlsx_holds_the_numbers_of_the_json_report(
    desk: Desk, october: dict[str, UUID]
) -> None:
    report = desk.get("/reports/monthly/2026-10").json()
    response = desk.get("/reports/monthly/2026-10.xlsx")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    assert response.headers["content-disposition"] == (
        'attachment; filename="field-service-monthly-report-2026-10.xlsx"'
    )
    sheet = rows(response.content)
    assert sheet["现场服务月报表"][0] is None and "Field Service Monthly Report" in sheet
    assert sheet["月份 Month"][0] == "2026-10"
    for key, labels in (
        ("feedback_by_kind", FEEDBACK_KINDS),
        ("feedback_by_channel", CHANNELS),
        ("complaints_by_category", COMPLAINT_CATEGORIES),
    ):
        for value in labels:
            assert sheet[label(labels, value)][0] == report[key].get(value, 0), (key, value)
    assert report["feedback_by_kind"] == {"quality_problem": 2, "suggestion": 1}
    assert report["complaints_by_category"] == {"delivery": 1, "quality": 1, "service": 1}
    assert sheet["合计 Total"][0] == 3  # feedback by kind, the first total
    replied, on_site = report["replied_within_8h"], report["on_site_within_8h"]
    assert sheet["8小时内答复率 replied within 8 h"][:4] == [
        replied["started"], replied["met_within_target"], replied["stopped"], replied["share"]
    ]  # fmt: skip
    assert sheet["8小时内到达现场率 on site within 8 h"][:4] == [
        on_site["started"], on_site["met_within_target"], on_site["stopped"], on_site["share"]
    ]  # fmt: skip
    assert sheet["现场服务天数 field service days"][0] == report["field_service_days"] == 3
    assert sheet["走访（本月已完成） visits made this month"][0] == report["visits_made"] == 1
    assert sheet["走访（到期或逾期） visits due or overdue"][0] == report["visits_due"]
    [breach] = report["breaches"]
    assert sheet[breach["case_id"]][0] == "答复 reply"
    assert sheet["纠正预防措施 CAPA"][:4] == [
        report["capa"][k] for k in ("opened", "closed", "open_at_month_end", "overdue")
    ]
    assert sheet["退货 returns"][:4] == [
        report["returns"][k] for k in ("opened", "closed", "open_at_month_end")
    ] + ["—"]  # returns have no due dates: no overdue figure, not a zero
    header = ["项目\nItem", "已开启\nopened", "已关闭\nclosed", "月末未结\nopen at month end",
              "逾期\noverdue"]  # fmt: skip
    workbook = load_workbook(io.BytesIO(response.content)).active
    assert isinstance(workbook, Worksheet)
    assert header in [list(r[:5]) for r in workbook.iter_rows(values_only=True)]
    assert sheet["8小时响应 Response within 8 hours"][0] is None
    assert sheet["案件\nCase"][:2] == ["时钟\nClock", "到期\nDue (UTC)"]


def capa_of(team: datetime, due: date, closed: datetime | None = None) -> list[pub.PublicEvent]:
    """A CAPA (4.4.4): opened, team convened, one action due, perhaps closed."""
    case_id = uuid4()
    no = f"CAPA-{case_id.hex[:8].upper()}"

    def common(at: datetime, clause: str = "4.4.4") -> dict[str, Any]:
        return {**base(case_id, at), "clause": clause, "capa_no": no}

    team_members = [{"name": n, "department": d} for n, d in (
        ("Li Wei", "marketing"), ("Sun Li", "development"), ("Chen Jie", "engineering"),
        ("Zhou Min", "production"))]  # fmt: skip
    owner = {"name": "Chen Jie", "department": "engineering"}
    events: list[pub.PublicEvent] = [
        capa.InvestigationOpened(
            **common(team, "4.4.3"), source="complaint", source_event_id=uuid4(),
            reported_at=team, customer={"code": "OEM-001"}, description="cracked",
        ),
        capa.TeamConvened(**common(team), leader={"name": "Wang Fang", "department": "quality"},
                          members=team_members),
        capa.CorrectiveActionPlanned(**common(team, "4.3.4"), action_no=1, kind="corrective",
                                     description="alarm", owner=owner, due=due),
    ]  # fmt: skip
    if closed is not None:
        events.append(capa.CapaClosed(**common(closed), summary="s", recognition="r",
                                      opened_at=team, days_open=(closed - team).days))  # fmt: skip
    return events


def test_the_capa_row_says_what_the_json_report_says(desk: Desk) -> None:
    # October: two CAPAs opened, one closed; the open one's action was due 20 October.
    for event in [
        *capa_of(OCTOBER, date(2026, 10, 20)),
        *capa_of(OCTOBER + timedelta(days=1), date(2026, 10, 15), OCTOBER + timedelta(days=9)),
    ]:
        desk.feed(event)
    report = desk.get("/reports/monthly/2026-10").json()
    assert report["capa"] == {"opened": 2, "closed": 1, "open_at_month_end": 1, "overdue": 1}
    sheet = rows(desk.get("/reports/monthly/2026-10.xlsx").content)
    assert sheet["纠正预防措施 CAPA"][:4] == [2, 1, 1, 1]
    text = pdf_text(desk.get("/reports/monthly/2026-10.pdf").content)
    assert re.search(r"纠正预防措施 CAPA\s+2\s+1\s+1\s+1", text)
    # One customer's report counts its own CAPAs only.
    other = desk.get("/reports/monthly/2026-10", params={"customer": "OEM-002"}).json()
    assert other["capa"] == {"opened": 0, "closed": 0, "open_at_month_end": 0, "overdue": 0}


def test_one_customers_report_is_named_after_it(desk: Desk, october: dict[str, UUID]) -> None:
    response = desk.get("/reports/monthly/2026-10.xlsx", params={"customer": "OEM-002"})
    assert response.headers["content-disposition"] == (
        'attachment; filename="field-service-monthly-report-2026-10-OEM-002.xlsx"'
    )
    sheet = rows(response.content)
    assert sheet["顾客 Customer"][0] == "OEM-002"
    assert sheet["服务 service"][0] == 1 and sheet["质量 quality"][0] == 0
    assert sheet["8小时内答复率 replied within 8 h"][:4] == [1, 0, 0, 0]
    assert sheet["退货 returns"][0] == 0
    assert sheet["纠正预防措施 CAPA"][:4] == [0, 0, 0, 0]


def test_a_month_without_events_prints_zeros_and_no_breach(desk: Desk) -> None:
    text = pdf_text(desk.get("/reports/monthly/2026-09.pdf").content)
    assert re.search(r"8小时内答复率 replied within 8 h\s+0\s+0\s+0\s+—", text)
    assert re.search(r"超时 Breaches.*?无 None", text, re.S)
    assert "全部顾客 all customers" in text


@pytest.mark.parametrize(
    "path", ["/reports/monthly/2026-13.pdf", "/reports/monthly/26-10.xlsx",
             "/reports/monthly/2026-10.csv", "/reports/monthly/2026-00"],
)  # fmt: skip
def test_a_bad_month_is_refused_whatever_the_format(desk: Desk, path: str) -> None:
    assert desk.get(path).status_code == 422


def test_the_json_report_still_answers_beside_the_documents(desk: Desk) -> None:
    response = desk.get("/reports/monthly/2026-10")
    assert response.status_code == 200
    assert response.json()["month"] == "2026-10"


def test_every_value_the_contracts_allow_has_both_labels() -> None:
    for enum, labels in (
        (FeedbackKind, FEEDBACK_KINDS),
        (Channel, CHANNELS),
        (ComplaintCategory, COMPLAINT_CATEGORIES),
    ):
        assert set(labels) == set(enum), enum
        assert all(zh and en for zh, en in labels.values())


def test_reading_clocks_and_reports_needs_a_token(desk: Desk) -> None:
    for path in ("/clocks", "/reports/monthly/2026-10", "/reports/monthly/2026-10.pdf"):
        assert desk.http.get(path).status_code == 401, path
    assert desk.get("/reports/monthly/2026-10", "marketing").status_code == 200
