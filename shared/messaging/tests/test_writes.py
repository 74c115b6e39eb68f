"""Idempotency-Keys kept with the events they came with, and writes run again on conflicts.

The store tests run on SQLite, and on PostgreSQL too under ``CSC_TEST_STORE=postgres``.
"""

import os
from collections.abc import Iterator
from functools import singledispatchmethod
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.testclient import TestClient

from csc_contracts import Actor, Department
from csc_messaging import writes
from csc_messaging.application import ConsumerApplication
from csc_messaging.auth import AuthSettings, TokenVerifier, authenticator, issue_token
from csc_messaging.idempotency import KeyedSaves, RequestKey, fingerprint
from csc_messaging.params import IdempotencyKey
from csc_messaging.problems import install_error_handlers
from csc_messaging.retries import CONFLICT_ATTEMPTS
from csc_messaging.settings import ServiceSettings
from csc_messaging.store import eventsourcing_env, wipe_store
from csc_messaging.writes import command_routes

STORES = ["sqlite"] + (["postgres"] if os.environ.get("CSC_TEST_STORE") == "postgres" else [])
SECRET = "unit-test-secret-of-at-least-32-bytes"


class Note(Aggregate):
    class Written(Aggregate.Created):
        text: str
        request_key: str | None

    @event(Written)
    def __init__(self, text: str, request_key: str | None) -> None:
        self.text = text


class Notes(KeyedSaves):
    """An application recorder (as intake's)."""


class Consumer(ConsumerApplication):
    """A process recorder (as the consuming services')."""

    @singledispatchmethod
    def react(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Nothing comes from Kafka here."""


@pytest.fixture(params=STORES)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServiceSettings]:
    if request.param == "sqlite":
        yield ServiceSettings(data_dir=tmp_path)
        return
    pg = request.getfixturevalue("postgres_params")
    settings = ServiceSettings(
        store="postgres",
        postgres_host=pg["host"],
        postgres_port=pg["port"],
        postgres_user=pg["user"],
        postgres_password=pg["password"],
        postgres_db=pg["dbname"],
        postgres_schema=f"keys_{uuid4().hex[:8]}",
    )
    yield settings
    wipe_store(settings, "keys")


def key(user: str = "li.wei", body: bytes = b'{"text": "a"}', k: str = "k-1") -> RequestKey:
    return RequestKey(user, "POST /notes", k, fingerprint("/notes", [], "application/json", body))


@pytest.mark.parametrize("kind", [Notes, Consumer])
def test_a_keys_row_is_stored_with_its_events_and_survives_a_restart(
    settings: ServiceSettings, kind: type[KeyedSaves]
) -> None:
    env = eventsourcing_env(settings, "keys")
    app = kind(env=env)
    first = key()
    app.save(Note(text="a", request_key=first))
    app.close()
    again = kind(env=env)
    try:
        recorded = again.key_record(key())
        assert recorded is not None and recorded.fingerprint == first.fingerprint
        assert recorded.route == "POST /notes"
        assert again.key_record(key(user="zhao.min")) is None
    finally:
        again.close()


@pytest.mark.parametrize("kind", [Notes, Consumer])
def test_a_second_request_under_a_scope_stores_nothing(
    settings: ServiceSettings, kind: type[KeyedSaves]
) -> None:
    app = kind(env=eventsourcing_env(settings, "keys"))
    try:
        app.save(Note(text="a", request_key=key()))
        head = app.recorder.max_notification_id()
        racer = Note(text="b", request_key=key(body=b'{"text": "b"}'))
        with pytest.raises(IntegrityError):
            app.save(racer)
        # The row refused, the events went with it: one transaction.
        assert app.recorder.max_notification_id() == head
        with pytest.raises(AggregateNotFoundError):
            app.repository.get(racer.id)
    finally:
        app.close()


def test_a_key_is_scoped_to_its_user_route_and_string() -> None:
    fp = fingerprint("/notes", [], "application/json", b"{}")
    base = RequestKey("li.wei", "POST /notes", "k", fp)
    assert base == RequestKey("li.wei", "POST /notes", "k", fp)
    assert base != RequestKey("zhao.min", "POST /notes", "k", fp)
    assert base != RequestKey("li.wei", "POST /notes/{id}/x", "k", fp)
    assert base != RequestKey("li.wei", "POST /notes", "k2", fp)
    # A string of its own, not the key the client chose.
    assert "k" not in base and len(base) == 64


def test_a_requests_fingerprint_is_its_path_query_and_content() -> None:
    def fp(body: bytes, path: str = "/a", media: str = "application/json", **q: str) -> str:
        return fingerprint(path, list(q.items()), media, body)

    assert fp(b'{"a": 1, "b": 2}') == fp(b'{"b":2,"a":1}')
    assert fp(b'{"a": 1}') != fp(b'{"a": 2}')
    assert fp(b'{"a": 1}') != fp(b'{"a": 1}', path="/b")
    assert fp(b"raw", media="image/png") != fp(b"raw", media="image/jpeg")
    assert fp(b"x", media="image/png", filename="a") != fp(b"x", media="image/png", filename="b")


def api(tmp_path: Path, endpoint: Any) -> TestClient:
    app = Notes(env=eventsourcing_env(ServiceSettings(data_dir=tmp_path), "keys"))
    caller = authenticator(TokenVerifier(AuthSettings(hs256_secret=SECRET)))
    router = APIRouter(dependencies=[Depends(caller)], route_class=command_routes(app))
    Caller = Annotated[Actor, Depends(caller)]

    # (No ``from __future__ import annotations`` here: FastAPI reads this local alias.)
    @router.post("/notes", status_code=201)
    def write(actor: Caller, key: IdempotencyKey = None) -> dict[str, Any]:
        return dict(endpoint(app, key))

    http = FastAPI()
    http.include_router(router)
    install_error_handlers(http)
    return TestClient(http)


def headers(user: str = "li.wei", key: str | None = None) -> dict[str, str]:
    token = issue_token(SECRET, user, Department.MARKETING)
    return {"Authorization": f"Bearer {token}", **({"Idempotency-Key": key} if key else {})}


def test_a_write_that_conflicts_runs_again(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(writes, "pause_before", lambda attempt: 0)
    runs: list[int] = []

    def endpoint(app: Notes, key: RequestKey | None) -> dict[str, Any]:
        runs.append(1)
        if len(runs) < 3:
            raise IntegrityError("another writer saved this version first")
        return {"runs": len(runs)}

    response = api(tmp_path, endpoint).post("/notes", headers=headers())
    assert (response.status_code, response.json()) == (201, {"runs": 3})


def test_a_streamed_body_is_read_the_same_when_run_again(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(writes, "pause_before", lambda attempt: 0)
    app = Notes(env=eventsourcing_env(ServiceSettings(data_dir=tmp_path), "keys"))
    router = APIRouter(route_class=command_routes(app))
    seen: list[bytes] = []

    @router.post("/uploads", status_code=201)
    async def upload(request: Request) -> dict[str, int]:
        data = b"".join([chunk async for chunk in request.stream()])
        seen.append(data)
        if len(seen) == 1:
            raise IntegrityError("another writer saved this version first")
        return {"bytes": len(data)}

    http = FastAPI()
    http.include_router(router)
    response = TestClient(http).post("/uploads", content=b"\xff\xd8 a photo")
    assert (response.status_code, seen) == (201, [b"\xff\xd8 a photo"] * 2)


def test_a_write_that_keeps_conflicting_is_refused_409(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(writes, "pause_before", lambda attempt: 0)
    runs: list[int] = []

    def endpoint(app: Notes, key: RequestKey | None) -> dict[str, Any]:
        runs.append(1)
        raise IntegrityError("another writer saved this version first")

    response = api(tmp_path, endpoint).post("/notes", headers=headers())
    assert response.status_code == 409
    problem = response.json()
    assert problem["clause"] == "concurrency" and "nothing of it was recorded" in problem["detail"]
    assert len(runs) == CONFLICT_ATTEMPTS


def test_a_key_over_http_replays_refuses_and_belongs_to_its_user(tmp_path: Path) -> None:
    def endpoint(app: Notes, key: RequestKey | None) -> dict[str, Any]:
        assert key is not None
        if not key.replay:
            app.save(Note(text="n", request_key=key))
        return {"replay": key.replay}

    client = api(tmp_path, endpoint)
    first = client.post("/notes", json={"a": 1}, headers=headers(key="k"))
    again = client.post("/notes", json={"a": 1}, headers=headers(key="k"))
    other = client.post("/notes", json={"a": 2}, headers=headers(key="k"))
    someone = client.post("/notes", json={"a": 2}, headers=headers("zhao.min", key="k"))
    assert [r.status_code for r in (first, again, other, someone)] == [201, 200, 422, 201]
    assert [r.json()["replay"] for r in (first, again, someone)] == [False, True, False]
    assert other.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
