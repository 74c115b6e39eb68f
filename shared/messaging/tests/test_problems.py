"""Every refusal is one RFC 9457 problem; bodies are read within a size and a time limit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from datetime import date
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field

from csc_contracts import Actor, Department
from csc_messaging.auth import AuthSettings, TokenVerifier, authenticator, issue_token
from csc_messaging.problems import (
    MAX_BODY_EXTENSION,
    PROBLEM_MEDIA_TYPE,
    HttpLimits,
    Problem,
    install_problems,
)
from csc_messaging.rules import Forbidden, NotFound, RuleViolation

SECRET = "problems-test-secret-of-32-bytes-at-least"
TOKEN = {"Authorization": "Bearer " + issue_token(SECRET, "li.wei", Department.MARKETING)}
LIMITS = HttpLimits(max_body_bytes=8192, body_idle_seconds=0.3, body_total_seconds=2)


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=100)]
    tags: list[Annotated[str, Field(max_length=20)]] = Field(default=[], max_length=3)


def make_app() -> FastAPI:
    app = FastAPI()
    caller = authenticator(TokenVerifier(AuthSettings(hs256_secret=SECRET)))
    api = APIRouter(dependencies=[Depends(caller)])
    recorded: list[Any] = []
    app.state.recorded = recorded

    @api.post("/notes", status_code=201)
    def add(note: Note) -> dict[str, Any]:
        recorded.append(note)
        return {"n": len(recorded)}

    @api.post("/cases/{case_no}/steps")
    def step(case_no: int, note: Note, how: Annotated[str | None, Query()] = None) -> None:
        if note.text == "conflict":
            raise RuleViolation("4.4.4", "the team is not convened yet", code="test.no_team")
        if note.text == "field":
            raise RuleViolation(
                "4.1.4",
                "not an OEM customer",
                code="test.not_oem",
                params={"customer": "OEM-1", "since": date(2026, 3, 1)},
                field="text",
                kind="invalid",
            )
        if note.text == "path":
            raise RuleViolation(
                "4.4.4", "no such action", code="test.no_action", field="case_no", kind="invalid"
            )
        if note.text == "query":
            raise RuleViolation(
                "4.3.4", "no such format", code="test.no_format", field="how", kind="invalid"
            )
        if note.text == "forbidden":
            writes = {"step": (frozenset({Department.QUALITY}), "4.4.3")}
            raise Forbidden("step", Actor(user="li.wei", department=Department.MARKETING), writes)
        if note.text == "missing":
            raise NotFound(
                f"no case {case_no}", code="test.case.not_found", params={"case": case_no}
            )
        if note.text == "teapot":
            raise HTTPException(418, "short and stout")
        raise RuntimeError("a bug")

    @api.post("/uploads", openapi_extra={MAX_BODY_EXTENSION: 10_000})
    async def upload(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @api.get("/things/{thing}")
    def thing(thing: int) -> dict[str, int]:
        return {"thing": thing}

    app.include_router(api)
    install_problems(app, LIMITS)
    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(make_app(), raise_server_exceptions=False)


def problem_of(response: Any, status: int) -> dict[str, Any]:
    """The response is a ``Problem`` with ``status``; returns it as JSON."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body: dict[str, Any] = response.json()
    Problem.model_validate(body)
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def post(client: TestClient, path: str, body: Any, **kwargs: Any) -> Any:
    headers = {"content-type": "application/json", **TOKEN, **kwargs.pop("headers", {})}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(path, content=content, headers=headers, **kwargs)


def test_a_field_error_names_each_field_and_does_not_echo_the_input(client: TestClient) -> None:
    long_text = "x" * 101
    response = post(client, "/notes", {"text": long_text, "tags": ["a"] * 4, "extra": 1})
    problem = problem_of(response, 422)
    assert problem["type"] == "urn:csc:problem:validation"
    assert problem["instance"] == "/notes"
    locs = {tuple(e["loc"]): e["type"] for e in problem["errors"]}
    assert locs == {
        ("body", "text"): "string_too_long",
        ("body", "tags"): "too_long",
        ("body", "extra"): "extra_forbidden",
    }
    assert long_text not in response.text
    assert client.app.state.recorded == []  # type: ignore[attr-defined]


def test_a_refusal_names_its_code_and_values_for_a_reader_of_another_language(
    client: TestClient,
) -> None:
    conflict = problem_of(post(client, "/cases/7/steps", {"text": "conflict"}), 409)
    assert conflict["code"] == "test.no_team" and "params" not in conflict
    field = problem_of(post(client, "/cases/7/steps", {"text": "field"}), 422)
    values = {"customer": "OEM-1", "since": "2026-03-01"}
    assert (field["code"], field["params"]) == ("test.not_oem", values)
    assert field["errors"][0]["code"] == "test.not_oem"
    assert field["errors"][0]["params"] == values
    assert field["detail"] == "4.1.4: not an OEM customer"  # English as before
    forbidden = problem_of(post(client, "/cases/7/steps", {"text": "forbidden"}), 403)
    assert forbidden["code"] == "forbidden"
    assert forbidden["params"] == {
        "action": "step", "allowed": ["quality"], "user": "li.wei", "department": "marketing",
    }  # fmt: skip
    too_long = problem_of(post(client, "/notes", {"text": "x" * 101}), 422)
    assert too_long["errors"][0]["params"] == {"max_length": 100}


@pytest.mark.parametrize(
    ("text", "status", "clause", "loc"),
    [
        ("conflict", 409, "4.4.4", None),
        ("field", 422, "4.1.4", ["body", "text"]),
        ("path", 422, "4.4.4", ["path", "case_no"]),
        ("query", 422, "4.3.4", ["query", "how"]),
        ("forbidden", 403, "4.4.3", None),
    ],
)
def test_a_rule_names_its_clause_and_its_field(
    client: TestClient, text: str, status: int, clause: str, loc: list[str] | None
) -> None:
    problem = problem_of(post(client, "/cases/7/steps?how=x", {"text": text}), status)
    assert problem["clause"] == clause
    assert problem["detail"].startswith(f"{clause}: ")
    if loc is None:
        assert "errors" not in problem
    else:
        assert problem["errors"][0]["loc"] == loc


def test_not_found_unauthenticated_and_other_http_errors_are_problems(client: TestClient) -> None:
    assert problem_of(post(client, "/cases/7/steps", {"text": "missing"}), 404)["detail"] == (
        "no case 7"
    )
    # a console says it in its reader's language by its code
    missing = problem_of(post(client, "/cases/7/steps", {"text": "missing"}), 404)
    assert (missing["code"], missing["params"]) == ("test.case.not_found", {"case": 7})
    assert problem_of(post(client, "/cases/7/steps", {"text": "teapot"}), 418)["detail"] == (
        "short and stout"
    )
    unauthenticated = client.get("/things/1")
    assert "bearer" in problem_of(unauthenticated, 401)["detail"]
    assert unauthenticated.headers["www-authenticate"] == "Bearer"
    nowhere = problem_of(client.get("/nowhere", headers=TOKEN), 404)
    assert (nowhere["code"], nowhere["params"]) == ("path.not_found", {"path": "/nowhere"})
    problem_of(client.delete("/notes", headers=TOKEN), 405)
    assert problem_of(client.get("/things/x", headers=TOKEN), 422)["errors"][0]["loc"] == [
        "path",
        "thing",
    ]


def test_a_failure_of_ours_is_a_500_problem_without_the_trace(client: TestClient) -> None:
    response = post(client, "/cases/7/steps", {"text": "anything else"})
    assert "a bug" not in problem_of(response, 500)["detail"]


def test_a_body_that_is_not_utf_8_is_told_so(client: TestClient) -> None:
    problem = problem_of(post(client, "/notes", b'{"text": "caf\xe9"}'), 422)
    assert "not UTF-8" in problem["detail"] and "0xe9 at offset 13" in problem["detail"]
    assert problem["errors"] == [
        {"loc": ["body"], "msg": problem["detail"], "type": "utf8_invalid"}
    ]


def test_a_body_that_is_not_json_says_where(client: TestClient) -> None:
    problem = problem_of(post(client, "/notes", b'{"text":\n  "a",,}'), 422)
    assert "not valid JSON" in problem["detail"] and "line 2 column 7" in problem["detail"]
    deep = problem_of(post(client, "/notes", b"[" * 2000 + b"]" * 2000), 422)
    assert deep["errors"][0]["type"] == "json_invalid"
    huge = problem_of(post(client, "/notes", b'{"text": ' + b"9" * 4350 + b"}"), 422)
    assert huge["errors"][0]["type"] == "json_invalid"


def test_a_lone_surrogate_is_refused_at_its_place_not_a_500(client: TestClient) -> None:
    response = post(client, "/notes", b'{"text": "ok", "tags": ["fine", "bad \\ud800 one"]}')
    problem = problem_of(response, 422)
    assert problem["errors"][0]["loc"] == ["body", "tags", 1]
    assert "lone surrogate" in problem["detail"]
    key = problem_of(post(client, "/notes", b'{"\\udfff": 1}'), 422)
    assert key["errors"][0]["loc"] == ["body"]
    assert client.app.state.recorded == []  # type: ignore[attr-defined]


def test_a_json_route_refuses_another_media_type(client: TestClient) -> None:
    response = post(client, "/notes", b"text=hello", headers={"content-type": "text/plain"})
    assert "application/json" in problem_of(response, 415)["detail"]


def test_a_body_over_the_limit_is_refused_by_its_declared_length_before_it_is_read() -> None:
    app = make_app()
    received: list[Any] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        received.append(1)
        return {"type": "http.request", "body": b"x" * 100, "more_body": True}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    scope = http_scope("/notes", [(b"content-length", b"100000000")])
    asyncio.run(app(scope, receive, send))
    assert received == []
    start, body = sent[0], json.loads(sent[1]["body"])
    assert start["status"] == 413 and (b"connection", b"close") in start["headers"]
    assert body["type"] == "urn:csc:problem:body-too-large"
    assert "100,000,000 bytes" in body["detail"] and "8,192 bytes" in body["detail"]


def test_a_body_over_the_limit_is_refused_while_it_streams(client: TestClient) -> None:
    def chunks() -> Any:
        for _ in range(10):
            yield b"x" * 1000

    response = client.post(
        "/notes", content=chunks(), headers={**TOKEN, "content-type": "application/json"}
    )
    assert "more than 8,192 bytes" in problem_of(response, 413)["detail"]


def test_a_route_may_take_larger_bodies(client: TestClient) -> None:
    headers = {**TOKEN, "content-type": "application/octet-stream"}
    assert client.post("/uploads", content=b"x" * 9000, headers=headers).json() == {"size": 9000}
    assert (
        "10,000 bytes"
        in problem_of(client.post("/uploads", content=b"x" * 10_001, headers=headers), 413)[
            "detail"
        ]
    )


def http_scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
    }


@pytest.mark.parametrize("trickle", [False, True])
def test_a_body_that_stops_arriving_gets_408_in_seconds(trickle: bool) -> None:
    app = make_app()
    sent: list[dict[str, Any]] = []
    parts = iter([b'{"text": "a'] + [b"a"] * (100 if trickle else 0))

    async def receive() -> dict[str, Any]:
        part = next(parts, None)
        if part is None:
            await asyncio.sleep(3600)  # Content-Length announced more than ever comes
        await asyncio.sleep(0.1)
        return {"type": "http.request", "body": part, "more_body": True}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    async def run() -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.wait_for(
            app(http_scope("/notes", [(b"content-length", b"1000")]), receive, send), 5
        )
        return loop.time() - started

    took = asyncio.run(run())
    assert sent[0]["status"] == 408 and (b"connection", b"close") in sent[0]["headers"]
    body = json.loads(sent[1]["body"])
    assert (
        body["type"] == "urn:csc:problem:body-timeout"
        and "of the 1,000 announced" in (body["detail"])
    )
    # Idle 0.3 s ends a stalled body; the 2 s deadline a trickling one.
    assert took < (2.6 if trickle else 1.0)


def test_the_openapi_documents_every_problem_as_a_problem(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    notes = schema["paths"]["/notes"]["post"]["responses"]
    assert set(notes) == {"201", "401", "403", "408", "409", "413", "415", "422"}
    thing = schema["paths"]["/things/{thing}"]["get"]["responses"]
    assert set(thing) == {"200", "401", "404", "409", "422"}
    for path in schema["paths"].values():
        for operation in path.values():
            for code, response in operation["responses"].items():
                if code.startswith("4"):
                    assert response["content"] == {PROBLEM_MEDIA_TYPE: {"schema": problem_ref}}
    assert schema["components"]["schemas"]["Problem"]["required"] == ["title", "status", "detail"]
