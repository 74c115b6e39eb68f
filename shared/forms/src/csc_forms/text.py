"""Text as a document can carry it, whatever a user typed.

XLSX is XML 1.0, and so is the markup reportlab lays a PDF's paragraphs out
from: neither can carry the C0 control characters other than tab, line feed
and carriage return, a lone surrogate (which no encoding writes), or U+FFFE
and U+FFFF. Each is replaced by U+FFFD, the mark of a character that could
not be shown, so what was recorded stays visibly there rather than vanishing
or failing the whole document. openpyxl refuses the first kind
(``openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE``) and writes the others into
a file no reader opens.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def writable(text: str) -> str:
    return UNWRITABLE.sub(REPLACEMENT, text)
