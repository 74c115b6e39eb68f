"""Writers racing on one aggregate, and Idempotency-Keys, through the running services.

Twenty requests at once on one aggregate of each service: each is recorded exactly
once (201/200) or refused 409 with a reason, never 5xx; what was recorded is in the
read model and on Kafka once. Keys: the same request again is answered with the
first result and records nothing, a different request under the key is refused
422, another user's key of the same name is their own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from csc_devkit.processes import ServiceProcess
from e2e.conftest import Stack
from e2e.support import complaint, intake_client, read, read_topic, wait_until

pytestmark = pytest.mark.integration
WRITERS = 20


@pytest.fixture(scope="module")
def services(module_stack: Stack) -> dict[str, ServiceProcess]:
    return {name: module_stack.start(name) for name in ("intake", "returns", "capa", "sla")}


@pytest.fixture(scope="module")
def marketing(module_stack: Stack, services: dict[str, ServiceProcess]) -> Iterator[httpx.Client]:
    client = intake_client(module_stack, services["intake"])
    yield client
    client.close()


def at_once(n: int, request: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    """``n`` requests at the same time, each on its own connection."""
    with ThreadPoolExecutor(n) as pool:
        responses = list(pool.map(request, range(n)))
    failed = [r.text for r in responses if r.status_code >= 500]
    assert not failed, failed
    for response in responses:
        if response.status_code == 409:
            assert response.json()["detail"], response.text  # a reason, not a bare status
    return responses


def post(
    stack: Stack, url: str, department: str, body: Any, key: str | None = None, user: str = ""
) -> httpx.Response:
    headers = stack.auth(department, user or None)
    if key is not None:
        headers["Idempotency-Key"] = key
    return httpx.post(url, json=body, headers=headers, timeout=60)


def on_topic(stack: Stack, service: str, case_id: str, ce_type: str) -> int:
    return sum(
        1
        for r in read_topic(stack.bootstrap, stack.topics.events(service))
        if json.loads(r.value).get("case_id") == case_id
        and dict(r.headers)["ce_type"].decode().split(".")[2] == ce_type
    )


def a_case(marketing: httpx.Client, service: ServiceProcess, path: str, n: int) -> str:
    """A quality complaint, once ``service`` has opened its side of it (``path``)."""
    case_id = str(marketing.post("/complaints", json=complaint(n)).json()["case_id"])
    wait_until(
        lambda: read(f"{service.url}{path.format(case_id)}").status_code == 200,
        what=f"{service.service} to open {case_id}",
    )
    return case_id


def reply_clock(marketing: httpx.Client, sla: ServiceProcess, n: int) -> tuple[str, str]:
    """A new quality complaint's case id and the URL of its 8-hour reply clock (4.2.1)."""
    case_id = a_case(marketing, sla, "/cases/{}/clocks", n)
    clocks = read(f"{sla.url}/cases/{case_id}/clocks").json()
    clock = next(c for c in clocks if c["clock"] == "reply")
    return case_id, f"{sla.url}/clocks/{clock['clock_id']}"


# Parallel writers on one aggregate ---------------------------------------------------------


def test_intake_parallel_contacts_on_one_customer(
    module_stack: Stack, services: dict[str, ServiceProcess], marketing: httpx.Client
) -> None:
    marketing.post("/customers", json={"code": "RACE-1", "name": "Race Motor", "oem": False})
    url = f"{services['intake'].url}/customers/RACE-1/contacts"
    responses = at_once(
        WRITERS,
        lambda n: post(module_stack, url, "marketing", {"channel": "phone", "summary": f"c{n}"}),
    )
    codes = [r.status_code for r in responses]
    assert set(codes) <= {201, 409} and codes.count(201) >= 1, codes
    recorded = sorted(f"c{n}" for n, code in enumerate(codes) if code == 201)
    log = marketing.get("/customers/RACE-1").json()["contact_log"]
    assert sorted(c["summary"] for c in log) == recorded
    customer_id = marketing.get("/customers/RACE-1").json()["customer_id"]
    wait_until(
        lambda: on_topic(module_stack, "intake", customer_id, "CustomerContacted") >= len(recorded),
        what="the contacts on csc.intake.v1",
    )
    assert on_topic(module_stack, "intake", customer_id, "CustomerContacted") == len(recorded)


def test_returns_parallel_steps_on_one_case(
    module_stack: Stack, services: dict[str, ServiceProcess], marketing: httpx.Client
) -> None:
    returns = services["returns"].url
    case_id = a_case(marketing, services["returns"], "/cases/{}", 101)
    opened = post(module_stack, f"{returns}/returns", "marketing",
                  {"case_id": case_id, "delivery": "DN-1", "lot": "L-1", "quantity": 40,
                   "reason": "cracked"})  # fmt: skip
    assert opened.status_code == 201, opened.text
    url = f"{returns}/cases/{case_id}/quality-confirmation-request"
    responses = at_once(WRITERS, lambda n: post(module_stack, url, "marketing", {"note": f"{n}"}))
    codes = [r.status_code for r in responses]
    # The step happens once; every other request finds it done (409 naming 4.3.2.1).
    assert codes.count(201) == 1 and set(codes) == {201, 409}, codes
    timeline = read(f"{returns}/cases/{case_id}/timeline").json()
    assert [t["event"] for t in timeline].count("ReturnConfirmationRequested") == 1


def test_capa_parallel_contacts_on_one_investigation(
    module_stack: Stack, services: dict[str, ServiceProcess], marketing: httpx.Client
) -> None:
    capa = services["capa"].url
    case_id = a_case(marketing, services["capa"], "/investigations/{}", 102)
    url = f"{capa}/investigations/{case_id}/contacts"
    responses = at_once(
        WRITERS,
        lambda n: post(module_stack, url, "quality",
                       {"contact": "Mr. Zhao", "means": "phone", "summary": f"call {n}"}),
    )  # fmt: skip
    codes = [r.status_code for r in responses]
    assert set(codes) <= {201, 409} and codes.count(201) >= 1, codes
    contacts = read(f"{capa}/investigations/{case_id}").json()["contacts"]
    recorded = sorted(f"call {n}" for n, code in enumerate(codes) if code == 201)
    assert sorted(c["summary"] for c in contacts) == recorded


def test_sla_parallel_pauses_and_resumes_of_one_clock(
    module_stack: Stack, services: dict[str, ServiceProcess], marketing: httpx.Client
) -> None:
    case_id, url = reply_clock(marketing, services["sla"], 103)
    pause = {"reason": "customer_unreachable"}

    def send(what: str, body: Any) -> list[int]:
        responses = at_once(
            WRITERS, lambda n: post(module_stack, f"{url}/{what}", "marketing", body)
        )
        return [r.status_code for r in responses]

    for what, body in (("pause", pause), ("resume", None)):
        codes = send(what, body)
        assert codes.count(200) == 1 and set(codes) == {200, 409}, (what, codes)
    wait_until(
        lambda: on_topic(module_stack, "sla", case_id, "ClockResumed") == 1,
        what="the clock's resumption on csc.sla.v1",
    )
    assert on_topic(module_stack, "sla", case_id, "ClockPaused") == 1


# Idempotency-Keys --------------------------------------------------------------------------


def test_a_key_replays_the_same_request_and_refuses_a_different_one(
    module_stack: Stack, services: dict[str, ServiceProcess], marketing: httpx.Client
) -> None:
    url = f"{services['intake'].url}/complaints"
    body = complaint(201)
    first = post(module_stack, url, "marketing", body, key="call-201")
    again = post(module_stack, url, "marketing", body, key="call-201")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    case_id = first.json()["case_id"]
    history = marketing.get(f"/register-entries/{case_id}/history").json()
    assert [h["event"] for h in history].count("ComplaintLogged") == 1

    other = post(module_stack, url, "marketing", complaint(202), key="call-201")
    assert other.status_code == 422, other.text
    assert "different request" in json.dumps(other.json())
    # Another user's "call-201" is their own complaint.
    theirs = post(module_stack, url, "marketing", body, key="call-201", user="zhao.min")
    assert theirs.status_code == 201 and theirs.json()["case_id"] != case_id
    wait_until(
        lambda: on_topic(module_stack, "intake", theirs.json()["case_id"], "ComplaintLogged"),
        what="the other user's complaint on Kafka",
    )
    assert on_topic(module_stack, "intake", case_id, "ComplaintLogged") == 1


def test_keys_of_the_consuming_services(
    module_stack: Stack, services: dict[str, ServiceProcess], marketing: httpx.Client
) -> None:
    returns, capa = services["returns"].url, services["capa"].url
    # returns: a return opened without a complaint, by two users under one key string.
    body = {"customer_code": "OEM-001", "delivery": "DN-9", "lot": "L-9", "quantity": 5,
            "reason": "wrong colour"}  # fmt: skip
    mine = post(module_stack, f"{returns}/returns", "marketing", body, key="ret-1")
    again = post(module_stack, f"{returns}/returns", "marketing", body, key="ret-1")
    theirs = post(module_stack, f"{returns}/returns", "marketing", body, key="ret-1", user="zhao")
    assert [r.status_code for r in (mine, again, theirs)] == [201, 200, 201]
    assert mine.json()["case_id"] == again.json()["case_id"] != theirs.json()["case_id"]
    changed = post(module_stack, f"{returns}/returns", "marketing", {**body, "quantity": 6},
                   key="ret-1")  # fmt: skip
    assert changed.status_code == 422, changed.text
    # capa: a step under a key, again, and with another body.
    case_id = a_case(marketing, services["capa"], "/investigations/{}", 203)
    url = f"{capa}/investigations/{case_id}/contacts"
    contact = {"contact": "Mr. Zhao", "means": "phone", "summary": "first call"}
    first = post(module_stack, url, "quality", contact, key="qc-1")
    repeat = post(module_stack, url, "quality", contact, key="qc-1")
    assert (first.status_code, repeat.status_code) == (201, 200)
    assert (
        post(module_stack, url, "quality", {**contact, "summary": "x"}, key="qc-1").status_code
        == 422
    )
    assert len(read(f"{capa}/investigations/{case_id}").json()["contacts"]) == 1


def test_sla_pause_and_resume_take_a_key(
    module_stack: Stack, services: dict[str, ServiceProcess], marketing: httpx.Client
) -> None:
    case_id, url = reply_clock(marketing, services["sla"], 204)
    pause = {"reason": "waiting_for_customer_samples", "note": "samples by courier"}
    first = post(module_stack, f"{url}/pause", "quality", pause, key="p-1")
    again = post(module_stack, f"{url}/pause", "quality", pause, key="p-1")
    assert (first.status_code, again.status_code) == (200, 200), again.text
    assert again.json() == first.json()
    other = post(module_stack, f"{url}/pause", "quality", {**pause, "note": "x"}, key="p-1")
    assert other.status_code == 422, other.text
    resumed = post(module_stack, f"{url}/resume", "quality", None, key="r-1")
    retried = post(module_stack, f"{url}/resume", "quality", None, key="r-1")
    assert (resumed.status_code, retried.status_code) == (200, 200), retried.text
    wait_until(
        lambda: on_topic(module_stack, "sla", case_id, "ClockResumed") == 1,
        what="the clock's resumption on csc.sla.v1",
    )
    assert on_topic(module_stack, "sla", case_id, "ClockPaused") == 1


def test_keys_hold_across_a_restart(stack: Stack) -> None:
    intake = stack.start("intake")
    intake_client(stack, intake).close()
    url = f"{intake.url}/complaints"
    first = post(stack, url, "marketing", complaint(301), key="call-301")
    assert first.status_code == 201, first.text
    intake.stop()
    intake = stack.restart(intake)
    again = post(stack, url, "marketing", complaint(301), key="call-301")
    other = post(stack, url, "marketing", complaint(302), key="call-301")
    assert (again.status_code, other.status_code) == (200, 422)
    assert again.json()["case_id"] == first.json()["case_id"]
