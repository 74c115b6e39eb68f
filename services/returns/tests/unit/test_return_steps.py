"""Every step of returns is whole: declared once, and served, permitted, clause'd and published.

A step is declared on its command (``csc_returns.commands.STEPS``); this walks the
declarations against what returns runs on: the aggregate's events, the contract of
``csc.returns.v1``, the HTTP routes, who may do what, the aggregate's methods. A step
half-declared (an event without its step, a contract event no step publishes, a step
without its route) fails here, not in the relay or on a subscriber's side.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.domain import Aggregate

from csc_contracts.returns import RETURNS_EVENTS
from csc_devkit.desk import SECRET, served_by
from csc_messaging.steps import Steps
from csc_returns.bootstrap import RETURNS, ReturnsSettings
from csc_returns.commands import STEPS
from csc_returns.domain import ReturnCase
from csc_returns.entrypoints.http import routes
from csc_returns.permissions import WRITES
from csc_returns.public import CLAUSES, PUBLIC


def recorded_events() -> list[type[Any]]:
    """The events a return case records: its nested event classes, less their bases."""
    return [
        v
        for v in vars(ReturnCase).values()
        if isinstance(v, type)
        and issubclass(v, Aggregate.Event)
        and v not in (ReturnCase.Event, ReturnCase.Created, ReturnCase.Step)
    ]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[list[tuple[str, str]]]:
    service = RETURNS.bootstrap(
        ReturnsSettings(data_dir=tmp_path, relay_enabled=False, auth_hs256_secret=SECRET)
    )
    yield served_by(routes(service))
    service.app.close()


def missing(steps: Steps, served: list[tuple[str, str]]) -> list[str]:
    return steps.missing(
        events=recorded_events(),
        contract=RETURNS_EVENTS,
        routes=served,
        aggregate=ReturnCase,
    )


def test_4_3_every_step_has_its_command_event_clause_permission_route_and_contract(
    served: list[tuple[str, str]],
) -> None:
    assert missing(STEPS, served) == []
    # What returns runs on is read from the same declarations.
    assert set(WRITES) == {s.action for s in STEPS}
    assert set(CLAUSES) == set(PUBLIC) == set(recorded_events())
    assert set(PUBLIC.values()) == set(RETURNS_EVENTS)


def test_a_step_left_undeclared_is_named_with_all_it_lacks(
    served: list[tuple[str, str]],
) -> None:
    assert missing(STEPS.without("confirm_return"), served) == [
        "ReturnCase.ConfirmedByQuality is recorded by no step: no clause, no contract",
        "ReturnConfirmedByQuality is in the contract, and no step publishes it",
    ]


def test_a_step_without_its_route_or_its_method_is_named(served: list[tuple[str, str]]) -> None:
    s = STEPS["confirm_return"]
    broken = Steps()
    broken.step("confirm_return", "/cases/{case_id}/quality-confirmed", event=s.event,
                public=s.public, clause="", may=(), method="confirmed", tag=s.tag,
                doc=s.doc)(s.command)  # fmt: skip
    lacks = missing(broken, served)
    assert "confirm_return: no route POST /cases/{case_id}/quality-confirmed" in lacks
    assert "confirm_return: ReturnCase has no confirmed()" in lacks
    assert "confirm_return: no department may do it" in lacks
    assert "confirm_return: no clause" in lacks


def test_a_step_is_declared_once() -> None:
    s = STEPS["confirm_return"]
    again = Steps()
    declare = again.step(s.action, s.path, event=s.event, public=s.public, clause=s.clause,
                         may=s.may, method=s.method, tag=s.tag, doc=s.doc)  # fmt: skip
    declare(s.command)
    with pytest.raises(ValueError, match="declared twice"):
        declare(s.command)
