"""A notification told as given / when / then: past events, a command, the new events or the
refusal (csc_messaging.testing). No store, no broker, no mail server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from csc_messaging.testing import given, history, refused, then, when
from csc_notify.domain.notifications import DEAD, PENDING, RETRYING, Notification

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ADMIN = {"user": "ops", "department": "it"}


def created() -> Notification:
    about = {"event_id": str(uuid4()), "type": "csc.capa.v1.InvestigationOpened"}
    about["case_id"] = str(uuid4())
    return Notification(
        about=about,
        handle="wang.fang",
        department="quality",
        channel="email",
        clause="4.4.3",
        not_before=AT,
    )


def failed_for_good(n: Notification) -> None:
    n.fail(at=AT, reason="mailbox unavailable", retry_at=None, name=None)


def test_given_pending_when_a_send_fails_with_a_retry_then_failed_and_retrying() -> None:
    n = given(history(created))
    then(
        when(
            n,
            lambda x: x.fail(
                at=AT, reason="timeout", retry_at=AT + timedelta(minutes=1), name="Wang Fang"
            ),
        ),
        ("Failed", {"attempt": 1, "reason": "timeout"}),
    )
    assert n.status == RETRYING


def test_given_dead_when_redriven_then_pending_again() -> None:
    n = given(history(created, failed_for_good))
    assert n.status == DEAD
    then(
        when(n, lambda x: x.redrive(actor=ADMIN, request_key="k1")), ("Redriven", {"actor": ADMIN})
    )
    assert n.status == PENDING


def test_given_pending_when_redriven_then_refused() -> None:
    n = given(history(created))
    refused(n, lambda x: x.redrive(actor=ADMIN, request_key=None), clause="notify")
