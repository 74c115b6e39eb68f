"""4.4.3: what evidence is, by its bytes, and the name it is kept under."""

from __future__ import annotations

import pytest

from csc_capa.evidence import EVIDENCE_TYPES, content_problem, known_types, safe_filename


@pytest.mark.parametrize(
    ("data", "declared"),
    [
        (b"\xff\xd8\xff\xe1\x00\x16Exif\x00\x00" + bytes(30), "image/jpeg"),  # a camera's
        (b"MM\x00*\x00\x00\x00\x08" + bytes(30), "image/tiff"),  # big-endian, a scanner's
        # A phone's HEIC whose major brand is the generic "mif1".
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic" + bytes(8), "image/heic"),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + bytes(8), "video/mp4"),
        (b"\x00\x00\x00\x1cftypM4V \x00\x00\x00\x01M4V M4A mp42isom", "video/mp4"),
        ("温度记录\t25.1\r\n".encode("gb18030"), "text/plain"),
    ],
)
def test_evidence_of_its_declared_type_is_taken(data: bytes, declared: str) -> None:
    assert content_problem(data, declared) is None


@pytest.mark.parametrize(
    ("data", "declared", "why"),
    [
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic", "video/mp4", "is image/heif"),
        (b"<svg onload=alert(1)>", "text/plain", "is text/html, not text"),
        (b"<?xml version='1.0'?><x/>", "text/csv", "not text"),
        (b"MZ\x90\x00" + bytes(60), "application/pdf", "not application/pdf"),
    ],
)
def test_evidence_of_another_type_is_named(data: bytes, declared: str, why: str) -> None:
    problem = content_problem(data, declared)
    assert problem is not None and why in problem


def test_only_types_that_can_be_checked_may_be_configured() -> None:
    assert known_types([" Image/PNG ", "text/csv"]) == {"image/png", "text/csv"}
    with pytest.raises(ValueError, match="application/zip cannot be checked"):
        known_types([*EVIDENCE_TYPES, "application/zip"])


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("裂纹照片.jpg", "裂纹照片.jpg"),
        ("/etc/passwd", "passwd"),
        ("C:\\Users\\王\\Desktop\\报告.pdf", "报告.pdf"),
        ("photo\u202egpj.exe", "photogpj.exe"),  # a right-to-left override hid ".exe"
        ("con.txt", "con_.txt"),
        ("a<b>c|d?.png", "abcd.png"),
        ("\u3000 照片 \t 1 .png", "照片 1 .png"),
        ("...", "evidence"),
        ("照" * 100 + ".jpeg", "照" * 65 + ".jpeg"),  # 200 bytes of UTF-8, the extension kept
    ],
)
def test_a_name_is_kept_as_a_safe_base_name(sent: str, kept: str) -> None:
    assert safe_filename(sent) == kept
    assert len(kept.encode()) <= 200
