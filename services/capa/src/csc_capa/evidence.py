"""What evidence may be (4.4.3): its type checked against its bytes, its name made safe.

A customer's photo, scan, video or report arrives with a file name and a
declared type, both from the sender. The type is believed only when the
bytes agree: ``puremagic`` reads the file's magic numbers (its head and
tail), an Office document must hold the parts its type names, and a text
must be text and not markup a browser would run. The name is reduced to a
base name a file system and a browser accept (``pathvalidate``), the name as
sent kept beside it as data.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from collections.abc import Iterable
from io import BytesIO

import puremagic
from pathvalidate import sanitize_filename

# What customers send as evidence (4.4.3): photos, scans, videos, reports, measurements.
# Each is a type whose content ``content_problem`` can check.
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EVIDENCE_TYPES = (
    "image/jpeg",
    "image/png",
    "image/heic",
    "image/webp",
    "image/tiff",
    "application/pdf",
    "video/mp4",
    "video/quicktime",
    "text/plain",
    "text/csv",
    XLSX,
    DOCX,
)
TEXT_TYPES = frozenset({"text/plain", "text/csv"})
# What puremagic may name for each binary type: HEIC is a kind of HEIF, an MP4's
# brands often read as QuickTime's, and the two share the ISO base media format.
SAME_CONTENT: dict[str, frozenset[str]] = {
    "image/jpeg": frozenset({"image/jpeg"}),
    "image/png": frozenset({"image/png"}),
    "image/heic": frozenset({"image/heic", "image/heif"}),
    "image/webp": frozenset({"image/webp"}),
    "image/tiff": frozenset({"image/tiff"}),
    "application/pdf": frozenset({"application/pdf"}),
    "video/mp4": frozenset({"video/mp4", "video/quicktime", "video/x-m4v"}),
    "video/quicktime": frozenset({"video/quicktime", "video/mp4"}),
    XLSX: frozenset({XLSX}),
    DOCX: frozenset({DOCX}),
}
# The part an Office Open XML package of each type must hold (ECMA-376 part 2).
OOXML_PART = {XLSX: "xl/workbook.xml", DOCX: "word/document.xml"}
# The WHATWG MIME Sniffing standard's patterns (7.1) by which a browser takes bytes for
# HTML, with XML and SVG: markup that could run script if ever shown inline.
MARKUP = re.compile(
    rb"\s*(<!doctype html|<html|<head|<script|<iframe|<h1|<div|<font|<table|<a|<style"
    rb"|<title|<b|<body|<br|<p|<!--|<\?xml|<svg)(\s|>|/)",
    re.IGNORECASE,
)
# ISO base media files (HEIF photos, MP4 and QuickTime videos) name what they are by the
# brands of their first box (ISO/IEC 14496-12 4.3, 23008-12 for HEIF); puremagic knows
# only some of them, a phone's HEIC often opens with "mif1".
BRANDS = {
    "image/heif": {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"},
    "video/mp4": {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1",
                  b"M4V ", b"dash"},
    "video/quicktime": {b"qt  "},
}  # fmt: skip
FALLBACK_NAME = "evidence"
MAX_NAME_BYTES = 200


def known_types(types: Iterable[str]) -> frozenset[str]:
    """The configured evidence types, each one a type whose content can be checked."""
    wanted = frozenset(t.strip().lower() for t in types)
    unknown = wanted - set(EVIDENCE_TYPES)
    if unknown:
        raise ValueError(
            f"evidence types {', '.join(sorted(unknown))} cannot be checked against their "
            f"content; evidence may be of {', '.join(EVIDENCE_TYPES)}"
        )
    return wanted


def found_types(data: bytes) -> list[str]:
    """What the bytes are by their magic numbers, most likely first; empty when unknown."""
    try:
        matches = puremagic.magic_string(data)
    except puremagic.PureError:
        matches = []
    names = [m.mime_type for m in matches if m.mime_type]
    brands = _brands(data)
    # The major brand says what the file is first; heic before mp4 when both are named.
    names += [kind for kind, known in BRANDS.items() if brands[:1] and brands[0] in known]
    names += [kind for kind, known in BRANDS.items() if known & set(brands)]
    if MARKUP.match(data[:512]):
        names.insert(0, "text/html")
    return list(dict.fromkeys(names))


def content_problem(data: bytes, declared: str) -> str | None:
    """Why ``data`` is not of the ``declared`` type, or None when it is."""
    found = found_types(data)
    if declared in TEXT_TYPES:
        if found:
            return f"its content is {found[0]}, not text"
        if _text(data) is None:
            return "its content is not text (neither UTF-8 nor GB18030, or it holds binary bytes)"
        return None
    if not SAME_CONTENT.get(declared, frozenset()) & set(found):
        if found:
            return f"its content is {found[0]}, not {declared}"
        return f"its content is not {declared}: it is of no file type recognised"
    part = OOXML_PART.get(declared)
    if part is not None and not _has_part(data, part):
        return f"its content is not a package of {declared} (it has no {part})"
    return None


def _brands(data: bytes) -> list[bytes]:
    """The major and compatible brands of an ISO base media file's ftyp box, else none."""
    if data[4:8] != b"ftyp":
        return []
    size = min(int.from_bytes(data[:4], "big"), len(data), 4096)
    return [data[8:12], *(data[i : i + 4] for i in range(16, size - 3, 4))]


def _text(data: bytes) -> str | None:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        # Tabs, line ends and form feeds are text; other control characters are a binary file.
        if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f" for ch in text):
            return None
        return text
    return None


def _has_part(data: bytes, part: str) -> bool:
    try:
        with zipfile.ZipFile(BytesIO(data)) as package:
            return part in package.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def safe_filename(name: str) -> str:
    """The base name of ``name`` that any file system, browser and header can carry.

    Folders are dropped (a Windows path too), control and format characters
    (line breaks, bidirectional overrides that disguise an extension) removed,
    characters a file system forbids and names it reserves dealt with by
    ``pathvalidate``; Chinese and every other script are kept.
    """
    base = re.split(r"[/\\]", unicodedata.normalize("NFC", name))[-1]
    base = "".join(
        " " if unicodedata.category(ch) in ("Zs", "Zl", "Zp") else ch
        for ch in base
        if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )
    base = " ".join(base.split())
    safe = sanitize_filename(_shortened(base), platform="universal").lstrip(". ")
    return safe or FALLBACK_NAME


def _shortened(name: str) -> str:
    """At most MAX_NAME_BYTES of UTF-8, cut from the stem so the extension survives."""
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > 16:
        stem, dot, extension = name, "", ""
    room = MAX_NAME_BYTES - len(dot + extension)
    cut = stem.encode()[:room].decode(errors="ignore").rstrip(". ")
    return f"{cut}{dot}{extension}"
