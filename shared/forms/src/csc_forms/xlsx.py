"""A form as one XLSX sheet laid out like the printed page, numbers kept as numbers.

Every cell is written by ``_write``: text is always a string cell, never a
formula or an error value, whatever it starts with (openpyxl takes a string
starting with "=" for a formula, and "#N/A" for an error, unless the cell's
type is set to string after the value), and it carries only characters a
worksheet can hold (``csc_forms.text``).
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from collections.abc import Iterable

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING
from openpyxl.cell.cell import Cell as SheetCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from csc_forms.model import EMPTY_CELL, Cell, Form, Section
from csc_forms.text import writable

THIN = Side(style="thin", color="7F7F7F")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
SHADE = PatternFill("solid", fgColor="E8E8E8")
WRAP = Alignment(wrap_text=True, vertical="center")
TITLE_ROWS = 3  # Chinese title, English title, form number
MIN_WIDTH, MAX_WIDTH = 10.0, 48.0
MAX_CELL_TEXT = 32_767  # characters a cell holds (Excel's specifications and limits)
# What spreadsheet programs read as the start of a formula when a cell is edited or the
# sheet is saved as CSV: such cells are marked as text (quotePrefix) as well (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def render_xlsx(form: Form) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _sheet_title(form.number)
    span = max([2, *(len(s.columns) for s in form.sections)])
    if form.signatures:
        span = max(span, 4)

    _title_rows(sheet, form, span)
    row = TITLE_ROWS + 2
    for field in form.fields:
        _write(sheet, row, 1, field.label).fill = SHADE
        _write(sheet, row, 2, _value(field.value))
        _merge(sheet, row, 2, span)
        _box(sheet, row, 1, span)
        row += 1
    heads = []
    for section in form.sections:
        head, row = _section(sheet, section, row + 1, span)
        heads.append(head)
    if form.signatures:
        row += 1
        for signature in form.signatures:
            _write(sheet, row, 1, signature.label)
            _write(sheet, row, 3, "日期 Date")
            for column in (2, 4):
                sheet.cell(row, column).border = Border(bottom=THIN)
            sheet.row_dimensions[row].height = 30
            row += 1
    if form.footer:
        note = _write(sheet, row + 1, 1, form.footer)
        note.font = Font(size=8, italic=True)
        note.alignment = Alignment(wrap_text=True, vertical="top")
        _merge(sheet, row + 1, 1, span)
        sheet.row_dimensions[row + 1].height = 24

    _widths(sheet, form, span)
    # A form of one long table keeps its column headings in view and on every printed
    # page; otherwise the title block does.
    _print_setup(sheet, form, heads[0] if len(heads) == 1 else TITLE_ROWS)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _title_rows(sheet: Worksheet, form: Form, span: int) -> None:
    for row, text, size in ((1, form.title_zh, 16), (2, form.title_en, 12)):
        cell = _write(sheet, row, 1, text)
        cell.font = Font(size=size, bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center")
        _merge(sheet, row, 1, span)
    reference = _write(sheet, 3, 1, form.reference)
    reference.alignment = Alignment(horizontal="right")
    _merge(sheet, 3, 1, span)
    sheet.row_dimensions[1].height = 24


def _section(sheet: Worksheet, section: Section, row: int, span: int) -> tuple[int, int]:
    """Writes the section from ``row``; returns its heading row and the next free row."""
    title = _write(sheet, row, 1, section.title)
    title.font = Font(bold=True)
    _merge(sheet, row, 1, span)
    row += 1
    for column, spec in enumerate(section.columns, start=1):
        cell = _write(sheet, row, column, "\n".join(p for p in (spec.label_zh, spec.label_en) if p))
        cell.font = Font(bold=True)
        cell.fill = SHADE
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    _box(sheet, row, 1, len(section.columns))
    sheet.row_dimensions[row].height = 30
    head = row
    row += 1
    if not section.rows:
        _write(sheet, row, 1, section.empty).alignment = Alignment(horizontal="center")
        _merge(sheet, row, 1, len(section.columns))
        _box(sheet, row, 1, len(section.columns))
        return head, row + 1
    for values in section.rows:
        for column, (value, spec) in enumerate(zip(values, section.columns, strict=True), 1):
            cell = _write(sheet, row, column, _value(value))
            if value is None:
                cell.alignment = Alignment(horizontal="center", vertical="center")
            elif isinstance(value, str):
                cell.alignment = WRAP
            elif spec.percent:
                cell.number_format = "0.0%"
        _box(sheet, row, 1, len(section.columns))
        row += 1
    return head, row


def _value(value: Cell) -> str | int | float:
    if value is None:
        return EMPTY_CELL
    # A worksheet has no NaN or infinity: they print as their names.
    return str(value) if isinstance(value, float) and not math.isfinite(value) else value


def _write(sheet: Worksheet, row: int, column: int, value: str | int | float) -> SheetCell:
    """The one place a value enters the sheet: text stays text (see the module's docstring)."""
    cell = sheet.cell(row, column)
    assert isinstance(cell, SheetCell)
    if not isinstance(value, str):
        cell.value = value
        return cell
    text = writable(value)
    if len(text) > MAX_CELL_TEXT:
        text = text[: MAX_CELL_TEXT - 1] + "…"
    cell.value = text
    cell.data_type = TYPE_STRING
    if text.startswith(FORMULA_START):
        cell.quotePrefix = True
    return cell


def _merge(sheet: Worksheet, row: int, first: int, last: int) -> None:
    if last > first:
        sheet.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)


def _box(sheet: Worksheet, row: int, first: int, last: int) -> None:
    for column in range(first, last + 1):
        sheet.cell(row, column).border = BOX


def _display_width(text: str) -> float:
    """Excel's column width counts characters; a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _widths(sheet: Worksheet, form: Form, span: int) -> None:
    widest = [MIN_WIDTH] * span
    texts: list[tuple[int, Iterable[str]]] = [(0, (f.label for f in form.fields))]
    texts += [(0, (s.label for s in form.signatures))]
    for section in form.sections:
        for index, column in enumerate(section.columns):
            values = [str(_value(row[index])) for row in section.rows]
            texts.append((index, [column.label_zh, column.label_en, *values]))
    for index, strings in texts:
        for text in strings:
            longest = max((_display_width(line) for line in text.splitlines()), default=0)
            widest[index] = max(widest[index], min(MAX_WIDTH, longest + 2))
    for index, width in enumerate(widest, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def _print_setup(sheet: Worksheet, form: Form, frozen: int) -> None:
    sheet.freeze_panes = f"A{frozen + 1}"
    sheet.print_title_rows = f"{frozen}:{frozen}" if frozen > TITLE_ROWS else f"1:{TITLE_ROWS}"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = sheet.ORIENTATION_PORTRAIT
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.print_options.horizontalCentered = True
    header, footer = sheet.oddHeader, sheet.oddFooter
    assert header is not None and footer is not None
    footer.left.text = _header_footer_text(form.footer)
    footer.left.size = 7
    footer.right.text = "&P / &N"
    header.right.text = _header_footer_text(form.reference)


def _header_footer_text(text: str) -> str:
    # "&" starts a field code in Excel's header and footer language.
    return writable(text).replace("&", "&&")


def _sheet_title(number: str) -> str:
    title = re.sub(r"[\[\]:*?/\\]", "-", writable(number)).strip("'")[:31]
    return title or "Form"
