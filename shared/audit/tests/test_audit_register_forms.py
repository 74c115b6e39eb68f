"""Att. 3 and att. 2 from intake's events alone, read back as a person reads them.

The PDF's text is extracted with poppler's ``pdftotext`` (Chinese comes back
only if the embedded font maps it to Unicode), and its first page is drawn
with ``pdftoppm`` to check it is a page, not a blank.
"""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from openpyxl import load_workbook
from PIL import Image

import csc_contracts as pub
from csc_audit.case_form import case_history_form
from csc_audit.export import (
    RenderedForm,
    case_timeline,
    field_service_document,
    register_document,
)
from csc_audit.register_forms import (
    COMPLAINT_CATEGORIES,
    FEEDBACK_KINDS,
    Period,
    Selection,
)
from csc_audit.testing import CUSTOMER, MARKETING, Story, envelope, tell_story
from csc_audit.timeline import as_of
from csc_contracts import Channel, ComplaintCategory, FeedbackKind
from csc_forms import CHANNELS, render_pdf

GENERATED = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
POPPLER = shutil.which("pdftotext") and shutil.which("pdftoppm")
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils (./dev test installs it)")


@pytest.fixture(scope="module")
def story() -> Story:
    return tell_story()


@pytest.fixture(scope="module")
def register(story: Story) -> RenderedForm:
    return asyncio.run(register_document(story.history(), Period.month("2026-11"), GENERATED))


@pytest.fixture(scope="module")
def work_month(story: Story) -> RenderedForm:
    selection = Selection(Period.month("2026-11"))
    return asyncio.run(field_service_document(story.history(), selection, GENERATED))


def documents(rendered: RenderedForm, tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, (content, _) in rendered.documents().items():
        paths[name.rsplit(".", 1)[1]] = tmp_path / name
        (tmp_path / name).write_bytes(content)
    return paths


def pdf_text(pdf: Path) -> str:
    """The PDF's text without any whitespace: a cell's wrapping does not matter."""
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout
    return re.sub(r"\s+", "", out)


def has(text: str, *needles: str) -> None:
    for needle in needles:
        assert re.sub(r"\s+", "", needle) in text, needle


def first_page(pdf: Path) -> Image.Image:
    prefix = pdf.with_suffix("")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(prefix)], check=True
    )
    [png] = pdf.parent.glob(f"{prefix.name}-*1.png")
    return Image.open(png)


def assert_a_printed_page(image: Image.Image) -> None:
    # A4 at 60 dpi is 496 x 702 pixels.
    assert abs(image.width - 496) <= 2 and abs(image.height - 702) <= 2, image.size
    grey = image.convert("L")
    histogram = grey.histogram()
    inked = sum(histogram[:160]) / (image.width * image.height)
    assert 0.01 < inked < 0.5, inked  # text and rules, on a mostly white page
    # Signature lines: long horizontal rules somewhere in the page.
    pixels = grey.load()
    assert pixels is not None
    longest = 0
    for y in range(image.height):
        run = 0
        for x in range(image.width):
            value = pixels[x, y]
            assert isinstance(value, int)
            run = run + 1 if value < 160 else 0
            longest = max(longest, run)
    assert longest > image.width * 0.25


def test_att_3_folds_each_entry_of_the_period_with_all_that_followed(
    register: RenderedForm, story: Story
) -> None:
    assert register.rows is not None
    [complaint, feedback] = register.rows
    assert complaint["case_id"] == str(story.case) and complaint["no"] == 1
    assert complaint["received_at"] == "2026-11-24T00:50:00+00:00"
    assert complaint["recorded_by"] == {"user": "li.wei", "department": "marketing"}
    assert complaint["engineering_notified"] is True  # 4.1.2
    assert complaint["important"]["acknowledged"] == "2026-11-24T01:50:00+00:00"  # 4.1.3
    assert [r["what"] for r in complaint["results"]] == [
        "影响及补救措施 impact and remedy",
        "已通知品管部 QC notified",
        "总工已确认 acknowledged by the Chief Engineer",
        "答复 reply",
        "需到现场 on site required",
        "到达现场 on site",
        "跟进 follow-up 2026-11",
    ]
    # 4.6: followed up, and closed, in December: still on November's register.
    assert complaint["closed"]["at"] == "2026-12-02T01:00:00+00:00"
    assert complaint["handled_by"] == [
        "li.wei (市场部 Marketing)",
        "zhou.gong (总工 Chief Engineer)",
        "zhang.san (售后服务 After-sales)",
    ]
    assert (feedback["kind"], feedback["channel"], feedback["closed"]) == (
        "suggestion",
        "email",
        None,
    )


@needs_poppler
def test_att_3_prints_in_chinese_and_english_with_the_recorded_values(
    register: RenderedForm, story: Story, tmp_path: Path
) -> None:
    paths = documents(register, tmp_path)
    text = pdf_text(paths["pdf"])
    has(text, "顾客信息登记表", "Customer Information Register", "CSC-F-03", "附件3 Attachment 3")
    has(text, "期间 Period", "2026-11", "登记条数 Entries", "未关闭 Still open")
    has(text, "序号 / 接收日期", "No. / received (UTC)", "顾客 / 方式", "Customer / channel")
    has(text, "信息类别", "Kind", "内容", "Content", "答复 / 处理结果", "Reply / result")
    has(text, "接收部门 / 登记人 / 处理人", "Received by / recorded by / handled by")
    has(text, "关闭", "Closed", "案件索引 Case index", "已通知工程部 4.1.2", "重要信息 4.1.3")
    has(text, "登记人（市场部）", "Recorded by (Marketing)", "审核 Reviewed by", "日期 Date")
    # What was recorded, as recorded.
    has(text, "OEM-001 东风汽车 Dongfeng Motor", "电话 phone", "电子邮件 e-mail")
    has(text, "投诉：产品质量 complaint: product quality", "对公司管理、服务和发展方面的建议和希望")
    has(text, "外壳开裂 Housings cracked at line 3; 40 units affected.")
    has(text, "产品 Product: CN-220 connector", "批号 Lot: L2026-11-07")
    has(text, "Replacement units on their way; QC will call.", "Cracks start at the gate")
    has(text, "No recurrence in December's deliveries", "Label the cartons with QR codes")
    has(text, "接收 Received: 售后服务 After-sales", "登记 Recorded: li.wei (市场部 Marketing)")
    has(text, "2026-11-24 00:50", str(story.case), "是 Yes", "否 No")
    assert "DN-0999" not in text and str(story.other) not in text  # October's entry
    assert_a_printed_page(first_page(paths["pdf"]))

    sheet = load_workbook(paths["xlsx"]).active
    assert sheet is not None
    cells = "\n".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row if c)
    for words in ("顾客信息登记表", "Customer Information Register", "内容\nContent",
                  "外壳开裂 Housings cracked", "L2026-11-07", str(story.case)):  # fmt: skip
        assert words in cells, words


@needs_poppler
def test_att_2_of_a_month_and_of_one_engineer_site_and_day(
    work_month: RenderedForm, story: Story, tmp_path: Path
) -> None:
    assert work_month.rows is not None
    assert [(r["kind"], r["work_date"]) for r in work_month.rows] == [
        ("on_site", "2026-11-24"),  # 4.2.2: arrived 15:00 in Shanghai
        ("daily", "2026-11-24"),
        ("visit", "2026-11-26"),
    ]
    paths = documents(work_month, tmp_path)
    text = pdf_text(paths["pdf"])
    has(text, "现场服务工作记录表", "Field Service Work Record", "CSC-F-02", "附件2 Attachment 2")
    has(text, "服务人员 Engineer", "现场 Site", "日期 / 类别", "Date / kind")
    has(text, "到达 / 离开", "Arrival / departure", "发生的问题", "Problems found")
    has(text, "工作内容及结果", "Work done and result", "装车情况 4.1.4", "Vehicles / units loaded")
    has(text, "修改记录 Amendments", "修改前", "Before", "原因", "Reason")
    has(text, "服务人员签字", "Engineer's signature", "顾客签字", "Customer's signature")
    has(text, "Wuhan plant 2", "zhang.san", "DF-H7", "126", "合计 Total")
    has(text, "2 connectors not latched on the line", "Re-seated and trained the operators")
    has(text, "Six vehicles of the night shift were missed", "装车情况 Units loaded: DF-H7 × 120")
    has(text, "到达 arrived: 15:00 CST", "离开 left: 17:30 CST", "Sorted 400 units, 40 swapped")
    # The daily record's own times (att. 2), and the amendment's earlier departure.
    has(text, "到达 arrived: 08:30 CST", "离开 left: 19:00 CST", "离开 Left: 17:00 CST")
    has(text, "顾客意见 Customer's opinion: Satisfied with response times")
    assert_a_printed_page(first_page(paths["pdf"]))

    one = Selection(Period.day(date(2026, 11, 24)), engineer="zhang.san", site="Wuhan plant 2")
    day = asyncio.run(field_service_document(story.history(), one, GENERATED))
    assert day.rows is not None
    assert [(r["record_id"], r["units_loaded"]) for r in day.rows] == [
        (str(story.record), [{"model": "DF-H7", "quantity": 126}])
    ]
    assert day.name == "field-service-work-record-2026-11-24-Wuhan_plant_2-zhang.san"
    sheet = load_workbook(io.BytesIO(day.documents()[f"{day.name}.xlsx"][0])).active
    assert sheet is not None
    values = [c for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert "现场服务工作记录表" in values and "Field Service Work Record" in values
    assert 126 in values and "DF-H7" in values


def test_every_value_the_contracts_allow_has_both_labels() -> None:
    for labels, values in (
        (CHANNELS, Channel),
        (COMPLAINT_CATEGORIES, ComplaintCategory),
        (FEEDBACK_KINDS, FeedbackKind),
    ):
        for value in values:
            zh, en = labels[value]
            assert zh and en, value


def test_periods() -> None:
    assert Period.month("2026-02") == Period(date(2026, 2, 1), date(2026, 2, 28))
    assert Period.month("2026-11").label == "2026-11"
    assert Period(date(2026, 11, 3), date(2026, 11, 9)).label == "2026-11-03 – 2026-11-09"
    assert Period.day(date(2026, 11, 3)).contains(datetime(2026, 11, 3, 23, 59, tzinfo=UTC))
    with pytest.raises(ValueError):
        Period.month("2026-13")
    with pytest.raises(ValueError):
        Period(date(2026, 11, 9), date(2026, 11, 3))


@needs_poppler
def test_an_entry_longer_than_a_page_goes_on_over_the_next_lines(tmp_path: Path) -> None:
    story = tell_story()
    case, at = uuid4(), datetime(2026, 11, 25, 1, tzinfo=UTC)
    intake = story.topics["intake"]
    text = "外壳开裂" * 2500 + " END-OF-TEXT"  # 10,000 characters without a space
    intake.add(
        pub.ComplaintLogged(
            **envelope(case, at, MARKETING),
            category="quality",
            channel="letter",
            receiving_department="marketing",
            received_at=at,
            customer=CUSTOMER,
            text=text,
        )
    )
    for n in range(40):
        intake.add(
            pub.ReplySent(
                **envelope(case, at + timedelta(minutes=n), MARKETING),
                replied_at=at + timedelta(minutes=n),
                channel="phone",
                summary=f"Reply {n}: " + "still waiting for the samples " * 12,
            )
        )
    rendered = asyncio.run(register_document(story.history(), Period.month("2026-11"), GENERATED))
    text_of_pdf = pdf_text(documents(rendered, tmp_path)["pdf"])
    has(text_of_pdf, "END-OF-TEXT", "Reply 0:", "Reply 39:", "外壳开裂外壳开裂")
    entries = asyncio.run(case_timeline(story.history(), str(case)))
    form = case_history_form(str(case), entries, as_of(entries, GENERATED))
    pdf = tmp_path / "history.pdf"
    pdf.write_bytes(render_pdf(form))
    has(pdf_text(pdf), "END-OF-TEXT", "Reply 39:", "案件履历", "Case history")
