"""Given intake's public events, when sla applies them, then these clocks (4.2.1)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from csc_contracts import ComplaintLogged, FeedbackReceived
from csc_messaging.settings import ServiceSettings
from csc_messaging.store import eventsourcing_env
from csc_sla.application import SlaApplication
from csc_sla.domain import ReplyClock
from csc_sla.projections import ClockBoard

RECEIVED = datetime(2026, 11, 24, 7, 55, tzinfo=UTC)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[SlaApplication]:
    settings = ServiceSettings(data_dir=tmp_path)
    application = SlaApplication(env=eventsourcing_env(settings, "sla"))
    yield application
    application.close()


def feedback_received() -> FeedbackReceived:
    return FeedbackReceived.model_validate(
        {
            "event_id": str(uuid4()),
            "case_id": str(uuid4()),
            "occurred_at": "2026-11-24T08:10:00Z",
            "actor": {"user": "li.wei", "department": "marketing"},
            "channel": "letter",
            "kind": "quality_commitment",
            "receiving_department": "marketing",
            "received_at": RECEIVED.isoformat(),
            "customer": {"code": "OEM-002"},
            "text": "When will the 2025 warranty claims be settled?",
        }
    )


def complaint_logged() -> ComplaintLogged:
    data = feedback_received().model_dump(mode="json")
    data.pop("kind")
    return ComplaintLogged.model_validate({**data, "category": "delivery"})


@pytest.mark.parametrize("make_event", [feedback_received, complaint_logged])
def test_4_2_1_reply_due_8_hours_after_the_customer_called(
    app: SlaApplication, make_event: object
) -> None:
    event = make_event()  # type: ignore[operator]
    app.apply_public(event, Tracking("csc.intake.v1:0", 1))

    clock = app.reply_clock(event.case_id)
    assert clock is not None
    assert clock.due_at == RECEIVED + timedelta(hours=8)
    assert clock.started_by_event == event.event_id
    rows = ClockBoard(app).clocks()
    assert [(r["case_id"], r["due_at"], r["clause"]) for r in rows] == [
        (str(event.case_id), "2026-11-24T15:55:00+00:00", "4.2.1")
    ]


def test_the_same_position_is_never_applied_twice(app: SlaApplication) -> None:
    event = feedback_received()
    app.apply_public(event, Tracking("csc.intake.v1:0", 1))
    with pytest.raises(IntegrityError):
        app.apply_public(event, Tracking("csc.intake.v1:0", 1))
    assert app.recorder.max_notification_id() == 1


def test_the_same_event_republished_elsewhere_starts_no_second_clock(app: SlaApplication) -> None:
    event = feedback_received()
    app.apply_public(event, Tracking("csc.intake.v1:0", 1))
    app.apply_public(event, Tracking("csc.intake.v1:0", 7))
    assert app.recorder.max_notification_id() == 1
    assert app.recorder.max_tracking_id("csc.intake.v1:0") == 7
    assert app.repository.get(ReplyClock.create_id(event.case_id)).version == 1
