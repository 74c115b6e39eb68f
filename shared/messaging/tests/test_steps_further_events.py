"""Steps beyond returns' shape: more than one event, a second aggregate, a PUT, an upload,
an event that stays inside; each still named by ``missing`` when half-declared."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.domain import Aggregate
from pydantic import BaseModel

import csc_contracts.capa as pub
from csc_contracts import Department, PublicEvent
from csc_messaging.steps import Steps

QC = Department.QUALITY


class Case(Aggregate):
    class Noted(Aggregate.Event):
        pass

    class Verified(Aggregate.Event):
        pass

    class Reopened(Aggregate.Event):
        pass

    def verify(self) -> None: ...


class Format(Aggregate):
    class Registered(Aggregate.Created):
        pass

    class Revised(Aggregate.Event):
        pass

    def revise(self) -> None: ...


class Body(BaseModel):
    pass


def declared() -> Steps:
    steps = Steps()
    steps.fact(Case.Noted, None, "4.4.2")
    steps.step("verify", "/cases/{case_id}/effectiveness", event=Case.Verified,
               public=pub.EffectivenessVerified, clause="4.3.4", may={QC}, method="verify",
               tag="t", doc="d", also={Case.Reopened: pub.CapaReopened})(Body)  # fmt: skip
    steps.step("register", "/formats/{code}", event=Format.Registered,
               public=pub.CustomerReportFormatRegistered, clause="4.3.4", may={QC},
               method="revise", tag="t", doc="d", verb="PUT", aggregate=Format,
               also={Format.Revised: pub.CustomerReportFormatRegistered})(Body)  # fmt: skip
    steps.step("upload", "/cases/{case_id}/evidence", event=pub.EvidenceReceived,
               public=pub.EvidenceReceived, clause="4.4.3", may={QC}, method="verify",
               tag="t", doc="d", upload=True, operation="receive")(Body)  # fmt: skip
    return steps


EVENTS: list[type[Any]] = [
    Case.Noted, Case.Verified, Case.Reopened, Format.Registered, Format.Revised,
    pub.EvidenceReceived,
]  # fmt: skip
CONTRACT: list[type[PublicEvent]] = [
    pub.EffectivenessVerified, pub.CapaReopened, pub.CustomerReportFormatRegistered,
    pub.EvidenceReceived,
]  # fmt: skip
ROUTES = [("POST", "/cases/{case_id}/effectiveness"), ("PUT", "/formats/{code}"),
          ("POST", "/cases/{case_id}/evidence")]  # fmt: skip


def test_every_event_of_a_step_has_its_clause_and_its_public_event() -> None:
    steps = declared()
    assert steps.clauses[Case.Reopened] == "4.3.4"
    assert steps.public[Case.Reopened] is pub.CapaReopened
    assert steps.public[Format.Revised] is pub.CustomerReportFormatRegistered
    # An event that stays inside has a clause, and no public event.
    assert steps.clauses[Case.Noted] == "4.4.2"
    assert Case.Noted not in steps.public
    assert steps.internal == {Case.Noted}
    assert steps["register"].verb == "PUT" and steps["verify"].verb == "POST"
    assert steps["upload"].upload and not steps["verify"].upload
    assert steps["upload"].operation == "receive" and steps["verify"].operation is None
    assert steps.missing(events=EVENTS, contract=CONTRACT, routes=ROUTES, aggregate=Case) == []


def test_a_route_of_another_verb_and_a_method_on_another_aggregate_are_checked() -> None:
    lacks = declared().missing(
        events=EVENTS,
        contract=CONTRACT,
        routes=[("POST", "/formats/{code}"), *ROUTES[::2]],
        aggregate=Format,
    )
    assert lacks == ["verify: Format has no verify()", "register: no route PUT /formats/{code}",
                     "upload: Format has no verify()"]  # fmt: skip


def test_an_event_a_step_also_records_is_recorded_by_it_alone() -> None:
    steps = declared()
    with pytest.raises(ValueError, match=r"Case.Reopened is recorded by two steps"):
        steps.step("reopen", "/cases/{case_id}/reopening", event=Case.Reopened,
                   public=pub.CapaReopened, clause="4.3.4", may={QC}, method="verify",
                   tag="t", doc="d")(Body)  # fmt: skip
    with pytest.raises(ValueError, match=r"Case.Noted is recorded by two steps"):
        steps.step("note", "/cases/{case_id}/notes", event=pub.ProblemDescribed,
                   public=pub.ProblemDescribed, clause="4.3.4", may={QC}, method="verify",
                   tag="t", doc="d", also={Case.Noted: None})(Body)  # fmt: skip


def test_a_step_declared_without_them_is_a_step_as_returns_declares_it() -> None:
    steps = Steps()
    steps.step("verify", "/cases/{case_id}/effectiveness", event=Case.Verified,
               public=pub.EffectivenessVerified, clause="4.3.4", may={QC}, method="verify",
               tag="t", doc="d")(Body)  # fmt: skip
    s = steps["verify"]
    assert (s.verb, s.upload, s.also, s.aggregate, s.operation) == ("POST", False, (), None, None)
    assert s.recorded == ((Case.Verified, pub.EffectivenessVerified),)
    assert steps.internal == frozenset()
