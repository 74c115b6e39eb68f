"""Read models as tables in the service's own database, kept by following its own log.

A view is derived data. Its rows live in tables of the service's store (SQLite
embedded, PostgreSQL in production) beside a row of ``csc_views`` that says up
to which notification of the log they reflect; rows and position are written in
one transaction, so a view never holds half of what an event did, and a crash
loses nothing a restart does not redo. This is the guarantee of eventsourcing's
own ``Projection`` with a tracking recorder as its view. Its ``ProjectionRunner``
needs the recorder's ``subscribe`` (SQLite's has none) and writes one event per
transaction; here a page of the log (up to ``PAGE`` notifications) is one
transaction, which is what lets a rebuild of a million events take seconds.

Start-up reads the position and applies only what is newer: nothing is folded
from the whole log, and nothing of the view is held in memory beyond one page.

A view declares its tables (``Table``: key, indexed columns, the row as a JSON
document) and a ``version``. When a release changes either, the view is built
anew from the log into new tables beside the old ones, and swapped in once it
has caught up; the same happens on ``rebuild()``
(``csc-<svc> views rebuild``). The log holds everything, so nothing is lost.

Several processes may follow one log (replicas on PostgreSQL, a CLI beside a
running service): each page is computed from the position it read and written
only if that position still stands under the row lock of ``csc_views``, else
it is computed again. Two writers never interleave a page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import structlog
from eventsourcing.application import Application
from fastapi.encoders import jsonable_encoder

from csc_messaging.journal import RecordApplied
from csc_messaging.refusals import BadCursor

log = structlog.get_logger(__name__)

PAGE = 1000
"""Notifications of the log applied in one transaction."""

Kind = Literal["text", "int", "real"]
_SQL_KIND = {
    "sqlite": {"text": "TEXT", "int": "INTEGER", "real": "REAL"},
    "postgres": {"text": "TEXT", "int": "BIGINT", "real": "DOUBLE PRECISION"},
}


@dataclass(frozen=True)
class Column:
    """A column of a view's table, for filters and order; its value comes from the row.

    ``of`` takes the row (the JSON document) and gives the value; by default the
    row's field of the column's name. Booleans are stored as 0/1 (``int``).
    """

    name: str
    kind: Kind = "text"
    of: Callable[[Mapping[str, Any]], Any] | None = None

    def value(self, row: Mapping[str, Any]) -> Any:
        value = self.of(row) if self.of is not None else row.get(self.name)
        if isinstance(value, bool):
            return int(value)
        return value


@dataclass(frozen=True)
class Table:
    """One table of a view: the row's key columns first, then the indexed ones.

    Every list the API offers is ordered by columns whose value never changes once
    the row exists (when it was opened, its id), ending with the key: a cursor then
    names a place in the order that rows added or changed later cannot move.
    """

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        names = {c.name for c in self.columns}
        used = (*self.key, *(n for index in self.indexes for n in index))
        missing = [n for n in used if n not in names]
        if missing or "doc" in names:
            raise ValueError(f"table {self.name}: unknown columns {missing} (or one named doc)")

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"table {self.name} has no column {name}")

    def key_of(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(self.column(name).value(row) for name in self.key)

    def index_columns(self, index: tuple[str, ...]) -> tuple[str, ...]:
        """What an index holds: its own columns, then the key (so an order that ends with
        the key, and a cursor into it, is the index's own order), then every other column
        (so the other filters are checked in the index, not row by row in the table)."""
        rest = [*self.key, *(c.name for c in self.columns)]
        return tuple(dict.fromkeys([*index, *rest]))

    def shape(self) -> str:
        built = [self.index_columns(index) for index in self.indexes]
        return json.dumps([self.name, [(c.name, c.kind) for c in self.columns], self.key, built])


# Filters -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cmp:
    """A comparison filter: ``Cmp("<=", when)``."""

    op: Literal["<", "<=", ">", ">=", "!="]
    value: Any


@dataclass(frozen=True)
class In:
    values: tuple[Any, ...]


@dataclass(frozen=True)
class IsNull:
    null: bool = True


Where = Mapping[str, Any]
"""column -> value (equality), ``Cmp``, ``In`` or ``IsNull``; a value of None is no filter."""


@dataclass
class Page:
    rows: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadCursor("is not a cursor this list gave") from None
    if (
        not isinstance(values, list)
        or len(values) != width
        or not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in values)
    ):
        raise BadCursor("is not a cursor this list gave (for this order)")
    return values


def row_digest(row: Any) -> str:
    """SHA-256 of one answer as canonical JSON: what a printed document was made from."""
    text = json.dumps(row, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _jsonable(value: Any) -> Any:
    """What an event's field becomes in a row: as FastAPI answers it (an Actor as its
    fields, a datetime in isoformat, a UUID as text)."""
    return jsonable_encoder(value)


def _check_cursor(spec: Table, columns: Sequence[str], values: Sequence[Any]) -> None:
    """A cursor's values are of its columns' kinds: PostgreSQL refuses to compare a text
    with a number (an error, not an empty page), SQLite would silently order them apart;
    and SQLite takes no integer beyond 64 bits (an error too)."""
    for name, value in zip(columns, values, strict=True):
        kind = spec.column(name).kind
        if not (
            (kind == "text" and isinstance(value, str))
            or (kind == "int" and isinstance(value, int) and -(2**63) <= value < 2**63)
            or (kind == "real" and isinstance(value, int | float) and abs(value) < 2**63)
        ):
            raise BadCursor("is not a cursor this list gave (for this order)")


# The database ---------------------------------------------------------------------------------


class _Db:
    """The service store's own connections, in its own dialect."""

    def __init__(self, app: Application[Any]) -> None:
        datastore = getattr(app.recorder, "datastore", None)
        module = type(datastore).__module__ if datastore is not None else ""
        if module.startswith("eventsourcing.sqlite"):
            self.dialect = "sqlite"
            self.prefix = ""
        elif module.startswith("eventsourcing.postgres"):
            self.dialect = "postgres"
            self.prefix = f'"{datastore.schema}".'  # type: ignore[union-attr]
        else:
            raise TypeError(
                f"views need the SQLite or PostgreSQL store, not {type(app.recorder).__name__}"
            )
        self.datastore: Any = datastore

    def sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.dialect == "postgres" else statement

    def name(self, table: str) -> str:
        return f'{self.prefix}"{table}"'

    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[Any]:
        with self.datastore.transaction(commit=commit) as cursor:
            yield cursor

    def execute(self, cursor: Any, statement: str, params: Sequence[Any] = ()) -> None:
        cursor.execute(self.sql(statement), tuple(params))

    def kind(self, kind: Kind) -> str:
        return _SQL_KIND[self.dialect][kind]


class Rows:
    """What one page of events changes, as ``apply`` sees it: rows read once, written once.

    ``get`` reads a row (from this page's changes, else the table) for a change:
    ``apply`` changes the dict it returns in place, and it is written back at the end
    of the page. ``put`` adds or replaces a row; ``delete`` removes one.
    """

    def __init__(self, view: View, cursor: Any, tables: Mapping[str, str]) -> None:
        self._view = view
        self._cursor = cursor
        self._tables = tables
        # Per table, so find() looks only at the pending rows of the table it searches.
        self._rows: dict[str, dict[tuple[Any, ...], dict[str, Any] | None]] = {
            name: {} for name in tables
        }

    def get(self, table: str, *key: Any) -> dict[str, Any] | None:
        pending = self._rows[table]
        if key not in pending:
            pending[key] = self._view._read(self._cursor, self._tables[table], table, key)
        return pending[key]

    def put(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        self._rows[table][self._view.table(table).key_of(row)] = row
        return row

    def delete(self, table: str, *key: Any) -> None:
        self._rows[table][tuple(key)] = None

    def find(self, table: str, column: str, value: Any) -> list[dict[str, Any]]:
        """The rows whose ``column`` is ``value``, as this page has left them so far, for
        a change (as ``get``): a customer's cases by its code, say."""
        spec = self._view.table(table)
        of = spec.column(column)
        found: dict[tuple[Any, ...], dict[str, Any]] = {}
        for key in self._view._keys_where(self._cursor, self._tables[table], spec, column, value):
            row = self.get(table, *key)
            if row is not None and of.value(row) == value:
                found[key] = row
        for key, row in self._rows[table].items():
            if row is not None and key not in found and of.value(row) == value:
                found[key] = row
        return list(found.values())

    def changes(self) -> Iterator[tuple[str, tuple[Any, ...], dict[str, Any] | None]]:
        for table, pending in self._rows.items():
            for key, row in pending.items():
                yield table, key, row


_STATE = "csc_views"


@dataclass
class _State:
    shape: str
    position: int
    bookkeeping: int
    generation: int
    tables: dict[str, str] = field(default_factory=dict)  # view table -> SQL table


class View(ABC):
    """A read model kept as tables. Subclasses set ``name``, ``tables`` and ``version``,
    and write ``apply(event, rows)``; queries read the tables with ``get``, ``page``
    and ``scan``."""

    name: ClassVar[str]
    tables: ClassVar[tuple[Table, ...]]
    version: ClassVar[int] = 1
    """Raise it when ``apply`` folds differently: the view is rebuilt at start."""

    def __init__(self, app: Application[Any]) -> None:
        self._app = app
        self._db = _Db(app)
        self._by_name = {t.name: t for t in self.tables}
        self._changed = threading.Condition()
        self._passes_started = 0
        self._passes_done = 0
        self._passing = False
        self.applied = 0
        """Events this instance applied to the live tables: after a restart with nothing
        new in the log, 0 (nothing is folded again)."""
        self._open()

    # Shape ----------------------------------------------------------------------------------

    @property
    def shape(self) -> str:
        text = json.dumps([self.version, [t.shape() for t in self.tables]])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def table(self, name: str) -> Table:
        return self._by_name[name]

    def _sql_table(self, table: str, generation: int) -> str:
        return f"view_{self.name}_{table}_g{generation}"

    def _open(self) -> None:
        db = self._db
        with db.transaction(commit=True) as c:
            db.execute(
                c,
                f"CREATE TABLE IF NOT EXISTS {db.name(_STATE)} (name TEXT PRIMARY KEY, "
                f"shape TEXT NOT NULL, position {db.kind('int')} NOT NULL, "
                f"bookkeeping {db.kind('int')} NOT NULL, generation {db.kind('int')} NOT NULL, "
                "tables TEXT NOT NULL)",
            )
        state = self._state()
        if state is None:
            with db.transaction(commit=True) as c:
                tables = self._create(c, 1)
                db.execute(
                    c,
                    f"INSERT INTO {db.name(_STATE)} VALUES (?, ?, 0, 0, 1, ?) "
                    "ON CONFLICT (name) DO NOTHING",
                    (self.name, self.shape, json.dumps(tables)),
                )
        elif state.shape != self.shape:
            log.info("view.rebuild", view=self.name, reason="its shape changed", was=state.shape)
            self.rebuild()

    def _create(self, cursor: Any, generation: int) -> dict[str, str]:
        db = self._db
        made: dict[str, str] = {}
        for table in self.tables:
            sql_table = made[table.name] = self._sql_table(table.name, generation)
            columns = ", ".join(f'"{c.name}" {db.kind(c.kind)}' for c in table.columns)
            key = ", ".join(f'"{k}"' for k in table.key)
            db.execute(
                cursor,
                f"CREATE TABLE IF NOT EXISTS {db.name(sql_table)} ({columns}, "
                f"doc TEXT NOT NULL, PRIMARY KEY ({key}))",
            )
            for i, index in enumerate(table.indexes):
                cols = ", ".join(f'"{n}"' for n in table.index_columns(index))
                db.execute(
                    cursor,
                    f'CREATE INDEX IF NOT EXISTS "{sql_table}_ix{i}" '
                    f"ON {db.name(sql_table)} ({cols})",
                )
        return made

    def _state(self, cursor: Any | None = None, *, lock: bool = False) -> _State | None:
        db = self._db
        statement = (
            f"SELECT shape, position, bookkeeping, generation, tables FROM {db.name(_STATE)} "
            "WHERE name = ?"
        )
        if lock and db.dialect == "postgres":
            statement += " FOR UPDATE"
        if cursor is None:
            with db.transaction(commit=False) as c:
                db.execute(c, statement, (self.name,))
                row = c.fetchone()
        else:
            if lock and db.dialect == "sqlite":
                # A write first: the transaction takes SQLite's write lock now, not at
                # its first insert, so no other process writes between read and write.
                db.execute(
                    cursor,
                    f"UPDATE {db.name(_STATE)} SET position = position WHERE name = ?",
                    (self.name,),
                )
            db.execute(cursor, statement, (self.name,))
            row = cursor.fetchone()
        if row is None:
            return None
        return _State(
            shape=row["shape"],
            position=row["position"],
            bookkeeping=row["bookkeeping"],
            generation=row["generation"],
            tables=json.loads(row["tables"]),
        )

    # Following the log ----------------------------------------------------------------------

    @property
    def position(self) -> int:
        state = self._state()
        return state.position if state is not None else 0

    @property
    def bookkeeping(self) -> int:
        """How many of the log's events say which Kafka record a transaction applied
        (``RecordApplied``): the rest are the service's own events."""
        state = self._state()
        return state.bookkeeping if state is not None else 0

    def head(self) -> int:
        """The log's last notification id."""
        return int(self._app.recorder.max_notification_id() or 0)

    def close(self) -> None:
        """Close the application the view reads (the CLI builds both)."""
        self._app.close()

    def catch_up(self) -> int:
        """Apply what was stored before this call; returns how many events it applied.

        Every request handler calls this, many at once. One thread of the process
        applies at a time; a caller that arrives while it does waits for the next
        pass, which starts after the caller arrived and so sees what the caller saw
        stored, and all such callers share that one pass.
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
                        applied = self._follow(None)
                    finally:
                        self._changed.acquire()
                    self._passes_done = number
                finally:
                    # After a failure the waiters find no pass running and start another.
                    self._passing = False
                    self._changed.notify_all()
                return applied
            return 0

    def _follow(self, generation: int | None, progress: Callable[[int], None] | None = None) -> int:
        """Apply the log's pages after the position of ``generation``'s tables (the live
        ones when None) until the log's head as it was at the start."""
        applied = 0
        while True:
            state = self._state()
            if state is None:
                raise RuntimeError(f"view {self.name} has no state row")
            done = self._apply_page(state, generation)
            if done is None:
                continue  # another writer moved the position: read again from there
            applied += done
            if progress is not None and done:
                progress(done)
            if done < PAGE:
                return applied

    def _apply_page(self, state: _State, generation: int | None) -> int | None:
        position = self._shadow_position(generation) if generation is not None else state.position
        notifications = self._app.recorder.select_notifications(position + 1, PAGE)
        if not notifications:
            return 0
        tables = (
            {t.name: self._sql_table(t.name, generation) for t in self.tables}
            if generation is not None
            else state.tables
        )
        db = self._db
        with db.transaction(commit=True) as c:
            now = self._state(c, lock=True)
            if now is None:
                return None
            if generation is not None:
                if self._shadow_position(generation, c) != position:
                    return None
            elif now.position != position or now.tables != tables:
                return None
            rows = Rows(self, c, tables)
            bookkeeping = 0
            for notification in notifications:
                event = self._app.mapper.to_domain_event(notification)
                if isinstance(event, RecordApplied):
                    bookkeeping += 1
                else:
                    self.apply(event, rows)
            self._write(c, tables, rows)
            last = notifications[-1].id
            if generation is not None:
                self._set_shadow_position(c, generation, last, bookkeeping)
            else:
                db.execute(
                    c,
                    f"UPDATE {db.name(_STATE)} SET position = ?, bookkeeping = bookkeeping + ? "
                    "WHERE name = ?",
                    (last, bookkeeping, self.name),
                )
        if generation is None:
            self.applied += len(notifications)
        return len(notifications)

    @abstractmethod
    def apply(self, event: Any, rows: Rows) -> None:
        """Fold one of the service's own events into the rows it changes."""

    # Writing and reading rows ---------------------------------------------------------------

    def _read(
        self, cursor: Any, sql_table: str, table: str, key: Sequence[Any]
    ) -> dict[str, Any] | None:
        spec = self.table(table)
        where = " AND ".join(f'"{k}" = ?' for k in spec.key)
        self._db.execute(
            cursor, f"SELECT doc FROM {self._db.name(sql_table)} WHERE {where}", list(key)
        )
        row = cursor.fetchone()
        return None if row is None else json.loads(row["doc"])

    def _keys_where(
        self, cursor: Any, sql_table: str, spec: Table, column: str, value: Any
    ) -> list[tuple[Any, ...]]:
        spec.column(column)
        keys = ", ".join(f'"{k}"' for k in spec.key)
        self._db.execute(
            cursor, f'SELECT {keys} FROM {self._db.name(sql_table)} WHERE "{column}" = ?', [value]
        )
        return [tuple(row[k] for k in spec.key) for row in cursor.fetchall()]

    def _write(self, cursor: Any, tables: Mapping[str, str], rows: Rows) -> None:
        db = self._db
        upserts: dict[str, list[tuple[Any, ...]]] = {}
        deletes: dict[str, list[tuple[Any, ...]]] = {}
        for table, key, row in rows.changes():
            if row is None:
                deletes.setdefault(table, []).append(key)
                continue
            spec = self.table(table)
            values = tuple(c.value(row) for c in spec.columns)
            doc = json.dumps(row, separators=(",", ":"), ensure_ascii=False, default=_jsonable)
            upserts.setdefault(table, []).append((*values, doc))
        for table, params in deletes.items():
            spec = self.table(table)
            condition = " AND ".join(f'"{k}" = ?' for k in spec.key)
            cursor.executemany(
                db.sql(f"DELETE FROM {db.name(tables[table])} WHERE {condition}"), params
            )
        for table, params in upserts.items():
            spec = self.table(table)
            names = [c.name for c in spec.columns]
            cols = ", ".join(f'"{n}"' for n in names)
            marks = ", ".join("?" for _ in range(len(names) + 1))
            conflict = ", ".join(f'"{k}"' for k in spec.key)
            sets = ", ".join(
                f'"{n}" = excluded."{n}"' for n in [*names, "doc"] if n not in spec.key
            )
            cursor.executemany(
                db.sql(
                    f"INSERT INTO {db.name(tables[table])} ({cols}, doc) VALUES ({marks}) "
                    f"ON CONFLICT ({conflict}) DO UPDATE SET {sets}"
                ),
                params,
            )

    def _live(self) -> dict[str, str]:
        state = self._state()
        if state is None:
            raise RuntimeError(f"view {self.name} has no state row")
        return state.tables

    def get(self, table: str, *key: Any) -> dict[str, Any] | None:
        """One row by its key, as it stands after what was stored before this call."""
        self.catch_up()
        with self._db.transaction(commit=False) as c:
            return self._read(c, self._live()[table], table, key)

    def page(
        self,
        table: str,
        *,
        where: Where | None = None,
        order: Sequence[str] = (),
        descending: bool = False,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page:
        """Rows that match ``where``, in ``order`` (then the key), ``limit`` of them after
        ``cursor``; the page's ``next_cursor`` continues where it ends (None at the end)."""
        self.catch_up()
        spec = self.table(table)
        columns = [*order, *(k for k in spec.key if k not in order)]
        after = decode_cursor(cursor, len(columns)) if cursor is not None else None
        if after is not None:
            _check_cursor(spec, columns, after)
        with self._db.transaction(commit=False) as c:
            found = self._select(
                c, self._live()[table], spec, where or {}, columns, descending, after, limit + 1
            )
        rows = [doc for _, doc in found[:limit]]
        next_cursor = encode_cursor(found[limit - 1][0]) if len(found) > limit else None
        return Page(rows, next_cursor)

    def scan(
        self,
        table: str,
        *,
        where: Where | None = None,
        order: Sequence[str] = (),
        descending: bool = False,
        catch_up: bool = True,
    ) -> Iterator[dict[str, Any]]:
        """Every row that matches, in order, read a thousand at a time."""
        for _, doc in self._every(table, where, order, descending, catch_up, docs=True):
            yield doc

    def keys(
        self,
        table: str,
        *,
        where: Where | None = None,
        order: Sequence[str] = (),
        catch_up: bool = True,
    ) -> Iterator[tuple[Any, ...]]:
        """The key of every row that matches, in order, from the index alone: no row is
        decoded (a customer's thousands of entries, by case id)."""
        spec = self.table(table)
        columns = [*order, *(k for k in spec.key if k not in order)]
        at = [columns.index(k) for k in spec.key]
        for values, _ in self._every(table, where, order, False, catch_up, docs=False):
            yield tuple(values[i] for i in at)

    def _every(
        self,
        table: str,
        where: Where | None,
        order: Sequence[str],
        descending: bool,
        catch_up: bool,
        *,
        docs: bool,
    ) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
        """Every matching row's order columns (and document), a thousand at a time."""
        if catch_up:
            self.catch_up()
        spec = self.table(table)
        columns = [*order, *(k for k in spec.key if k not in order)]
        sql_table = self._live()[table]
        after: list[Any] | None = None
        while True:
            with self._db.transaction(commit=False) as c:
                found = self._select(
                    c, sql_table, spec, where or {}, columns, descending, after, PAGE, docs=docs
                )
            yield from found
            if len(found) < PAGE:
                return
            after = list(found[-1][0])

    def count(self, table: str, *, where: Where | None = None) -> int:
        self.catch_up()
        spec = self.table(table)
        clauses, params = self._where(spec, where or {})
        sql = f"SELECT COUNT(*) AS n FROM {self._db.name(self._live()[table])}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        with self._db.transaction(commit=False) as c:
            self._db.execute(c, sql, params)
            return int(c.fetchone()["n"])

    def _where(self, spec: Table, where: Where) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for name, value in where.items():
            if value is None:
                continue
            column = spec.column(name)
            quoted = f'"{column.name}"'
            if isinstance(value, Cmp):
                clauses.append(f"{quoted} {value.op} ?")
                params.append(value.value)
            elif isinstance(value, In):
                if not value.values:
                    clauses.append("1 = 0")
                    continue
                clauses.append(f"{quoted} IN ({', '.join('?' for _ in value.values)})")
                params.extend(value.values)
            elif isinstance(value, IsNull):
                clauses.append(f"{quoted} IS {'' if value.null else 'NOT '}NULL")
            else:
                clauses.append(f"{quoted} = ?")
                params.append(int(value) if isinstance(value, bool) else value)
        return clauses, params

    def _select(
        self,
        cursor: Any,
        sql_table: str,
        spec: Table,
        where: Where,
        columns: Sequence[str],
        descending: bool,
        after: Sequence[Any] | None,
        limit: int,
        *,
        docs: bool = True,
    ) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        """The rows' order columns and (``docs``; else an empty dict) their documents."""
        for name in columns:
            spec.column(name)
        # One branch per value of an ``In`` filter, merged in order: each branch reads its
        # index in order and stops at the limit, where one SELECT with ``IN`` sorts every
        # matching row before it can return the first (quarantine: every isolated case).
        branches: list[Where] = [where]
        spread = [n for n, v in where.items() if isinstance(v, In) and len(v.values) > 1]
        if len(spread) == 1:
            name = spread[0]
            values = where[name].values
            branches = [{**where, name: v} for v in dict.fromkeys(values)]
        selected = ", ".join(f'"{n}"' for n in columns)
        selects: list[str] = []
        params: list[Any] = []
        for branch in branches:
            clauses, branch_params = self._where(spec, branch)
            if after is not None:
                marks = ", ".join("?" for _ in columns)
                clauses.append(f"({selected}) {'<' if descending else '>'} ({marks})")
                branch_params.extend(after)
            select = f"SELECT {selected}{', doc' if docs else ''} FROM {self._db.name(sql_table)}"
            if clauses:
                select += " WHERE " + " AND ".join(clauses)
            selects.append(select)
            params.extend(branch_params)
        direction = " DESC" if descending else ""
        sql = " UNION ALL ".join(selects)
        sql += " ORDER BY " + ", ".join(f'"{n}"{direction}' for n in columns) + " LIMIT ?"
        params.append(limit)
        self._db.execute(cursor, sql, params)
        return [
            (tuple(row[n] for n in columns), json.loads(row["doc"]) if docs else {})
            for row in cursor.fetchall()
        ]

    # Digest and rebuild ---------------------------------------------------------------------

    def digest(self) -> str:
        """SHA-256 of every table's rows in key order, as one canonical JSON array of
        ``[table, row]`` pairs: equal for a live view and one rebuilt from the same log."""
        self.catch_up()
        sha = hashlib.sha256(b"[")
        first = True
        for table in self.tables:
            for row in self.scan(table.name, catch_up=False):
                if not first:
                    sha.update(b",")
                first = False
                sha.update(
                    json.dumps(
                        [table.name, row], sort_keys=True, separators=(",", ":"), default=str
                    ).encode()
                )
        sha.update(b"]")
        return sha.hexdigest()

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Build the view anew from the whole log into new tables, then swap them in.

        The live tables answer queries (and keep following the log) until the swap;
        the swap happens once the new tables have caught up, in one transaction that
        also drops the old ones. ``progress(done, total)`` is told as pages are applied.
        Returns how many events were applied.
        """
        state = self._state()
        generation = (state.generation if state is not None else 0) + 1
        total = self._app.recorder.max_notification_id() or 0
        db = self._db
        with db.transaction(commit=True) as c:
            for table in self.tables:  # leftovers of a rebuild that did not finish
                leftover = db.name(self._sql_table(table.name, generation))
                db.execute(c, f"DROP TABLE IF EXISTS {leftover}")
            self._create(c, generation)
            self._set_shadow_position(c, generation, 0, 0, reset=True)
        done = 0

        def advance(applied: int) -> None:
            nonlocal done
            done += applied
            if progress is not None:
                progress(done, max(total, done))

        applied = self._follow(generation, advance)
        while True:
            # Swap once caught up; if the log moved meanwhile, apply the rest first.
            applied += self._follow(generation, advance)
            with db.transaction(commit=True) as c:
                now = self._state(c, lock=True)
                shadow, bookkeeping = self._shadow(c, generation)
                head = self._app.recorder.max_notification_id() or 0
                if shadow < head:
                    continue
                tables = {t.name: self._sql_table(t.name, generation) for t in self.tables}
                if now is None:
                    db.execute(
                        c,
                        f"INSERT INTO {db.name(_STATE)} VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            self.name,
                            self.shape,
                            shadow,
                            bookkeeping,
                            generation,
                            json.dumps(tables),
                        ),
                    )
                else:
                    db.execute(
                        c,
                        f"UPDATE {db.name(_STATE)} SET shape = ?, position = ?, bookkeeping = ?, "
                        "generation = ?, tables = ? WHERE name = ?",
                        (
                            self.shape,
                            shadow,
                            bookkeeping,
                            generation,
                            json.dumps(tables),
                            self.name,
                        ),
                    )
                    for old in now.tables.values():
                        db.execute(c, f"DROP TABLE IF EXISTS {db.name(old)}")
                db.execute(
                    c,
                    f"DELETE FROM {db.name(_STATE)} WHERE name = ?",
                    (self._shadow_name(generation),),
                )
            log.info("view.rebuilt", view=self.name, events=applied, generation=generation)
            return applied

    # A rebuild's own position is a row of csc_views named after its generation.

    def _shadow_name(self, generation: int) -> str:
        return f"{self.name}#g{generation}"

    def _shadow(self, cursor: Any, generation: int) -> tuple[int, int]:
        self._db.execute(
            cursor,
            f"SELECT position, bookkeeping FROM {self._db.name(_STATE)} WHERE name = ?",
            (self._shadow_name(generation),),
        )
        row = cursor.fetchone()
        return (row["position"], row["bookkeeping"]) if row is not None else (0, 0)

    def _shadow_position(self, generation: int, cursor: Any | None = None) -> int:
        if cursor is not None:
            return self._shadow(cursor, generation)[0]
        with self._db.transaction(commit=False) as c:
            return self._shadow(c, generation)[0]

    def _set_shadow_position(
        self, cursor: Any, generation: int, position: int, bookkeeping: int, *, reset: bool = False
    ) -> None:
        db = self._db
        name = self._shadow_name(generation)
        if reset:
            db.execute(cursor, f"DELETE FROM {db.name(_STATE)} WHERE name = ?", (name,))
            db.execute(
                cursor,
                f"INSERT INTO {db.name(_STATE)} VALUES (?, ?, 0, 0, ?, '{{}}')",
                (name, self.shape, generation),
            )
            return
        db.execute(
            cursor,
            f"UPDATE {db.name(_STATE)} SET position = ?, bookkeeping = bookkeeping + ? "
            "WHERE name = ?",
            (position, bookkeeping, name),
        )
