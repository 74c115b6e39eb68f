"""The procedure's printed forms: one bilingual document model, rendered as PDF and XLSX."""

from typing import Literal

from csc_forms.channels import CHANNELS
from csc_forms.departments import DEPARTMENTS
from csc_forms.model import (
    EMPTY_CELL,
    PREPARED_REVIEWED_APPROVED,
    Cell,
    Column,
    Form,
    HeaderField,
    Labels,
    Section,
    Signature,
    bilingual,
    cell_text,
    label,
)
from csc_forms.remedies import REMEDIES
from csc_forms.values import (
    TOTAL,
    customer_text,
    department,
    file_safe,
    from_history,
    moment,
    stamp,
    who,
)

# reportlab and openpyxl take about a second to import: a service loads them when it
# first prints a document, not at start (a restart is ready sooner).


def render_pdf(form: Form) -> bytes:
    """The form as a PDF, in Chinese and English (csc_forms.pdf)."""
    from csc_forms.pdf import render_pdf as render

    return render(form)


def render_xlsx(form: Form) -> bytes:
    """The form as a spreadsheet, in Chinese and English (csc_forms.xlsx)."""
    from csc_forms.xlsx import render_xlsx as render

    return render(form)


PDF_MEDIA_TYPE = "application/pdf"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Kind = Literal["pdf", "xlsx"]
"""The kinds of document a form prints as, by their file extension."""
MEDIA_TYPES: dict[Kind, str] = {"pdf": PDF_MEDIA_TYPE, "xlsx": XLSX_MEDIA_TYPE}


def render(form: Form, kind: Kind) -> tuple[bytes, str]:
    """The form as a document of that kind, with the document's media type."""
    content = render_pdf(form) if kind == "pdf" else render_xlsx(form)
    return content, MEDIA_TYPES[kind]


__all__ = [
    "CHANNELS",
    "DEPARTMENTS",
    "EMPTY_CELL",
    "MEDIA_TYPES",
    "PDF_MEDIA_TYPE",
    "PREPARED_REVIEWED_APPROVED",
    "REMEDIES",
    "TOTAL",
    "XLSX_MEDIA_TYPE",
    "Cell",
    "Column",
    "Form",
    "HeaderField",
    "Kind",
    "Labels",
    "Section",
    "Signature",
    "bilingual",
    "cell_text",
    "customer_text",
    "department",
    "file_safe",
    "from_history",
    "label",
    "moment",
    "render",
    "render_pdf",
    "render_xlsx",
    "stamp",
    "who",
]
