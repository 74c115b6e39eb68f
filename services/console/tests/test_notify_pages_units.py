"""My notifications: each event told of once with its deliveries, in words for every value
notify's published OpenAPI allows (the console reads notify only over HTTP)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from csc_console import notify_pages as n
from csc_contracts import EVENT_TYPES

OPENAPI = Path(__file__).parents[3] / "docs" / "openapi" / "notify.json"


def _notification(event: str, handle: str, channel: str, created: str) -> dict[str, Any]:
    return {
        "notification_id": f"{event}-{handle}-{channel}",
        "status": "sent",
        "created": created,
        "case_id": "c1",
        "handle": handle,
        "department": "quality",
        "channel": channel,
        "clause": "4.4.2",
        "about": {"event_id": event, "type": "csc.intake.QualityNotified.v1"},
    }


def test_every_channel_and_delivery_state_notify_answers_has_its_words() -> None:
    schema = json.loads(OPENAPI.read_text())["components"]["schemas"]["NotificationOut"]
    fields = schema["properties"]
    assert set(n.CHANNELS) == set(fields["channel"]["enum"])
    assert set(n.DELIVERY) == set(fields["status"]["enum"]) == set(n.BADGES)


def test_what_notify_tells_of_is_a_public_event_or_its_digest() -> None:
    names = {t.split(".")[2] for t in EVENT_TYPES}
    assert set(n.NOTICES) - names == {"Digest"}
    assert n.event_name("csc.notify.Digest.v1") == "Digest"
    assert n.event_name("csc.intake.QualityNotified.v1") == "QualityNotified"


def test_a_page_shows_each_event_once_with_each_of_its_deliveries_newest_first() -> None:
    rows = [
        _notification("e2", "wang.fang", "email", "2026-12-04T02:00:00+00:00"),
        _notification("e2", "qc.group", "wecom", "2026-12-04T02:00:00+00:00"),
        _notification("e1", "wang.fang", "email", "2026-12-04T01:00:00+00:00"),
    ]
    items = n.by_event(rows)
    assert [i["created"] for i in items] == [
        "2026-12-04T02:00:00+00:00",
        "2026-12-04T01:00:00+00:00",
    ]
    assert [(d["handle"], d["channel"]) for d in items[0]["deliveries"]] == [
        ("wang.fang", "email"),
        ("qc.group", "wecom"),
    ]
    assert items[0]["what"] == "QualityNotified" and not items[0]["digest"]


def test_every_notification_is_listed_to_whom_notify_lets_read_them_all() -> None:
    from csc_console import actions
    from csc_notify.application import PERMISSIONS

    assert (
        actions.MAY["read_others_notifications"]
        == (PERMISSIONS.writes["read_others_notifications"][0])
    )
