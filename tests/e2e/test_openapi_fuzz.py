"""Every service's published OpenAPI, fuzzed with schemathesis against the live service.

No generated request may get a 5xx, and every answer must match what the OpenAPI says
of it (a Problem for each 4xx, the documented shape for each 2xx). The requests carry
valid tokens of several departments, so they reach the rules and not only the 401.

Bounded: ``CSC_FUZZ_EXAMPLES`` valid and as many invalid requests per operation (10 by
default), the same ones on every run (derandomized), and a time budget per service.
Run by ``.ci/run`` as its own stage (``-m fuzz``); the default runs leave it out.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance

from csc_devkit.processes import ServiceProcess
from e2e.conftest import Stack
from e2e.notify_support import MailServer
from e2e.support import complaint, intake_client, wait_caught_up

pytestmark = [pytest.mark.integration, pytest.mark.fuzz, pytest.mark.timeout(900)]

EXAMPLES = int(os.environ.get("CSC_FUZZ_EXAMPLES", "10"))
# A hard bound: past it the stage fails rather than run on (or skip operations silently).
BUDGET_SECONDS = float(os.environ.get("CSC_FUZZ_SECONDS_PER_SERVICE", "240"))
# Who asks: the departments whose work each service records, and an auditor who reads.
DEPARTMENTS = {
    "intake": ["marketing", "after_sales", "chief_engineer", "auditor"],
    "returns": ["marketing", "quality", "warehouse", "auditor"],
    "capa": ["quality", "marketing", "chief_engineer", "auditor"],
    "sla": ["marketing", "quality", "auditor"],
    "notify": ["marketing", "chief_engineer", "quality", "auditor"],
}


@pytest.fixture(scope="module")
def services(module_stack: Stack) -> Iterator[dict[str, ServiceProcess]]:
    """Every service, with a customer and a complaint each has seen (notify with a real
    SMTP server to send to)."""
    with MailServer() as mail:
        running = {name: module_stack.start(name) for name in DEPARTMENTS if name != "notify"}
        smtp = mail.env()
        running["notify"] = module_stack.start(
            "notify",
            CSC_NOTIFY_SMTP_HOST=smtp["CSC_NOTIFY_SMTP_HOST"],
            CSC_NOTIFY_SMTP_PORT=smtp["CSC_NOTIFY_SMTP_PORT"],
        )
        intake = intake_client(module_stack, running["intake"])
        try:
            assert intake.post("/complaints", json=complaint(1)).status_code == 201
            for consumer in ("returns", "capa", "sla", "notify"):
                wait_caught_up(intake, running[consumer].url)
        finally:
            intake.close()
        yield running


@pytest.mark.parametrize("service", list(DEPARTMENTS))
def test_no_request_gets_a_5xx_or_an_undocumented_answer(
    services: dict[str, ServiceProcess], module_stack: Stack, service: str
) -> None:
    base = services[service].url
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"{service}'s OpenAPI: {result.err()}"
        operations.append(result.ok())
    assert len(operations) >= 5, f"{service} publishes only {len(operations)} operations"
    # Each department's people and its manager (who alone may change sla's rules, clause 3).
    people = [(d, manager) for d in DEPARTMENTS[service] for manager in (False, True)]
    tokens = st.sampled_from([module_stack.auth(d, manager=m) for d, m in people])
    checks = [not_a_server_error, response_schema_conformance]
    deadline = time.monotonic() + BUDGET_SECONDS
    tested: list[str] = []
    failures: list[str] = []

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy, headers=tokens)
            def fuzz(case: Any, headers: dict[str, str]) -> None:
                case.call_and_validate(base_url=base, headers=headers, checks=checks, timeout=30)

            try:
                fuzz()
            except Unsatisfiable:
                # No invalid request exists for an operation that takes nothing.
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as failure:  # schemathesis' FailureGroup
                # Each operation's findings, then on to the next.
                failures.append(f"{operation.label} ({mode.value}): {failure}")
        tested.append(operation.label)
        assert time.monotonic() < deadline, (
            f"{service}: fuzzing took over {BUDGET_SECONDS:.0f} s after {len(tested)} of "
            f"{len(operations)} operations; lower CSC_FUZZ_EXAMPLES"
        )
    assert len(tested) == len(operations)
    assert not failures, f"{service}: {len(failures)} findings\n\n" + "\n\n".join(failures)
