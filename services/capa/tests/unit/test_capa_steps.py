"""Every step of capa is whole: declared once, and served, permitted, clause'd and published.

A step is declared on its command (``csc_capa.commands.STEPS``); this walks the
declarations against what capa runs on: the events of its two aggregates (the
investigation and a customer's report format), the contract of ``csc.capa.v1``, the HTTP
routes, who may do what, the aggregates' methods. A step half-declared (an event without
its step, a contract event no step publishes, a step without its route) fails here, not in
the relay or on a subscriber's side.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eventsourcing.domain import Aggregate

from csc_capa.bootstrap import CAPA, CapaSettings
from csc_capa.commands import STEPS
from csc_capa.domain import CustomerReportFormat, Investigation
from csc_capa.entrypoints.http import routes
from csc_capa.permissions import EIGHT_D_STEPS, WRITES
from csc_capa.public import CLAUSES, PUBLIC, to_public
from csc_contracts.capa import CAPA_EVENTS
from csc_devkit.desk import SECRET, served_by
from csc_messaging.steps import Steps

BASES = (
    Investigation.Event,
    Investigation.Created,
    Investigation.Step,
    CustomerReportFormat.Event,
    CustomerReportFormat.Created,
)


def recorded_events() -> list[type[Any]]:
    """The events capa records: its aggregates' nested event classes, less their bases."""
    return [
        v
        for aggregate in (Investigation, CustomerReportFormat)
        for v in vars(aggregate).values()
        if isinstance(v, type) and issubclass(v, Aggregate.Event) and v not in BASES
    ]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[tuple[str, str]]]:
    service = CAPA.bootstrap(
        CapaSettings(
            data_dir=tmp_path_factory.mktemp("capa"), relay_enabled=False, auth_hs256_secret=SECRET
        )
    )
    yield served_by(routes(service))
    service.app.close()


def missing(steps: Steps, served: list[tuple[str, str]]) -> list[str]:
    return steps.missing(
        events=recorded_events(), contract=CAPA_EVENTS, routes=served, aggregate=Investigation
    )


def test_4_4_every_step_has_its_command_event_clause_permission_route_and_contract(
    served: list[tuple[str, str]],
) -> None:
    assert missing(STEPS, served) == []
    # What capa runs on is read from the same declarations.
    assert set(WRITES) == {s.action for s in STEPS}
    assert set(CLAUSES) == set(PUBLIC) | STEPS.internal == set(recorded_events())
    assert STEPS.internal == {Investigation.ImpactNoted}
    assert set(PUBLIC.values()) == set(CAPA_EVENTS)
    assert {
        "record_emergency_response", "describe_problem", "record_containment",
        "identify_root_cause", "plan_action", "verify_effectiveness", "prevent_recurrence",
        "close",
    } == EIGHT_D_STEPS  # fmt: skip
    for s in STEPS:
        assert s.may and s.clause and s.method and s.tag and s.doc, s.action


def test_an_event_that_stays_inside_capa_is_published_as_nothing() -> None:
    noted = Investigation.ImpactNoted  # kept for D0 and D3; intake already published it
    assert CLAUSES[noted] == "4.4.2" and noted not in PUBLIC
    assert to_public(object.__new__(noted)) is None


def test_a_step_left_undeclared_is_named_with_all_it_lacks(
    served: list[tuple[str, str]],
) -> None:
    assert missing(STEPS.without(""), served) == []
    assert missing(STEPS.without("verify_effectiveness"), served) == [
        "Investigation.EffectivenessVerified is recorded by no step: no clause, no contract",
        "Investigation.Reopened is recorded by no step: no clause, no contract",
        "EffectivenessVerified is in the contract, and no step publishes it",
        "CapaReopened is in the contract, and no step publishes it",
    ]
    assert missing(STEPS.without("register_report_format"), served) == [
        "CustomerReportFormat.Registered is recorded by no step: no clause, no contract",
        "CustomerReportFormat.Revised is recorded by no step: no clause, no contract",
        "CustomerReportFormatRegistered is in the contract, and no step publishes it",
    ]


def test_a_step_without_its_route_or_its_method_is_named(served: list[tuple[str, str]]) -> None:
    s = STEPS["register_report_format"]
    broken = Steps()
    broken.step(s.action, s.path, event=s.event, public=s.public, clause="", may=(),
                method="rename", tag=s.tag, doc=s.doc, verb="POST",
                aggregate=s.aggregate)(s.command)  # fmt: skip
    lacks = missing(broken, served)
    assert "register_report_format: no route POST /report-formats/{customer_code}" in lacks
    assert "register_report_format: CustomerReportFormat has no rename()" in lacks
    assert "register_report_format: no department may do it" in lacks
    assert "register_report_format: no clause" in lacks
