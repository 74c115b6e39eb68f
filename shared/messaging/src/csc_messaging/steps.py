"""One declaration per step of the procedure: its command, event, clause, who, route, contract.

A service declares each step once, on the step's command model::

    @STEPS.step("confirm_return", "/cases/{case_id}/quality-confirmation",
                event=Case.ConfirmedByQuality, public=pub.ReturnConfirmedByQuality,
                clause="4.3.2.2", may={QUALITY}, method="confirm")
    class ConfirmReturn(Command): ...

and reads everything else from the table: the clause each recorded event follows (printed
on the timeline and the public events), who may record what (``Permissions``), the routes
to serve, the public event each domain event becomes. Where eventsourcing's
``@event("Confirmed") def confirm()`` declares an event once, this declares a step once.

Events a service records without a command of its own (a case opened from another
service's event) are declared with ``fact``: clause and public event, no route, no one.
``missing`` says what a service's wiring lacks, so a test fails on a step half-declared.

A step may record more than its one event (``also``: each further event and the public
event it becomes), decide on an aggregate other than the service's main one
(``aggregate``), be served by another verb (``verb="PUT"``) or take a file's bytes for its
body (``upload``: the service serves that route itself). A fact whose event stays inside
the service is declared with ``public=None`` (``internal``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from csc_contracts import Department, PublicEvent
from csc_messaging.permissions import Permissions, Writes

T = TypeVar("T", bound=type[Any])


@dataclass(frozen=True)
class Step:
    """One step: a command that records one domain event, published as one public event."""

    action: str
    """Its name: who may do it (``Permissions``), the application's and the route's name."""
    path: str
    """Its HTTP route, ``POST {path}``."""
    command: type[Any]
    event: type[Any]
    public: type[PublicEvent]
    clause: str
    may: frozenset[Department]
    method: str
    """The aggregate's method that decides it."""
    tag: str
    doc: str
    verb: str = "POST"
    """Its route's HTTP method."""
    upload: bool = False
    """Its body is a file's bytes, not a JSON command: the service serves its route itself."""
    also: tuple[tuple[type[Any], type[PublicEvent] | None], ...] = ()
    """Further events it may record, each with the public event it becomes (None: none)."""
    aggregate: type[Any] | None = None
    """Where ``method`` is, when not on the service's main aggregate."""
    operation: str | None = None
    """Its route's function name (the OpenAPI operation's), when not ``action``."""

    @property
    def recorded(self) -> tuple[tuple[type[Any], type[PublicEvent] | None], ...]:
        """Every event the step may record, each with its public event."""
        return ((self.event, self.public), *self.also)


@dataclass(frozen=True)
class Fact:
    """An event recorded without a command of the service's own: clause and public event."""

    event: type[Any]
    public: type[PublicEvent] | None
    """None: the event stays inside the service."""
    clause: str


class Steps:
    """A service's steps, each declared once; the tables the service runs on, read from them."""

    def __init__(self) -> None:
        self._steps: dict[str, Step] = {}
        self._facts: list[Fact] = []

    def step(
        self,
        action: str,
        path: str,
        *,
        event: type[Any],
        public: type[PublicEvent],
        clause: str,
        may: Collection[Department],
        method: str,
        tag: str,
        doc: str,
        verb: str = "POST",
        upload: bool = False,
        also: Mapping[type[Any], type[PublicEvent] | None] | None = None,
        aggregate: type[Any] | None = None,
        operation: str | None = None,
    ) -> Callable[[T], T]:
        """Declare the step the decorated command model asks for."""

        def declare(command: T) -> T:
            if action in self._steps:
                raise ValueError(f"step {action} is declared twice")
            declared = Step(
                action, path, command, event, public, clause, frozenset(may), method, tag, doc,
                verb, upload, tuple((also or {}).items()), aggregate, operation,
            )  # fmt: skip
            known = set(self.clauses)
            for e, _ in declared.recorded:
                if e in known:
                    raise ValueError(f"{e.__qualname__} is recorded by two steps")
            self._steps[action] = declared
            return command

        return declare

    def fact(self, event: type[Any], public: type[PublicEvent] | None, clause: str) -> None:
        self._facts.append(Fact(event, public, clause))

    def __iter__(self) -> Iterator[Step]:
        return iter(self._steps.values())

    def __getitem__(self, action: str) -> Step:
        return self._steps[action]

    def _recorded(self) -> Iterable[tuple[type[Any], type[PublicEvent] | None, str]]:
        for f in self._facts:
            yield f.event, f.public, f.clause
        for s in self._steps.values():
            for e, p in s.recorded:
                yield e, p, s.clause

    @property
    def clauses(self) -> dict[type[Any], str]:
        """The clause each recorded event follows."""
        return {e: clause for e, _, clause in self._recorded()}

    @property
    def public(self) -> dict[type[Any], type[PublicEvent]]:
        """The public event each recorded event becomes (those that stay inside left out)."""
        return {e: p for e, p, _ in self._recorded() if p is not None}

    @property
    def internal(self) -> frozenset[type[Any]]:
        """The recorded events that stay inside the service: no public event."""
        return frozenset(e for e, p, _ in self._recorded() if p is None)

    @property
    def writes(self) -> Writes:
        """action -> (departments that may do it, the clause that says so)."""
        return {s.action: (s.may, s.clause) for s in self}

    def permissions(self) -> Permissions:
        return Permissions(self.writes)

    def missing(
        self,
        *,
        events: Iterable[type[Any]],
        contract: Iterable[type[PublicEvent]],
        routes: Iterable[tuple[str, str]],
        aggregate: type[Any],
    ) -> list[str]:
        """What the service lacks of its steps, in words; nothing when every step is whole.

        ``events`` are the aggregate's event classes, ``contract`` the service's public
        events (its topic's registry), ``routes`` the app's ``(method, path)`` pairs.
        """
        lacks: list[str] = []
        served = set(routes)
        clauses, public = self.clauses, self.public
        for e in events:
            if e not in clauses:
                lacks.append(f"{e.__qualname__} is recorded by no step: no clause, no contract")
        published = set(public.values())
        for p in contract:
            if p not in published:
                lacks.append(f"{p.__name__} is in the contract, and no step publishes it")
        for s in self:
            if (s.verb, s.path) not in served:
                lacks.append(f"{s.action}: no route {s.verb} {s.path}")
            deciding = s.aggregate or aggregate
            if not callable(getattr(deciding, s.method, None)):
                lacks.append(f"{s.action}: {deciding.__name__} has no {s.method}()")
            if not s.may:
                lacks.append(f"{s.action}: no department may do it")
            if not s.clause:
                lacks.append(f"{s.action}: no clause")
        return lacks
