"""docs/asyncapi.yaml and docs/openapi/*.json: valid, and what the code says."""

from __future__ import annotations

import copy
import json
from typing import Any, Literal

import jsonschema
import pytest
import yaml
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from csc_contracts import EVENT_TYPES, SERVICES, Topics
from csc_devkit import catalog
from deploy.deploy_tools import REPO, asyncapi_3_schema

DOCS = REPO / "docs"


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DOCS / catalog.ASYNCAPI_FILE).read_text())
    return loaded


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(asyncapi_3_schema().read_text())
    return jsonschema.Draft7Validator(schema)


def test_committed_catalog_is_what_the_code_generates() -> None:
    problems = catalog.stale(DOCS)
    assert not problems, (
        "\n".join(problems) + f"\nRegenerate with `{catalog.REGENERATE}` and commit the result."
    )


def test_asyncapi_document_is_valid_asyncapi_3(
    committed: dict[str, Any], validator: jsonschema.Draft7Validator
) -> None:
    errors = [
        f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(committed)
    ]
    assert not errors, "\n".join(errors[:20])


def test_the_asyncapi_check_rejects_a_broken_document(
    committed: dict[str, Any], validator: jsonschema.Draft7Validator
) -> None:
    broken = copy.deepcopy(committed)
    next(iter(broken["operations"].values()))["action"] = "publish"  # AsyncAPI 2 wording
    assert not validator.is_valid(broken)


def test_every_contract_event_is_documented_with_its_schema(committed: dict[str, Any]) -> None:
    messages = committed["components"]["messages"]
    schemas = committed["components"]["schemas"]
    pairs: list[tuple[type[BaseModel], Literal["validation"]]] = [
        (cls, "validation") for cls in EVENT_TYPES.values()
    ]
    _, expected = models_json_schema(pairs, ref_template="#/components/schemas/{model}")
    for ce_type, cls in EVENT_TYPES.items():
        message = messages.get(ce_type)
        assert message is not None, f"{ce_type} is not in the catalog"
        name = message["payload"]["$ref"].rsplit("/", 1)[-1]
        assert schemas[name] == expected["$defs"][name], f"{ce_type}: payload schema differs"
        const = message["headers"]["allOf"][1]["properties"]
        assert const["ce_type"]["const"] == ce_type
        assert const["ce_source"]["const"] == f"/csc/{cls.service}"
        topic = Topics().events(cls.service)
        refs = [m["$ref"] for m in committed["channels"][topic]["messages"].values()]
        assert f"#/components/messages/{ce_type}" in refs, f"{ce_type} not on {topic}"
    documented = {k for k in messages if k.startswith("csc.")}
    assert documented == set(EVENT_TYPES), "the catalog names events the contract does not"


def test_every_public_topic_is_a_channel_and_each_consumer_an_operation(
    committed: dict[str, Any],
) -> None:
    addresses = {c["address"] for c in committed["channels"].values()}
    assert set(Topics().all_event_topics()) <= addresses
    receivers = {
        op["bindings"]["kafka"]["groupId"]["enum"][0]
        for op in committed["operations"].values()
        if op["action"] == "receive"
    }
    assert receivers == {f"csc-{s}" for s in SERVICES if s != "intake"}
    header = committed["components"]["schemas"]["CloudEventHeaders"]
    assert {"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject"} <= set(
        header["required"]
    )


@pytest.mark.parametrize("service", SERVICES)
def test_openapi_document_describes_the_probes(service: str) -> None:
    document = json.loads((DOCS / catalog.OPENAPI_DIR / f"{service}.json").read_text())
    assert document["openapi"].startswith("3.")
    assert {"/healthz", "/readyz"} <= set(document["paths"])


@pytest.mark.parametrize("service", SERVICES)
def test_every_paged_list_documents_its_next_page_headers(service: str) -> None:
    document = json.loads((DOCS / catalog.OPENAPI_DIR / f"{service}.json").read_text())
    lists = [
        (path, operations["get"])
        for path, operations in document["paths"].items()
        if any(p["name"] == "cursor" for p in operations.get("get", {}).get("parameters", []))
    ]
    assert lists, f"{service} has no paged list"
    for path, operation in lists:
        headers = operation["responses"]["200"].get("headers", {})
        assert {"Link", "X-Next-Cursor"} <= set(headers), path
