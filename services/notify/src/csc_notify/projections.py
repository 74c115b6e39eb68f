"""The directory and the notifications as tables, folded from notify's own log."""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime
from typing import Any

from csc_messaging.views import Cmp, Column, In, Page, Rows, Table, View, encode_cursor
from csc_notify.domain import (
    PENDING,
    RETRYING,
    ClockFacts,
    Digest,
    Directory,
    Notification,
    WorkingDays,
    recipient_id,
)

N = Notification


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def masked_url(url: str) -> str:
    """A webhook URL with its query's values hidden: WeCom's and DingTalk's tokens are there."""
    parts = urllib.parse.urlsplit(url)
    query = [(k, "***") for k, _ in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query, safe="*")))


def _recipient_row(handle: str, recipient: dict[str, Any]) -> dict[str, Any]:
    chat = recipient.get("chat")
    return {
        "handle": handle,
        "recipient_id": str(recipient_id(handle)),
        **{k: v for k, v in recipient.items() if k != "chat"},
        "chat": {
            "kind": chat["kind"],
            "url": masked_url(chat["url"]),
            "signed": bool(chat.get("secret")),
        }
        if chat
        else None,
    }


class NotifyBoard(View):
    """Recipients by handle; notifications by status and due time, case and recipient;
    sla's open clocks by department (for the morning digest), sla's calendars' working days
    and the digests recorded."""

    name = "notify"
    version = 4
    tables = (
        Table(
            "recipients",
            columns=(Column("handle"), Column("department")),
            key=("handle",),
            indexes=(("department", "handle"),),
        ),
        Table(
            "notifications",
            columns=(
                Column("notification_id"),
                Column("status"),
                Column("due"),
                Column("created"),
                Column("case_id"),
                Column("handle"),
                Column("department"),
            ),
            key=("notification_id",),
            indexes=(
                ("status", "due"),
                ("created",),
                ("status", "created"),
                ("case_id", "created"),
                ("handle", "created"),
                ("department", "created"),
            ),
        ),
        # sla's clocks still open, as csc.sla.v1 told them: a met or stopped one leaves.
        Table(
            "clocks",
            columns=(Column("facts_id"), Column("department"), Column("due_at")),
            key=("facts_id",),
            indexes=(("department", "due_at"),),
        ),
        Table("calendars", columns=(Column("calendar_id"),), key=("calendar_id",)),
        Table(
            "digests",
            columns=(Column("digest_id"), Column("day"), Column("department")),
            key=("digest_id",),
            indexes=(("day", "department"),),
        ),
    )

    def apply(self, event: Any, rows: Rows) -> None:
        if isinstance(event, ClockFacts.Started):
            rows.put(
                "clocks",
                {
                    "clock_id": str(event.clock_id),
                    "facts_id": str(event.originator_id),
                    "case_id": str(event.case_id),
                    "clock": event.clock,
                    "clause": event.clause,
                    "department": event.department,
                    "status": "running",
                    "due_at": _utc(event.due_at),
                    "breached_at": None,
                },
            )
        elif isinstance(event, ClockFacts.Changed):
            row = rows.get("clocks", str(event.originator_id))
            if row is None:
                return
            if not event.open:
                rows.delete("clocks", str(event.originator_id))
                return
            row.update(
                status=event.status,
                due_at=_utc(event.due_at),
                breached_at=_utc(event.breached_at) if event.breached_at else None,
            )
            rows.put("clocks", row)
        elif isinstance(event, WorkingDays.Known | WorkingDays.Revised):
            rows.put(
                "calendars",
                {
                    "calendar_id": str(event.originator_id),
                    "version": event.version,
                    "weekdays": event.weekdays,
                    "holidays": event.holidays,
                    "makeup_days": event.makeup_days,
                },
            )
        elif isinstance(event, Digest.Prepared):
            rows.put(
                "digests",
                {
                    "digest_id": str(event.originator_id),
                    "day": event.day.isoformat(),
                    "department": event.department,
                    "at": _utc(event.at),
                    "hours": event.hours,
                    "due_soon": event.due_soon,
                    "breached": event.breached,
                },
            )
        elif isinstance(event, Directory.RecipientSet):
            rows.put("recipients", _recipient_row(event.handle, event.recipient))
        elif isinstance(event, Directory.RecipientRemoved):
            rows.delete("recipients", event.handle)
        elif isinstance(event, N.Created):
            rows.put(
                "notifications",
                {
                    "notification_id": str(event.originator_id),
                    "status": PENDING,
                    "due": _utc(event.not_before),
                    "created": _utc(event.timestamp),
                    "case_id": event.about["case_id"],
                    "handle": event.handle,
                    "department": event.department,
                    "channel": event.channel,
                    "clause": event.clause,
                    "about": {k: event.about[k] for k in ("event_id", "type", "occurred_at")},
                    "attempts": 0,
                    "last_reason": None,
                    "sent_at": None,
                    "message_id": None,
                    "history": [],
                },
            )
        elif isinstance(event, N.Failed | N.Sent | N.Redriven):
            row = rows.get("notifications", str(event.originator_id))
            if row is None:
                return
            at = _utc(event.timestamp)
            if isinstance(event, N.Sent):
                row.update(status="sent", attempts=event.attempt, due=None)
                row.update(sent_at=_utc(event.at), message_id=event.message_id)
                row["history"].append(
                    {"at": _utc(event.at), "attempt": event.attempt, "outcome": "sent"}
                )
            elif isinstance(event, N.Failed):
                retry_at: datetime | None = event.retry_at
                dead = retry_at is None
                row.update(
                    status="dead" if retry_at is None else RETRYING,
                    attempts=event.attempt,
                    last_reason=event.reason,
                    due=None if retry_at is None else _utc(retry_at),
                )
                row["history"].append(
                    {
                        "at": _utc(event.at),
                        "attempt": event.attempt,
                        "outcome": "dead_lettered" if dead else "failed",
                        "reason": event.reason,
                    }
                )
            else:
                row.update(status=PENDING, due=at)
                row["history"].append({"at": at, "outcome": "redriven", "by": event.actor})
            rows.put("notifications", row)

    def open_clocks(self) -> list[dict[str, Any]]:
        """sla's clocks not met nor stopped, as csc.sla.v1 told them, by department."""
        self.catch_up()
        return list(self.scan("clocks", order=("department", "due_at"), catch_up=False))

    def working_days(self, calendar: str) -> dict[str, Any] | None:
        """sla's calendar ``calendar`` as its latest version told it, if notify knows it."""
        self.catch_up()
        return self.get("calendars", str(WorkingDays.create_id(calendar)))

    def digests(self, day: str | None = None) -> list[dict[str, Any]]:
        self.catch_up()
        where = {"day": day}
        return list(self.scan("digests", where=where, order=("day", "department"), catch_up=False))

    def recipient(self, handle: str) -> dict[str, Any] | None:
        self.catch_up()
        return self.get("recipients", handle)

    def meant_for(self, handle: str, department: str, cursor: str | None, limit: int) -> Page:
        """Notifications to ``handle`` or to anyone of ``department``, newest first: the two
        lists merged, the cursor the place in (created, notification_id) where a page ends."""
        self.catch_up()
        pages = [
            self.page(
                "notifications",
                where={column: value},
                order=("created",),
                descending=True,
                cursor=cursor,
                limit=limit,
            )
            for column, value in (("handle", handle), ("department", department))
        ]
        merged = {row["notification_id"]: row for page in pages for row in page.rows}
        rows = sorted(
            merged.values(), key=lambda r: (r["created"], r["notification_id"]), reverse=True
        )
        more = len(rows) > limit or any(page.next_cursor for page in pages)
        rows = rows[:limit]
        last = rows[-1] if rows else None
        next_cursor = (
            encode_cursor([last["created"], last["notification_id"]]) if more and last else None
        )
        return Page(rows, next_cursor)

    def due_ids(self, now: datetime, limit: int) -> list[str]:
        """Notifications to try now, the longest due first."""
        page = self.page(
            "notifications",
            where={"status": In((PENDING, RETRYING)), "due": Cmp("<=", _utc(now))},
            order=("due",),
            limit=limit,
        )
        return [row["notification_id"] for row in page.rows]
