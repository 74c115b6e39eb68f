"""The document model of a printed form: bilingual labels, header fields, tables, signatures.

A form is plain data, built from a read model by the service that owns it; the
renderers know nothing of any particular form, so every form of the procedure
prints the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Cell = str | int | float | None

EMPTY_CELL = "—"


def bilingual(zh: str, en: str, separator: str = " ") -> str:
    return separator.join(part for part in (zh, en) if part)


Labels = Mapping[str, tuple[str, str]]
"""Bilingual (中文, English) labels of the values a form prints, by value."""


def label(labels: Labels, key: str) -> str:
    """Bilingual label of a known value; a value the form does not know yet prints as itself."""
    zh, en = labels.get(key, ("", key))
    return bilingual(zh, en)


def cell_text(value: Cell, percent: bool = False) -> str:
    if value is None:
        return EMPTY_CELL
    if percent and not isinstance(value, str):
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@dataclass(frozen=True)
class HeaderField:
    label_zh: str
    label_en: str
    value: Cell

    @property
    def label(self) -> str:
        return bilingual(self.label_zh, self.label_en)


@dataclass(frozen=True)
class Column:
    label_zh: str
    label_en: str
    width: float = 1.0
    """Relative to the other columns of the same table."""
    percent: bool = False
    """Its numbers are fractions, shown as percentages; the spreadsheet keeps the fraction."""

    @property
    def label(self) -> str:
        return bilingual(self.label_zh, self.label_en)


@dataclass(frozen=True)
class Section:
    title_zh: str
    title_en: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[Cell]] = ()
    empty_zh: str = "无"
    empty_en: str = "None"
    """Printed across the table when it has no rows, so a blank is never mistaken for a gap."""

    def __post_init__(self) -> None:
        if not self.columns:
            raise ValueError(f"section {self.title_en!r} has no columns")
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(
                    f"section {self.title_en!r}: a row has {len(row)} cells "
                    f"for {len(self.columns)} columns"
                )

    @property
    def title(self) -> str:
        return bilingual(self.title_zh, self.title_en)

    @property
    def empty(self) -> str:
        return bilingual(self.empty_zh, self.empty_en)


@dataclass(frozen=True)
class Signature:
    role_zh: str
    role_en: str

    @property
    def label(self) -> str:
        return bilingual(self.role_zh, self.role_en)


PREPARED_REVIEWED_APPROVED = (
    Signature("编制", "Prepared by"),
    Signature("审核", "Reviewed by"),
    Signature("批准", "Approved by"),
)


@dataclass(frozen=True)
class Form:
    title_zh: str
    title_en: str
    number: str
    """The controlled document number, e.g. ``CSC-F-04``."""
    attachment: str = ""
    """Where the procedure attaches it, e.g. ``附件4``."""
    fields: Sequence[HeaderField] = ()
    sections: Sequence[Section] = ()
    signatures: Sequence[Signature] = ()
    footer: str = ""
    """Provenance printed on every page: what the form was generated from, and when."""

    @property
    def reference(self) -> str:
        return " / ".join(part for part in (self.number, self.attachment) if part)
