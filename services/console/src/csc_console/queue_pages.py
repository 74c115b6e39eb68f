"""The work queues: the first page each department sees after sign-in.

A queue is sections, each read in its own order from an index of the service that owns
it: the reply clocks soonest due first (4.2.1, "due in < 2 h" on top), the open entries
newest first, the inboxes of 4.1.2 and 4.1.3. A section shows its first page of rows
(``CSC_CONSOLE_QUEUE_PAGE``, 50), and says when there are more: ``/queue/{section}``
pages through the rest, so a queue costs the same few requests at a thousand cases as at
a million.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from itsdangerous import BadSignature, URLSafeSerializer

from csc_console import capa_pages, display, returns_pages, vocab
from csc_console.i18n import gettext, ngettext
from csc_console.kit import OPEN_CLOCKS, Kit, User
from csc_console.services import Refused

_CASES_AT_ONCE = 50
"""Cases named in one request (the services take at most 100)."""
VIEWS_COOKIE = "csc_views"
VIEWS_COOKIE_DAYS = 400
VIEWS_MAX = 20
VIEWS_COOKIE_BYTES = 3800
"""Under the 4,096 bytes a browser keeps of one cookie, with its name and attributes."""
CUSTOMER_CODE_MAX = 40  # as intake takes a customer's code
VIEW_NAME_MAX = 60
BY_CUSTOMER = frozenset({"breached", "due", "new", "on-site", "open"})
"""The sections that read one customer's rows when asked (a view of one's own)."""
_BREACHED = ("breached", "escalated")
_DUE = ("running", "warned", "paused")  # a paused reply is still owed

Rows = list[dict[str, Any]]
Builder = Callable[[str | None], Awaitable[tuple[Rows, str | None]]]
"""A section's rows after a cursor (None: the first page), and the next page's cursor."""


def entry_row(entry: dict[str, Any], clock: dict[str, Any] | None) -> dict[str, Any]:
    """A Register entry as a queue's row, with the clock shown beside it."""
    if entry.get("entry_type") == "complaint":
        kind = vocab.label(vocab.CATEGORIES, entry.get("category"))
    else:
        kind = vocab.label(vocab.ENTRY_KINDS, entry.get("kind"))
    return {
        "case_id": entry["case_id"],
        "customer": entry.get("customer") or {},
        "summary": entry.get("text") or "",
        "product": entry.get("product"),
        "recorded_at": entry.get("recorded_at"),
        "kind": kind,
        "clock": clock,
    }


def _chunks(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def add_queue_pages(app: FastAPI, kit: Kit) -> None:
    services, settings = kit.services, kit.settings

    async def page(
        user: User, service: Any, path: str, cursor: str | None, **params: Any
    ) -> tuple[Rows, str | None]:
        query = {k: v for k, v in params.items() if v is not None}
        query["limit"] = settings.console_queue_page
        if cursor is not None:
            query["cursor"] = cursor
        return await services.get_page(service, path, user.token, query)

    async def of_cases(
        user: User, service: Any, path: str, cases: Sequence[str], **params: Any
    ) -> Rows:
        """Every row of ``path`` for these cases, a few dozen cases a request."""
        unique = list(dict.fromkeys(cases))
        found = await asyncio.gather(
            *(
                services.get_all(service, path, user.token, {**params, "case_id": chunk})
                for chunk in _chunks(unique, _CASES_AT_ONCE)
            )
        )
        return [row for rows in found for row in rows]

    async def clocks_by_case(
        user: User, kind: str, cases: Sequence[str], states: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """The clock of one promise for each case (the latest started, where several)."""
        clocks = await of_cases(
            user, "sla", "/clocks", cases, clock=kind, status=list(states), limit=1000
        )
        return {c["case_id"]: c for c in clocks}

    async def open_entries_of(user: User, cases: Sequence[str]) -> dict[str, dict[str, Any]]:
        entries = await of_cases(
            user, "intake", "/register-entries", cases, status="open", limit=1000
        )
        return {e["case_id"]: e for e in entries}

    def by_clock(
        user: User, kind: str, states: Sequence[str], customer: str | None = None
    ) -> Builder:
        """The open entries whose clock of ``kind`` is in ``states``, soonest due first."""

        async def build(cursor: str | None) -> tuple[Rows, str | None]:
            clocks, more = await page(
                user, "sla", "/clocks", cursor, clock=kind, status=list(states), order="due",
                customer=customer,
            )  # fmt: skip
            entries = await open_entries_of(user, [c["case_id"] for c in clocks])
            rows = [entry_row(entries[c["case_id"]], c) for c in clocks if c["case_id"] in entries]
            return rows, more

        return build

    def newest_open(
        user: User, *, replied: bool | None = None, customer: str | None = None
    ) -> Builder:
        """The open entries newest first, each with its reply clock (4.2.1): met says it
        was replied to. ``replied``: only those replied to (or not)."""

        async def build(cursor: str | None) -> tuple[Rows, str | None]:
            entries, more = await page(
                user, "intake", "/register-entries", cursor, status="open", order="newest",
                customer=customer, replied=None if replied is None else str(replied).lower(),
            )  # fmt: skip
            replies = await clocks_by_case(
                user, "reply", [e["case_id"] for e in entries], [*OPEN_CLOCKS, "met", "stopped"]
            )
            return [entry_row(e, replies.get(e["case_id"])) for e in entries], more

        return build

    def inbox(user: User, path: str, kind: str | None) -> Builder:
        """An inbox of intake's (4.1.2, 4.1.3), newest first; with its clock, the page's
        rows soonest due first."""

        async def build(cursor: str | None) -> tuple[Rows, str | None]:
            entries, more = await page(user, "intake", path, cursor)
            clocks: dict[str, dict[str, Any]] = {}
            if kind is not None:
                cases = [e["case_id"] for e in entries]
                clocks = await clocks_by_case(user, kind, cases, OPEN_CLOCKS)
            rows = [entry_row(e, clocks.get(e["case_id"])) for e in entries]
            if kind is not None:
                now = datetime.now(UTC)
                rows.sort(key=lambda r: display.urgency(r["clock"], now))
            return rows, more

        return build

    def to_contact(user: User) -> Builder:
        """4.4.3: QC contacts the customer of every quality complaint."""

        async def build(cursor: str | None) -> tuple[Rows, str | None]:
            found, more = await page(
                user, "capa", "/investigations", cursor, status="investigating"
            )
            waiting = [inv for inv in found if not inv.get("contacts")]
            clocks = await clocks_by_case(
                user, "qc_contact", [inv["case_id"] for inv in waiting], OPEN_CLOCKS
            )
            rows = [
                {
                    "case_id": inv["case_id"],
                    "customer": inv.get("customer") or {},
                    "summary": inv.get("description") or "",
                    "product": inv.get("product"),
                    "recorded_at": inv.get("opened_at"),
                    "kind": vocab.label(vocab.CATEGORIES, "quality"),
                    "clock": clocks.get(inv["case_id"]),
                }
                for inv in waiting
            ]
            now = datetime.now(UTC)
            rows.sort(key=lambda r: display.urgency(r["clock"], now))
            return rows, more

        return build

    def investigations(user: User, status: str) -> Builder:
        """QC's investigations in one state (4.4.3, 4.4.4), in the order capa lists them."""

        async def build(cursor: str | None) -> tuple[Rows, str | None]:
            found, more = await page(user, "capa", "/investigations", cursor, status=status)
            rows = [
                {
                    "case_id": inv["case_id"],
                    "customer": inv.get("customer") or {},
                    "summary": inv.get("description") or "",
                    "product": inv.get("product"),
                    "recorded_at": inv.get("reported_at"),
                    "kind": inv.get("capa_no") or vocab.label(vocab.CATEGORIES, "quality"),
                    "clock": None,
                }
                for inv in found
            ]
            return rows, more

        return build

    def follow_ups(user: User) -> Builder:
        """4.6: earlier months' entries still to follow up, oldest month first."""

        async def build(cursor: str | None) -> tuple[Rows, str | None]:
            try:
                tasks, more = await page(user, "sla", "/follow-up-tasks", cursor)
            except Refused:
                return [], None
            rows = [
                {
                    "case_id": t["case_id"],
                    "customer": t.get("customer") or {},
                    "summary": ngettext(
                        "Received in %(month)s; %(num)d follow-up so far",
                        "Received in %(month)s; %(num)d follow-ups so far",
                        len(t.get("follow_ups") or []),
                        month=t.get("month"),
                    ),
                    "product": None,
                    "recorded_at": None,
                    "kind": vocab.label(vocab.ENTRY_TYPES, t.get("entry_type")),
                    "clock": None,
                }
                for t in tasks
            ]
            return rows, more

        return build

    def due_schedule(user: User, which: str, today: date) -> Builder:
        """4.5 / 4.1.5: the customers whose visit or survey is due within 30 days or late
        (a row a customer: read whole, soonest first)."""

        async def build(cursor: str | None) -> tuple[Rows, str | None]:
            try:
                rows = await services.get_all("sla", f"/schedules/{which}", user.token)
            except Refused:
                return [], None
            due = [r for r in rows if r.get("status") in ("overdue", "due")]
            due.sort(key=lambda r: str(r.get("due_on")))
            return [
                {"schedule": which, "customer": {"code": r["code"], "name": r.get("name")}}
                | {"last": r.get("last"), "due_on": r.get("due_on")}
                | {"badge": display.day_badge(r, today)}
                for r in due
            ], None

        return build

    def sections_of(
        user: User, today: date, customer: str | None = None
    ) -> list[tuple[str, str, Builder]]:
        """The department's sections, in the order the queue shows them; ``customer``: only
        that customer's rows, in the sections that read by customer (``BY_CUSTOMER``)."""
        department = user.department
        if department == "quality":
            return [("contact", gettext("Quality complaints to contact (4.4.3)"), to_contact(user))]
        if department == "engineering":
            notified = inbox(user, "/inbox/engineering", None)
            return [("notified", gettext("Entries notified to Engineering (4.1.2)"), notified)]
        if department == "chief_engineer":
            important = inbox(user, "/inbox/chief-engineer", "important_ack")
            title = gettext("Important information to acknowledge (4.1.3)")
            return [("important", title, important)]
        if department == "after_sales":
            # 4.2.2: on site within 8 hours of the request, soonest due first; 4.6: at the
            # start of every month, last month's feedback followed up.
            return [
                ("on-site", gettext("On-site requests (4.2.2)"),
                 by_clock(user, "on_site", OPEN_CLOCKS, customer)),
                ("follow-ups", gettext("Follow-ups of earlier months (4.6)"), follow_ups(user)),
                ("open", gettext("Open register entries"),
                 newest_open(user, customer=customer)),
            ]  # fmt: skip
        if department != "marketing":
            return [
                ("open", gettext("Open register entries"),
                 newest_open(user, customer=customer)),
            ]  # fmt: skip
        # Marketing (4.2.1): the overdue first, then replies due soonest ("< 2 h" on top),
        # then the rest, newest first.
        return [
            ("breached", gettext("Replies overdue"),
             by_clock(user, "reply", _BREACHED, customer)),
            ("due", gettext("Replies due"), by_clock(user, "reply", _DUE, customer)),
            # Replied to, still open: those waiting for a reply are in the two above.
            ("new", gettext("Other open entries"),
             newest_open(user, replied=True, customer=customer)),
            ("follow-ups", gettext("Follow-ups of earlier months (4.6)"), follow_ups(user)),
            ("visits", gettext("Customer visits due (4.5)"), due_schedule(user, "visits", today)),
            ("surveys", gettext("Satisfaction surveys due (4.1.5)"),
             due_schedule(user, "surveys", today)),
        ]  # fmt: skip

    def paged_only(user: User) -> list[tuple[str, str, Builder]]:
        """Sections the queue shows elsewhere (capa_queue) whose rest pages here."""
        if user.department != "quality":
            return []
        return [
            ("capa-investigating", gettext("Investigations: investigating"),
             investigations(user, "investigating")),
            ("capa-confirmed", gettext("Investigations: confirmed"),
             investigations(user, "confirmed")),
        ]  # fmt: skip

    async def field_days_due(user: User) -> list[dict[str, Any]]:
        """4.1.4: the OEM sites an after-sales engineer is working at with no record of today.

        On site for an open case (4.2.2) whose visit has not ended, or on site yesterday by
        the engineer's own record: today's record is due until one is written. The day is
        the site's own (as intake reads a work_date).
        """
        now = datetime.now(UTC)
        entries, all_customers = await asyncio.gather(
            services.get_all(
                "intake", "/register-entries", user.token,
                {"status": "open", "on_site": "true", "limit": 1000},
            ),
            services.get_all("intake", "/customers", user.token),
        )  # fmt: skip
        customers = {c["code"]: c for c in all_customers if c.get("oem")}

        def zone_of(code: str, site: str | None = None) -> str | None:
            sites = customers.get(code, {}).get("sites") or []
            named = [s for s in sites if s.get("name") == site] or sites
            return named[0].get("timezone") if named else None

        def today_at(tz: str | None) -> date:
            return now.astimezone(display.zone(tz, settings.console_site_timezone)).date()

        zones = {zone_of(code, s.get("name")) for code, c in customers.items() for s in c["sites"]}
        todays = {today_at(tz) for tz in zones | {None}}
        days = sorted(todays | {d - timedelta(days=1) for d in todays})
        found = await asyncio.gather(
            *(
                services.get_all(
                    "intake",
                    "/field-service-records",
                    user.token,
                    {"kind": "daily", "work_date": d.isoformat()},
                )
                for d in days
            )
        )
        records = [r for batch in found for r in batch]
        due: dict[tuple[str, str], dict[str, Any]] = {}
        for e in entries:
            code = (e.get("customer") or {}).get("code", "")
            on_site = e.get("on_site")
            if not on_site or code not in customers:
                continue
            today = today_at(zone_of(code))
            visits = on_site.get("visits") or []
            ended = visits and all(
                (display.parse_time(v.get("departed_at")) or now)
                .astimezone(display.zone(zone_of(code), settings.console_site_timezone))
                .date()
                < today
                for v in visits
            )
            written = any(
                r["customer"]["code"] == code and r["work_date"] == today.isoformat()
                for r in records
            )
            if not ended and not written:
                sites = customers[code].get("sites") or []
                due.setdefault(
                    (code, ""),
                    {"customer": customers[code], "work_date": today.isoformat(),
                     "site": sites[0]["name"] if len(sites) == 1 else "",
                     "case_id": e["case_id"], "last": None},
                )  # fmt: skip
        for r in records:
            code, site = r["customer"]["code"], r["site"]
            if r["engineer"] != user.user or code not in customers:
                continue
            today = today_at(zone_of(code, site))
            if r["work_date"] != (today - timedelta(days=1)).isoformat():
                continue
            if any(
                o["customer"]["code"] == code and o["site"] == site and o["engineer"] == user.user
                and o["work_date"] == today.isoformat()
                for o in records
            ):  # fmt: skip
                continue
            due.pop((code, ""), None)  # the site is known: one row says it
            due[(code, site)] = {
                "customer": customers[code], "site": site, "work_date": today.isoformat(),
                "case_id": None, "last": r,
            }  # fmt: skip
        return sorted(due.values(), key=lambda d: (d["customer"]["code"], d["site"]))

    def today_of(request: Request) -> date:
        zone = display.zone(kit.viewer_tz(request), settings.console_site_timezone)
        return datetime.now(UTC).astimezone(zone).date()

    async def queue_page(request: Request, template: str) -> HTMLResponse:
        user = kit.current_user(request)
        built = sections_of(user, today_of(request))

        async def no_field_days() -> list[dict[str, Any]] | None:
            return None

        # Every part of the page at once: each waits on a service of its own.
        pages, (before, after), capa, field_days = await asyncio.gather(
            asyncio.gather(*(build(None) for _, _, build in built)),
            returns_pages.returns_sections(kit, user),
            capa_pages.capa_queue(kit, user, kit.viewer_tz(request)),
            # 4.1.4: the OEM sites whose record of today is still to write.
            field_days_due(user) if user.department == "after_sales" else no_field_days(),
        )
        sections = [
            (key, title, rows) for (key, title, _), (rows, _) in zip(built, pages, strict=True)
        ]
        more = {
            key: cursor for (key, _, _), (_, cursor) in zip(built, pages, strict=True) if cursor
        }
        context: dict[str, Any] = {"sections": [*before, *sections, *after], "capa": capa}
        if field_days is not None:
            context["field_days"] = field_days
        return kit.render(request, template, more=more, views=kept_views(request, user), **context)

    @app.get("/", response_class=HTMLResponse)
    async def queue(request: Request) -> HTMLResponse:
        return await queue_page(request, "queue.html")

    @app.get("/queue/rows", response_class=HTMLResponse)
    async def queue_fragment(request: Request) -> HTMLResponse:
        return await queue_page(request, "_queue_rows.html")

    @app.get("/queue/{section}", response_class=HTMLResponse)
    async def queue_section(
        request: Request,
        section: str,
        cursor: str | None = None,
        customer: Annotated[str | None, Query(max_length=200)] = None,
    ) -> HTMLResponse:
        """One section of the queue, a page at a time (``cursor``: where the last ended),
        of one customer where the section reads by customer."""
        user = kit.current_user(request)
        chosen = (customer or "").strip() or None
        if section not in BY_CUSTOMER:
            chosen = None
        found = [
            s
            for s in [*sections_of(user, today_of(request), chosen), *paged_only(user)]
            if s[0] == section
        ]
        if not found:
            return kit.render(
                request,
                "message.html",
                status_code=404,
                title=gettext("Not found"),
                message=gettext("Your work queue has no section %(name)s.", name=section),
            )
        key, title, build = found[0]
        rows, more = await build(cursor)
        return kit.render(
            request,
            "queue_section.html",
            sections=[(key, title, rows)],
            more={key: more} if more else {},
            more_query={"customer": chosen} if chosen else {},
            section=key,
            title=title,
            first=cursor is None,
            customer=chosen,
            by_customer=key in BY_CUSTOMER,
        )

    # ---- a user's own views: a section of one customer, named and kept in this browser --

    @app.post("/queue/views")
    async def save_view(request: Request) -> Response:
        user = kit.current_user(request)
        form = await request.form()
        kit.check_csrf(request, form)
        name = str(form.get("name") or "").strip()
        section = str(form.get("section") or "")
        customer = str(form.get("customer") or "").strip()
        known = {key for key, _, _ in sections_of(user, today_of(request))}
        problem = None
        if section not in known or section not in BY_CUSTOMER:
            problem = gettext("Your work queue has no section %(name)s.", name=section)
        elif not customer:
            problem = gettext("A view of your own names the customer it shows.")
        elif not name or len(name) > VIEW_NAME_MAX or len(customer) > CUSTOMER_CODE_MAX:
            problem = gettext("Give the view a name of 1 to %(n)d characters.", n=VIEW_NAME_MAX)
        target = f"/queue/{section}?{urlencode({'customer': customer})}"
        if problem is not None:
            return kit.render(
                request,
                "message.html",
                status_code=422,
                title=gettext("The view was not saved"),
                message=problem,
            )
        views = [v for v in kept_views(request, user) if v["name"] != name]
        views = [{"name": name, "section": section, "customer": customer}, *views]
        kept = views_cookie.dumps({"user": user.user, "views": views[:VIEWS_MAX]})
        if len(kept) > VIEWS_COOKIE_BYTES:  # a browser drops a larger cookie, and every view
            return kit.render(
                request,
                "message.html",
                status_code=422,
                title=gettext("The view was not saved"),
                message=gettext("This browser keeps no more views: remove one first."),
            )
        response = RedirectResponse(target, status_code=303)
        keep_views(response, user, views[:VIEWS_MAX])
        return response

    @app.post("/queue/views/delete")
    async def delete_view(request: Request) -> Response:
        user = kit.current_user(request)
        form = await request.form()
        kit.check_csrf(request, form)
        name = str(form.get("name") or "")
        views = [v for v in kept_views(request, user) if v["name"] != name]
        response = RedirectResponse("/", status_code=303)
        keep_views(response, user, views)
        return response

    views_cookie = URLSafeSerializer(settings.session_secret(), salt="csc-console-views")

    def kept_views(request: Request, user: User) -> list[dict[str, str]]:
        """The user's views kept in this browser (a cookie signed by the console: a view
        is a link, never a permission: the services check each read)."""
        raw = request.cookies.get(VIEWS_COOKIE)
        if not raw:
            return []
        try:
            kept = views_cookie.loads(raw)
        except BadSignature:
            return []
        if not isinstance(kept, dict) or kept.get("user") != user.user:
            return []
        views = kept.get("views")
        return [
            v for v in views if isinstance(v, dict) and {"name", "section", "customer"} <= set(v)
        ] if isinstance(views, list) else []  # fmt: skip

    def keep_views(response: Response, user: User, views: list[dict[str, str]]) -> None:
        response.set_cookie(
            VIEWS_COOKIE,
            views_cookie.dumps({"user": user.user, "views": views}),
            max_age=VIEWS_COOKIE_DAYS * 86400,
            httponly=True,
            samesite="lax",
            secure=settings.console_secure_cookies,
        )
