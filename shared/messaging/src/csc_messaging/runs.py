"""A run of one partition's public events applied as one: the event that stands for the run,
and the repository view its policies read through.

A run is one transaction under the application's own ``process_event`` (csc_messaging.ingest
reads the run; ``ConsumerApplication.policy`` applies it), so its policies read one
consistent state, as a single event's policy does.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent, Repository

from csc_contracts import PublicEvent


class Run:
    """The public events of a run, handed to process_event as if they were one event."""

    def __init__(self, events: list[PublicEvent]) -> None:
        self.events = events


class RunConflict(Exception):
    """The run's events collide with each other; its records go one by one instead."""


class RunRepository(Repository[UUID]):
    """The application's repository, except that the thread applying a run sees each
    aggregate as the run left it so far: the one the run created or changed and has not
    stored yet, or else the one it read before, rather than a fresh copy from the store.

    Policies look aggregates up (``ConsumerApplication.find``) to tell a new case from one
    they already handled, or to change it; within a run an earlier record may have created
    or changed that aggregate in events still waiting for the run's transaction. A policy
    that changes an aggregate collects its events (it would lose them otherwise), so what
    later records of the run see is what the run will store.

    ``ConsumerApplication.construct_repository`` (eventsourcing's hook) wraps the
    repository the library constructs in this view.
    """

    def __init__(self, stored: Repository[UUID]) -> None:
        # Not Repository.__init__: this is the same repository, read through the run.
        self._stored = stored
        self._local = threading.local()

    def __getattr__(self, name: str) -> Any:
        if name in ("_stored", "_local"):
            raise AttributeError(name)
        return getattr(self._stored, name)

    def get(self, aggregate_id: UUID, *, version: int | None = None, **kwargs: Any) -> Any:
        run: _RunState | None = getattr(self._local, "run", None)
        if run is None or version is not None or kwargs:
            return self._stored.get(aggregate_id, version=version, **kwargs)
        pending = run.processing.aggregates.get(aggregate_id)
        if pending is not None:
            return pending
        read = run.read.get(aggregate_id)
        if read is None:
            # A customer's profile, say, read for each of its complaints in the run:
            # rebuilt from its events once per run instead of once per complaint.
            read = run.read[aggregate_id] = self._stored.get(aggregate_id)
        return read

    @contextlib.contextmanager
    def seeing(self, processing: ProcessingEvent[UUID]) -> Iterator[None]:
        self._local.run = _RunState(processing)
        try:
            yield
        finally:
            self._local.run = None


@dataclass
class _RunState:
    processing: ProcessingEvent[UUID]
    read: dict[UUID, Any] = field(default_factory=dict)


def check_no_collisions(processing: ProcessingEvent[UUID]) -> None:
    seen: set[tuple[Any, int]] = set()
    for event in processing.events:
        key = (event.originator_id, event.originator_version)
        if key in seen:
            raise RunConflict(f"two events for version {key[1]} of {key[0]}")
        seen.add(key)
