"""The relay's one rule for a stored event's record, and its hold, without Kafka.

``public_record`` maps and encodes one notification, or says why it cannot go out
(the mapping raises; the record is larger than the broker takes). The relay holds
such an event and lets later events of the same case wait behind it; the others of
the batch go on. Through a real broker: tests/e2e/test_relay_holds.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from csc_contracts import ComplaintLogged, PublicEvent, Topics
from csc_messaging.codec import decode
from csc_messaging.relay import (
    RECORD_OVERHEAD,
    OutboxRelay,
    Unpublishable,
    public_record,
    record_size,
)
from csc_messaging.settings import ServiceSettings
from csc_messaging.store import eventsourcing_env

MAX_BYTES = 20_000


class Case(Aggregate):
    @event("Opened")
    def __init__(self, text: str) -> None:
        self.text = text

    @event("Noted")
    def note(self, text: str) -> None:
        self.text = text

    @event("Kept")
    def keep(self) -> None:
        """An internal event: no public counterpart."""


class Cases(Application[UUID]):
    name = "cases"


def to_public(domain_event: Any) -> PublicEvent | None:
    if not hasattr(domain_event, "text"):  # Case.Kept
        return None
    if domain_event.text == "unmappable":
        raise ValueError("no public event says this")
    return ComplaintLogged.model_validate(
        {
            "event_id": str(uuid4()),
            "case_id": str(domain_event.originator_id),
            "occurred_at": domain_event.timestamp,
            "actor": {"user": "li.wei", "department": "marketing"},
            "category": "quality",
            "channel": "phone",
            "receiving_department": "production",
            "received_at": "2026-11-24T07:55:00Z",
            "customer": {"code": "OEM-001"},
            "text": domain_event.text,
        }
    )


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Cases]:
    cases = Cases(env=eventsourcing_env(ServiceSettings(data_dir=tmp_path), "cases"))
    yield cases
    cases.close()


def save(app: Cases, *texts: str, keep: bool = False) -> UUID:
    case = Case(texts[0])
    for text in texts[1:]:
        case.note(text)
    if keep:
        case.keep()
    app.save(case)
    return case.id


def records(app: Cases) -> list[Any]:
    return list(app.recorder.select_notifications(1, 100))


def test_a_mapped_event_is_its_cloudevent_and_an_internal_one_none(app: Cases) -> None:
    case = save(app, "Housings cracked on line 3", keep=True)
    opened, kept = records(app)
    message = public_record(to_public, app.mapper, opened, MAX_BYTES)
    assert message is not None and message.key == str(case).encode()
    read = decode(message.headers, message.key, message.value)
    assert isinstance(read, ComplaintLogged) and read.text == "Housings cracked on line 3"
    assert record_size(message) > RECORD_OVERHEAD + len(message.value)
    assert public_record(to_public, app.mapper, kept, MAX_BYTES) is None


def test_a_mapping_that_raises_is_unpublishable_with_its_reason(app: Cases) -> None:
    save(app, "unmappable")
    with pytest.raises(Unpublishable, match=r"cannot be mapped.*no public event says this"):
        public_record(to_public, app.mapper, records(app)[0], MAX_BYTES)


def test_a_record_larger_than_the_broker_takes_is_unpublishable(app: Cases) -> None:
    # One emoji is 4 bytes stored and 12 in the record (the JSON escapes non-ASCII).
    save(app, "😀" * (MAX_BYTES // 12))
    with pytest.raises(Unpublishable, match=rf"would be \d+ bytes, more than the {MAX_BYTES}"):
        public_record(to_public, app.mapper, records(app)[0], MAX_BYTES)
    assert public_record(to_public, app.mapper, records(app)[0], 10 * MAX_BYTES) is not None


def test_the_relay_holds_what_cannot_go_out_and_what_waits_behind_it(app: Cases) -> None:
    held = save(app, "unmappable", "noted after it")
    fine = save(app, "Housings cracked on line 3")
    large = save(app, "😀" * MAX_BYTES)
    relay = OutboxRelay(
        app=app,
        service="intake",
        to_public=to_public,
        kafka="localhost:9",  # never reached: nothing is sent
        topics=Topics(),
        max_record_bytes=MAX_BYTES,
    )
    count, batch = relay._prepare(1)
    assert count == 4
    assert [m.key for _, m in batch] == [str(fine).encode()]
    by_seq = {h.seq: h for h in relay._held.values()}
    assert sorted(by_seq) == [1, 2, 4]
    assert by_seq[1].originator_id == str(held) and "cannot be mapped" in by_seq[1].reason
    assert by_seq[2].behind == 1 and by_seq[2].reason == "waits behind notification 1"
    assert by_seq[4].originator_id == str(large) and "more than the 20000" in by_seq[4].reason
