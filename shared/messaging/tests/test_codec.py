"""The CloudEvents binary-mode codec: what subscribers of our topics rely on."""

from __future__ import annotations

import json
from datetime import datetime
from uuid import uuid4

import pytest

from csc_contracts import ComplaintLogged
from csc_messaging.codec import PoisonMessage, decode, encode


def complaint() -> ComplaintLogged:
    return ComplaintLogged.model_validate(
        {
            "event_id": str(uuid4()),
            "case_id": str(uuid4()),
            "occurred_at": "2026-11-24T08:00:00Z",
            "actor": {"user": "li.wei", "department": "marketing"},
            "category": "quality",
            "channel": "phone",
            "receiving_department": "production",
            "received_at": "2026-11-24T07:55:00+08:00",
            "customer": {"code": "OEM-001", "name": "Dongfeng"},
            "text": "connector housings cracked at line 3",
        }
    )


def test_encodes_binary_mode_with_case_id_key_and_versioned_type() -> None:
    event = complaint()
    message = encode(event)
    headers = dict(message.headers)
    assert headers["ce_type"] == b"csc.intake.ComplaintLogged.v1"
    assert headers["ce_id"] == str(event.event_id).encode()
    assert headers["ce_source"] == b"/csc/intake"
    assert headers["ce_subject"] == str(event.case_id).encode()
    assert headers["ce_specversion"] == b"1.0"
    assert headers["content-type"] == b"application/json"
    assert message.key == str(event.case_id).encode()
    body = json.loads(message.value)
    assert body["received_at"] == "2026-11-23T23:55:00Z"  # normalised to UTC


def test_round_trip() -> None:
    event = complaint()
    message = encode(event)
    assert decode(message.headers, message.key, message.value) == event


def test_unknown_type_is_skipped_not_rejected() -> None:
    message = encode(complaint())
    headers = [
        (k, b"csc.intake.SomethingNew.v1" if k == "ce_type" else v) for k, v in message.headers
    ]
    assert decode(headers, message.key, message.value) is None


def test_newer_optional_fields_are_ignored() -> None:
    message = encode(complaint())
    body = json.loads(message.value)
    body["severity"] = "high"
    assert decode(message.headers, message.key, json.dumps(body).encode()) is not None


@pytest.mark.parametrize(
    ("headers", "value", "reason"),
    [
        ([], b"{}", "missing header"),
        (None, b"not json", "not a JSON object"),
        (None, b'{"event_id": "x"}', "invalid body"),
    ],
)
def test_poison(headers: list[tuple[str, bytes]] | None, value: bytes, reason: str) -> None:
    message = encode(complaint())
    with pytest.raises(PoisonMessage, match=reason):
        decode(message.headers if headers is None else headers, message.key, value)


def test_id_mismatch_is_poison() -> None:
    message = encode(complaint())
    body = json.loads(message.value)
    body["event_id"] = str(uuid4())
    with pytest.raises(PoisonMessage, match="does not match"):
        decode(message.headers, message.key, json.dumps(body).encode())


def test_naive_times_are_refused() -> None:
    data = complaint().model_dump(mode="json")
    data["received_at"] = datetime(2026, 11, 24, 8, 0).isoformat()
    with pytest.raises(ValueError, match="time zone"):
        ComplaintLogged.model_validate(data)
