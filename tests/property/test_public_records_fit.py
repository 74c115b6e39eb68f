"""The internal → public mapping is total, and every record fits the broker.

For every command of every service (each POST/PUT with a JSON body in its OpenAPI, so a
new route is driven too), bodies the schema accepts are drawn with hypothesis and
schemathesis, biased to the largest: texts at their maxLength of emoji, CJK and
characters JSON escapes, lists full, and one deterministic body with everything at its
maximum within the body limit. Each goes over HTTP, on a case in the state the step
needs, into the service's real SQLite store (no Kafka). After a 2xx every new stored
event goes through ``csc_messaging.relay.public_record``, the relay's own rule: it must
map (the mapping is total) and its record must fit ``CSC_RELAY_MAX_RECORD_BYTES``.
After a 4xx nothing is stored. No request gets a 5xx.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core import NotSet
from schemathesis.core.result import Ok

from csc_devkit.desk import auth
from csc_messaging.relay import Unpublishable, public_record, record_size
from property.bodies import Schema, bodies, encoded, largest
from property.worlds import WORLDS, Target, World

# The stores here are SQLite; CI's PostgreSQL pass (CSC_TEST_STORE=postgres) reruns the
# end-to-end tests, and this one would only run again the same.
pytestmark = pytest.mark.skipif(
    os.environ.get("CSC_TEST_STORE") == "postgres", reason="SQLite stores: run in the first pass"
)
EXAMPLES = 10
# Every command of each service; a new one fails here until it has a Target in worlds.py.
COMMANDS = {"intake": 17, "returns": 15, "capa": 17, "sla": 4}


@dataclass(frozen=True)
class Command:
    method: str
    path: str
    schema: Schema

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def commands(openapi: dict[str, Any]) -> list[Command]:
    found = []
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if method in ("post", "put") and "application/json" in content:
                found.append(Command(method.upper(), path, content["application/json"]["schema"]))
    return found


@dataclass
class Reach:
    """Where a command's requests go: a case kept until a request of it was accepted."""

    target: Target
    command: Command
    params: dict[str, str] | None = None
    department: str | None = None
    accepted: int = 0
    refused: dict[int, int] = field(default_factory=dict)
    largest_record: int = 0

    def path(self) -> str:
        if self.params is None:
            self.params = self.target.prepare()
        return self.command.path.format(**self.params)


def send(world: World, reach: Reach, body: Any) -> Any:
    """One request with a department that may make it; checks what the store then holds."""
    path = reach.path()
    before = world.head()
    order = [reach.department] if reach.department else []
    order += [d for d in world.departments if d != reach.department]
    content = None if isinstance(body, NotSet) else encoded(body)
    for department in order:
        # As the department's manager: a manager may do all its people may, and the SLA
        # rules are for Marketing's and QC's managers only (clause 3).
        token = auth(department, key=uuid4().hex, manager=True)
        headers = {**token, "Content-Type": "application/json"}
        response = world.client.request(
            reach.command.method, path, headers=headers, content=content
        )
        if response.status_code != 403:
            reach.department = department
            break
        assert world.head() == before, f"{reach.command.label}: a 403 stored events"
    status = response.status_code
    size = len(content or b"")
    assert status < 500, f"{reach.command.label} ({size} bytes): {status} {response.text[:500]}"
    stored = world.notifications(before)
    if status >= 300:
        assert not stored, f"{reach.command.label}: {status} but {len(stored)} events stored"
        reach.refused[status] = reach.refused.get(status, 0) + 1
        return response
    reach.accepted += 1
    reach.params = None  # the step is done on that case: the next request gets a fresh one
    for notification in stored:
        try:
            record = public_record(
                world.to_public, world.service_app.mapper, notification, world.max_record_bytes
            )
        except Unpublishable as exc:
            pytest.fail(
                f"{reach.command.label} ({size} bytes) accepted, then "
                f"{notification.topic} is unpublishable: {exc}"
            )
        if record is not None:
            reach.largest_record = max(reach.largest_record, record_size(record))
    return response


@pytest.fixture(params=list(WORLDS))
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    made = WORLDS[request.param](tmp_path)
    yield made
    made.close()


def test_every_accepted_request_maps_to_records_the_broker_takes(world: World) -> None:
    openapi = world.client.app.openapi()  # type: ignore[attr-defined]
    components = openapi["components"]["schemas"]
    found = commands(openapi)
    assert len(found) == COMMANDS[world.name], [c.label for c in found]
    missing = [c.label for c in found if c.label not in world.targets]
    assert not missing, f"{world.name}: say in worlds.py how to reach {missing}"
    generated = {}
    for result in schemathesis.openapi.from_dict(openapi).get_all_operations():
        assert isinstance(result, Ok), f"{world.name}'s OpenAPI: {result.err()}"
        generated[(result.ok().method.upper(), result.ok().path)] = result.ok()
    report = []
    for command in found:
        target = world.targets[command.label]
        known = {**world.known, **target.known}
        reach = Reach(target, command)
        schema = command.schema
        limit = world.max_body_bytes

        # The deterministic worst case: everything at its maximum, cut to the body limit.
        biggest = target.adjust(largest(schema, components, known, limit))
        before = world.head()
        response = send(world, reach, biggest)
        assert response.status_code in (200, 201), (
            f"{command.label}: the largest body ({len(encoded(biggest))} bytes) is refused: "
            f"{response.status_code} {response.text[:500]}"
        )
        assert world.head() > before, f"{command.label}: accepted, but nothing stored"

        base = generated[(command.method, command.path)].as_strategy(
            generation_mode=GenerationMode.POSITIVE
        )
        drawn = bodies(base.map(lambda case: case.body), schema, components, known, limit)

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(body=drawn, adjusted=st.integers(0, 4))
        def requests(reach: Reach, body: Any, adjusted: int) -> None:
            send(world, reach, reach.target.adjust(body) if adjusted else body)

        requests(reach)
        # Not only the largest body: drawn ones got past the rules to the store too.
        assert reach.accepted >= 2, f"{command.label}: drawn bodies all refused {reach.refused}"
        report.append(
            f"{command.label}: {reach.accepted} accepted, refused {reach.refused}, "
            f"largest record {reach.largest_record:,} bytes"
        )

    # Everything the store holds, the setup's events and those fed from upstream too.
    for notification in world.notifications(0):
        public_record(world.to_public, world.service_app.mapper, notification,
                      world.max_record_bytes)  # fmt: skip
    print(f"\n{world.name}:\n  " + "\n  ".join(report))
