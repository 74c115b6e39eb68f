"""Input limits and the one error shape, on the services as they run (uvicorn, real Kafka).

Every text and list has a limit and every body a size and a time limit, so no request
can make an event Kafka refuses (the relay would stop) or hold a connection; every 4xx
of every route is an RFC 9457 problem; nothing refused is recorded or published.
"""

from __future__ import annotations

import json
import re
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from csc_devkit.processes import ServiceProcess
from csc_messaging.problems import PROBLEM_MEDIA_TYPE, Problem
from e2e.conftest import Stack
from e2e.support import auth, intake_client, read_topic

pytestmark = pytest.mark.integration

SURVEY = "/customers/OEM-001/satisfaction-surveys"


@pytest.fixture(scope="module")
def services(module_stack: Stack) -> dict[str, ServiceProcess]:
    return {
        "intake": module_stack.start("intake", CSC_HTTP_BODY_IDLE_SECONDS="1"),
        **{name: module_stack.start(name) for name in ("returns", "capa", "sla")},
    }


@pytest.fixture(scope="module")
def intake(module_stack: Stack, services: dict[str, ServiceProcess]) -> httpx.Client:
    return intake_client(module_stack, services["intake"])


def problem_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE, response.headers
    body: dict[str, Any] = response.json()
    Problem.model_validate(body)
    assert body["status"] == status
    return body


def stored(intake: httpx.Client) -> int:
    return int(intake.get("/digest").json()["position"])


def surveys_published(stack: Stack) -> int:
    records = read_topic(stack.bootstrap, stack.topics.events("intake"))
    return sum(1 for r in records if b"SatisfactionSurveyRecorded" in dict(r.headers)["ce_type"])


def raw_request(url: str, head: str, body: bytes = b"", wait: float = 10) -> tuple[bytes, float]:
    """Send ``head`` and ``body`` over a plain socket; the answer and how long it took."""
    parts = urlsplit(url)
    started = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port), timeout=wait) as conn:
        conn.sendall(head.encode() + b"\r\n\r\n" + body)
        answer = b""
        while chunk := conn.recv(65536):  # until the server closes the connection
            answer += chunk
    return answer, time.monotonic() - started


def answer_problem(answer: bytes, status: int) -> dict[str, Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()), answer[:300]
    assert b"connection: close" in head.lower()
    problem: dict[str, Any] = json.loads(body)
    Problem.model_validate(problem)
    return problem


def test_a_2_mib_survey_comment_is_refused_and_nothing_is_recorded(
    intake: httpx.Client, module_stack: Stack
) -> None:
    before, published = stored(intake), surveys_published(module_stack)
    survey = {"year": 2026, "scores": {"quality": 4}}
    too_large = intake.post(SURVEY, json={**survey, "comments": "x" * (2 * 1024 * 1024)})
    assert "262,144 bytes" in problem_of(too_large, 413)["detail"]
    too_long = intake.post(SURVEY, json={**survey, "comments": "x" * 10_001})
    [error] = problem_of(too_long, 422)["errors"]
    assert (error["loc"], error["type"]) == (["body", "comments"], "string_too_long")
    assert stored(intake) == before
    assert intake.get("/customers/OEM-001").json()["surveys"] == []
    # The relay keeps publishing: a survey within the limits reaches Kafka.
    assert intake.post(SURVEY, json={**survey, "comments": "x" * 10_000}).status_code == 201
    deadline = time.monotonic() + 30
    while surveys_published(module_stack) == published and time.monotonic() < deadline:
        time.sleep(0.2)
    assert surveys_published(module_stack) == published + 1
    assert intake.get("/relay").json()["running"] is True


def test_a_100_mb_body_is_refused_before_it_is_read(services: dict[str, ServiceProcess]) -> None:
    url = services["intake"].url
    token = auth("marketing")["Authorization"]
    head = (
        f"POST /complaints HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100000000"
    )
    answer, took = raw_request(url, head)  # not a byte of the body is sent
    problem = answer_problem(answer, 413)
    assert "100,000,000 bytes" in problem["detail"] and took < 5


def test_a_body_that_never_arrives_gets_408_and_the_connection_closes(
    services: dict[str, ServiceProcess],
) -> None:
    head = (
        "POST /complaints HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000"
    )
    answer, took = raw_request(services["intake"].url, head, b'{"text": "')
    problem = answer_problem(answer, 408)
    assert "10 bytes came of the 1,000 announced" in problem["detail"]
    assert 0.9 < took < 5  # CSC_HTTP_BODY_IDLE_SECONDS=1


def test_a_body_that_is_not_utf_8_is_told_so(intake: httpx.Client) -> None:
    body = '{"name": "Société Générale", "oem": false}'.encode("latin-1")
    response = intake.put(
        "/customers/OEM-001", content=body, headers={"content-type": "application/json"}
    )
    assert "not UTF-8" in problem_of(response, 422)["detail"]


def test_a_lone_surrogate_is_refused_not_a_500(intake: httpx.Client) -> None:
    before = stored(intake)
    body = b'{"year": 2027, "scores": {"quality": 4}, "comments": "broken \\ud83d text"}'
    response = intake.post(SURVEY, content=body, headers={"content-type": "application/json"})
    problem = problem_of(response, 422)
    assert problem["errors"][0]["loc"] == ["body", "comments"]
    assert stored(intake) == before


@pytest.mark.parametrize(
    ("month", "status"), [("0000-01", 422), ("9999-12", 422), ("2026-13", 422), ("2999-12", 200)]
)
def test_sla_monthly_report_refuses_months_outside_the_calendar(
    services: dict[str, ServiceProcess], module_stack: Stack, month: str, status: int
) -> None:
    headers = module_stack.auth("auditor")
    for suffix in ("", ".pdf", ".xlsx"):
        url = f"{services['sla'].url}/reports/monthly/{month}{suffix}"
        response = httpx.get(url, headers=headers, timeout=60)
        if status == 200:
            assert response.status_code == 200, response.text
        else:
            assert problem_of(response, status)["errors"][0]["loc"] == ["path", "month"]


def test_every_route_of_every_service_answers_its_4xx_as_a_problem(
    services: dict[str, ServiceProcess], module_stack: Stack
) -> None:
    """Without a token, with path parameters that name nothing, with a body of no use."""
    token = module_stack.auth("auditor")
    checked = 0
    for name, process in services.items():
        schema = httpx.get(f"{process.url}/openapi.json").json()
        for template, operations in schema["paths"].items():
            for method, operation in operations.items():
                documented = {int(code) for code in operation["responses"] if code[0] == "4"}
                path = re.sub(r"\{[^}]+\}", "no-such-thing", template)
                url = f"{process.url}{path}"
                content = b"[]" if "requestBody" in operation else None
                json_type = {"content-type": "application/json"} if content else {}
                if operation.get("security"):
                    anonymous = httpx.request(
                        method, url, content=content, headers=json_type, timeout=60
                    )
                    problem_of(anonymous, 401)
                    assert 401 in documented, f"{name} {method} {template}"
                answer = httpx.request(
                    method, url, content=content, headers={**token, **json_type}, timeout=60
                )
                if 400 <= answer.status_code < 500:
                    problem_of(answer, answer.status_code)
                    assert answer.status_code in documented, (name, method, template, answer.text)
                else:
                    assert answer.status_code < 500, (name, method, template, answer.text)
                checked += 1
    assert checked > 60
