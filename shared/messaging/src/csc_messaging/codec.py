"""Public events on Kafka: CloudEvents 1.0 in Kafka binary content mode.

Attributes travel as ``ce_*`` headers, the event's JSON as the value, the
case id as the key (so one case stays in order on one partition). Extension
attributes (the hash chain's ``cscseq``, ``cscchain`` ..., see
``csc_messaging.chain``) are ``ce_<name>`` headers like the others.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.v1.event import CloudEvent
from pydantic import ValidationError

from csc_contracts import EVENT_TYPES, PublicEvent

CONTENT_TYPE = "application/json"
HEADER_PREFIX = "ce_"
# CloudEvents 1.0: attribute names are lower-case ASCII letters and digits, at most 20 SHOULD.
_EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")


class PoisonMessage(Exception):
    """A record that no version of this consumer can ever read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class OutgoingMessage:
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def encode(event: PublicEvent) -> OutgoingMessage:
    cloud_event = CloudEvent(
        attributes={
            "id": str(event.event_id),
            "source": f"/csc/{event.service}",
            "type": event.event_type(),
            "subject": str(event.case_id),
            "time": event.occurred_at,
            "datacontenttype": CONTENT_TYPE,
            "partitionkey": str(event.case_id),
        },
        data=event.model_dump(mode="json"),
    )
    message = ce_kafka.to_binary_event(cloud_event)
    key = message.key.encode() if isinstance(message.key, str) else (message.key or b"")
    return OutgoingMessage(key=key, value=message.value, headers=list(message.headers.items()))


def extension_header(name: str) -> str:
    """The Kafka header of a CloudEvents extension attribute (binary mode: ``ce_<name>``)."""
    if not _EXTENSION_NAME.match(name):
        raise ValueError(f"{name!r} is no CloudEvents attribute name (a-z, 0-9, 1-20)")
    return f"{HEADER_PREFIX}{name}"


def add_extensions(message: OutgoingMessage, attributes: Mapping[str, str]) -> OutgoingMessage:
    """The message with CloudEvents extension attributes added (binary mode: ``ce_<name>``)."""
    for name in attributes:
        extension_header(name)
    present = {name for name, _ in message.headers}
    clashing = sorted(f"{HEADER_PREFIX}{n}" for n in attributes if f"{HEADER_PREFIX}{n}" in present)
    if clashing:
        raise ValueError(f"the message already has {clashing}")
    extra = [(f"{HEADER_PREFIX}{name}", value.encode()) for name, value in attributes.items()]
    return replace(message, headers=[*message.headers, *extra])


def ce_attributes(
    headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes],
) -> dict[str, str]:
    """Every CloudEvents attribute of a record in binary mode, by name without ``ce_``."""
    return {
        name.removeprefix(HEADER_PREFIX): value.decode("utf-8", "replace")
        for name, value in _headers_dict(headers).items()
        if name.startswith(HEADER_PREFIX)
    }


def _headers_dict(headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes]) -> dict[str, bytes]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {name: (value or b"") for name, value in items}


def header_text(
    headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes], name: str
) -> str | None:
    raw = _headers_dict(headers).get(name)
    return raw.decode("utf-8", "replace") if raw is not None else None


def event_type_of(headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes]) -> str | None:
    return header_text(headers, "ce_type")


def decode(
    headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes],
    key: bytes | None,
    value: bytes | None,
) -> PublicEvent | None:
    """The public event in a record, or None for a well-formed event of a type we do not know.

    Unknown types are skipped, not rejected: producers may publish new event
    types before every consumer knows them (forward compatibility).
    """
    header_map = _headers_dict(headers)
    missing = [
        h for h in ("ce_specversion", "ce_id", "ce_type", "ce_source") if h not in header_map
    ]
    if missing:
        raise PoisonMessage(f"not a CloudEvent in Kafka binary mode: missing header(s) {missing}")
    try:
        cloud_event = ce_kafka.from_binary_event(
            ce_kafka.KafkaMessage(headers=header_map, key=key, value=value or b"")
        )
    except Exception as exc:
        raise PoisonMessage(f"unreadable CloudEvent: {exc}") from exc
    event_class = EVENT_TYPES.get(cloud_event.get_type())
    if event_class is None:
        return None
    data = cloud_event.get_data()
    if not isinstance(data, dict):
        raise PoisonMessage(f"{cloud_event.get_type()}: body is not a JSON object")
    try:
        event = event_class.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<body>'}: {err['msg']}"
            for err in exc.errors()
        )
        raise PoisonMessage(f"{cloud_event.get_type()}: invalid body: {problems}") from exc
    if str(event.event_id) != cloud_event.get_id():
        raise PoisonMessage(
            f"ce_id {cloud_event.get_id()} does not match body event_id {event.event_id}"
        )
    return event
