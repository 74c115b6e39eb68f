"""Every step of intake is whole: declared once, and served, permitted and published.

A step is declared on its command (``csc_intake.commands.STEPS``); this walks the
declarations against what intake runs on: the aggregates' events, the contract of
``csc.intake.v1``, the HTTP routes, who may do what, the aggregates' methods. A step
half-declared (an event without its step, a contract event no step publishes, a step
without its route) fails here, not in the relay or on a subscriber's side.
"""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.domain import Aggregate

from csc_contracts import CustomerVisited, FieldServiceRecorded
from csc_contracts.intake import INTAKE_EVENTS
from csc_devkit.desk import SECRET
from csc_intake.bootstrap import INTAKE, IntakeSettings, create_app
from csc_intake.commands import STEPS
from csc_intake.domain import Complaint, Customer, FeedbackEntry, FieldServiceRecord, RegisterEntry
from csc_intake.permissions import WRITES
from csc_intake.public import PUBLIC, public_class
from csc_messaging.steps import Steps

AGGREGATES = (Customer, RegisterEntry, FeedbackEntry, Complaint, FieldServiceRecord)


def recorded_events() -> list[type[Any]]:
    """The events intake's aggregates record: their nested event classes, less the bases
    and less the copies eventsourcing makes of an entry's events for each kind of entry."""
    found = [
        v
        for aggregate in AGGREGATES
        for name, v in vars(aggregate).items()
        if isinstance(v, type)
        and issubclass(v, Aggregate.Event)
        and name not in ("Event", "Created")
    ]
    return [v for v in found if not any(v is not w and issubclass(v, w) for w in found)]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str]]:
    data = tmp_path_factory.mktemp("intake")
    intake = INTAKE.bootstrap(
        IntakeSettings(data_dir=data, relay_enabled=False, auth_hs256_secret=SECRET)
    )
    app = create_app(service=intake)
    try:
        # The routes as served and documented: the app's OpenAPI document.
        paths = app.openapi()["paths"]
        return [(method.upper(), path) for path, ops in paths.items() for method in ops]
    finally:
        intake.app.close()


def missing(steps: Steps, served: list[tuple[str, str]]) -> list[str]:
    return steps.missing(
        events=recorded_events(),
        contract=INTAKE_EVENTS,
        routes=served,
        aggregate=RegisterEntry,
    )


def test_4_1_every_step_has_its_command_event_clause_permission_route_and_contract(
    served: list[tuple[str, str]],
) -> None:
    assert missing(STEPS, served) == []
    # What intake runs on is read from the same declarations.
    assert set(WRITES) == {s.action for s in STEPS if s.may_as is None}
    assert set(PUBLIC) == set(STEPS.clauses) == set(recorded_events())
    # A visit is kept as a field service record (4.5): one event, two public ones.
    published = set(PUBLIC.values()) | {CustomerVisited}
    assert published == set(INTAKE_EVENTS)


def test_4_5_a_visit_and_a_day_are_one_route_and_one_event_told_apart_by_kind() -> None:
    day = FieldServiceRecord.Recorded.__new__(FieldServiceRecord.Recorded)
    object.__setattr__(day, "kind", "daily")
    visit = FieldServiceRecord.Recorded.__new__(FieldServiceRecord.Recorded)
    object.__setattr__(visit, "kind", "visit")
    assert public_class(day) is FieldServiceRecorded
    assert public_class(visit) is CustomerVisited
    amend = STEPS["amend_field_service"]
    assert amend.may_as is not None
    assert STEPS.which(amend.may_as, visit).action == "record_visit"
    assert STEPS.which(amend.may_as, day).action == "record_field_service"


def test_a_step_left_undeclared_is_named_with_all_it_lacks(
    served: list[tuple[str, str]],
) -> None:
    assert missing(STEPS.without("send_reply"), served) == [
        "RegisterEntry.ReplySent is recorded by no step: no clause, no contract",
        "ReplySent is in the contract, and no step publishes it",
    ]
    assert missing(STEPS.without("record_visit"), served) == [
        "CustomerVisited is in the contract, and no step publishes it",
    ]


def test_a_step_without_its_route_or_its_method_is_named(served: list[tuple[str, str]]) -> None:
    s = STEPS["update_customer"]
    broken = Steps()
    broken.step("update_customer", s.path, verb="POST", event=s.event, public=s.public,
                clause="", may=(), method="renamed", tag=s.tag, doc=s.doc,
                aggregate=Customer)(s.command)  # fmt: skip
    broken.step("amend_field_service", "/field-service-records/{record_id}/amendments",
                event=FieldServiceRecord.Amended, public=None, clause="4.1.4", may=(),
                may_as="record_field_service", method="amend", tag="t", doc="d",
                aggregate=FieldServiceRecord)(s.command)  # fmt: skip
    lacks = missing(broken, served)
    assert "update_customer: no route POST /customers/{code}" in lacks
    assert "update_customer: Customer has no renamed()" in lacks
    assert "update_customer: no department may do it" in lacks
    assert "update_customer: no clause" in lacks
    assert "amend_field_service: may as record_field_service, which is no step" in lacks
    assert "FieldServiceRecordAmended is in the contract, and no step publishes it" in lacks
