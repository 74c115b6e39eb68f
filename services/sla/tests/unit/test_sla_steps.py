"""Every step and fact of sla is whole: declared once, and served, permitted, clause'd and
published.

sla's own steps (pausing and resuming a clock, recording a calendar's or the policy's next
version) and the facts it records in reaction to other services' events (each clock's
start, deadlines and end, by the promise its kind keeps) are declared in
``csc_sla.commands.STEPS``; this walks the declarations against what sla runs on: the
aggregates' events, the contract of ``csc.sla.v1``, the HTTP routes, who may do what.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.domain import Aggregate

from csc_contracts.sla import SLA_EVENTS
from csc_devkit.desk import SECRET, served_by
from csc_messaging.steps import Steps
from csc_sla.bootstrap import SLA, SlaSettings
from csc_sla.commands import CLAUSES, STEPS
from csc_sla.domain import CapaFile, CaseFile, Clock, CustomerProfile, ReturnFile
from csc_sla.domain.rulebook import Rulebook
from csc_sla.entrypoints.http import RULES, routes
from csc_sla.policy import ClockKind

AGGREGATES = (Clock, Rulebook, CaseFile, CustomerProfile, ReturnFile, CapaFile)


def recorded_events() -> list[type[Any]]:
    """The events sla's aggregates record: their nested event classes, less the bases."""
    return [
        v
        for aggregate in AGGREGATES
        for name, v in vars(aggregate).items()
        if isinstance(v, type)
        and issubclass(v, Aggregate.Event)
        and name not in ("Event", "Created")
    ]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[list[tuple[str, str]]]:
    service = SLA.bootstrap(
        SlaSettings(data_dir=tmp_path, relay_enabled=False, auth_hs256_secret=SECRET)
    )
    yield served_by(routes(service))
    service.app.close()


def missing(steps: Steps, served: list[tuple[str, str]]) -> list[str]:
    return steps.missing(
        events=recorded_events(), contract=SLA_EVENTS, routes=served, aggregate=Clock
    )


def test_4_2_every_step_and_fact_has_its_event_clause_permission_route_and_contract(
    served: list[tuple[str, str]],
) -> None:
    assert missing(STEPS, served) == []
    # What sla runs on is read from the same declarations.
    assert set(RULES.writes) == {"pause", "resume", "set_calendar", "set_policy"}
    assert set(STEPS.clauses) == set(recorded_events())
    assert set(STEPS.public.values()) == set(SLA_EVENTS)
    # Each clock keeps one promise, and every kind of clock has its clause (4.1.3-4.4.3).
    assert set(CLAUSES) == set(ClockKind)
    assert CLAUSES[ClockKind.REPLY] == "4.2.1" and CLAUSES[ClockKind.ON_SITE] == "4.2.2"


def test_each_clock_event_follows_its_kind_s_promise() -> None:
    for kind, clause in CLAUSES.items():
        started = Clock.Started.__new__(Clock.Started)
        object.__setattr__(started, "kind", kind.value)
        assert STEPS.clause_of(started) == clause


def test_a_step_or_a_fact_left_undeclared_is_named(served: list[tuple[str, str]]) -> None:
    assert missing(STEPS.without("pause"), served) == [
        "Clock.Paused is recorded by no step: no clause, no contract",
        "ClockPaused is in the contract, and no step publishes it",
    ]
    assert missing(STEPS.without(Clock.Warned), served) == [
        "Clock.Warned is recorded by no step: no clause, no contract",
        "ClockWarned is in the contract, and no step publishes it",
    ]
    assert missing(STEPS.without(CaseFile.FollowedUp), served) == [
        "CaseFile.FollowedUp is recorded by no step: no clause, no contract",
    ]


def test_a_step_without_its_route_is_named(served: list[tuple[str, str]]) -> None:
    s = STEPS["set_policy"]
    broken = Steps()
    broken.step("set_policy", s.path, verb="POST", event=s.event, public=s.public,
                clause=s.clause, may=s.may, method="replace", tag=s.tag, doc=s.doc,
                aggregate=Rulebook, when=dict(s.when))(s.command)  # fmt: skip
    lacks = missing(broken, served)
    assert "set_policy: no route POST /policy" in lacks
    assert "set_policy: Rulebook has no replace()" in lacks
