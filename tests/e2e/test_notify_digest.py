"""Issue 19 through the real path: the morning digest of each department's deadlines.

intake's HTTP -> Kafka -> sla's clocks -> csc.sla.v1 -> notify's own view of them -> at
the digest time, one mail per recipient of the promise's department (a real SMTP
server, aiosmtpd) -> restarted the same morning, notify sends nothing again.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import httpx
import pytest

from e2e.conftest import Stack
from e2e.notify_support import Mail, MailServer
from e2e.support import complaint, intake_client, read, wait_until
from e2e.test_notify import CONSOLE, directory, put, start_notify
from e2e.test_sla import iso
from e2e.test_sla_calendars import sla_records

pytestmark = pytest.mark.integration

SITE = "Asia/Shanghai"
TITLE = "Deadlines this morning"


def test_issue_19_each_department_gets_one_digest_a_morning_and_a_restart_sends_none(
    stack: Stack,
) -> None:
    with MailServer() as mail:
        intake = stack.start("intake")
        sla = stack.start("sla", CSC_SLA_TICK_SECONDS="0.2", CSC_SLA_SETTLING_SECONDS="0")
        marketing = intake_client(stack, intake)
        now = datetime.now(UTC)
        # OEM replies within 8 h (4.2.1): due in 3 h, breached an hour ago, due in 7 h.
        cases = {}
        for n, (name, ago) in enumerate((("soon", 5), ("breached", 9), ("later", 1))):
            body = complaint(n, category="service", received_at=iso(now - timedelta(hours=ago)))
            posted = marketing.post("/complaints", json=body)
            assert posted.status_code == 201, posted.text
            cases[name] = posted.json()["case_id"]

        def status(case: str) -> str | None:
            found = read(f"{sla.url}/cases/{case}/clocks")
            return found.json()[0]["status"] if found.is_success and found.json() else None

        wait_until(lambda: status(cases["breached"]) == "breached", 30, "the breach")
        assert status(cases["soon"]) == "running" and status(cases["later"]) == "running"

        # The digest goes some seconds from now, site time, whatever the weekday (a notify
        # that starts later than that, on a loaded machine, sends it at once: still before
        # UNTIL, and once).
        local = datetime.now(ZoneInfo(SITE))
        at = (local + timedelta(seconds=20)).time().replace(microsecond=0)
        until = min(clock_time(23, 59, 59), (local + timedelta(hours=1)).time())
        settings = {
            "CSC_NOTIFY_DIGEST": "true",
            "CSC_NOTIFY_DIGEST_AT": at.isoformat(),
            "CSC_NOTIFY_DIGEST_UNTIL": until.replace(microsecond=0).isoformat(),
            "CSC_NOTIFY_DIGEST_TIMEZONE": SITE,
            "CSC_NOTIFY_DIGEST_CALENDAR": "",  # every day of the week, not sla's calendar
            "CSC_NOTIFY_DIGEST_WEEKDAYS": "[0, 1, 2, 3, 4, 5, 6]",
            "CSC_NOTIFY_DIGEST_POLL_SECONDS": "0.5",
            "CSC_NOTIFY_DIGEST_HOURS": "4",  # the one due in 3 h is listed, in 7 h is not
        }
        notify = start_notify(stack, mail, **settings)
        people = directory(stack, notify)
        put(people, "li.wei", {"name": "Li Wei", "department": "marketing",
                               "email": "li.wei@x.cn", "language": "en"})  # fmt: skip
        put(people, "zhao.lei", {"name": "赵磊", "department": "after_sales",
                                 "email": "zhao.lei@x.cn"})  # fmt: skip

        def digests() -> list[Mail]:
            return [m for m in mail.mails if TITLE in m.message["Subject"]]

        (digest,) = wait_until(digests, 60, "the morning digest")
        assert digest.to == ["li.wei@x.cn"]  # after-sales has no clock: no message
        assert (
            f"[CSC 4.2.1] {TITLE} · Marketing · {local.date().isoformat()}"
            in (digest.message["Subject"])
        )
        text = digest.part("plain")
        due_soon, breached = text.split("Breached and still open")
        assert "Due within 4 h (1)" in due_soon and f"/cases/{cases['soon']}" in due_soon
        assert "(1)" in breached and f"/cases/{cases['breached']}" in breached
        assert cases["later"] not in text
        sent = people.get("/notifications", params={"handle": "li.wei"}).json()
        assert [n["about"]["type"] for n in sent] == ["csc.notify.Digest.v1"]

        # Restarted the same morning: its digest is recorded, nothing goes again.
        notify = stack.restart(notify, CSC_CONSOLE_URL=CONSOLE, **mail.env(), **settings)
        time.sleep(3)  # several digest ticks
        assert len(digests()) == 1
        again = directory(stack, notify).get("/notifications", params={"handle": "li.wei"})
        assert [n["status"] for n in again.json()] == ["sent"]


WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def test_issue_19_the_digest_goes_on_a_make_up_day_of_sla_calendar(stack: Stack) -> None:
    """Today is off by the week, in sla's calendar and in notify's own weekdays, but the
    calendar makes it a make-up day (调休): the digest goes, as the calendar says."""
    with MailServer() as mail:
        intake = stack.start("intake")
        sla = stack.start("sla", CSC_SLA_TICK_SECONDS="0.2", CSC_SLA_SETTLING_SECONDS="0")
        local = datetime.now(ZoneInfo(SITE))
        today = local.weekday()
        calendar = {
            "week": {d: ["08:30-17:30"] for n, d in enumerate(WEEK) if n != today},
            "makeup_days": [local.date().isoformat()],
            "makeup_windows": ["08:30-17:30"],
        }
        changed = httpx.put(
            f"{sla.url}/calendars/default",
            json={"calendar": calendar, "reason": "today is worked for a holiday"},
            headers=stack.auth("marketing", "li.wei", manager=True),
        )
        assert changed.status_code == 200, changed.text
        wait_until(
            lambda: any(n == "CalendarVersionRecorded" and b["calendar_version"] == 2
                        for n, b in sla_records(stack)),
            30, "the calendar on csc.sla.v1",
        )  # fmt: skip
        body = complaint(1, category="service", received_at=iso(local - timedelta(hours=9)))
        breached = intake_client(stack, intake).post("/complaints", json=body)
        assert breached.status_code == 201, breached.text

        at = (local + timedelta(seconds=20)).time().replace(microsecond=0)
        until = min(clock_time(23, 59, 59), (local + timedelta(hours=1)).time())
        notify = start_notify(
            stack,
            mail,
            CSC_NOTIFY_DIGEST="true",
            CSC_NOTIFY_DIGEST_AT=at.isoformat(),
            CSC_NOTIFY_DIGEST_UNTIL=until.replace(microsecond=0).isoformat(),
            CSC_NOTIFY_DIGEST_TIMEZONE=SITE,
            # Without the calendar, today would have no digest.
            CSC_NOTIFY_DIGEST_WEEKDAYS=str([n for n in range(7) if n != today]),
            CSC_NOTIFY_DIGEST_POLL_SECONDS="0.5",
        )
        li_wei = {"name": "Li Wei", "department": "marketing", "email": "li.wei@x.cn"}
        put(directory(stack, notify), "li.wei", li_wei | {"language": "en"})
        (digest,) = wait_until(
            lambda: [m for m in mail.mails if TITLE in m.message["Subject"]], 90, "the digest"
        )
        assert local.date().isoformat() in digest.message["Subject"]
        assert breached.json()["case_id"] in digest.part("plain")
