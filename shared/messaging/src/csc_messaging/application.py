"""Base of the services that apply other services' public events to their own store."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import date
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent, Repository
from eventsourcing.persistence import JSONTranscoder, Tracking, Transcoding
from eventsourcing.projection import EventSourcedProjection

from csc_contracts import PublicEvent
from csc_messaging.idempotency import KeyedSaves
from csc_messaging.journal import record_applied
from csc_messaging.runs import Run, RunRepository, check_no_collisions

A = TypeVar("A")


class DateAsISO(Transcoding):
    """Calendar dates (due dates, days of work) as ISO strings in stored events."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class ConsumerApplication(EventSourcedProjection[UUID], KeyedSaves):
    """An eventsourcing process application whose input is a public event from Kafka.

    ``react`` (each service's, singledispatch on the public event's class) collects the
    new aggregate events; ``policy``, the hook eventsourcing's process_event calls, runs it
    for one event or for each event of a run (csc_messaging.ingest), and the events are
    stored with the record's tracking position in one transaction.

    Events from Kafka and commands over HTTP (or a timer) change the same
    aggregates: ``lock`` makes them take turns.
    """

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self.lock = threading.RLock()
        # Whether the events of each applied record are stored with the journal's note of
        # the record (csc_messaging.journal): so for every consumer (the Ingestor turns it
        # on); not for events applied by hand, as a test or a desk does.
        self.notes_records = False

    def construct_repository(self) -> Repository[UUID]:
        # eventsourcing's hook: the repository it makes, seen through a run being applied.
        self.runs = RunRepository(super().construct_repository())
        return self.runs

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        with self.lock:
            super().process_event(domain_event, tracking)

    def policy(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """eventsourcing's hook, called by process_event: the service's ``react`` on the
        public event, or on each event of a run in turn into the one ProcessingEvent."""
        if isinstance(domain_event, Run):
            with self.runs.seeing(processing_event):
                self.runs.expect(i for event in domain_event.events for i in self.looks_up(event))
                for event in domain_event.events:
                    self.react(event, processing_event)
            check_no_collisions(processing_event)
        else:
            self.react(domain_event, processing_event)
        tracking = processing_event.tracking
        if self.notes_records and processing_event.events and tracking is not None:
            # Which record caused these events, stored with them (csc_messaging.journal).
            processing_event.collect_events(record_applied(tracking))

    def react(self, event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """What the service does with one public event: collect its new aggregate events on
        ``processing_event``. Events a service does not react to change nothing."""

    def looks_up(self, event: Any) -> Iterable[UUID]:
        """The ids of the aggregates ``react`` will look up for ``event``, so that a run
        asks the store once which of them exist (csc_messaging.runs) instead of reading
        each. A hint only: an id left out is read when asked for, as without it."""
        return ()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def apply_public(self, event: PublicEvent, tracking: Tracking) -> None:
        # eventsourcing's process_event is typed for its own domain events; policy
        # dispatch only needs the event's class, which a public event has.
        self.process_event(cast(Any, event), tracking)

    def find(self, aggregate_id: UUID, cls: type[A]) -> A | None:
        try:
            found: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(found, cls):
            raise TypeError(f"{aggregate_id} is a {type(found).__name__}, not a {cls.__name__}")
        return found
