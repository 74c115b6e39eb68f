"""A bilingual form comes out of both renderers with its Chinese, its numbers and its layout."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from pypdf import PdfReader

from csc_forms import (
    PREPARED_REVIEWED_APPROVED,
    Column,
    Form,
    HeaderField,
    Section,
    render_pdf,
    render_xlsx,
)

FOOTER = "Generated from the event history at 2026-11-24T12:00:00Z; digest " + "0f" * 32


def form(rows: int = 3) -> Form:
    return Form(
        title_zh="现场服务月报表",
        title_en="Field Service Monthly Report",
        number="CSC-F-04",
        attachment="附件4",
        fields=[
            HeaderField("月份", "Month", "2026-10"),
            HeaderField("顾客", "Customer", "东风汽车 Dongfeng Motor"),
            HeaderField("备注", "Note", None),
        ],
        sections=[
            Section(
                "顾客反馈（按类别）",
                "Feedback by kind",
                [
                    Column("类别", "Kind", 3),
                    Column("数量", "Count"),
                    Column("比率", "Share", percent=True),
                ],
                [[f"质量问题的意见 quality problem {i}", i, i / 100] for i in range(1, rows + 1)],
            ),
            Section("超时", "Breaches", [Column("案件", "Case"), Column("时钟", "Clock")]),
            Section(
                "退货",
                "Returns",
                [Column("项目", "Item"), Column("情况", "Status")],
                [["退货 returns", None]],
            ),
        ],
        signatures=PREPARED_REVIEWED_APPROVED,
        footer=FOOTER,
    )


def pdf_pages(document: bytes) -> list[str]:
    assert document.startswith(b"%PDF-")
    return [page.extract_text() for page in PdfReader(io.BytesIO(document)).pages]


def sheet_of(document: bytes) -> Worksheet:
    sheet = load_workbook(io.BytesIO(document)).active
    assert isinstance(sheet, Worksheet)
    return sheet


def row_of(sheet: Worksheet, first: object) -> list[object]:
    for row in sheet.iter_rows(values_only=True):
        if row[0] == first:
            return list(row)
    raise AssertionError(f"no row starts with {first!r}")


def test_the_pdf_carries_the_chinese_and_the_values() -> None:
    (page,) = pdf_pages(render_pdf(form()))
    for text in (
        "现场服务月报表",
        "Field Service Monthly Report",
        "CSC-F-04 / 附件4",
        "顾客反馈（按类别） Feedback by kind",
        "东风汽车 Dongfeng Motor",
        "质量问题的意见 quality problem 2",
        "3.0%",
        "无 None",  # the empty table says so
        "编制 Prepared by",
        "批准 Approved by",
        "digest",
        "0f" * 32,  # the footer wraps before the hash, which stays whole
        "第 1 / 1 页",
    ):
        assert text in page, text
    assert re.search(r"退货 returns\s*—", page), "None prints as a dash"


def test_a_long_table_splits_across_pages_under_its_header() -> None:
    pages = pdf_pages(render_pdf(form(rows=120)))
    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        assert FOOTER[:40] in page
    rows_on = [re.findall(r"quality problem (\d+)\b", page) for page in pages]
    assert [int(n) for found in rows_on for n in found] == list(range(1, 121))
    for page, found in zip(pages, rows_on, strict=True):
        if found:  # every page the table reaches repeats its column headings
            assert "类别" in page and "Kind" in page and "数量" in page and "Count" in page


def test_the_spreadsheet_has_bilingual_headings_and_typed_values() -> None:
    sheet = sheet_of(render_xlsx(form()))
    assert sheet["A1"].value == "现场服务月报表"
    assert sheet["A2"].value == "Field Service Monthly Report"
    assert row_of(sheet, "月份 Month")[1] == "2026-10"
    assert row_of(sheet, "备注 Note")[1] == "—"
    assert row_of(sheet, "类别\nKind")[:3] == ["类别\nKind", "数量\nCount", "比率\nShare"]
    counted = row_of(sheet, "质量问题的意见 quality problem 2")
    assert counted[1:3] == [2, pytest.approx(0.02)]
    for row in sheet.iter_rows():
        if row[0].value == "质量问题的意见 quality problem 2":
            assert row[2].number_format == "0.0%"
    assert row_of(sheet, "案件\nCase")[1] == "时钟\nClock"
    assert row_of(sheet, "无 None")
    assert row_of(sheet, "退货 returns")[1] == "—"
    assert row_of(sheet, "编制 Prepared by")[2] == "日期 Date"
    assert row_of(sheet, FOOTER)


def test_the_spreadsheet_prints_on_a4_to_the_page_width() -> None:
    sheet = sheet_of(render_xlsx(form()))
    assert sheet.title == "CSC-F-04"
    assert sheet.freeze_panes == "A4"
    assert sheet.page_setup.paperSize == 9  # A4 in the OOXML paper size codes
    assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0)
    assert sheet.sheet_properties.pageSetUpPr is not None
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.column_dimensions["A"].width > sheet.column_dimensions["C"].width


def test_a_one_table_form_freezes_and_repeats_its_column_headings() -> None:
    single = Form(
        "现场服务工作记录表", "Field Service Work Record", "CSC-F-02",
        sections=[Section("记录", "Records", [Column("日期", "Date")], [[f"2026-10-{d:02d}"]
                                                                     for d in range(1, 29)])],
    )  # fmt: skip
    sheet = sheet_of(render_xlsx(single))
    heading = next(r[0].row for r in sheet.iter_rows() if r[0].value == "日期\nDate")
    assert sheet.freeze_panes == f"A{heading + 1}"
    assert sheet.print_title_rows == f"${heading}:${heading}"


def test_a_row_must_fill_its_columns() -> None:
    with pytest.raises(ValueError, match="2 cells for 1 columns"):
        Section("超时", "Breaches", [Column("案件", "Case")], [["a", "b"]])


def test_the_chinese_font_is_embedded_so_every_printer_prints_it() -> None:
    # ./dev and .ci/run install Debian's fonts-arphic-uming for this.
    from csc_forms.pdf import cjk_font_file

    assert cjk_font_file() is not None, "no CJK TrueType font: install fonts-arphic-uming"
    reader = PdfReader(io.BytesIO(render_pdf(form())))
    resources: Any = reader.pages[0]["/Resources"]
    fonts = resources["/Font"]
    embedded = [
        f.get_object()
        for f in fonts.values()
        if "+" in str(f.get_object().get("/BaseFont", ""))  # a subset: embedded
    ]
    assert embedded, [str(f.get_object().get("/BaseFont")) for f in fonts.values()]
    descriptor = embedded[0]["/FontDescriptor"].get_object()
    assert "/FontFile2" in descriptor  # the glyphs travel inside the PDF


def test_a_named_font_that_is_missing_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    from csc_forms.pdf import cjk_font_file

    monkeypatch.setenv("CSC_FORMS_CJK_FONT", "/nonexistent/font.ttf")
    assert cjk_font_file() is None


# What a user typed is data in every cell, whatever it is ----------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example","click")', "+1+1", "-2+3", "@SUM(A1:A9)",
            "=1", "#N/A", "#REF!", "\t=1"]  # fmt: skip
UNWRITABLE = "客户\x00名\x01称\x0b\x1f \ud800 \ufffe\uffff end"


def user_text_form(text: str) -> Form:
    """``text`` in every place a form takes what a user typed."""
    return Form(
        title_zh="表",
        title_en="Form",
        number="CSC-F-01",
        fields=[HeaderField("顾客", "Customer", text)],
        sections=[
            Section("记录", "Records", [Column("内容", "Text"), Column("数", "N")], [[text, 1]])
        ],
        signatures=PREPARED_REVIEWED_APPROVED,
        footer=f"Generated for {text}",
    )


def string_cells(document: bytes) -> dict[str, tuple[object, str]]:
    sheet = sheet_of(document)
    return {
        c.coordinate: (c.value, c.data_type) for row in sheet.iter_rows() for c in row if c.value
    }


@pytest.mark.parametrize("text", FORMULAS)
def test_text_that_looks_like_a_formula_stays_text(text: str) -> None:
    cells = string_cells(render_xlsx(user_text_form(text)))
    written = [(value, kind) for value, kind in cells.values() if value == text]
    assert len(written) == 2, cells  # the header field and the table cell
    assert all(kind == "s" for _, kind in written)
    assert not [v for v, kind in cells.values() if kind in ("f", "e")]
    sheet = sheet_of(render_xlsx(user_text_form(text)))
    # Marked as text for the spreadsheet program too, so editing the cell keeps it text.
    marked = [c for row in sheet.iter_rows() for c in row if c.value == text]
    assert all(c.quotePrefix for c in marked) == text.startswith(("=", "+", "-", "@", "\t"))


def test_characters_a_worksheet_cannot_hold_are_replaced_in_every_renderer() -> None:
    expected = "客户\ufffd名\ufffd称\ufffd\ufffd \ufffd \ufffd\ufffd end"
    document = render_xlsx(user_text_form(UNWRITABLE))
    values = [value for value, _ in string_cells(document).values()]
    assert values.count(expected) == 2, values
    sheet = sheet_of(document)
    footer = sheet.oddFooter
    assert footer is not None and expected in (footer.left.text or "")
    pages = pdf_pages(render_pdf(user_text_form(UNWRITABLE)))
    assert "end" in "".join(pages) and "客户" in "".join(pages)


def test_a_text_longer_than_a_page_goes_on_over_the_next_pages() -> None:
    text = "Cracks found at the gate on every housing of the lot. " * 150  # 8,100 characters
    pages = pdf_pages(render_pdf(user_text_form(text)))
    assert len(pages) >= 3 and "lot. Cracks" in pages[-1]
    cells = string_cells(render_xlsx(user_text_form("x" * 40_000)))
    kept = [v for v, _ in cells.values() if str(v).startswith("xxx")]
    assert kept == ["x" * 32_766 + "…"] * 2  # a cell holds 32,767 characters
