"""An investigation told as given / when / then: past events, a command, the new events or
the refusal (csc_messaging.testing). No store, no broker: the procedure's rules alone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

from csc_capa.domain.investigation import Investigation
from csc_messaging.testing import given, history, refused, then, when

QC = {"user": "wang.fang", "department": "quality"}
BY_QC: dict[str, Any] = {"actor": QC, "request_key": None, "happened_at": None}
REPORTED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def opened() -> Investigation:
    return Investigation(
        case_id=uuid4(),
        source="complaint",
        source_event_id=uuid4(),
        reported_at=REPORTED,
        customer={"code": "C-001", "name": "Shanghai Precision"},
        product="PX-200",
        lot="L-0301",
        description="burrs on the flange",
        owner_department="quality",
        recorded_at=REPORTED,
    )


def contacted(case: Investigation) -> None:
    case.contact_customer(
        contacted_at=datetime(2026, 3, 2, 14, 0, tzinfo=UTC),
        contact="Ms. Chen",
        means="phone",
        summary="asked for photos of the flange",
        **BY_QC,
    )


def confirmed(case: Investigation) -> None:
    case.confirm(finding="burrs from a worn die", **BY_QC)


def test_4_4_3_given_an_open_investigation_when_qc_asks_for_samples_then_request_one() -> None:
    case = given(history(opened))
    then(
        when(
            case,
            lambda c: c.request_evidence(
                kinds=["samples"], details="5 flanges", due=None, today=date(2026, 3, 2), **BY_QC
            ),
        ),
        ("EvidenceRequested", {"request_no": 1, "kinds": ["samples"], "actor": QC}),
    )


def test_4_4_3_given_no_contact_when_qc_confirms_then_refused() -> None:
    case = given(history(opened))
    refused(case, confirmed, clause="4.4.3")


def test_4_4_3_given_a_contact_when_qc_confirms_then_confirmed() -> None:
    case = given(history(opened, contacted))
    then(
        when(case, confirmed),
        ("Confirmed", {"finding": "burrs from a worn die", "by_pnpr": False}),
    )


def test_4_4_3_given_opened_when_contacted_before_the_report_then_refused() -> None:
    case = given(history(opened))
    violation = refused(
        case,
        lambda c: c.contact_customer(
            contacted_at=datetime(2026, 3, 1, tzinfo=UTC),
            contact="Ms. Chen",
            means="phone",
            summary="too early",
            **BY_QC,
        ),
        clause="4.4.3",
    )
    assert violation.field == "contacted_at"


def test_4_2_3_given_confirmed_when_misuse_found_then_refused() -> None:
    case = given(history(opened, contacted, confirmed))
    refused(case, lambda c: c.find_misuse(finding="operator error", **BY_QC), clause="4.2.3")
