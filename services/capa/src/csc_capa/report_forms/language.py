"""The line-based layout language a customer's rendered template is read in (see the package)."""

from __future__ import annotations

import re

from csc_capa.report_forms.labels import DETAILS, ITEM
from csc_forms import EMPTY_CELL, Cell, HeaderField, Section, bilingual


class TemplateProblem(ValueError):
    """A customer's template that cannot make a report; the message names the line."""


# What an expression prints is value text: these stand for its newlines, colons, "#" and "|"
# while the output is read into lines and labels, so data never changes the layout.
_PROTECTED = {"\n": "\ue000", ":": "\ue001", "：": "\ue002", "#": "\ue003", "|": "\ue004"}
_RESTORE = str.maketrans({v: k for k, v in _PROTECTED.items()})
_PROTECT = str.maketrans(_PROTECTED)
_COLON = re.compile("[:：]")


def _layout(rendered: str) -> tuple[list[HeaderField], list[Section]]:
    fields: list[HeaderField] = []
    sections: list[Section] = []
    title: tuple[str, str] | None = None
    rows: list[list[Cell]] = []

    def close() -> None:
        if title is not None:
            sections.append(Section(*title, [ITEM, DETAILS], rows))

    for number, raw in enumerate(rendered.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            close()
            heading = line.lstrip("#").strip()
            if not heading:
                raise TemplateProblem(f"rendered line {number}: a section needs a title")
            title, rows = _split(heading), []
            continue
        colon = _COLON.search(line)
        if colon and colon.start() > 0:
            zh, en = _split(line[: colon.start()])
            text = _restore(line[colon.end() :].strip())
            value = None if text in ("", EMPTY_CELL) else text
            if title is None:
                fields.append(HeaderField(zh, en, value))
            else:
                rows.append([bilingual(zh, en), value])
        elif title is None:
            raise TemplateProblem(
                f"rendered line {number} ({_restore(line)[:60]!r}): before the first "
                "'# title' section a line must read 'label: value'"
            )
        else:
            rows.append(["", _restore(line)])
    close()
    return fields, sections


def _split(text: str) -> tuple[str, str]:
    """``中文 | English`` into its halves; text without a bar is one label."""
    zh, _, en = text.partition("|")
    return _restore(zh.strip()), _restore(en.strip())


def _restore(text: str) -> str:
    return text.translate(_RESTORE)
