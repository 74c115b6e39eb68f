"""Given / when / then at the aggregate level: given these past events, when this command,
then these new events or this refusal. No store, no broker, no HTTP: milliseconds.

    past = history(lambda: ReturnCase(**opened), lambda c: c.request_return(**asked))
    case = given(past)
    then(when(case, lambda c: c.request_confirmation(note=None, **by_qc)),
         ("ConfirmationRequested", {"note": None}))
    refused(case, lambda c: c.receive(**goods), clause="4.3.2.2")

``given`` rebuilds the aggregate from the events alone (each event's ``mutate``, as the
repository does), so a test states the history it starts from; ``history`` is a short way
to write that history with the aggregate's own commands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar, overload

from eventsourcing.domain import Aggregate

from csc_messaging.refusals import RuleViolation

A = TypeVar("A", bound=Aggregate)

Expected = str | tuple[str, Mapping[str, Any]]
"""An event expected: its class name, or its name and the fields it must carry."""


def history(create: Callable[[], A], *steps: Callable[[A], object]) -> list[Any]:
    """The events that ``create`` and then each of ``steps`` trigger, in order."""
    aggregate = create()
    for step in steps:
        step(aggregate)
    return list(aggregate.collect_events())


def given(events: Iterable[Any]) -> Any:
    """The aggregate these past events make, nothing pending on it."""
    aggregate: Any = None
    for past in events:
        aggregate = past.mutate(aggregate)
    if aggregate is None:
        raise ValueError("given no events: an aggregate starts with the event that creates it")
    return aggregate


def when(aggregate: A, command: Callable[[A], object]) -> list[Any]:
    """The new events ``command`` triggers on ``aggregate``."""
    command(aggregate)
    return list(aggregate.collect_events())


def then(new: Sequence[Any], *expected: Expected) -> None:
    """``new`` is exactly ``expected``, in order, each with the fields named."""
    names = [type(e).__name__ for e in new]
    wanted = [x if isinstance(x, str) else x[0] for x in expected]
    assert names == wanted, f"events {names}, expected {wanted}"
    for event, x in zip(new, expected, strict=True):
        if isinstance(x, str):
            continue
        for name, value in x[1].items():
            got = getattr(event, name)
            assert got == value, f"{type(event).__name__}.{name} is {got!r}, expected {value!r}"


E = TypeVar("E", bound=Exception)


@overload
def refused(aggregate: A, command: Callable[[A], object], *, clause: str) -> RuleViolation: ...


@overload
def refused(
    aggregate: A, command: Callable[[A], object], *, clause: str | None = None, refusal: type[E]
) -> E: ...


def refused(
    aggregate: A,
    command: Callable[[A], object],
    *,
    clause: str | None = None,
    refusal: type[Exception] = RuleViolation,
) -> Exception:
    """``command`` is refused (a ``refusal``; a RuleViolation naming ``clause``), and records
    nothing."""
    before = aggregate.version
    try:
        command(aggregate)
    except refusal as error:
        if clause is not None:
            named = getattr(error, "clause", None)
            assert named == clause, f"refused under {named}, not {clause}"
        pending = list(aggregate.collect_events())
        assert not pending and aggregate.version == before, f"refused, yet triggered {pending}"
        return error
    raise AssertionError(f"not refused: {clause or refusal.__name__} should have refused it")
