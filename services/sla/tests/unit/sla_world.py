"""sla fed by hand, as its topics would feed it: public events in, time moved, clocks read.

Time is injected: tests move it instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from datetime import datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking

import csc_contracts as pub
from csc_messaging.settings import ServiceSettings
from csc_messaging.store import eventsourcing_env
from csc_sla.application import DEFAULT_SETTLING, SlaApplication
from csc_sla.domain import Clock
from csc_sla.policy import SlaPolicy
from csc_sla.projections import ClockBoard
from csc_sla.public import to_public


class World:
    """``kind``: the clock a test reads when it names none; with ``fires_only_kind``, the
    timer fires only that kind's deadlines (the cases' other clocks keep still)."""

    def __init__(self, app: SlaApplication, kind: str = "reply", fires_only_kind: bool = False):
        self.app = app
        self.board = ClockBoard(app)
        self.kind = kind
        self.fires_only_kind = fires_only_kind
        self.offsets: dict[str, Iterator[int]] = {}

    def feed(self, event: pub.PublicEvent) -> None:
        """At the next offset of the event's own topic, as the consumer would apply it."""
        topic = f"csc.{event.service}.v1:0"
        offsets = self.offsets.setdefault(topic, count(1))
        self.app.apply_public(event, Tracking(topic, next(offsets)))

    def at(self, moment: datetime) -> int:
        """The timer at ``moment``: the number of events it fired."""
        due = self.board.due_by(moment)
        if self.fires_only_kind:
            due = [
                clock_id
                for clock_id in due
                if (self.board.clock(str(clock_id)) or {}).get("clock") == self.kind
            ]
        return self.app.fire_due(due, moment)

    def find(self, case_id: UUID, kind: str | None = None) -> Clock | None:
        return self.app.find(Clock.create_id(case_id, kind or self.kind), Clock)

    def clock(self, case_id: UUID, kind: str | None = None) -> Clock:
        found = self.find(case_id, kind)
        assert found is not None
        return found

    def published(self, case_id: UUID, kind: str | None = None) -> list[pub.PublicEvent]:
        """The clock's events as csc.sla.v1 carries them, each read back by its contract."""
        events = []
        for e in self.app.events.get(Clock.create_id(case_id, kind or self.kind)):
            public = to_public(e)
            assert public is not None
            events.append(type(public).model_validate(public.model_dump(mode="json")))
        return events

    def history(self, case_id: UUID, kind: str | None = None) -> list[tuple[str, Any]]:
        story = []
        for public in self.published(case_id, kind):
            moment = (
                getattr(public, "at", None)
                or getattr(public, "met_at", None)
                or getattr(public, "stopped_at", None)
            )
            story.append((type(public).__name__, moment))
        return story


def make_world(
    tmp_path: Path,
    policy: SlaPolicy | None = None,
    settling: timedelta | None = None,
    **world: Any,
) -> Generator[World, None, None]:
    settings = ServiceSettings(data_dir=tmp_path)
    app = SlaApplication(
        env=eventsourcing_env(settings, "sla"),
        policy=policy,
        settling=DEFAULT_SETTLING if settling is None else settling,
    )
    yield World(app, **world)
    app.close()
