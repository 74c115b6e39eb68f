"""Steps declared once: the optional parts of a declaration (verb, aggregate, when, may_as,
an event published as nothing) and what ``missing`` says of them."""

from __future__ import annotations

from typing import Any

import pytest

from csc_contracts import Department, PublicEvent
from csc_messaging.steps import Steps


class Visited(PublicEvent):
    pass


class WorkedADay(PublicEvent):
    pass


class Amended(PublicEvent):
    pass


class Record:
    class Recorded:
        def __init__(self, kind: str) -> None:
            self.kind = kind

    class Amended:
        pass

    class Noted:
        """Bookkeeping: no public event."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def amend(self) -> None: ...


class Other:
    def rename(self) -> None: ...


class Command:
    def __init__(self, kind: str) -> None:
        self.kind = kind


AS, M = Department.AFTER_SALES, Department.MARKETING


def declared() -> Steps:
    steps = Steps()
    common: dict[str, Any] = {"event": Record.Recorded, "method": "__init__", "tag": "t"}
    steps.step("record_day", "/records", public=WorkedADay, clause="4.1.4", may={AS},
               when={"kind": "daily"}, doc="A day.", **common)(Command)  # fmt: skip
    steps.step("record_visit", "/records", public=Visited, clause="4.5", may={M, AS},
               when={"kind": "visit"}, doc="A visit.", **common)(Command)  # fmt: skip
    steps.step("amend", "/records/{id}/amendments", event=Record.Amended, public=Amended,
               clause="4.1.4", may=(), may_as="record_day", method="amend", tag="t",
               doc="Amend.")(Command)  # fmt: skip
    steps.step("rename", "/others/{id}", event=Other, public=Amended, clause="4.1.5", may={M},
               method="rename", tag="t", doc="Rename.", verb="PUT",
               aggregate=Other)(Command)  # fmt: skip
    steps.fact(Record.Noted, None, "4.1.4")
    return steps


ROUTES = [("POST", "/records"), ("POST", "/records/{id}/amendments"), ("PUT", "/others/{id}")]


def test_steps_on_one_route_are_told_apart_by_when() -> None:
    steps = declared()
    assert [s.action for s in steps.routes] == ["record_day", "amend", "rename"]
    assert steps.which("record_day", Command("visit")).action == "record_visit"
    assert steps.which("record_day", Command("daily")).action == "record_day"
    assert steps.public_of(Record.Recorded("visit")) is Visited
    assert steps.public_of(Record.Recorded("daily")) is WorkedADay
    assert steps.public_of(Record.Noted()) is None
    assert Record.Noted not in steps.public and steps.clauses[Record.Noted] == "4.1.4"


def test_a_step_permitted_as_another_is_not_a_write_of_its_own() -> None:
    steps = declared()
    assert set(steps.writes) == {"record_day", "record_visit", "rename"}
    assert steps.which(steps["amend"].may_as or "", Record("visit")).action == "record_visit"


def test_missing_reads_the_verb_the_aggregate_and_may_as() -> None:
    steps = declared()
    events = [Record.Recorded, Record.Amended, Record.Noted, Other]
    whole = steps.missing(events=events, contract=[Visited, WorkedADay, Amended],
                          routes=ROUTES, aggregate=Record)  # fmt: skip
    assert whole == []
    lacks = steps.missing(events=events, contract=[], routes=[("POST", "/others/{id}")],
                          aggregate=Other)  # fmt: skip
    assert "rename: no route PUT /others/{id}" in lacks
    assert "amend: Other has no amend()" in lacks
    assert "rename: Other has no rename()" not in lacks
    broken = Steps()
    broken.step("amend", "/records/{id}/amendments", event=Record.Amended, public=Amended,
                clause="4.1.4", may=(), may_as="record_day", method="amend", tag="t",
                doc="Amend.")(Command)  # fmt: skip
    assert broken.missing(events=[], contract=[], routes=ROUTES, aggregate=Record) == [
        "amend: may as record_day, which is no step"
    ]


def test_one_event_is_shared_only_by_steps_each_with_its_when() -> None:
    steps = Steps()
    common: dict[str, Any] = {"event": Record.Recorded, "public": Visited, "clause": "4.5",
                              "may": {M}, "method": "__init__", "tag": "t", "doc": "d"}  # fmt: skip
    steps.step("a", "/records", when={"kind": "visit"}, **common)(Command)
    with pytest.raises(ValueError, match="recorded by two steps"):
        steps.step("b", "/records", when={"kind": "visit"}, **common)(Command)
    with pytest.raises(ValueError, match="recorded by two steps"):
        steps.step("c", "/records", **common)(Command)
    plain = Steps()
    plain.step("a", "/records", **common)(Command)
    with pytest.raises(ValueError, match="recorded by two steps"):
        plain.step("b", "/records", when={"kind": "daily"}, **common)(Command)


class Clock:
    class Started:
        def __init__(self, kind: str) -> None:
            self.kind = kind


def test_a_fact_may_follow_a_clause_by_the_event_s_values() -> None:
    steps = Steps()
    steps.fact(Clock.Started, WorkedADay, "4.2.1", when={"kind": "reply"})
    steps.fact(Clock.Started, WorkedADay, "4.2.2", when={"kind": "on_site"})
    assert steps.clause_of(Clock.Started("reply")) == "4.2.1"
    assert steps.clause_of(Clock.Started("on_site")) == "4.2.2"
    assert steps.clause_of(Clock.Started("other")) is None
    assert steps.public_of(Clock.Started("other")) is None
    assert steps.public_of(Clock.Started("reply")) is WorkedADay
    assert [f.clause for f in steps.facts] == ["4.2.1", "4.2.2"]
    assert steps.clauses == {Clock.Started: "4.2.1"}
