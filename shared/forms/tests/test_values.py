"""Recorded values print the same on every form: times in UTC, people with their department."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from csc_forms import (
    MEDIA_TYPES,
    PDF_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    Form,
    customer_text,
    department,
    file_safe,
    from_history,
    moment,
    render,
    stamp,
    who,
)

SHANGHAI = timezone(timedelta(hours=8))


def test_a_moment_prints_in_utc_to_the_minute_from_text_or_a_time() -> None:
    assert moment("2026-11-24T09:30:59+08:00") == "2026-11-24 01:30"
    assert moment(datetime(2026, 11, 24, 9, 30, tzinfo=SHANGHAI)) == "2026-11-24 01:30"


@pytest.mark.parametrize("nothing", [None, ""])
def test_nothing_recorded_prints_nothing(nothing: str | None) -> None:
    assert moment(nothing) is None
    assert who(None) is None and who({}) is None
    assert customer_text(None) is None and customer_text({}) is None


def test_a_person_prints_with_the_department_they_acted_for() -> None:
    assert who({"user": "wang.fang", "department": "quality"}) == "wang.fang (品管部 Quality)"
    assert department("chief_engineer") == "总工 Chief Engineer"
    # A department the forms do not know yet prints as itself.
    assert who({"user": "li", "department": "legal"}) == "li (legal)"


def test_a_customer_prints_its_code_and_its_name_where_it_has_one() -> None:
    assert customer_text({"code": "OEM-001", "name": "Dongfeng Motor"}) == "OEM-001 Dongfeng Motor"
    assert customer_text({"code": "OEM-002", "name": None}) == "OEM-002"


def test_the_footer_says_when_up_to_which_event_and_the_digest() -> None:
    at = datetime(2027, 1, 22, 10, 0, 5, 123, tzinfo=SHANGHAI)
    assert stamp(at) == "2027-01-22T02:00:05Z"
    assert from_history(at, digest="5a", position=42) == (
        "Generated from the event history at 2027-01-22T02:00:05Z (up to event 42); digest 5a"
    )
    assert from_history(at, digest="5a", position=42, subject="CAPA-1A2B3C4D") == (
        "CAPA-1A2B3C4D: generated from the event history at 2027-01-22T02:00:05Z "
        "(up to event 42); digest 5a"
    )


def test_a_file_name_keeps_ascii_letters_digits_and_what_it_allows() -> None:
    assert file_safe("东风 OEM-001/a.b") == "___OEM-001_a.b"
    assert file_safe("CAPA-1.x", keep="-_") == "CAPA-1_x"


def test_a_form_renders_as_the_kind_asked_for_with_its_media_type() -> None:
    form = Form(title_zh="表", title_en="Form", number="CSC-F-00", footer=stamp(datetime.now(UTC)))
    pdf, pdf_type = render(form, "pdf")
    xlsx, xlsx_type = render(form, "xlsx")
    assert (pdf_type, xlsx_type) == (PDF_MEDIA_TYPE, XLSX_MEDIA_TYPE)
    assert pdf.startswith(b"%PDF-") and xlsx.startswith(b"PK")
    assert set(MEDIA_TYPES) == {"pdf", "xlsx"}
