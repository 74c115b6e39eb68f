"""A complaint told as given / when / then: past events, a command, the new events or the
refusal (csc_messaging.testing). No store, no broker: the procedure's rules alone."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from csc_intake.domain.register import Complaint
from csc_messaging.testing import given, history, refused, then, when

MARKETING = {"user": "li.wei", "department": "marketing"}
CHIEF = {"user": "sun.hao", "department": "engineering"}
RECEIVED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def logged(category: str = "quality") -> Complaint:
    return Complaint(
        case_id=uuid4(),
        category=category,
        channel="phone",
        receiving_department="marketing",
        received_at=RECEIVED,
        customer={"code": "C-001", "name": "Shanghai Precision"},
        text="burrs on the flange",
        product="PX-200",
        lot="L-0301",
        actor=MARKETING,
        request_key=None,
    )


def assessed(case: Complaint) -> None:
    case.assess_quality_impact(
        lines_stopped=1,
        quantity_affected=40,
        remedial_measure="sorting",
        remedial_details=None,
        actor=MARKETING,
        request_key=None,
    )


def reported_important(case: Complaint) -> None:
    case.report_important(
        reason="a line stopped", actor=MARKETING, request_key=None, reported_at=RECEIVED
    )


def test_4_4_2_given_a_quality_complaint_when_impact_assessed_then_qc_is_notified() -> None:
    case = given(history(logged))
    then(
        when(case, assessed),
        ("QualityImpactAssessed", {"lines_stopped": 1, "quantity_affected": 40}),
        ("QualityNotified", {"actor": MARKETING}),
    )


def test_4_4_2_given_impact_assessed_when_assessed_again_then_refused() -> None:
    case = given(history(logged, assessed))
    refused(case, assessed, clause="4.4.2")


def test_4_4_2_given_a_service_complaint_when_impact_assessed_then_refused() -> None:
    case = given(history(lambda: logged("service")))
    refused(case, assessed, clause="4.4.2")


def test_4_1_3_given_reported_important_when_chief_acknowledges_then_acknowledged() -> None:
    case = given(history(logged, reported_important))
    then(
        when(
            case,
            lambda c: c.acknowledge_important(
                comment=None, actor=CHIEF, request_key=None, acknowledged_at=RECEIVED
            ),
        ),
        ("ImportantAcknowledged", {"actor": CHIEF}),
    )


def test_4_1_3_given_nothing_reported_when_chief_acknowledges_then_refused() -> None:
    case = given(history(logged))
    refused(
        case,
        lambda c: c.acknowledge_important(
            comment=None, actor=CHIEF, request_key=None, acknowledged_at=RECEIVED
        ),
        clause="4.1.3",
    )
