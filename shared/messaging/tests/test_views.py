"""Read models as tables: kept in the store beside their position, paged, rebuilt from the log.

On SQLite, and on PostgreSQL too under ``CSC_TEST_STORE=postgres``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from uuid import uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from csc_messaging.rules import BadCursor
from csc_messaging.settings import ServiceSettings
from csc_messaging.store import eventsourcing_env, wipe_store
from csc_messaging.views import Cmp, Column, In, Rows, Table, View

STORES = ["sqlite"] + (["postgres"] if os.environ.get("CSC_TEST_STORE") == "postgres" else [])


class Note(Aggregate):
    class Written(Aggregate.Created):
        author: str
        n: int

    class Edited(Aggregate.Event):
        pass

    @event(Written)
    def __init__(self, author: str, n: int) -> None:
        self.author = author
        self.n = n
        self.edits = 0

    @event(Edited)
    def edit(self) -> None:
        self.edits += 1


class Notes(View):
    name = "notes"
    tables = (
        Table(
            "notes",
            columns=(Column("note_id"), Column("author"), Column("n", "int"),
                     Column("edited", "int", of=lambda r: r["edits"] > 0)),
            key=("note_id",),
            indexes=(("author", "n"),),
        ),
        Table("authors", columns=(Column("author"), Column("notes", "int")), key=("author",)),
    )  # fmt: skip
    folded: ClassVar[int] = 0

    def apply(self, event: Any, rows: Rows) -> None:
        type(self).folded += 1
        key = str(event.originator_id)
        if isinstance(event, Note.Written):
            rows.put("notes", {"note_id": key, "author": event.author, "n": event.n, "edits": 0})
            author = rows.get("authors", event.author) or rows.put(
                "authors", {"author": event.author, "notes": 0}
            )
            author["notes"] += 1
        elif isinstance(event, Note.Edited):
            note = rows.get("notes", key)
            assert note is not None
            note["edits"] += 1


@pytest.fixture(params=STORES)
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Application[Any]]:
    if request.param == "sqlite":
        settings = ServiceSettings(data_dir=tmp_path)
    else:
        pg = request.getfixturevalue("postgres_params")
        settings = ServiceSettings(
            store="postgres", postgres_host=pg["host"], postgres_port=pg["port"],
            postgres_user=pg["user"], postgres_password=pg["password"],
            postgres_db=pg["dbname"], postgres_schema=f"views_{uuid4().hex[:8]}",
        )  # fmt: skip
    application: Application[Any] = Application(env=eventsourcing_env(settings, "views"))
    yield application
    application.close()
    if request.param == "postgres":
        wipe_store(settings, "views")


def write(app: Application[Any], author: str, n: int, edits: int = 0) -> Note:
    note = Note(author, n)
    for _ in range(edits):
        note.edit()
    app.save(note)
    return note


def test_rows_follow_the_log_and_a_rebuilt_view_equals_the_live_one(app: Application[Any]) -> None:
    for i in range(2500):  # more than two pages of the log
        write(app, f"a{i % 7}", i, edits=i % 2)
    view = Notes(app)
    assert view.count("notes") == 2500
    assert view.get("authors", "a3") == {"author": "a3", "notes": 357}
    assert view.count("notes", where={"edited": True}) == 1250
    assert view.position == app.recorder.max_notification_id()
    live = view.digest()

    seen: list[tuple[int, int]] = []
    assert view.rebuild(lambda done, total: seen.append((done, total))) == 3750
    assert seen[-1] == (3750, 3750) and len(seen) >= 3
    assert view.digest() == live
    # The old generation's tables are gone: one generation of each table is left.
    assert view.count("notes") == 2500
    # Keys alone, from the index, over more than two pages of rows: those scan gives.
    keys = list(view.keys("notes", where={"author": "a3"}, order=("n",)))
    assert keys == [
        (r["note_id"],) for r in view.scan("notes", where={"author": "a3"}, order=("n",))
    ]
    assert len(keys) == 357 and len(list(view.keys("notes"))) == 2500


def test_a_restart_applies_only_what_is_new(app: Application[Any]) -> None:
    for i in range(50):
        write(app, "a", i)
    Notes(app).catch_up()
    Notes.folded = 0
    again = Notes(app)
    assert again.catch_up() == 0 and Notes.folded == 0 and again.applied == 0
    write(app, "a", 50)
    assert again.catch_up() == 1 and Notes.folded == 1 and again.applied == 1
    assert again.count("notes", where={"author": "a"}) == 51


def test_paging_gives_every_row_exactly_once_while_rows_are_added(app: Application[Any]) -> None:
    for i in range(250):
        write(app, "a" if i % 2 else "b", i)
    view = Notes(app)
    seen: list[int] = []
    cursor = None
    added = 0
    while True:
        page = view.page("notes", where={"author": "a"}, order=("n",), cursor=cursor, limit=30)
        seen.extend(row["n"] for row in page.rows)
        # Rows arrive between pages: after the place reached, and before it.
        write(app, "a", 1000 + added)
        write(app, "a", -1 - added)
        added += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    existing = [i for i in range(250) if i % 2]
    assert [n for n in seen if 0 <= n < 250] == existing
    assert len(seen) == len(set(seen))
    assert all(n >= 0 for n in seen)  # what came before the cursor is not read after it
    newest = view.page("notes", where={"author": "a", "n": Cmp(">=", 1000)}, order=("n",))
    assert [r["n"] for r in newest.rows] == sorted(r["n"] for r in newest.rows)
    down = view.page("notes", where={"author": "b"}, order=("n",), descending=True, limit=3)
    assert [r["n"] for r in down.rows] == [248, 246, 244]


@pytest.mark.parametrize("descending", [False, True])
def test_a_list_of_several_values_pages_as_one_list_in_order(
    app: Application[Any], descending: bool
) -> None:
    # Each value is read on its own and merged (a page need not sort every match first):
    # the pages hold the same rows in the same order as one filter would.
    for i in range(200):
        write(app, "abcd"[i % 4], i % 50, edits=i % 3 == 0)
    view = Notes(app)
    authors = In(("c", "a", "c", "d"))
    where = {"author": authors, "edited": False}
    seen: list[tuple[int, str]] = []
    cursor = None
    while True:
        page = view.page(
            "notes", where=where, order=("n",), descending=descending, cursor=cursor, limit=7
        )
        seen.extend((row["n"], row["note_id"]) for row in page.rows)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    expected = sorted(
        (
            (row["n"], row["note_id"])
            for row in view.scan("notes")
            if row["author"] in "acd" and row["edits"] == 0
        ),
        reverse=descending,
    )
    assert seen == expected and len(expected) > 7 * 10
    assert view.count("notes", where=where) == len(expected)
    assert view.page("notes", where={"author": In(())}).rows == []


@pytest.mark.parametrize(
    "cursor", ["nope", "W10", "WyJ4Il0", "WzEsMiwzXQ", "eyJhIjoxfQ", "WyJ4IiwieSJd"]
)
def test_a_cursor_the_list_did_not_give_is_refused(app: Application[Any], cursor: str) -> None:
    write(app, "a", 1)
    with pytest.raises(BadCursor):
        Notes(app).page("notes", order=("n",), cursor=cursor)


def test_a_changed_shape_is_rebuilt_at_start_without_losing_anything(
    app: Application[Any],
) -> None:
    for i in range(30):
        write(app, "a", i, edits=1)
    before = Notes(app)
    assert before.count("notes") == 30

    class NotesV2(Notes):
        version = 2

    after = NotesV2(app)
    assert after.count("notes") == 30
    first = after.get("notes", after.page("notes", limit=1).rows[0]["note_id"])
    assert first is not None and first["edits"] == 1


def test_two_followers_of_one_log_never_apply_a_page_twice(app: Application[Any]) -> None:
    views = [Notes(app), Notes(app)]
    stop = threading.Event()

    def follow(view: Notes) -> None:
        while not stop.is_set():
            view.catch_up()

    threads = [threading.Thread(target=follow, args=(v,)) for v in views]
    for t in threads:
        t.start()
    try:
        for i in range(300):
            write(app, "a", i)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert views[0].get("authors", "a") == {"author": "a", "notes": 300}
    assert views[1].count("notes") == 300
