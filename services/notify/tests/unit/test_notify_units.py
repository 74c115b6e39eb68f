"""Notify fed by hand, as its topics would feed it: who is told, when, in which words."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import Tracking

import csc_contracts as pub
from csc_contracts import Actor, Department
from csc_messaging.rules import Forbidden
from csc_messaging.settings import ServiceSettings
from csc_messaging.store import eventsourcing_env
from csc_notify.application import Backoff, NotifyApplication, authorize_reading
from csc_notify.channels import chat_request, dingtalk_sign, feishu_sign
from csc_notify.commands import RecipientIn
from csc_notify.domain import DEAD, PENDING, RETRYING, SENT, Notification, quiet_until
from csc_notify.messages import render
from csc_notify.projections import NotifyBoard, masked_url
from csc_notify.public import to_public

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
MARKETING = Actor(user="li.wei", department=Department.MARKETING)


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.now = T0
        self.app = NotifyApplication(
            env=eventsourcing_env(ServiceSettings(data_dir=tmp_path), "notify"),
            now=lambda: self.now,
            backoff=Backoff(attempts=3, first=timedelta(seconds=10)),
        )
        self.board = NotifyBoard(self.app)
        self.offsets: Iterator[int] = count(1)

    def feed(self, event: pub.PublicEvent, offset: int | None = None) -> None:
        position = next(self.offsets) if offset is None else offset
        self.app.apply_public(event, Tracking(f"csc.{event.service}.v1:0", position))

    def person(self, handle: str, department: str, **more: object) -> None:
        body = {"name": handle.title(), "department": department, "email": f"{handle}@x.cn"}
        self.app.set_recipient(handle, RecipientIn.model_validate({**body, **more}), MARKETING)

    def notifications(self) -> list[dict[str, Any]]:
        return self.board.page("notifications", order=("created",)).rows


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.app.close()


def envelope(case_id: object = None) -> dict[str, object]:
    return {
        "event_id": uuid4(),
        "case_id": case_id or uuid4(),
        "occurred_at": T0,
        "actor": {"user": "li.wei", "department": "marketing"},
    }


def quality_notified() -> pub.QualityNotified:
    return pub.QualityNotified(**envelope())


def warned(clock: str = "qc_contact", department: str = "quality") -> pub.ClockWarned:
    return pub.ClockWarned(
        **envelope(),
        clock_id=uuid4(),
        clock=clock,
        clause="4.4.3",
        at=T0,
        notify_department=department,
    )


def test_4_4_2_qc_is_told_of_a_quality_complaint_once_per_channel(world: World) -> None:
    world.person("wang.fang", "quality", chat={"kind": "wecom", "url": "http://h/send?key=k"})
    world.person("li.wei", "marketing")
    event = quality_notified()
    world.feed(event)
    rows = world.notifications()
    assert sorted((r["handle"], r["channel"], r["clause"]) for r in rows) == [
        ("wang.fang", "email", "4.4.2"),
        ("wang.fang", "wecom", "4.4.2"),
    ]
    # The same event read again (a redelivery before its position was stored) makes none.
    world.feed(event)
    assert len(world.notifications()) == 2


def test_3_each_person_reads_their_own_and_their_departments_newest_first(
    world: World,
) -> None:
    world.person("wang.fang", "quality")
    world.person("anna.berg", "quality")
    world.person("zhao.lei", "warehouse")
    for _ in range(3):
        world.feed(quality_notified())
        world.now += timedelta(minutes=1)
    world.feed(pub.ReturnReceiptAuthorized(**envelope(), quantity=5, lot="L1", clause="4.3.2.2"))
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:  # two a page: the handle's and the department's lists merged across pages
        page = world.board.meant_for("wang.fang", "quality", cursor, 2)
        seen.extend(page.rows)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == 6 and {r["department"] for r in seen} == {"quality"}
    created = [r["created"] for r in seen]
    assert created == sorted(created, reverse=True)
    assert len({r["notification_id"] for r in seen}) == 6
    # The Warehouse's own, to someone not in the directory by that name: its department's.
    assert len(world.board.meant_for("sun.li", "warehouse", None, 10).rows) == 1

    qc = Actor(user="wang.fang", department=Department.QUALITY)
    authorize_reading(qc, handle="wang.fang", department=None)
    authorize_reading(qc, handle=None, department="quality")
    for handle, department in (("anna.berg", None), (None, "warehouse"), (None, None)):
        with pytest.raises(Forbidden, match=r"^3: read others notifications is for auditor"):
            authorize_reading(qc, handle=handle, department=department)
    auditor = Actor(user="ma.jun", department=Department.AUDITOR)
    authorize_reading(auditor, handle="anna.berg", department=None)


def test_each_step_of_the_procedure_tells_its_department(world: World) -> None:
    for handle, department in (("chen.jie", "engineering"), ("zhou.qiang", "chief_engineer"),
                               ("wang.fang", "quality"), ("sun.li", "warehouse"),
                               ("li.wei", "marketing")):  # fmt: skip
        world.person(handle, department)
    step = {"clause": "4.3.2"}
    world.feed(pub.EngineeringNotified(**envelope()))
    world.feed(pub.ImportantInformationReported(**envelope(), reason="Line stopped at the OEM"))
    world.feed(pub.ReturnConfirmationRequested(**envelope(), **step))
    world.feed(pub.ReturnReceiptAuthorized(**envelope(), **step, quantity=40, lot="L1"))
    world.feed(
        pub.ReturnReceived(
            **envelope(), **step, quantity=40, location="Q-1", lot="L1", received_at=T0
        )
    )
    told = sorted((r["clause"], r["handle"]) for r in world.notifications())
    assert told == [
        ("4.1.2", "chen.jie"),
        ("4.1.3", "zhou.qiang"),
        ("4.3.2.1", "wang.fang"),
        ("4.3.2.2", "sun.li"),
        ("4.3.2.3", "wang.fang"),
    ]


def test_breach_goes_to_the_manager_sla_names_and_the_clock_owner(world: World) -> None:
    world.person("li.wei", "marketing")
    world.person("boss", "marketing", roles=["manager"])
    world.person("wang.fang", "quality")
    world.person("zhou.qiang", "chief_engineer")
    common = {**envelope(), "clock_id": uuid4(), "clock": "qc_contact", "clause": "4.4.3"}
    world.feed(pub.ClockBreached(**common, at=T0, notify_department="marketing"))
    assert {r["handle"] for r in world.notifications()} == {"boss", "wang.fang"}
    world.feed(
        pub.ClockEscalated(
            **{**common, "event_id": uuid4()}, at=T0, level=1, notify_department="chief_engineer"
        )
    )
    assert {r["handle"] for r in world.notifications()} == {"boss", "wang.fang", "zhou.qiang"}


def test_warnings_wait_for_quiet_hours_breaches_do_not(world: World) -> None:
    night = {"start": "08:00", "end": "18:00", "timezone": "Asia/Shanghai"}  # T0 is 09:00 there
    world.person("wang.fang", "quality", quiet_hours=night)
    world.feed(warned())
    (row,) = world.notifications()
    assert row["due"] == datetime(2026, 11, 24, 10, 0, tzinfo=UTC).isoformat()  # 18:00 local
    common = {**envelope(), "clock_id": uuid4(), "clock": "qc_contact", "clause": "4.4.3"}
    world.feed(pub.ClockBreached(**common, at=T0, notify_department="quality"))
    assert sorted(r["due"] for r in world.notifications())[0] == T0.isoformat()


def test_a_warning_found_late_tells_nobody(world: World) -> None:
    world.person("wang.fang", "quality")
    world.feed(pub.ClockWarned(**{**warned().model_dump(), "found_late": True}))
    assert world.notifications() == []


def test_quiet_hours_across_midnight() -> None:
    night = {"start": "22:00", "end": "07:00", "timezone": "Asia/Shanghai"}
    at_23 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    assert quiet_until(night, at_23) == datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
    at_3 = datetime(2026, 11, 24, 19, 0, tzinfo=UTC)
    assert quiet_until(night, at_3) == datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
    assert quiet_until(night, T0) is None


def test_failures_back_off_then_dead_letter_then_redrive(world: World) -> None:
    world.person("wang.fang", "quality")
    world.feed(quality_notified())
    (row,) = world.notifications()
    nid = row["notification_id"]
    note = world.app.notification(UUID(str(nid)))
    assert note is not None and note.status == PENDING
    world.app.record_failed(note.id, reason="451 busy", permanent=False, recipient=None)
    assert world.board.get("notifications", nid)["status"] == RETRYING  # type: ignore[index]
    assert world.board.due_ids(T0, 10) == []
    assert world.board.due_ids(T0 + timedelta(seconds=10), 10) == [nid]
    world.app.record_failed(note.id, reason="451 busy", permanent=False, recipient=None)
    world.app.record_failed(note.id, reason="451 still busy", permanent=False, recipient=None)
    dead = world.board.get("notifications", nid)
    assert dead is not None and dead["status"] == DEAD and dead["last_reason"] == "451 still busy"
    public = [to_public(e) for e in world.app.events.get(note.id)]
    failed = [p for p in public if isinstance(p, pub.NotificationFailed)]
    assert [f.dead_lettered for f in failed] == [False, False, True]
    with pytest.raises(Forbidden):
        world.app.redrive(note.id, Actor(user="x", department=Department.QUALITY))
    world.app.redrive(note.id, MARKETING)
    world.app.record_sent(note.id, message_id="<m@x>", recipient={"name": "Wang Fang"})
    done = world.board.get("notifications", nid)
    assert done is not None and done["status"] == SENT and done["attempts"] == 4
    sent = to_public(list(world.app.events.get(note.id))[-1])
    assert isinstance(sent, pub.NotificationSent) and sent.message_id == "<m@x>"


def test_dingtalk_signature_as_documented() -> None:
    secret, ms = "SECabc", 1_700_000_000_000
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{ms}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert dingtalk_sign(secret, ms) == expected
    message = render(_about(), "4.4.2", {"name": "W", "language": "en"}, "http://console")
    url, body = chat_request(
        "dingtalk", "http://h/robot/send?access_token=t", secret, message, ms / 1000
    )
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert query == {"access_token": "t", "timestamp": str(ms), "sign": expected}
    assert body["msgtype"] == "markdown" and "http://console/cases/" in body["markdown"]["text"]


def test_feishu_signature_as_documented() -> None:
    secret, seconds = "s3cret", 1_700_000_000
    key = f"{seconds}\n{secret}".encode()
    expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert feishu_sign(secret, seconds) == expected
    message = render(_about(), "4.4.2", {"name": "W", "language": "zh-CN"}, "http://c")
    _, body = chat_request("feishu", "http://h/hook/x", secret, message, seconds)
    assert body["timestamp"] == str(seconds) and body["sign"] == expected
    assert body["msg_type"] == "text" and "产品质量投诉" in body["content"]["text"]


def _about() -> dict[str, object]:
    return {
        "type": "csc.intake.QualityNotified.v1",
        "event_id": str(uuid4()),
        "case_id": str(uuid4()),
        "occurred_at": T0.isoformat(),
        "fields": {"notified_department": "quality"},
    }


def test_messages_speak_the_recipients_language() -> None:
    zh = render(_about(), "4.4.2", {"name": "王芳", "language": "zh-CN"}, "http://c/")
    en = render(_about(), "4.4.2", {"name": "Ann", "language": "en"}, "http://c/")
    assert "产品质量投诉通知品管部" in zh.subject and "Product-quality complaint" in en.subject
    assert "在控制台打开案件" in zh.html and "Open the case in the console" in en.text


def test_webhook_keys_are_hidden_when_read() -> None:
    assert masked_url("https://qyapi/send?key=abc") == "https://qyapi/send?key=***"


def test_a_recipient_nothing_could_reach_is_refused() -> None:
    with pytest.raises(ValueError, match="email or a chat"):
        RecipientIn.model_validate({"name": "X", "department": "quality"})
    with pytest.raises(ValueError, match="WeCom"):
        RecipientIn.model_validate(
            {
                "name": "X",
                "department": "quality",
                "chat": {"kind": "wecom", "url": "http://h", "secret": "s"},
            }
        )


def test_notification_ids_are_stable() -> None:
    about = _about()
    a = Notification.create_id(about, "wang.fang", "email")
    assert a == Notification.create_id(dict(about), "wang.fang", "email")
    assert a != Notification.create_id(about, "wang.fang", "wecom")
