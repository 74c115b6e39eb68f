"""Idempotency-Key: a request's effect is recorded once, for the user and route that sent it.

A key is scoped to (user, method and route template, key): the domain records
``sha256`` of the three as its ``request_key`` (``has_handled``, and the case
ids intake and returns derive from it, so see only the caller's own requests),
never the string the client chose. Beside the events of the first request
under a key, in the same store transaction, the store keeps a row of the key's
scope and the request's fingerprint (its path, query and body): a later request
under the key with another fingerprint is refused (422) instead of being
answered with the first result, and no crash can leave events without their row
or a row without its events.

Why a table, not an event: the row is bookkeeping of the HTTP edge, not a fact
of the procedure. As an event it would enter every service's notification log,
the hash chain and what relays and read models step over; a table beside the
events, written through eventsourcing's own recorder hook (``_insert_events``,
selected with ``APPLICATION_RECORDER_TOPIC`` / ``PROCESS_RECORDER_TOPIC``), is
in the same transaction on SQLite and PostgreSQL and leaves the log as it was.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresProcessRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteProcessRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from csc_messaging.refusals import RuleViolation

KEY_TABLE = "idempotency_keys"
HEADER = "Idempotency-Key"


class RequestKey(str):
    """A request's scoped key: the string is what the domain records as ``request_key``.

    It carries the route and the fingerprint of the request, which the store keeps
    beside the events that carry the key (``KeyedSaves.save``).
    """

    route: str
    fingerprint: str
    replay: bool

    def __new__(cls, user: str, route: str, key: str, fingerprint: str) -> RequestKey:
        scope = hashlib.sha256(_framed(user, route, key)).hexdigest()
        made = super().__new__(cls, scope)
        made.route, made.fingerprint, made.replay = route, fingerprint, False
        return made

    def __reduce__(self) -> tuple[type[str], tuple[str]]:
        # A copy (eventsourcing may deep-copy events and aggregates) is the plain string.
        return str, (str(self),)


@dataclass(frozen=True)
class KeyRecord:
    """What the store holds of a key already used: its route and its request's fingerprint."""

    route: str
    fingerprint: str


class KeyReused(RuleViolation):
    """The key was used by the same user on the same route for a different request."""

    def __init__(self, key: RequestKey) -> None:
        super().__init__(
            HEADER,
            f"this {HEADER} was already used for a different request to {key.route}; "
            "a retry must send the same request, a new request needs a new key",
            code="request.key_reused",
            params={"header": HEADER, "route": key.route},
            field=HEADER,
            kind="invalid",
        )


def fingerprint(path: str, query: Iterable[tuple[str, str]], media_type: str, body: bytes) -> str:
    """What makes two requests under one key the same request: path, query and body.

    A JSON body counts by its content (canonical JSON: key order and spacing do not
    matter); any other body by its bytes and media type.
    """
    try:
        content = json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
        media_type = "json"
    except ValueError:
        content = body
    query_part = "&".join(f"{k}={v}" for k, v in sorted(query))
    return hashlib.sha256(_framed(path, query_part, media_type) + content).hexdigest()


def _framed(*parts: str) -> bytes:
    # Length-prefixed, so no choice of strings makes two different triples hash alike.
    return b"".join(len(p.encode()).to_bytes(8, "big") + p.encode() for p in parts)


def key_of(objs: Iterable[Any]) -> RequestKey | None:
    """The request key carried by the pending events of ``objs``, if any."""
    for obj in objs:
        for event in getattr(obj, "pending_events", ()):
            key = getattr(event, "request_key", None)
            if isinstance(key, RequestKey):
                return key
    return None


class KeyedSaves(Application[UUID]):
    """An application whose saves keep each request key's row with its events."""

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        key = key_of(objs)
        if key is not None:
            kwargs["idempotency_key"] = key
        return super().save(*objs, **kwargs)

    def key_record(self, key: RequestKey) -> KeyRecord | None:
        """The row of ``key``'s scope, if a request under it was recorded."""
        recorder = self.recorder
        if not isinstance(recorder, KeyRows):
            raise TypeError(
                f"{type(recorder).__name__} keeps no idempotency keys: "
                "build the application's env with csc_messaging.store.eventsourcing_env"
            )
        return recorder.key_record(str(key))


class KeyRows:
    """The recorders' side: one row per key scope, inserted with the events."""

    def key_record(self, scope: str) -> KeyRecord | None:
        raise NotImplementedError


def _key_row(kwargs: dict[str, Any]) -> tuple[str, str, str] | None:
    key = kwargs.get("idempotency_key")
    if not isinstance(key, RequestKey):
        return None
    return str(key), key.route, key.fingerprint


class _SQLiteKeys(KeyRows):
    datastore: Any

    def create_table(self) -> None:
        super().create_table()  # type: ignore[misc]
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {KEY_TABLE} ("
                "scope TEXT PRIMARY KEY, route TEXT NOT NULL, fingerprint TEXT NOT NULL) "
                "WITHOUT ROWID"
            )

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids: Sequence[int] | None = super()._insert_events(  # type: ignore[misc]
            c, stored_events, **kwargs
        )
        row = _key_row(kwargs)
        if row is not None:
            # A second request under the same scope fails here: IntegrityError, and the
            # whole transaction (its events too) is rolled back.
            c.execute(f"INSERT INTO {KEY_TABLE} VALUES (?, ?, ?)", row)
        return ids

    def key_record(self, scope: str) -> KeyRecord | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT route, fingerprint FROM {KEY_TABLE} WHERE scope = ?", (scope,))
            row = c.fetchone()
        return None if row is None else KeyRecord(route=row[0], fingerprint=row[1])


class _PostgresKeys(KeyRows):
    datastore: Any

    def _table(self) -> Any:
        return SQL("{}.{}").format(Identifier(self.datastore.schema), Identifier(KEY_TABLE))

    def create_table(self) -> None:
        super().create_table()  # type: ignore[misc]
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    "scope text PRIMARY KEY, route text NOT NULL, fingerprint text NOT NULL)"
                ).format(self._table())
            )

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)  # type: ignore[misc]
        row = _key_row(kwargs)
        if row is not None:
            # In the transaction (and pipeline) that inserts the events; a duplicate
            # scope raises IntegrityError at its sync and nothing is committed.
            curs.execute(SQL("INSERT INTO {} VALUES (%s, %s, %s)").format(self._table()), row)

    def key_record(self, scope: str) -> KeyRecord | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL("SELECT route, fingerprint FROM {} WHERE scope = %s").format(self._table()),
                (scope,),
            )
            row = curs.fetchone()
        return (
            None if row is None else KeyRecord(route=row["route"], fingerprint=row["fingerprint"])
        )


class KeyedSQLiteApplicationRecorder(_SQLiteKeys, SQLiteApplicationRecorder):
    pass


class KeyedSQLiteProcessRecorder(_SQLiteKeys, SQLiteProcessRecorder):
    pass


class KeyedPostgresApplicationRecorder(_PostgresKeys, PostgresApplicationRecorder):
    pass


class KeyedPostgresProcessRecorder(_PostgresKeys, PostgresProcessRecorder):
    pass


def recorder_topics(store: str) -> dict[str, str]:
    """The eventsourcing env naming the recorders that keep idempotency keys."""
    kind = "SQLite" if store == "sqlite" else "Postgres"
    return {
        "APPLICATION_RECORDER_TOPIC": f"{__name__}:Keyed{kind}ApplicationRecorder",
        "PROCESS_RECORDER_TOPIC": f"{__name__}:Keyed{kind}ProcessRecorder",
    }
