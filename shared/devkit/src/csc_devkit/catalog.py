"""The event catalog: AsyncAPI 3.0 for the public events, OpenAPI for each HTTP API.

The documents are committed under ``docs/`` so that other teams can read them
without running anything. They are generated, never edited: the AsyncAPI
document comes from the public contract (``csc_contracts.EVENT_TYPES`` and the
pydantic models) together with the consuming services' wiring (the topics their
consumer groups read, the dead-letter queues their FastStream brokers publish to),
and each OpenAPI document from the service's FastAPI app. FastStream alone cannot
describe the events: it knows neither the CloudEvents headers nor that intake's
relay publishes (the relay talks to Kafka through aiokafka).

``csc catalog write`` regenerates them; ``csc catalog check`` fails when the
committed files are not what the code says (CI runs it through tests/deploy).
"""

from __future__ import annotations

import inspect
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
import yaml
from fastapi import FastAPI
from faststream.specification import AsyncAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from csc_contracts import EVENT_TYPES, SERVICES, PublicEvent, Topics
from csc_messaging import chain
from csc_messaging.runtime import ConsumerSpec, ConsumingService, ServiceSpec, service_specs
from csc_messaging.settings import ServiceSettings

ASYNCAPI_FILE = "asyncapi.yaml"
OPENAPI_DIR = "openapi"
KAFKA_BINDING_VERSION = "0.5.0"
REGENERATE = "uv run csc catalog write"

# Where a subscriber connects: the Strimzi cluster of deploy/ (TLS listener, SCRAM-SHA-512).
KAFKA_BOOTSTRAP = "csc-kafka-kafka-bootstrap.csc.svc:9093"

_CLOUDEVENT_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": (
        "CloudEvents 1.0 attributes in Kafka binary content mode: each attribute is a "
        "`ce_`-prefixed header with a UTF-8 value; the event itself is the record's value."
    ),
    "required": [
        "ce_specversion",
        "ce_id",
        "ce_source",
        "ce_type",
        "ce_subject",
        "ce_time",
        "content-type",
        *(f"ce_{name}" for name in chain.EXTENSIONS),
    ],
    "properties": {
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_id": {
            "type": "string",
            "format": "uuid",
            "description": "Equals the body's event_id; the same on every redelivery: "
            "deduplicate on it.",
        },
        "ce_source": {
            "type": "string",
            "pattern": "^/csc/[a-z]+$",
            "description": "The publishing service, /csc/<service>.",
        },
        "ce_type": {
            "type": "string",
            "pattern": r"^csc\.[a-z]+\.[A-Za-z]+\.v[0-9]+$",
            "description": "csc.<service>.<Name>.v<version>: selects the payload schema. "
            "Skip types you do not know.",
        },
        "ce_subject": {
            "type": "string",
            "format": "uuid",
            "description": "The case id (the body's case_id).",
        },
        "ce_time": {
            "type": "string",
            "format": "date-time",
            "description": "When it happened, RFC 3339 in UTC (the body's occurred_at).",
        },
        "ce_partitionkey": {
            "type": "string",
            "format": "uuid",
            "description": "The record key: the case id (CloudEvents partitioning extension).",
        },
        "content-type": {"type": "string", "const": "application/json"},
        f"ce_{chain.SEQ}": {
            "type": "string",
            "pattern": "^[0-9]+$",
            "description": "Hash chain (extension): the position in the publishing service's "
            "event log (notification id) this event was published from; increases within "
            "a partition.",
        },
        f"ce_{chain.PREV}": {
            "type": "string",
            "pattern": "^[0-9]+$",
            "description": "Hash chain: the cscseq of the record the service published just "
            "before this one (on any partition), 0 for its first.",
        },
        f"ce_{chain.AGG}": {
            "type": "string",
            "pattern": "^[0-9a-f]{64}$",
            "description": "Hash chain: SHA-256 over the stored event and its aggregate's "
            "previous hash (see csc_messaging.chain).",
        },
        f"ce_{chain.CHAIN}": {
            "type": "string",
            "pattern": "^[0-9a-f]{64}$",
            "description": "Hash chain: the service's whole event log chained up to cscseq; "
            "compare with the checkpoints on csc.audit.v1.",
        },
        f"ce_{chain.LINK}": {
            "type": "string",
            "pattern": "^[0-9a-f]{64}$",
            "description": "Hash chain: SHA-256 over this record (key, value, other headers) "
            "and the previous record's csclink; `csc audit verify --kafka-only` checks it.",
        },
    },
}

_CHECKPOINT_PAYLOAD: dict[str, Any] = {
    "type": "object",
    "description": "A relay's hash-chain head (csc_messaging.chain.Checkpoint).",
    "required": ["type", "service", "position", "head", "records", "link", "at"],
    "properties": {
        "type": {"type": "string", "const": chain.CHECKPOINT_TYPE},
        "service": {"type": "string", "enum": list(SERVICES)},
        "position": {
            "type": "integer",
            "minimum": 1,
            "description": "The last notification of the service's event log it covers.",
        },
        "head": {
            "type": "string",
            "pattern": "^[0-9a-f]{64}$",
            "description": "The log chain (cscchain) after `position`.",
        },
        "records": {
            "type": "integer",
            "minimum": 0,
            "description": "How many records the relay had published by then.",
        },
        "link": {
            "type": "string",
            "pattern": "^[0-9a-f]{64}$",
            "description": "The csclink of the last of them.",
        },
        "at": {"type": "string", "format": "date-time"},
    },
}

_DEAD_LETTER_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "The original record's headers, plus why and where it failed.",
    "required": [
        "csc_dlq_reason",
        "csc_dlq_consumer",
        "csc_dlq_topic",
        "csc_dlq_partition",
        "csc_dlq_offset",
    ],
    "properties": {
        "csc_dlq_reason": {"type": "string", "description": "Why it could not be read."},
        "csc_dlq_consumer": {
            "type": "string",
            "description": "The consumer group that gave up on it.",
        },
        "csc_dlq_topic": {"type": "string", "description": "Where the record was read."},
        "csc_dlq_partition": {"type": "string", "pattern": "^[0-9]+$"},
        "csc_dlq_offset": {"type": "string", "pattern": "^[0-9]+$"},
    },
}

_CONTRACT = """\
Every public event of Customer Service Control, one Kafka topic per publishing
service (`csc.<service>.v1`). See docs/subscribing.md for a worked consumer.

- **Envelope.** CloudEvents 1.0 in Kafka binary content mode: attributes as
  `ce_*` headers, the event as a JSON object in the record's value.
  `ce_type` (`csc.<service>.<Name>.v<version>`) names the payload schema.
- **Key and order.** The key is the case id (UTF-8); one case stays on one
  partition, in order. There is no order across cases.
- **Delivery.** Publishers write in Kafka transactions: consume with
  `isolation.level=read_committed`. Delivery is at least once: deduplicate on
  `ce_id` (= `event_id`).
- **Compatibility.** Within a version, fields are only ever added, and only as
  optional: ignore fields you do not know. New event types appear without
  notice: skip `ce_type`s you do not know. An incompatible change is a new
  type with a higher version, published beside the old one until subscribers
  have moved.
- **History.** Event topics keep every event forever: a new subscriber can
  read from the earliest offset to build its state.
- **Tamper evidence.** Every record carries the publishing service's hash
  chain as CloudEvents extension attributes (`ce_cscseq`, `ce_cscprev`,
  `ce_cscagg`, `ce_cscchain`, `ce_csclink`); each relay checkpoints the
  chain's head to `csc.audit.v1`. `csc audit verify` recomputes them
  (ISO 9001 §7.5.3). Ignore them if you do not audit.
"""


def _doc(cls: type[Any]) -> str:
    return inspect.cleandoc(cls.__doc__ or "").strip()


def _isolated_settings(settings_class: type[ServiceSettings], data_dir: Path) -> ServiceSettings:
    # Only what shapes the documents is pinned: the topic prefix names the channels,
    # and the SQLite store lets an app be built without any server.
    return settings_class(
        store="sqlite",
        data_dir=data_dir,
        topic_prefix="",
        relay_enabled=False,
        auth_hs256_secret="x" * 32,
        auth_jwks_url=None,
    )


@contextmanager
def _consumers() -> Iterator[dict[str, ConsumingService]]:
    """Each consuming service, its broker and consumer built as ``serve`` builds them,
    unconnected."""
    with tempfile.TemporaryDirectory(prefix="csc-catalog-") as tmp:
        services: dict[str, ConsumingService] = {}
        try:
            for service, spec in service_specs().items():
                if not isinstance(spec, ConsumerSpec):
                    continue
                services[service] = spec.bootstrap(
                    _isolated_settings(spec.settings_class, Path(tmp))
                )
            yield services
        finally:
            for consuming in services.values():
                consuming.app.close()


def _operations(consuming: ConsumingService) -> list[dict[str, Any]]:
    """What a consuming service receives (its consumer group's topics) and sends (its
    FastStream broker's publishers: the dead-letter queues), as the running service does."""
    broker = consuming.build_broker()
    consumer = consuming.consumer
    assert consumer is not None
    operations = [
        {"action": "receive", "address": topic, "group_id": consumer.group_id, "description": None}
        for topic in consumer.topics
    ]
    # FastStream's own view of the broker: each publisher's topic and description.
    spec = json.loads(AsyncAPI(broker, schema_version="3.0.0").to_specification().to_json())
    for operation in spec.get("operations", {}).values():
        channel_key = operation["channel"]["$ref"].rsplit("/", 1)[-1]
        channel = spec["channels"][channel_key]
        operations.append(
            {
                "action": operation["action"],
                "address": channel["address"],
                "group_id": None,
                "description": channel.get("description"),
            }
        )
    return sorted(operations, key=lambda o: (o["action"], o["address"]))


def _payload_schemas() -> dict[str, Any]:
    pairs: list[tuple[type[BaseModel], Literal["validation"]]] = [
        (cls, "validation") for cls in EVENT_TYPES.values()
    ]
    _, top = models_json_schema(pairs, ref_template="#/components/schemas/{model}")
    defs: dict[str, Any] = top.get("$defs", {})
    return dict(sorted(defs.items()))


def _schema_name(cls: type[PublicEvent]) -> str:
    return cls.__name__


def _message(ce_type: str, cls: type[PublicEvent]) -> dict[str, Any]:
    doc = _doc(cls)
    return {
        "name": cls.__name__,
        "title": f"{cls.__name__} v{cls.version}",
        "summary": doc.splitlines()[0] if doc else cls.__name__,
        "description": doc,
        "contentType": "application/json",
        "headers": {
            "allOf": [
                {"$ref": "#/components/schemas/CloudEventHeaders"},
                {
                    "type": "object",
                    "properties": {
                        "ce_type": {"type": "string", "const": ce_type},
                        "ce_source": {"type": "string", "const": f"/csc/{cls.service}"},
                    },
                },
            ]
        },
        "payload": {"$ref": f"#/components/schemas/{_schema_name(cls)}"},
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "format": "uuid",
                    "description": "The case id, UTF-8.",
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _message_key(ce_type: str) -> str:
    # csc.intake.ComplaintLogged.v1 -> ComplaintLogged.v1: unique within its service's channel.
    return ce_type.split(".", 2)[2]


def _event_channel(
    service: str, topic: str, events: dict[str, type[PublicEvent]]
) -> dict[str, Any]:
    description = (
        f"The public events of {service}, key = case id, kept forever (retention -1)."
        if events
        else f"Reserved for the public events of {service}; none are published yet."
    )
    return {
        "address": topic,
        "title": topic,
        "description": description,
        "messages": {
            _message_key(ce_type): {"$ref": f"#/components/messages/{ce_type}"}
            for ce_type in events
        },
        "bindings": {
            "kafka": {
                "topic": topic,
                "partitions": 3,
                "topicConfiguration": {
                    "cleanup.policy": ["delete"],
                    "retention.ms": -1,
                    "retention.bytes": -1,
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _dead_letter_channel(topic: str, description: str | None) -> dict[str, Any]:
    return {
        "address": topic,
        "title": topic,
        "description": description or "Records a consumer could not read.",
        "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
        "bindings": {
            "kafka": {
                "topic": topic,
                "partitions": 1,
                "topicConfiguration": {
                    "cleanup.policy": ["delete"],
                    "retention.ms": -1,
                    "retention.bytes": -1,
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _audit_channel(topic: str) -> dict[str, Any]:
    return {
        "address": topic,
        "title": topic,
        "description": "Each relay's hash-chain checkpoints, key = service; every one kept "
        "(not compacted), one partition.",
        "messages": {"ChainCheckpoint": {"$ref": "#/components/messages/ChainCheckpoint"}},
        "bindings": {
            "kafka": {
                "topic": topic,
                "partitions": 1,
                "topicConfiguration": {
                    "cleanup.policy": ["delete"],
                    "retention.ms": -1,
                    "retention.bytes": -1,
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every public topic and event."""
    topics = Topics()
    by_service: dict[str, dict[str, type[PublicEvent]]] = {s: {} for s in SERVICES}
    for ce_type, cls in EVENT_TYPES.items():
        by_service.setdefault(cls.service, {})[ce_type] = cls

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for service, events in by_service.items():
        topic = topics.events(service)
        channels[topic] = _event_channel(service, topic, events)
        if events:
            operations[f"{service}.publish"] = {
                "action": "send",
                "title": f"{service} publishes its public events",
                "summary": f"{service}'s outbox relay publishes what its store committed.",
                "description": (
                    "Each batch is written in one Kafka transaction together with the relay's "
                    "position, so read with isolation.level=read_committed."
                ),
                "channel": {"$ref": f"#/channels/{topic}"},
                "messages": [
                    {"$ref": f"#/channels/{topic}/messages/{_message_key(t)}"} for t in events
                ],
            }

    with _consumers() as consumers:
        seen = {service: _operations(consuming) for service, consuming in consumers.items()}
    for service, found in seen.items():
        for op in found:
            address = op["address"]
            if op["action"] == "receive":
                channel = channels.get(address)
                if channel is None:
                    raise ValueError(f"{service} consumes {address}, which is no public topic")
                operations[f"{service}.consume.{address}"] = {
                    "action": "receive",
                    "title": f"{service} consumes {address}",
                    "summary": (
                        "Applies each event once in effect; skips unknown types; sends "
                        f"unreadable records to {topics.dlq(address)}."
                    ),
                    "channel": {"$ref": f"#/channels/{address}"},
                    "messages": [
                        {"$ref": f"#/channels/{address}/messages/{key}"}
                        for key in channel["messages"]
                    ],
                    "bindings": {
                        "kafka": {
                            "groupId": {"type": "string", "enum": [op["group_id"]]},
                            "clientId": {"type": "string", "enum": [f"csc-{service}"]},
                            "bindingVersion": KAFKA_BINDING_VERSION,
                        }
                    },
                }
            else:
                channels.setdefault(address, _dead_letter_channel(address, op["description"]))
                operations[f"{service}.dead-letter.{address}"] = {
                    "action": "send",
                    "title": f"{service} dead-letters records of {address.removesuffix('.dlq')}",
                    "channel": {"$ref": f"#/channels/{address}"},
                    "messages": [{"$ref": f"#/channels/{address}/messages/DeadLetter"}],
                }

    messages: dict[str, Any] = {
        ce_type: _message(ce_type, cls) for ce_type, cls in EVENT_TYPES.items()
    }
    audit = topics.audit
    channels[audit] = _audit_channel(audit)
    for service, events in by_service.items():
        if events:
            operations[f"{service}.checkpoint"] = {
                "action": "send",
                "title": f"{service} checkpoints its hash chain",
                "summary": "Every CSC_AUDIT_CHECKPOINT_EVERY notifications or "
                "CSC_AUDIT_CHECKPOINT_SECONDS seconds, in the same transaction as a batch.",
                "channel": {"$ref": f"#/channels/{audit}"},
                "messages": [{"$ref": f"#/channels/{audit}/messages/ChainCheckpoint"}],
            }
    messages["ChainCheckpoint"] = {
        "name": "ChainCheckpoint",
        "title": "Hash-chain checkpoint",
        "summary": "A relay's chain head: what `csc audit verify` compares stores and topics with.",
        "contentType": "application/json",
        "payload": {"$ref": "#/components/schemas/ChainCheckpoint"},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "The service, UTF-8."},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }
    messages["DeadLetter"] = {
        "name": "DeadLetter",
        "title": "Dead letter",
        "summary": "A record a consumer could not read, as it was, with the reason.",
        "headers": {"$ref": "#/components/schemas/DeadLetterHeaders"},
        "payload": {
            "type": "string",
            "format": "binary",
            "description": "The original record's value, unchanged.",
        },
    }
    schemas: dict[str, Any] = {
        "CloudEventHeaders": _CLOUDEVENT_HEADERS,
        "DeadLetterHeaders": _DEAD_LETTER_HEADERS,
        "ChainCheckpoint": _CHECKPOINT_PAYLOAD,
        **_payload_schemas(),
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Customer Service Control — public events",
            "version": package_version("csc-contracts"),
            "description": _CONTRACT,
        },
        "defaultContentType": "application/json",
        "servers": {
            "production": {
                "host": KAFKA_BOOTSTRAP,
                "protocol": "kafka-secure",
                "description": (
                    "The Strimzi cluster's TLS listener (CA: the csc-kafka-cluster-ca-cert "
                    "secret). Subscribers authenticate as the KafkaUser csc-subscriber and "
                    "read with any consumer group named subscriber-*."
                ),
                "security": [{"$ref": "#/components/securitySchemes/scram"}],
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "securitySchemes": {
                "scram": {
                    "type": "scramSha512",
                    "description": "SASL/SCRAM-SHA-512 with a Strimzi KafkaUser's password.",
                }
            },
        },
    }


def _openapi_app(spec: ServiceSpec, data_dir: Path) -> FastAPI:
    return spec.http_app(_isolated_settings(spec.settings_class, data_dir))


def openapi_documents() -> dict[str, dict[str, Any]]:
    """Each service's OpenAPI document, as its running app serves it at /openapi.json."""
    specs = service_specs()
    if missing := [service for service in SERVICES if service not in specs]:
        raise LookupError(f"no installed package declares the services {missing} (csc.services)")
    with tempfile.TemporaryDirectory(prefix="csc-catalog-") as tmp:
        return {service: _openapi_app(specs[service], Path(tmp)).openapi() for service in SERVICES}


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line text, so the descriptions read as they were written."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)

_YAML_HEADER = (
    "# Generated from the public contract (csc_contracts) and the consuming services' wiring.\n"
    f"# Do not edit: regenerate with `{REGENERATE}`; CI fails when this file is stale.\n"
)


def render() -> dict[str, str]:
    """Every catalog file, by its path under docs/, as it should be committed."""
    files = {
        ASYNCAPI_FILE: _YAML_HEADER
        + yaml.dump(
            asyncapi_document(),
            Dumper=_Dumper,
            sort_keys=False,
            allow_unicode=True,
            width=96,
            indent=2,
        )
    }
    for service, document in openapi_documents().items():
        files[f"{OPENAPI_DIR}/{service}.json"] = (
            json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        )
    return files


def stale(docs_dir: Path) -> list[str]:
    """The catalog files under docs_dir that are missing or differ from freshly generated ones."""
    problems = []
    for name, text in render().items():
        path = docs_dir / name
        if not path.exists():
            problems.append(f"{path}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{path}: out of date")
    expected = {f"{service}.json" for service in SERVICES}
    problems.extend(
        f"{extra}: no such service"
        for extra in sorted((docs_dir / OPENAPI_DIR).glob("*.json"))
        if extra.name not in expected
    )
    return problems


def write(docs_dir: Path) -> list[Path]:
    written = []
    for name, text in render().items():
        path = docs_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


app = typer.Typer(help="The event catalog (AsyncAPI) and the HTTP APIs (OpenAPI).")

DocsDir = Annotated[Path, typer.Option(help="Where the catalog is committed.")]


@app.command("write")
def write_cmd(docs_dir: DocsDir = Path("docs")) -> None:
    """Regenerate docs/asyncapi.yaml and docs/openapi/<service>.json from the code."""
    changed = write(docs_dir)
    for path in changed:
        typer.echo(f"wrote {path}")
    if not changed:
        typer.echo("catalog is current")


@app.command("check")
def check_cmd(docs_dir: DocsDir = Path("docs")) -> None:
    """Fail when the committed catalog differs from what the code generates."""
    problems = stale(docs_dir)
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        typer.echo(f"regenerate with `{REGENERATE}` and commit the result", err=True)
        raise typer.Exit(1)
    typer.echo("catalog is current")


if __name__ == "__main__":
    app()
