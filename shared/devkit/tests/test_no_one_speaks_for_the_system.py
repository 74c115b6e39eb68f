"""`system` is the services' own department: no request of any service and no token names it.

The class of the defect is "a department a person gives us may be `system`", so
this walks every request body and parameter of every service's OpenAPI (as the
running app serves it), and the token command of the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from csc_contracts import SERVICES
from csc_devkit.catalog import openapi_documents
from csc_devkit.cli import app
from csc_messaging.auth import AuthSettings, TokenVerifier


def _reachable(node: Any, document: dict[str, Any], seen: set[str]) -> list[Any]:
    """Every schema under ``node``, following ``$ref``s into the document's components."""
    found = [node]
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            seen.add(ref)
            target: Any = document
            for part in ref.removeprefix("#/").split("/"):
                target = target[part]
            found += _reachable(target, document, seen)
        for value in node.values():
            found += _reachable(value, document, seen)
    elif isinstance(node, list):
        for value in node:
            found += _reachable(value, document, seen)
    return found


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    return openapi_documents()


def test_no_request_of_any_service_may_name_the_system_department(
    documents: dict[str, dict[str, Any]],
) -> None:
    assert set(documents) == set(SERVICES)
    departments = 0
    for service, document in documents.items():
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                inputs = [operation.get("requestBody"), operation.get("parameters")]
                for schema in _reachable(inputs, document, set()):
                    if isinstance(schema, dict) and "enum" in schema:
                        where = f"{service} {method.upper()} {path}"
                        assert "system" not in schema["enum"], where
                        departments += "quality" in schema["enum"]
    # The walk does see departments: intake's receiving department, capa's team and owners,
    # returns' review board.
    assert departments >= 3


def test_csc_token_issues_no_system_token_and_nothing_the_services_refuse(tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["token", "--data-dir", str(tmp_path)]
    # A wide terminal: the error box would wrap the messages otherwise.
    env = {"CSC_AUTH_HS256_SECRET": "cli-test-secret-of-at-least-32-bytes", "COLUMNS": "400"}

    system = runner.invoke(app, [*base, "--department", "system"], env=env)
    assert system.exit_code == 2 and "'system' is the services' own" in system.output
    assert "system" not in runner.invoke(app, ["token", "--help"], env=env).output

    bad_user = runner.invoke(app, [*base, "--department", "quality", "--user", "x\ty"], env=env)
    assert bad_user.exit_code == 2 and "not a user id" in bad_user.output
    too_long = runner.invoke(app, [*base, "--department", "quality", "--hours", "13"], env=env)
    assert too_long.exit_code == 2 and "CSC_AUTH_MAX_TOKEN_LIFETIME_HOURS" in too_long.output

    issued = runner.invoke(app, [*base, "--department", "quality", "--user", "wang.fang"], env=env)
    assert issued.exit_code == 0, issued.output
    verifier = TokenVerifier(AuthSettings(hs256_secret=env["CSC_AUTH_HS256_SECRET"]))
    actor = verifier.actor(issued.output.strip())
    assert (actor.user, actor.department.value) == ("wang.fang", "quality")
