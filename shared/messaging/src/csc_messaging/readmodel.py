"""Read models folded from a service's own notification log.

A read model is derived data: it is rebuilt from the event store on start
and kept current by following the log, so it can never disagree with the
events. Its digest lets two stores (live and replayed) be compared.
"""

from __future__ import annotations

import hashlib
import json
import threading
from abc import ABC, abstractmethod
from typing import Any

from eventsourcing.application import Application

from csc_messaging.journal import RecordApplied

PAGE = 1000


class ReadModel(ABC):
    def __init__(self, app: Application[Any]) -> None:
        self._app = app
        self._position = 0
        self._bookkeeping = 0
        self._changed = threading.Condition()
        self._passes_started = 0
        self._passes_done = 0
        self._passing = False

    @property
    def position(self) -> int:
        return self._position

    @property
    def bookkeeping(self) -> int:
        """How many of the log's events say which Kafka record a transaction applied
        (``RecordApplied``): the rest are the service's own events."""
        return self._bookkeeping

    def catch_up(self) -> int:
        """Apply what was stored before this call; returns how many events it applied.

        Every request handler calls this, many at once. One thread reads the log
        at a time; a caller that arrives while it reads waits for the next pass,
        which starts after the caller arrived and so sees what the caller saw
        stored, and all such callers share that one pass. (One pass each, in
        turn, made every request wait for every other request's read.)
        """
        with self._changed:
            wanted = self._passes_started + 1
            while self._passes_done < wanted:
                if self._passing:
                    self._changed.wait()
                    continue
                self._passing = True
                self._passes_started += 1
                number = self._passes_started
                applied = 0
                try:
                    self._changed.release()
                    try:
                        applied = self._apply_new()
                    finally:
                        self._changed.acquire()
                    self._passes_done = number
                finally:
                    # After a failure the waiters find no pass running and start another.
                    self._passing = False
                    self._changed.notify_all()
                return applied
            return 0

    def _apply_new(self) -> int:
        applied = 0
        while True:
            notifications = self._app.recorder.select_notifications(self._position + 1, PAGE)
            for notification in notifications:
                event = self._app.mapper.to_domain_event(notification)
                if isinstance(event, RecordApplied):
                    self._bookkeeping += 1
                else:
                    self.apply(event)
                self._position = notification.id
                applied += 1
            if len(notifications) < PAGE:
                return applied

    @abstractmethod
    def apply(self, event: Any) -> None: ...

    @abstractmethod
    def rows(self) -> list[dict[str, Any]]:
        """The read model as JSON-ready rows, in a stable order."""

    def digest(self) -> str:
        """SHA-256 of the rows as one canonical JSON array.

        Hashed row by row: the same bytes as ``json.dumps(rows)`` with these
        separators, without holding a second copy of the whole model as one string.
        """
        self.catch_up()
        sha = hashlib.sha256(b"[")
        for i, row in enumerate(self.rows()):
            if i:
                sha.update(b",")
            sha.update(json.dumps(row, sort_keys=True, separators=(",", ":"), default=str).encode())
        sha.update(b"]")
        return sha.hexdigest()
