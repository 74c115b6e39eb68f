"""A form as an A4 PDF that prints Chinese and English alike.

Chinese is set in a TrueType CJK font embedded in the PDF (a subset of it),
so the form prints the same on every reader and printer: the one named by
``CSC_FORMS_CJK_FONT``, else one of the usual system fonts (Debian's
fonts-arphic-uming, fonts-wqy-microhei, fonts-droid-fallback). With none of
them, it falls back to Adobe's STSong-Light, a CID font that readers with
Asian language support provide; readers without it show no Chinese.
Everything a Western code page can encode is set in Helvetica, one of the
fonts every reader has with exact metrics, so the English is spaced
correctly whatever happens to the Chinese.
"""

from __future__ import annotations

import functools
import io
import itertools
import os
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from csc_forms.model import Cell, Form, Section, cell_text
from csc_forms.text import writable

Align = Literal[0, 1, 2]  # reportlab.lib.enums: TA_LEFT, TA_CENTER, TA_RIGHT

CJK_CID_FONT = "STSong-Light"
CJK_EMBEDDED = "CSC-CJK"
SYSTEM_CJK_FONTS = (
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
LATIN_FONT, LATIN_BOLD = "Helvetica", "Helvetica-Bold"
MARGIN = 18 * mm
FURNITURE = 7.5  # point size of the running header and footer
GRID = colors.HexColor("#7f7f7f")
SHADE = colors.HexColor("#e8e8e8")
KEEP_WITH_TITLE = 35 * mm


def render_pdf(form: Form) -> bytes:
    # "Page n of N" needs N before the first page is drawn: a first pass counts the
    # pages (the running header and footer sit in the margins and never change it).
    _, pages = _build(form, None)
    document, _ = _build(form, pages)
    return document


def _build(form: Form, pages: int | None) -> tuple[bytes, int]:
    _register_fonts()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + 4 * mm,
        bottomMargin=MARGIN + 9 * mm,
        title=writable(f"{form.title_zh} {form.title_en}"),
        subject=writable(form.reference),
        author="Customer Service Control",
        creator="Customer Service Control",
        lang="zh-CN",
    )

    def furniture(canvas: Canvas, _: Any) -> None:
        _furniture(canvas, form, pages)

    doc.build(_story(form, doc.width), onFirstPage=furniture, onLaterPages=furniture)
    return buffer.getvalue(), doc.page


def cjk_font_file() -> Path | None:
    """The TrueType font to embed for Chinese, if this machine has one."""
    named = os.environ.get("CSC_FORMS_CJK_FONT")
    candidates = [named] if named else list(SYSTEM_CJK_FONTS)
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


@functools.cache
def _cjk_font() -> str:
    path = cjk_font_file()
    if path is None:
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_CID_FONT))
        return CJK_CID_FONT
    pdfmetrics.registerFont(TTFont(CJK_EMBEDDED, str(path), subfontIndex=0))
    return CJK_EMBEDDED


def _register_fonts() -> None:
    _cjk_font()


# Text in two fonts -----------------------------------------------------------------------


def _latin(char: str) -> bool:
    if unicodedata.east_asian_width(char) in "WF":
        return False
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _runs(text: str) -> Iterator[tuple[bool, str]]:
    """The text cut where it changes between Latin and Chinese, each run with which."""
    for latin, chars in itertools.groupby(writable(text), key=_latin):
        yield latin, "".join(chars)


def _markup(text: str) -> str:
    """Paragraph markup in the Latin font, Chinese runs switched to the CID font."""
    return "".join(
        escape(run) if latin else f'<font face="{_cjk_font()}">{escape(run)}</font>'
        for latin, run in _runs(text)
    ).replace("\n", "<br/>")


def _text_width(text: str, size: float) -> float:
    return sum(
        pdfmetrics.stringWidth(run, LATIN_FONT if latin else _cjk_font(), size)
        for latin, run in _runs(text)
    )


def _draw(canvas: Canvas, x: float, y: float, text: str, size: float) -> None:
    # One text object for the line, so a reader copies it as one line of text.
    line = canvas.beginText(x, y)
    for latin, run in _runs(text):
        line.setFont(LATIN_FONT if latin else _cjk_font(), size)
        line.textOut(run)
    canvas.drawText(line)


def _style(
    name: str, size: float, align: Align = TA_LEFT, *, bold: bool = False, **kw: Any
) -> ParagraphStyle:
    return ParagraphStyle(
        name,
        fontName=LATIN_BOLD if bold else LATIN_FONT,
        fontSize=size,
        alignment=align,
        **{"leading": size * 1.3, **kw},
    )


# The page --------------------------------------------------------------------------------


def _story(form: Form, width: float) -> list[Flowable]:
    story: list[Flowable] = [
        Paragraph(_markup(form.title_zh), _style("title-zh", 16, TA_CENTER, leading=22)),
        Paragraph(_markup(form.title_en), _style("title-en", 11, TA_CENTER, bold=True)),
        Spacer(0, 5 * mm),
    ]
    if form.fields:
        story += [_header_fields(form, width), Spacer(0, 5 * mm)]
    heading = _style("section", 10.5, bold=True, spaceBefore=4, spaceAfter=3)
    for section in form.sections:
        # A title never ends a page alone; a long table then splits, not the whole moves.
        story += [CondPageBreak(KEEP_WITH_TITLE), Paragraph(_markup(section.title), heading)]
        story += [_table(section, width), Spacer(0, 4 * mm)]
    if form.signatures:
        story.append(_signatures(form, width))
    return story


def _header_fields(form: Form, width: float) -> Table:
    label, value = _style("field-label", 8.5), _style("field-value", 9)
    cells = [
        [Paragraph(_markup(f.label), label), Paragraph(_markup(cell_text(f.value)), value)]
        for f in form.fields
    ]
    # Two fields to a line, as paper forms lay them out.
    blank: list[Any] = ["", ""]
    rows = [
        cells[i] + (cells[i + 1] if i + 1 < len(cells) else blank) for i in range(0, len(cells), 2)
    ]
    table = Table(rows, colWidths=[width * w for w in (0.18, 0.32, 0.18, 0.32)], splitInRow=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, GRID),
                ("BACKGROUND", (0, 0), (0, -1), SHADE),
                ("BACKGROUND", (2, 0), (2, -1), SHADE),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return table


def _table(section: Section, width: float) -> Table:
    header = _style("column", 8.5, TA_CENTER)
    aligned = {
        "text": _style("cell", 8.5),
        "number": _style("number", 8.5, TA_RIGHT),
        "empty": _style("empty", 8.5, TA_CENTER),
    }
    head = [
        Paragraph(_markup("\n".join(p for p in (c.label_zh, c.label_en) if p)), header)
        for c in section.columns
    ]
    body: list[list[Any]] = [
        [
            Paragraph(_markup(cell_text(v, c.percent)), aligned[_kind(v)])
            for v, c in zip(row, section.columns, strict=True)
        ]
        for row in section.rows
    ]
    commands: list[Any] = [
        ("GRID", (0, 0), (-1, -1), 0.5, GRID),
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
    if not body:
        body = [[Paragraph(_markup(section.empty), aligned["empty"])]]
        body[0] += [""] * (len(section.columns) - 1)
        commands.append(("SPAN", (0, 1), (-1, 1)))
    total = sum(c.width for c in section.columns)
    table = Table(
        [head, *body],
        colWidths=[width * c.width / total for c in section.columns],
        repeatRows=1,
        # A row taller than a page (a long complaint text) goes on over the next page
        # instead of failing the whole document.
        splitInRow=1,
    )
    table.setStyle(TableStyle(commands))
    return table


def _kind(value: Cell) -> str:
    if value is None:
        return "empty"
    return "text" if isinstance(value, str) else "number"


def _signatures(form: Form, width: float) -> Flowable:
    label = _style("signature", 9)
    rows = [
        [Paragraph(_markup(s.label), label), "", Paragraph(_markup("日期 Date"), label), ""]
        for s in form.signatures
    ]
    table = Table(
        rows,
        colWidths=[width * w for w in (0.2, 0.4, 0.12, 0.28)],
        rowHeights=[11 * mm] * len(rows),
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                # The lines to sign on.
                ("LINEBELOW", (1, 0), (1, -1), 0.5, colors.black),
                ("LINEBELOW", (3, 0), (3, -1), 0.5, colors.black),
            ]
        )
    )
    return KeepTogether([Spacer(0, 4 * mm), table])


def _furniture(canvas: Canvas, form: Form, pages: int | None) -> None:
    """The running header and footer: title, form number, page, provenance."""
    page_width, page_height = A4
    top, bottom, right = page_height - MARGIN + 2 * mm, MARGIN, page_width - MARGIN
    canvas.saveState()
    canvas.setFillColor(colors.HexColor("#404040"))
    _draw(canvas, MARGIN, top, f"{form.title_zh} {form.title_en}", FURNITURE)
    _draw(canvas, right - _text_width(form.reference, FURNITURE), top, form.reference, FURNITURE)
    number = canvas.getPageNumber()
    page = f"第 {number} / {pages} 页  Page {number} of {pages}" if pages else f"Page {number}"
    _draw(canvas, right - _text_width(page, FURNITURE), bottom, page, FURNITURE)
    baseline = bottom
    for line in reversed(_wrap(form.footer, right - MARGIN - 45 * mm, FURNITURE)):
        _draw(canvas, MARGIN, baseline, line, FURNITURE)
        baseline += FURNITURE * 1.25
    canvas.restoreState()


def _wrap(text: str, width: float, size: float) -> Sequence[str]:
    """Break at spaces where possible, anywhere else when a run is wider than the line."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if _text_width(candidate, size) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for char in word:
            if line and _text_width(line + char, size) > width:
                lines.append(line)
                line = ""
            line += char
    if line:
        lines.append(line)
    return lines
