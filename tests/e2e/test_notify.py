"""Notify through the real path: intake over HTTP → Kafka → notify's store → a real SMTP
server (aiosmtpd) and a real HTTP receiver where the chat robots' webhooks would be."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from csc_contracts import EVENT_TYPES
from csc_devkit.processes import ServiceProcess
from e2e.conftest import Stack
from e2e.notify_support import ChatReceiver, MailServer
from e2e.support import complaint, intake_client, read_topic, wait_until

pytestmark = pytest.mark.integration

CONSOLE = "http://console.example:8000"
DINGTALK_SECRET = "SEC-test-signing-secret"
FEISHU_SECRET = "feishu-test-secret"
IMPACT = {"lines_stopped": 1, "quantity_affected": 40, "remedial_measure": "swap_units"}


@pytest.fixture
def mail() -> Iterator[MailServer]:
    with MailServer() as server:
        yield server


@pytest.fixture
def chat() -> Iterator[ChatReceiver]:
    with ChatReceiver() as receiver:
        yield receiver


def start_notify(stack: Stack, mail: MailServer, **env: str) -> ServiceProcess:
    settings: dict[str, Any] = {
        "CSC_CONSOLE_URL": CONSOLE,
        "CSC_NOTIFY_RETRY_SECONDS": "0.2",
        "CSC_NOTIFY_POLL_SECONDS": "0.05",
        # The morning digest (issue 19) only where a test asks for it: it would add a
        # message to the ones these tests count.
        "CSC_NOTIFY_DIGEST": "false",
        **mail.env(),
        **env,
    }
    return stack.start("notify", **settings)


def directory(stack: Stack, notify: ServiceProcess) -> httpx.Client:
    return httpx.Client(base_url=notify.url, headers=stack.auth("marketing"), timeout=30)


def put(client: httpx.Client, handle: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.put(f"/recipients/{handle}", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def quality_complaint(stack: Stack, intake: ServiceProcess) -> str:
    marketing = intake_client(stack, intake)
    case: str = marketing.post("/complaints", json=complaint(1)).json()["case_id"]
    # 4.4.2: Marketing confirms impact and remedy with the customer, and notifies QC.
    assert marketing.post(f"/register-entries/{case}/quality-impact", json=IMPACT).is_success
    return case


def test_4_4_2_qc_is_told_by_mail_and_chat_in_each_ones_language(
    stack: Stack, mail: MailServer, chat: ChatReceiver
) -> None:
    intake = stack.start("intake")
    notify = start_notify(stack, mail)
    qc = directory(stack, notify)
    put(qc, "wang.fang", {
        "name": "王芳", "department": "quality", "email": "wang.fang@example.cn",
        "language": "zh-CN", "chat": {"kind": "wecom", "url": f"{chat.url}/wecom/send?key=k1"},
    })  # fmt: skip
    put(qc, "anna.berg", {
        "name": "Anna Berg", "department": "quality", "email": "anna.berg@example.com",
        "language": "en",
        "chat": {"kind": "dingtalk", "url": f"{chat.url}/dingtalk/robot/send?access_token=t2",
                 "secret": DINGTALK_SECRET},
    })  # fmt: skip
    shown = put(qc, "qc.lark", {
        "name": "QC group", "department": "quality", "language": "en",
        "chat": {"kind": "feishu", "url": f"{chat.url}/feishu/hook/abc", "secret": FEISHU_SECRET},
    })  # fmt: skip
    assert shown["chat"] == {"kind": "feishu", "url": f"{chat.url}/feishu/hook/abc", "signed": True}
    # A person of Marketing is not told of what the procedure gives QC.
    put(qc, "li.wei", {"name": "Li Wei", "department": "marketing", "email": "li.wei@example.cn"})

    case = quality_complaint(stack, intake)

    mails = wait_until(lambda: mail.mails if len(mail.mails) >= 2 else None, 60, "two mails")
    by_to = {m.to[0]: m for m in mails}
    assert set(by_to) == {"wang.fang@example.cn", "anna.berg@example.com"}
    zh, en = by_to["wang.fang@example.cn"], by_to["anna.berg@example.com"]
    assert zh.message["Subject"].startswith("[CSC 4.4.2] 产品质量投诉通知品管部")
    assert en.message["Subject"].startswith("[CSC 4.4.2] Product-quality complaint for QC")
    assert "Dongfeng Motor" in en.message["Subject"]
    link = f"{CONSOLE}/cases/{case}"
    for m in (zh, en):
        assert m.message.get_content_type() == "multipart/alternative"
        assert link in m.part("plain") and f"href='{link}'" in m.part("html")
    assert "王芳" in zh.part("plain") and "在控制台打开案件" in zh.part("html")
    assert "Open the case in the console" in en.part("plain")
    assert zh.message_id != en.message_id and zh.message_id.endswith("@csc.notify>")

    wecom = wait_until(lambda: chat.at("/wecom/send"), 30, "the WeCom post")
    assert wecom[0].query == {"key": "k1"}
    assert wecom[0].body["msgtype"] == "markdown"
    assert link in wecom[0].body["markdown"]["content"]
    assert "产品质量投诉通知品管部" in wecom[0].body["markdown"]["content"]

    (ding,) = wait_until(lambda: chat.at("/dingtalk/robot/send"), 30, "the DingTalk post")
    # DingTalk's check: HMAC-SHA256 of timestamp + "\n" + secret under the secret, base64.
    string_to_sign = f"{ding.query['timestamp']}\n{DINGTALK_SECRET}".encode()
    digest = hmac.new(DINGTALK_SECRET.encode(), string_to_sign, hashlib.sha256).digest()
    assert ding.query["sign"] == base64.b64encode(digest).decode()
    assert ding.query["access_token"] == "t2"
    assert ding.body["msgtype"] == "markdown"
    assert set(ding.body["markdown"]) == {"title", "text"} and link in ding.body["markdown"]["text"]

    (lark,) = wait_until(lambda: chat.at("/feishu/hook/abc"), 30, "the Feishu post")
    key = f"{lark.body['timestamp']}\n{FEISHU_SECRET}".encode()
    assert (
        lark.body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    )
    assert lark.body["msg_type"] == "text" and link in lark.body["content"]["text"]

    # Each outcome is recorded and published on csc.notify.v1, nothing about Marketing.
    listed = wait_until(
        lambda: (
            [
                n
                for n in qc.get("/notifications", params={"case_id": case}).json()
                if n["status"] == "sent"
            ]
            if len(qc.get("/notifications", params={"status": "sent"}).json()) == 5
            else None
        ),
        30,
        "five notifications sent",
    )
    assert {n["handle"] for n in listed} == {"wang.fang", "anna.berg", "qc.lark"}
    assert {n["clause"] for n in listed} == {"4.4.2"}
    sent = wait_until(
        lambda: (
            [r for r in read_topic(stack.bootstrap, stack.topics.events("notify"))]
            if len(read_topic(stack.bootstrap, stack.topics.events("notify"))) >= 5
            else None
        ),
        30,
        "five NotificationSent on csc.notify.v1",
    )
    types = [dict(r.headers)["ce_type"].decode() for r in sent]
    assert types == ["csc.notify.NotificationSent.v1"] * 5
    assert all(t in EVENT_TYPES for t in types)
    assert len(mail.mails) == 2  # nothing twice


def test_a_refusing_smtp_server_gets_the_mail_after_retries_once(
    stack: Stack, mail: MailServer
) -> None:
    intake = stack.start("intake")
    notify = start_notify(stack, mail)
    qc = directory(stack, notify)
    put(qc, "wang.fang", {"name": "王芳", "department": "quality", "email": "wf@example.cn"})
    mail.refuse("451 4.3.0 Try again later")
    case = quality_complaint(stack, intake)
    wait_until(lambda: mail.refused >= 3, 60, "three refusals")
    mail.refuse(None)
    (one,) = wait_until(lambda: mail.mails, 60, "the mail after the refusals")
    assert one.to == ["wf@example.cn"]

    def sent() -> dict[str, Any] | None:
        rows = qc.get("/notifications", params={"case_id": case}).json()
        return rows[0] if rows and rows[0]["status"] == "sent" else None

    row = wait_until(sent, 30, "the notification recorded sent")
    assert row["attempts"] == mail.refused + 1
    failed = [h for h in row["history"] if h["outcome"] == "failed"]
    assert len(failed) == mail.refused and "451" in failed[0]["reason"]
    assert row["message_id"] == one.message_id
    assert len(mail.mails) == 1


def test_a_server_that_refuses_for_good_dead_letters_then_a_redrive_delivers(
    stack: Stack, mail: MailServer
) -> None:
    intake = stack.start("intake")
    notify = start_notify(stack, mail, CSC_NOTIFY_MAX_ATTEMPTS="3")
    qc = directory(stack, notify)
    put(qc, "wang.fang", {"name": "王芳", "department": "quality", "email": "wf@example.cn"})
    put(qc, "anna.berg", {
        "name": "Anna", "department": "quality", "language": "en",
        "chat": {"kind": "wecom", "url": "http://127.0.0.1:9/unreachable"},
    })  # fmt: skip
    mail.refuse("451 4.7.1 Greylisted")
    quality_complaint(stack, intake)

    def dead() -> list[dict[str, Any]] | None:
        rows = qc.get("/notifications", params={"status": "dead"}).json()
        return rows if len(rows) == 2 else None

    rows = {r["channel"]: r for r in wait_until(dead, 60, "both dead-lettered")}
    assert rows["email"]["attempts"] == 3 and "451 4.7.1 Greylisted" in rows["email"]["last_reason"]
    assert rows["wecom"]["attempts"] == 3 and "wecom webhook" in rows["wecom"]["last_reason"]
    assert mail.mails == []

    # Only Marketing and the Chief Engineer redrive (3).
    email_id = rows["email"]["notification_id"]
    refused = qc.post(f"/notifications/{email_id}/redrive", headers=stack.auth("quality"))
    assert refused.status_code == 403, refused.text
    mail.refuse(None)
    assert qc.post(f"/notifications/{email_id}/redrive").status_code == 200
    (one,) = wait_until(lambda: mail.mails, 60, "the redriven mail")
    assert one.to == ["wf@example.cn"]
    row = wait_until(
        lambda: (r := qc.get(f"/notifications/{email_id}").json())["status"] == "sent" and r,
        30,
        "sent after the redrive",
    )
    assert [h["outcome"] for h in row["history"]] == [
        "failed", "failed", "dead_lettered", "redriven", "sent",
    ]  # fmt: skip
    again = qc.post(f"/notifications/{email_id}/redrive")
    assert again.status_code == 409, again.text


def test_4_2_1_an_unanswered_call_warns_breaches_and_escalates_to_the_right_people(
    stack: Stack, mail: MailServer
) -> None:
    intake = stack.start("intake")
    # The OEM reply clock (4.2.1) shortened to 18 s: warned at 13.5 s, breached at 18 s,
    # escalated 7.2 s later, each live.
    policy = {"oem": {"targets": {"reply": {"hours": 0.005}},
                      "ladder": {"escalate_after_hours": 0.002}}}  # fmt: skip
    sla = stack.start("sla", CSC_SLA_TICK_SECONDS="0.2", CSC_SLA_POLICY=json.dumps(policy))
    notify = start_notify(stack, mail)
    people = directory(stack, notify)
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    # Li Wei's quiet hours are now: her warning waits, her breach and escalation do not.
    quiet = {
        "start": (now - timedelta(hours=1)).strftime("%H:%M"),
        "end": (now + timedelta(hours=2)).strftime("%H:%M"),
        "timezone": "Asia/Shanghai",
    }
    put(people, "li.wei", {"name": "李伟", "department": "marketing", "email": "li.wei@x.cn",
                           "quiet_hours": quiet})  # fmt: skip
    put(people, "zhao.manager", {"name": "Zhao", "department": "marketing", "roles": ["manager"],
                                 "email": "zhao@x.cn", "language": "en"})  # fmt: skip
    put(people, "zhou.qiang", {"name": "周强", "department": "chief_engineer",
                               "email": "zhou.qiang@x.cn"})  # fmt: skip
    marketing = intake_client(stack, intake)
    case = marketing.post("/complaints", json=complaint(1, category="service")).json()["case_id"]

    def reply_mails() -> dict[str, list[str]] | None:
        got: dict[str, list[str]] = {}
        for m in mail.mails:
            if "[CSC 4.2.1]" in m.message["Subject"]:
                got.setdefault(m.to[0], []).append(m.message["Subject"])
        return got if sum(map(len, got.values())) >= 6 else None

    got = wait_until(reply_mails, 120, "the reply clock's mails")
    titles = {to: sorted(s.split("]")[1].split("·")[0].strip() for s in subjects)
              for to, subjects in got.items()}  # fmt: skip
    assert titles == {
        # The owner of the promise: breach and escalation at once, the warning later.
        "li.wei@x.cn": sorted(["时限已超期", "超期升级"]),
        # The manager sla names for a breach (4.2.1), who is of the owning department too.
        "zhao@x.cn": sorted(["Deadline approaching", "Deadline breached", "Deadline escalated"]),
        # The escalation goes to the Chief Engineer (4.2.1's ladder in sla's policy).
        "zhou.qiang@x.cn": ["超期升级"],
    }
    held = [
        n for n in people.get("/notifications", params={"handle": "li.wei"}).json()
        if n["about"]["type"] == "csc.sla.ClockWarned.v1"
    ]  # fmt: skip
    assert [n["status"] for n in held] == ["pending"]
    assert datetime.fromisoformat(held[0]["due"]) > datetime.now(UTC) + timedelta(hours=1)
    assert all(f"/cases/{case}" in m.part("plain") for m in mail.mails)
    # sla's counts name the promise that breached (4.2.1's reply), not only that one did.
    alarms = {
        (sample.name, sample.labels["clock"]): sample.value
        for family in text_string_to_metric_families(httpx.get(f"{sla.url}/metrics").text)
        for sample in family.samples
        if sample.name in ("csc_sla_breaches_total", "csc_sla_escalations_total")
    }
    assert alarms[("csc_sla_breaches_total", "reply")] == 1
    assert alarms[("csc_sla_escalations_total", "reply")] >= 1
    assert alarms[("csc_sla_breaches_total", "on_site")] == 0


def test_notify_killed_while_sending_200_mails_delivers_each_and_resends_only_those_in_doubt(
    stack: Stack,
) -> None:
    with MailServer(delay=0.02) as mail:
        intake = stack.start("intake")
        settings: dict[str, Any] = {
            "CSC_CONSOLE_URL": CONSOLE,
            "CSC_NOTIFY_POLL_SECONDS": "0.05",
            "CSC_NOTIFY_CONCURRENCY": "4",
            **mail.env(),
        }
        notify = stack.start("notify", **settings)
        qc = directory(stack, notify)
        for n in range(100):
            put(qc, f"qc.{n:03d}", {"name": f"QC {n}", "department": "quality",
                                    "email": f"qc.{n:03d}@x.cn", "language": "en"})  # fmt: skip
        marketing = intake_client(stack, intake)
        for n in range(2):
            case = marketing.post("/complaints", json=complaint(n)).json()["case_id"]
            marketing.post(f"/register-entries/{case}/quality-impact", json=IMPACT)
        wait_until(lambda: len(mail.mails) >= 60, 120, "the first 60 of 200 mails")
        notify.kill()  # SIGKILL: no shutdown hook runs
        at_kill = len(mail.mails)
        assert at_kill < 200, "all were sent before the kill: nothing was tested"
        notify = stack.restart(notify, **settings)

        def every_one() -> set[str] | None:
            ids = {m.message_id for m in mail.mails}
            return ids if len(ids) == 200 else None

        wait_until(every_one, 180, "200 distinct Message-IDs")

        def all_sent() -> list[dict[str, Any]] | None:
            rows = qc.get("/notifications", params={"status": "sent", "limit": 1000}).json()
            return rows if len(rows) == 200 else None

        rows = wait_until(all_sent, 60, "200 notifications recorded sent")
        assert {r["message_id"] for r in rows} == {m.message_id for m in mail.mails}
        # Only a mail the server took while notify died before recording it is sent again
        # (SMTP has no exactly-once, RFC 1047): at most one per send in flight (4), each
        # under the Message-ID of the first, so the resend is recognisable.
        twice = [i for i, c in Counter(m.message_id for m in mail.mails).items() if c > 1]
        assert len(twice) <= 4, twice
        assert len(mail.mails) == 200 + len(twice)

        # Each is recorded sent once, and published once on csc.notify.v1.
        def published() -> list[Any] | None:
            records = read_topic(stack.bootstrap, stack.topics.events("notify"))
            return records if len(records) >= 200 else None

        records = wait_until(published, 60, "200 NotificationSent")
        ids = [json.loads(r.value)["notification_id"] for r in records]
        assert len(ids) == len(set(ids)) == 200
