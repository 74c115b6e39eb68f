"""As of a moment, in the time things happened, each clock of the case on its own.

A call received on Friday 17:30, entered on Wednesday with its reply of Friday
18:00 a minute later, and an on-site visit decided on Friday: as of Friday 19:00
the complaint and the reply are there, the reply clock is met, the on-site one
is running; as recorded, nothing had happened yet.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from typer.testing import CliRunner

import csc_audit.replay_commands as commands
import csc_contracts as pub
from csc_audit.cli import app
from csc_audit.history import ReadProgress, audit_record
from csc_audit.testing import CUSTOMER, MARKETING, SYSTEM, MemoryHistory, Story, Topic, envelope
from csc_audit.timeline import TimelineEntry, as_of, clocks_as_of, timeline
from csc_contracts import SERVICES, Topics
from csc_contracts.intake import OnSiteReason
from csc_messaging.kafka_conn import KafkaConnection

CALL = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)  # Friday 17:30 in Shanghai
REPLIED = CALL + timedelta(minutes=30)
DECIDED = CALL + timedelta(minutes=40)
WEDNESDAY = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def clock(kind: str, clause: str) -> dict[str, object]:
    return {"clock_id": uuid4(), "clock": kind, "clause": clause}


def wednesday_story() -> Story:
    case = uuid4()
    topics = {s: Topic(s) for s in SERVICES}
    intake, sla = topics["intake"], topics["sla"]
    intake.add(
        pub.ComplaintLogged(
            **envelope(case, WEDNESDAY, MARKETING), category="service", channel="phone",
            receiving_department="marketing", received_at=CALL, customer=CUSTOMER,
            text="No call back",
        )
    )  # fmt: skip
    intake.add(pub.EngineeringNotified(**envelope(case, WEDNESDAY, MARKETING)))
    intake.add(
        pub.ReplySent(
            **envelope(case, WEDNESDAY + timedelta(minutes=1), MARKETING),
            replied_at=REPLIED, channel="phone", summary="Engineer on the way",
        )
    )  # fmt: skip
    intake.add(
        pub.OnSiteServiceRequired(
            **envelope(case, WEDNESDAY + timedelta(minutes=2), MARKETING),
            reason=OnSiteReason.NOT_SOLVED_BY_PHONE, requested_at=DECIDED,
        )
    )  # fmt: skip
    reply, on_site = clock("reply", "4.2.1"), clock("on_site", "4.2.2")
    for fields, started, recorded in ((reply, CALL, WEDNESDAY), (on_site, DECIDED, WEDNESDAY)):
        sla.add(
            pub.ClockStarted(
                **envelope(case, recorded + timedelta(seconds=1), SYSTEM), **fields,
                customer=CUSTOMER, customer_class="oem", started_at=started, target_hours=8,
                business_hours=False, timezone="Asia/Shanghai",
                warn_at=started + timedelta(hours=6), due_at=started + timedelta(hours=8),
                escalate_at=started + timedelta(hours=10), recorded_at=recorded,
                settle_at=recorded + timedelta(minutes=15),
            )
        )  # fmt: skip
    sla.add(
        pub.ClockMet(
            **envelope(case, WEDNESDAY + timedelta(minutes=1, seconds=1), SYSTEM), **reply,
            met_at=REPLIED, within_target=True, paused_hours=0,
        )
    )  # fmt: skip
    # Nobody went: found late, after the settling time.
    sla.add(
        pub.ClockWarned(
            **envelope(case, WEDNESDAY + timedelta(minutes=15), SYSTEM), **on_site,
            at=DECIDED + timedelta(hours=6), notify_department="after_sales", found_late=True,
        )
    )  # fmt: skip
    return Story(case, uuid4(), uuid4(), topics, {})


def entries(story: Story) -> list[TimelineEntry]:
    return timeline(
        audit_record(s, r.topic, r.partition, r.offset, r.key, r.value, r.headers)
        for s in SERVICES
        for r in story.topics[s].records
    )


def test_as_of_friday_evening_shows_what_had_happened_by_then() -> None:
    story = wednesday_story()
    friday_evening = CALL + timedelta(hours=1, minutes=30)
    states = as_of(entries(story), friday_evening)
    assert states["intake"].history == ("ComplaintLogged", "ReplySent", "OnSiteServiceRequired")
    assert states["intake"].last_at == DECIDED
    clocks = clocks_as_of(entries(story), friday_evening)
    assert set(clocks) == {"reply", "on_site"}
    assert clocks["reply"].history == ("ClockStarted", "ClockMet")
    assert clocks["reply"].fields["within_target"] is True
    assert clocks["on_site"].stage == "ClockStarted"
    assert clocks["on_site"].fields["due_at"] == (DECIDED + timedelta(hours=8)).isoformat(
    ).replace("+00:00", "Z")  # fmt: skip
    # The engineering notice was sent when the entry was recorded, on Wednesday.
    assert "EngineeringNotified" not in states["intake"].history

    # Before the call nothing had happened; by Saturday the on-site warning had passed.
    assert clocks_as_of(entries(story), CALL - timedelta(minutes=1)) == {}
    saturday = clocks_as_of(entries(story), DECIDED + timedelta(hours=7))
    assert saturday["on_site"].stage == "ClockWarned"
    assert saturday["on_site"].fields["found_late"] is True
    assert saturday["reply"].stage == "ClockMet"


def test_csc_audit_as_of_shows_each_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    story = wednesday_story()

    def history(kafka: KafkaConnection, topics: Topics, progress: ReadProgress) -> MemoryHistory:
        raws = {s: list(t.records) for s, t in story.topics.items()}
        return MemoryHistory(kafka, topics, progress, raws=raws)

    monkeypatch.setattr(commands, "KafkaHistory", history)
    runner = CliRunner()
    at = (CALL + timedelta(hours=1, minutes=30)).isoformat()
    result = runner.invoke(app, ["as-of", str(story.case), "--at", at, "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    data = json.loads(result.output)
    assert data["clocks"]["reply"]["stage"] == "ClockMet"
    assert data["clocks"]["on_site"]["stage"] == "ClockStarted"
    assert data["clocks"]["on_site"]["clock"] == "on_site"
    assert data["services"]["intake"]["stage"] == "OnSiteServiceRequired"
    text = runner.invoke(app, ["as-of", str(story.case), "--at", at]).output
    assert "sla clock reply (4.2.1): ClockMet" in text
    assert "sla clock on_site (4.2.2): ClockStarted" in text
