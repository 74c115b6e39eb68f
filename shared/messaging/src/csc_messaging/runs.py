"""A run of one partition's public events applied as one: the event that stands for the run,
and the repository view its policies read through.

A run is one transaction under the application's own ``process_event`` (csc_messaging.ingest
reads the run; ``ConsumerApplication.policy`` applies it), so its policies read one
consistent state, as a single event's policy does.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent, Repository

from csc_contracts import PublicEvent


class Run:
    """The public events of a run, handed to process_event as if they were one event."""

    def __init__(self, events: list[PublicEvent]) -> None:
        self.events = events


class RunConflict(Exception):
    """The run's events collide with each other; its records go one by one instead."""


# Ids asked of the store in one statement: well under SQLite's limit of bound parameters.
EXISTS_CHUNK = 500


class RunRepository(Repository[UUID]):
    """The application's repository, except that the thread applying a run sees each
    aggregate as the run left it so far: the one the run created or changed and has not
    stored yet, or else the one it read before, rather than a fresh copy from the store.

    The ids a run's policies will look up (``ConsumerApplication.looks_up``) are asked
    of the store at the run's start in one statement: an aggregate not there is known
    missing without a read of its own (most of a replay's look-ups are of aggregates
    its own records create), one that is there is read as before. Nothing else writes
    between that question and the run's commit unnoticed: a writer that created one of
    them meanwhile makes the run's own creation collide, and the store refuses the run.

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
        if aggregate_id in run.missing:
            raise AggregateNotFoundError(aggregate_id)
        read = run.read.get(aggregate_id)
        if read is None:
            # A customer's profile, say, read for each of its complaints in the run:
            # rebuilt from its events once per run instead of once per complaint.
            read = run.read[aggregate_id] = self._stored.get(aggregate_id)
        return read

    def expect(self, aggregate_ids: Iterable[UUID]) -> None:
        """Ask the store once which of these ids it holds; the rest are known missing
        for the rest of the run (unless the run creates them)."""
        run: _RunState | None = getattr(self._local, "run", None)
        if run is None:
            return
        asked = {
            i
            for i in aggregate_ids
            if i not in run.processing.aggregates and i not in run.read and i not in run.missing
        }
        if asked:
            run.missing |= asked - stored_ids(self._stored.event_store.recorder, asked)

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
    missing: set[UUID] = field(default_factory=set)


def stored_ids(recorder: Any, aggregate_ids: Iterable[UUID]) -> set[UUID]:
    """Which of ``aggregate_ids`` have events in the store, in one statement per
    ``EXISTS_CHUNK`` ids (eventsourcing's recorders read one aggregate at a time)."""
    datastore: Any = getattr(recorder, "datastore", None)
    module = type(datastore).__module__
    ids = list(aggregate_ids)
    found: set[UUID] = set()
    key: Callable[[UUID], Any]
    if module.startswith("eventsourcing.sqlite"):
        # SQLite's recorder keeps an id as its hex digits (SQLiteAggregateRecorder).
        table, mark, key = recorder.events_table_name, "?", _hex
    elif module.startswith("eventsourcing.postgres"):
        table = f'"{datastore.schema}"."{recorder.events_table_name}"'
        mark, key = "%s", str if datastore.originator_id_type == "text" else _same
    else:  # another store (a test's in-memory POPO): each id is read as before
        return set(ids)
    with datastore.transaction(commit=False) as cursor:
        for start in range(0, len(ids), EXISTS_CHUNK):
            chunk = ids[start : start + EXISTS_CHUNK]
            cursor.execute(
                f"SELECT DISTINCT originator_id FROM {table} "
                f"WHERE originator_id IN ({', '.join(mark for _ in chunk)})",
                [key(i) for i in chunk],
            )
            found.update(_as_uuid(row["originator_id"]) for row in cursor.fetchall())
    return found


def _hex(aggregate_id: UUID) -> str:
    return aggregate_id.hex


def _same(aggregate_id: UUID) -> UUID:
    return aggregate_id


def _as_uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def check_no_collisions(processing: ProcessingEvent[UUID]) -> None:
    seen: set[tuple[Any, int]] = set()
    for event in processing.events:
        key = (event.originator_id, event.originator_version)
        if key in seen:
            raise RunConflict(f"two events for version {key[1]} of {key[0]}")
        seen.add(key)
