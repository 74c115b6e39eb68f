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

A step may say more, each optional: its HTTP ``verb`` (``PUT`` for a step that replaces),
the ``aggregate`` that decides it when the service has several, ``when`` it is taken
rather than another step on the same route (a field service day or a customer visit, by
the command's ``kind``), and ``may_as``: who may do it is who may do another step (an
amendment, as the step that recorded what it amends). A fact or step whose ``public`` is
``None`` is the service's own bookkeeping, published as nothing. A step may also record
more than its one event (``also``: each further event and the public event it becomes),
take a file's bytes for its body (``upload``: the service serves that route itself) and
name its route's operation when that is not its action (``operation``).
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
    """Its HTTP route, ``{verb} {path}``."""
    command: type[Any]
    event: type[Any]
    public: type[PublicEvent] | None
    """``None``: the event is the service's own bookkeeping, published as nothing."""
    clause: str
    may: frozenset[Department]
    method: str
    """The aggregate's method that decides it."""
    tag: str
    doc: str
    verb: str = "POST"
    aggregate: type[Any] | None = None
    """The aggregate whose ``method`` decides it, when not the service's one (``missing``)."""
    when: tuple[tuple[str, Any], ...] = ()
    """The values (of the command, the aggregate or the event) under which this step, and
    not another on its route, is the one taken: steps that differ only in these share one
    route and one event (``which``)."""
    may_as: str | None = None
    """Who may do it is who may do that step, the one ``which`` names for the aggregate."""
    upload: bool = False
    """Its body is a file's bytes, not a JSON command: the service serves its route itself."""
    also: tuple[tuple[type[Any], type[PublicEvent] | None], ...] = ()
    """Further events it may record, each with the public event it becomes (None: none)."""
    operation: str | None = None
    """Its route's function name (the OpenAPI operation's), when not ``action``."""

    @property
    def recorded(self) -> tuple[tuple[type[Any], type[PublicEvent] | None], ...]:
        """Every event the step may record, each with its public event."""
        return ((self.event, self.public), *self.also)

    def applies(self, subject: Any) -> bool:
        """Whether ``subject`` (command, aggregate or event) has this step's ``when``."""
        return all(getattr(subject, name, None) == value for name, value in self.when)


@dataclass(frozen=True)
class Fact:
    """An event recorded without a command of the service's own: clause and public event."""

    event: type[Any]
    public: type[PublicEvent] | None
    clause: str
    when: tuple[tuple[str, Any], ...] = ()
    """The event's values under which this fact, and not another of its class, applies."""

    def applies(self, subject: Any) -> bool:
        return all(getattr(subject, name, None) == value for name, value in self.when)


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
        public: type[PublicEvent] | None,
        clause: str,
        may: Collection[Department],
        method: str,
        tag: str,
        doc: str,
        verb: str = "POST",
        aggregate: type[Any] | None = None,
        when: Mapping[str, Any] | None = None,
        may_as: str | None = None,
        upload: bool = False,
        also: Mapping[type[Any], type[PublicEvent] | None] | None = None,
        operation: str | None = None,
    ) -> Callable[[T], T]:
        """Declare the step the decorated command model asks for.

        ``when``: several steps may share a route and an event, each taken under its own
        values of the command (``which``). ``may_as``: who may do it is decided by another
        step's declaration, not its own (``may`` stays empty). ``also``: further events
        the step may record, each with its public event.
        """
        conditions = tuple(sorted((when or {}).items()))

        def declare(command: T) -> T:
            if action in self._steps:
                raise ValueError(f"step {action} is declared twice")
            further = tuple((also or {}).items())
            for other in self._recorded():
                # Steps may share an event only when each says under which values it is taken.
                apart = isinstance(other, Step) and bool(other.when) and other.when != conditions
                if other.event is event and not (conditions and apart):
                    raise ValueError(f"{event.__qualname__} is recorded by two steps")
                if any(other.event is e for e, _ in further):
                    raise ValueError(f"{other.event.__qualname__} is recorded by two steps")
            self._steps[action] = Step(
                action, path, command, event, public, clause, frozenset(may), method, tag,
                doc, verb, aggregate, conditions, may_as, upload, further, operation,
            )  # fmt: skip
            return command

        return declare

    def fact(
        self,
        event: type[Any],
        public: type[PublicEvent] | None,
        clause: str,
        *,
        when: Mapping[str, Any] | None = None,
    ) -> None:
        """An event recorded without a command of the service's own; ``public`` ``None``:
        the service's own bookkeeping, published as nothing. ``when``: the event's values
        under which this clause applies (a clock's kind says its promise's clause)."""
        self._facts.append(Fact(event, public, clause, tuple(sorted((when or {}).items()))))

    @property
    def facts(self) -> list[Fact]:
        return list(self._facts)

    def clause_of(self, domain_event: Any) -> str | None:
        """The clause ``domain_event`` follows: of those declared for its class, the first
        whose ``when`` it has."""
        for s in self._recorded():
            if isinstance(domain_event, s.event) and s.applies(domain_event):
                return s.clause
        return None

    def without(self, leave_out: str | type[Any]) -> Steps:
        """These steps less the step named ``leave_out``, or less the facts of the event
        class ``leave_out``: what a service would run on had it not been declared (the
        completeness tests hold ``missing`` to it)."""
        less = Steps()
        less._steps = {a: s for a, s in self._steps.items() if a != leave_out}
        less._facts = [f for f in self._facts if f.event is not leave_out]
        return less

    def __iter__(self) -> Iterator[Step]:
        return iter(self._steps.values())

    def __getitem__(self, action: str) -> Step:
        return self._steps[action]

    def _recorded(self) -> Iterable[Step | Fact]:
        """Every declaration of a recorded event: the facts, the steps, and each further
        event of a step (``also``) as a fact under the step's clause."""
        found: list[Step | Fact] = [*self._facts]
        for s in self._steps.values():
            found.append(s)
            found.extend(Fact(e, p, s.clause) for e, p in s.also)
        return found

    @property
    def routes(self) -> list[Step]:
        """One step per route: the first declared of those that share it (``when``)."""
        served: dict[tuple[str, str], Step] = {}
        for s in self:
            served.setdefault((s.verb, s.path), s)
        return list(served.values())

    def which(self, action: str, subject: Any) -> Step:
        """The step taken on ``action``'s route for ``subject`` (its command, aggregate or
        event): the first of the steps sharing the route whose ``when`` it has."""
        named = self[action]
        alike = [s for s in self if (s.verb, s.path) == (named.verb, named.path)]
        return next((s for s in alike if s.applies(subject)), named)

    def public_of(self, domain_event: Any) -> type[PublicEvent] | None:
        """The public event ``domain_event`` becomes, of the steps recording its class the
        one whose ``when`` it has; ``None`` for the service's own bookkeeping."""
        for s in self._recorded():
            if isinstance(domain_event, s.event) and s.applies(domain_event):
                return s.public
        return None

    @property
    def clauses(self) -> dict[type[Any], str]:
        """The clause each recorded event follows (of steps sharing one, the first's)."""
        found: dict[type[Any], str] = {}
        for s in self._recorded():
            found.setdefault(s.event, s.clause)
        return found

    @property
    def public(self) -> dict[type[Any], type[PublicEvent]]:
        """The public event each recorded event becomes (of steps sharing one, the first's);
        the service's own bookkeeping is not in it."""
        found: dict[type[Any], type[PublicEvent]] = {}
        for s in self._recorded():
            if s.public is not None:
                found.setdefault(s.event, s.public)
        return found

    @property
    def internal(self) -> frozenset[type[Any]]:
        """The recorded events that stay inside the service: no public event."""
        return frozenset(s.event for s in self._recorded() if s.public is None)

    @property
    def writes(self) -> Writes:
        """action -> (departments that may do it, the clause that says so)."""
        return {s.action: (s.may, s.clause) for s in self if s.may_as is None}

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
        clauses = self.clauses
        for e in events:
            if e not in clauses:
                lacks.append(f"{e.__qualname__} is recorded by no step: no clause, no contract")
        published = {s.public for s in self._recorded()}
        for p in contract:
            if p not in published:
                lacks.append(f"{p.__name__} is in the contract, and no step publishes it")
        for s in self:
            if (s.verb, s.path) not in served:
                lacks.append(f"{s.action}: no route {s.verb} {s.path}")
            decides = s.aggregate or aggregate
            if not callable(getattr(decides, s.method, None)):
                lacks.append(f"{s.action}: {decides.__name__} has no {s.method}()")
            if s.may_as is not None:
                if s.may_as not in self._steps:
                    lacks.append(f"{s.action}: may as {s.may_as}, which is no step")
            elif not s.may:
                lacks.append(f"{s.action}: no department may do it")
            if not s.clause:
                lacks.append(f"{s.action}: no clause")
        return lacks
