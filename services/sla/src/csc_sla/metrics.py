"""sla's own metrics: open clocks by kind and state, warnings, breaches, escalations, and
how long a timer tick takes (``csc_messaging.metrics`` has the rest)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, get_args

from prometheus_client import Histogram
from prometheus_client.core import Metric

from csc_contracts.sla import ClockKind
from csc_messaging.runtime import Service
from csc_sla.projections import ClockBoard

# A clock's states until it is met or stopped (the read model's ``status``).
OPEN_STATES = ("running", "paused", "warned", "breached", "escalated")
TICK_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def instrument(service: Service, board: ClockBoard) -> Histogram:
    """Register sla's metrics on the service's registry; the timer's tick histogram."""
    metrics = service.metrics
    name = metrics.service
    kinds = get_args(ClockKind)

    def clocks() -> Iterable[Metric]:
        family = metrics.gauge_family(
            "csc_sla_clocks", "Clocks not met yet, by kind and state.", ["clock", "state"]
        )
        for kind in kinds:
            for state in OPEN_STATES:
                count = board.count("clocks", where={"clock": kind, "status": state})
                family.add_metric([name, kind, state], count)
        yield family

    metrics.watch(clocks)
    # By promise (4.2.1 reply, 4.2.2 on site, ...): "breaches are rising" names which.
    counters = {
        "Clock.Warned": metrics.counter(
            "csc_sla_warnings",
            "Clock warnings recorded (the warning time passed, unmet), by promise.",
            ["clock"],
        ),
        "Clock.Breached": metrics.counter(
            "csc_sla_breaches",
            "Clock breaches recorded (the deadline passed, unmet), by promise.",
            ["clock"],
        ),
        "Clock.Escalated": metrics.counter(
            "csc_sla_escalations",
            "Clock escalations recorded (the ladder's next rung), by promise.",
            ["clock"],
        ),
    }
    for counter in counters.values():
        for kind in kinds:  # every series from the start: a rate over 0 is a rate
            counter.labels(name, kind)
    mapper = service.app.mapper

    def count_alarms(stored_events: Sequence[Any]) -> None:
        for stored in stored_events:
            counter = counters.get(str(stored.topic).rpartition(":")[2])
            if counter is not None:
                event = mapper.to_domain_event(stored)
                counter.labels(name, str(getattr(event, "kind", "unknown"))).inc()

    metrics.on_stored(count_alarms)
    return metrics.histogram(
        "csc_sla_timer_tick_duration_seconds",
        "One timer tick: finding the clocks due and firing them.",
        TICK_BUCKETS,
    )
