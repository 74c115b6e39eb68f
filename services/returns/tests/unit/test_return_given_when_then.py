"""A return case told as given / when / then: past events, a command, the new events or the
refusal (csc_messaging.testing). No store, no broker: the procedure's rules alone."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from csc_messaging.testing import given, history, refused, then, when
from csc_returns.domain.cases import AWAITING_QUALITY, CONFIRMED, ReturnCase

MARKETING = {"user": "li.wei", "department": "marketing"}
QC = {"user": "wang.fang", "department": "quality"}


def opened() -> ReturnCase:
    return ReturnCase(
        case_id=uuid4(),
        opened_by_event=None,
        opened_by_type=None,
        reported_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        customer={"code": "C-001", "name": "Shanghai Precision"},
        product="PX-200",
        lot="L-0301",
        description="burrs on the flange",
    )


def asked_to_return(case: ReturnCase) -> None:
    case.request_return(
        product=None,
        delivery="DN-7781",
        lot="L-0301",
        quantity=40,
        reason="burrs on the flange",
        actor=MARKETING,
        request_key=None,
    )


def asked_qc(case: ReturnCase) -> None:
    case.request_confirmation(note=None, actor=MARKETING, request_key=None)


def qc_confirms(case: ReturnCase) -> None:
    case.confirm(finding="burrs confirmed on 3 of 5 samples", actor=QC, request_key=None)


def test_4_3_2_1_given_a_return_requested_when_marketing_asks_qc_then_confirmation_requested() -> (
    None
):
    case = given(history(opened, asked_to_return))
    then(when(case, asked_qc), ("ConfirmationRequested", {"note": None, "actor": MARKETING}))
    assert case.status == AWAITING_QUALITY


def test_4_3_2_2_given_qc_asked_when_qc_confirms_then_confirmed_by_quality() -> None:
    case = given(history(opened, asked_to_return, asked_qc))
    then(
        when(case, qc_confirms),
        ("ConfirmedByQuality", {"finding": "burrs confirmed on 3 of 5 samples", "actor": QC}),
    )
    assert case.status == CONFIRMED


def test_4_3_2_2_given_qc_not_yet_asked_when_qc_confirms_then_refused() -> None:
    case = given(history(opened, asked_to_return))
    refused(case, qc_confirms, clause="4.3.2.2")


def test_4_3_2_2_given_confirmed_when_receipt_authorized_then_the_requested_quantity() -> None:
    case = given(history(opened, asked_to_return, asked_qc, qc_confirms))
    then(
        when(case, lambda c: c.authorize_receipt(actor=MARKETING, request_key=None)),
        ("ReceiptAuthorized", {"quantity": 40, "lot": "L-0301"}),
    )


def test_4_3_2_2_given_rejected_by_qc_when_receipt_authorized_then_refused() -> None:
    def qc_rejects(c: ReturnCase) -> None:
        c.reject(reason="no abnormality found", actor=QC, request_key=None)

    case = given(history(opened, asked_to_return, asked_qc, qc_rejects))
    violation = refused(
        case, lambda c: c.authorize_receipt(actor=MARKETING, request_key=None), clause="4.3.2.2"
    )
    assert "no abnormality found" in violation.message


def test_4_3_1_given_a_return_requested_when_units_replaced_then_refused() -> None:
    case = given(history(opened, asked_to_return))
    refused(
        case,
        lambda c: c.agree_replacement(
            product=None,
            delivery=None,
            lot="L-0301",
            quantity=2,
            units=["U1", "U2"],
            agreed_with=None,
            actor=MARKETING,
            request_key=None,
        ),
        clause="4.3.1",
    )
