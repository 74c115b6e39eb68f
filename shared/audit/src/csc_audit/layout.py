"""Long cells continued on further lines of a table, so no line is taller than a page.

A PDF table row cannot break across pages, and an entry's text may be 20,000
characters, its history dozens of replies. A row whose cells would not fit
on about half a page is cut into the row itself and continuation rows below
it: each cell's text goes on where it stopped, at a line break, a space, or
(for Chinese, which has no spaces) any character. Numbers stay on the first
row. The heights are estimates, on the safe side, of what the A4 renderer of
csc_forms will set (8.5 pt text, cells padded 6 pt either side).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence

from csc_forms import Cell, Column

TABLE_WIDTH = 493.0
"""Points of a table's width on A4 portrait between csc_forms' margins (174 mm)."""
PADDING = 12.0
WASTE = 1.15
LATIN, WIDE = 4.6, 8.7
"""Estimated advance of one character at 8.5 pt: Helvetica (a little generous), and CJK."""
LINES_PER_ROW = 26
"""Two such rows and the column heads fit a page, even if the estimate were 1.7 times short
(a cell of capital Ws)."""


def _width(text: str) -> float:
    return sum(WIDE if unicodedata.east_asian_width(c) in "WF" else LATIN for c in text)


def _lines(paragraph: str, capacity: float) -> int:
    # Wrapping at word boundaries wastes some of each line.
    return max(1, math.ceil(_width(paragraph) * WASTE / capacity))


def _cut(paragraph: str, capacity: float, budget: int) -> list[str]:
    """The paragraph in pieces of at most ``budget`` lines each."""
    limit = capacity * budget / WASTE
    pieces: list[str] = []
    current, used = "", 0.0
    for token in re.split(r"(\s+)", paragraph):
        for part in _chars(token, limit):
            width = _width(part)
            if used + width > limit and current.strip():
                pieces.append(current.strip())
                current, used = "", 0.0
            current += part
            used += width
    if current.strip() or not pieces:
        pieces.append(current.strip())
    return pieces


def _chars(token: str, limit: float) -> list[str]:
    if _width(token) <= limit:
        return [token]
    parts, current, used = [], "", 0.0
    for char in token:
        width = _width(char)
        if used + width > limit and current:
            parts.append(current)
            current, used = "", 0.0
        current += char
        used += width
    return [*parts, current] if current else parts


def _pieces(text: str, capacity: float) -> list[str]:
    pieces: list[str] = []
    current: list[str] = []
    used = 0
    for paragraph in text.split("\n"):
        for part in _cut(paragraph, capacity, LINES_PER_ROW):
            lines = _lines(part, capacity)
            if current and used + lines > LINES_PER_ROW:
                pieces.append("\n".join(current))
                current, used = [], 0
            current.append(part)
            used += lines
    pieces.append("\n".join(current))
    return pieces


def spill(columns: Sequence[Column], row: Sequence[Cell]) -> list[list[Cell]]:
    """The row, continued on as many rows as its longest cell needs."""
    total = sum(c.width for c in columns)
    split: list[list[Cell]] = []
    for cell, column in zip(row, columns, strict=True):
        capacity = max(TABLE_WIDTH * column.width / total - PADDING, LATIN)
        pieces: list[Cell] = [*_pieces(cell, capacity)] if isinstance(cell, str) else [cell]
        split.append(pieces)
    height = max(len(pieces) for pieces in split)
    return [[pieces[i] if i < len(pieces) else "" for pieces in split] for i in range(height)]
