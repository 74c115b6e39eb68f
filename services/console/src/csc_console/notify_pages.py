"""Each user's notifications: what notify told them, and their department, of the procedure.

- ``/notifications/new``: the header's count of the ones made since the page was last
  opened (the session keeps when the newest one shown was made);
- ``/notifications``: notify's ``GET /notifications/mine`` with the user's own token (their
  own, as a recipient of the directory by user name, and those to anyone of their
  department), newest first, a page at a time (``Link: rel="next"``). A page shows each
  event once: when, what (the clause and the procedure's words), the case, and each
  delivery of it (who, over which channel, sent / retrying / dead-lettered with the reason).

Marketing, the Chief Engineer and auditors read every notification (3): for them the page
also lists all of them (``?view=all``, notify's ``GET /notifications?order=newest``), and an
auditor, whom nobody notifies, sees all of them first.

notify decides who may read what; the page shows what it answers.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse

from csc_console.actions import may
from csc_console.i18n import N_
from csc_console.kit import Kit

PAGE = 50
"""Notifications a page reads: each event's deliveries are shown together."""
NEW_AT_MOST = 20
"""The header counts the new ones up to this many (then "20+"): one small read a page."""
SEEN = "notifications_seen"
"""The session's key: when the newest notification the user saw on the page was made."""

# What a notification tells of, in the procedure's words (notify's own headlines, by the
# event's name in its ce_type ``csc.<service>.<Name>.v<n>``).
NOTICES = {
    "EngineeringNotified": N_("Customer information for Engineering"),  # 4.1.2
    "ImportantInformationReported": N_("Important information for the Chief Engineer"),  # 4.1.3
    "QualityNotified": N_("Product-quality complaint for QC"),  # 4.4.2
    "ReturnConfirmationRequested": N_("Whole-batch return: QC to confirm"),  # 4.3.2.1
    "ReturnReceiptAuthorized": N_("Warehouse to receive returned goods"),  # 4.3.2.2
    "ReturnReceived": N_("Returned goods are in: QC to confirm and sample"),  # 4.3.2.3
    "ClockWarned": N_("Deadline approaching"),
    "ClockBreached": N_("Deadline breached"),
    "ClockEscalated": N_("Deadline escalated"),
    "Digest": N_("Deadlines this morning"),
}
CHANNELS = {
    "email": N_("E-mail"),
    "wecom": N_("WeCom"),
    "dingtalk": N_("DingTalk"),
    "feishu": N_("Feishu"),
}
DELIVERY = {
    "pending": N_("waiting to be sent"),
    "retrying": N_("retrying"),
    "sent": N_("sent"),
    "dead": N_("dead-lettered"),
}
BADGES = {"pending": "running", "retrying": "warned", "sent": "met", "dead": "breached"}
"""The colour of each delivery state, beside its word (never colour alone)."""


def event_name(ce_type: str) -> str:
    """``csc.intake.QualityNotified.v1`` -> ``QualityNotified``."""
    parts = ce_type.split(".")
    return parts[2] if len(parts) == 4 else ce_type


def by_event(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The page's notifications, one item per event told of (newest first, as read), with
    each of its deliveries: one per recipient and channel."""
    items: dict[str, dict[str, Any]] = {}
    for row in rows:
        about = row["about"]
        item = items.setdefault(
            about["event_id"],
            {
                "created": row["created"],
                "what": event_name(about["type"]),
                "clause": row["clause"],
                "case_id": row["case_id"],
                "digest": event_name(about["type"]) == "Digest",
                "deliveries": [],
            },
        )
        item["deliveries"].append(row)
    return list(items.values())


def add_notify_pages(app: FastAPI, kit: Kit) -> None:
    services = kit.services

    @app.get("/notifications", response_class=HTMLResponse)
    async def my_notifications(
        request: Request,
        cursor: str | None = None,
        view: Literal["mine", "all"] | None = None,
    ) -> Response:
        # A cursor is notify's: one it cannot read is its 422, shown as a refusal.
        user = kit.current_user(request)
        reads_all = may(user.department, "read_others_notifications")
        shown = view or ("all" if user.department == "auditor" else "mine")
        params: dict[str, Any] = {"limit": PAGE}
        if cursor:
            params["cursor"] = cursor
        if shown == "all":  # notify refuses it to those who may not (3), shown as a refusal
            params["order"] = "newest"
        path = "/notifications" if shown == "all" else "/notifications/mine"
        rows, following = await services.get_page("notify", path, user.token, params)
        if shown == "mine" and cursor is None and rows:
            request.session[SEEN] = max(str(r["created"]) for r in rows)
        return kit.render(
            request,
            "notifications.html",
            items=by_event(rows),
            following=following,
            first=cursor is None,
            view=shown,
            reads_all=reads_all,
            me=user.user,
            notices=NOTICES,
            channels=CHANNELS,
            delivery=DELIVERY,
            badges=BADGES,
        )

    @app.get("/notifications/new", response_class=HTMLResponse)
    async def new_notifications(request: Request) -> Response:
        """The header's count of those made since the user last opened the page (a part of
        the page, loaded after it)."""
        user = kit.current_user(request)
        rows, _ = await services.get_page(
            "notify", "/notifications/mine", user.token, {"limit": NEW_AT_MOST + 1}
        )
        seen = str(request.session.get(SEEN) or "")
        # An event told of counts once, however many it went to and over how many channels.
        new = len({r["about"]["event_id"] for r in rows if str(r["created"]) > seen})
        return kit.render(
            request, "_notifications_new.html", new=min(new, NEW_AT_MOST), more=new > NEW_AT_MOST
        )
