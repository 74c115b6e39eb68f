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


class ReadModel(ABC):
    def __init__(self, app: Application[Any]) -> None:
        self._app = app
        self._position = 0
        self._lock = threading.Lock()

    @property
    def position(self) -> int:
        return self._position

    def catch_up(self) -> int:
        """Apply what was stored since the last call; returns how many events were applied."""
        applied = 0
        with self._lock:
            while True:
                notifications = self._app.recorder.select_notifications(self._position + 1, 1000)
                if not notifications:
                    return applied
                for notification in notifications:
                    self.apply(self._app.mapper.to_domain_event(notification))
                    self._position = notification.id
                    applied += 1

    @abstractmethod
    def apply(self, event: Any) -> None: ...

    @abstractmethod
    def rows(self) -> list[dict[str, Any]]:
        """The read model as JSON-ready rows, in a stable order."""

    def digest(self) -> str:
        self.catch_up()
        canonical = json.dumps(self.rows(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()
