"""A case's timeline and as-of state, read back from its four topics' records."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timedelta

import pytest

from csc_audit.export import case_timeline
from csc_audit.history import by_case, by_month
from csc_audit.testing import T0, Story, tell_story
from csc_audit.timeline import as_of, timeline
from csc_contracts import SERVICES


@pytest.fixture
def story() -> Story:
    return tell_story()


def test_the_whole_story_in_order_an_effect_never_before_its_cause(story: Story) -> None:
    entries = asyncio.run(case_timeline(story.history(), str(story.case)))
    assert [(e.service, e.event) for e in entries] == [
        ("intake", "ComplaintLogged"),
        ("intake", "EngineeringNotified"),
        # Dated by the customer's report, ten minutes before the complaint was logged:
        # listed after the complaint that caused them (opened_by_event, source_event_id).
        ("returns", "ReturnCaseOpened"),
        ("capa", "InvestigationOpened"),
        ("sla", "ClockStarted"),
        ("intake", "QualityImpactAssessed"),
        ("intake", "QualityNotified"),
        ("intake", "ImportantInformationReported"),
        ("sla", "ClockPaused"),
        ("intake", "ImportantInformationAcknowledged"),
        ("sla", "ClockResumed"),
        ("intake", "ReplySent"),
        ("sla", "ClockMet"),
        ("intake", "OnSiteServiceRequired"),
        ("returns", "ReturnRequested"),
        ("returns", "ReturnConfirmationRequested"),
        ("returns", "ReturnConfirmedByQuality"),
        ("capa", "ComplaintConfirmed"),
        ("capa", "SamplesArchived"),
        ("intake", "OnSiteVisitCompleted"),
        ("intake", "FollowUpRecorded"),
    ]
    opened = entries[2]
    assert opened.at == T0 - timedelta(minutes=10)  # shown as the event says
    assert opened.counts_from == entries[0].at == T0  # placed after its cause
    assert all(a.counts_from <= b.counts_from for a, b in itertools.pairwise(entries))


def test_each_line_says_who_what_and_why(story: Story) -> None:
    entries = {e.event: e for e in asyncio.run(case_timeline(story.history(), str(story.case)))}
    logged = entries["ComplaintLogged"]
    assert (logged.user, logged.department) == ("li.wei", "marketing")
    assert logged.actor == "li.wei (marketing)"
    assert logged.fields["lot"] == "L2026-11-07" and logged.fields["category"] == "quality"
    assert not {"event_id", "case_id", "occurred_at", "actor"} & set(logged.fields)
    assert logged.reason is None
    assert entries["ClockPaused"].reason == "customer_unreachable; Line manager in a meeting"
    assert entries["ReturnConfirmedByQuality"].reason == "moulding cracks, lot-wide"
    assert entries["ReturnConfirmedByQuality"].department == "quality"
    assert entries["ClockMet"].actor == "sla (system)"
    # An event type this reader does not know: its raw body, nothing lost.
    unknown = entries["SamplesArchived"]
    assert unknown.ce_type == "csc.capa.SamplesArchived.v1"
    assert unknown.fields["shelf"] == "R-12" and unknown.problem is None
    assert unknown.to_json()["source"]["topic"] == "audit-test.csc.capa.v1"


def test_as_of_a_moment_shows_each_service_as_it_was_then(story: Story) -> None:
    entries = asyncio.run(case_timeline(story.history(), str(story.case)))
    reply = next(e for e in entries if e.event == "ReplySent")
    assert reply.at is not None
    before = as_of(entries, reply.at - timedelta(seconds=1))
    assert before["intake"].stage == "ImportantInformationAcknowledged"
    assert "summary" not in before["intake"].fields  # the reply's
    assert before["intake"].fields["lines_stopped"] == 1
    assert before["intake"].events == 6
    assert before["sla"].stage == "ClockResumed" and before["sla"].fields["paused_hours"] == 0.5
    assert before["returns"].stage == "ReturnCaseOpened"
    assert before["returns"].history == ("ReturnCaseOpened",)
    assert before["capa"].stage == "InvestigationOpened"

    after = as_of(entries, reply.at)
    assert after["intake"].stage == "ReplySent"
    assert after["intake"].fields["summary"].startswith("Replacement units")
    assert after["intake"].last_actor == "zhang.san (after_sales)"
    # In the time things happened: the reply met the clock at its own time (sla recorded
    # it a second later).
    assert after["sla"].stage == "ClockMet"

    nothing = as_of(entries, T0 - timedelta(hours=1))
    assert {s: (st.stage, st.events) for s, st in nothing.items()} == {
        s: (None, 0) for s in SERVICES
    }
    everything = as_of(entries, datetime.fromisoformat("2027-01-01T00:00:00Z"))
    assert everything["returns"].stage == "ReturnConfirmedByQuality"
    assert everything["intake"].fields["closed"] is True
    assert sum(s.events for s in everything.values()) == len(entries)


def test_as_of_wants_a_time_zone(story: Story) -> None:
    with pytest.raises(ValueError, match="time zone"):
        as_of(timeline(story.records()), datetime(2026, 11, 24, 8))


def test_only_the_case_is_decoded_and_a_month_is_filtered_on_ce_time(story: Story) -> None:
    mine, month = by_case(str(story.case)), by_month("2026-10")
    sla = story.topics["sla"].records
    assert [mine(r) for r in sla] == [True, True, True, True, False]
    intake = story.topics["intake"].records
    assert [i for i, r in enumerate(intake) if month(r)] == [0, 1]  # registered, October's
