"""The monthly dashboard (att. 4, 4.6): the month's figures as charts a manager reads at a glance.

The figures are sla's Field Service Monthly Report (``GET /reports/monthly/{month}``, the
one att. 4 prints), twelve months of it for the trend of the 8-hour promises, with the
month's escalations (4.2) counted in the month they were recorded; the follow-ups of 4.6
are last month's entries as intake holds them. Each chart is drawn here as SVG
(``charts.py``) with its table beside it and a link to the rows behind each figure: the
ones sla counted in it (``GET /reports/monthly/{month}/rows``, the figure's own filters),
or for the follow-ups the entries this page counted, by the same ``follow_up_state``.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse

from csc_console import charts, vocab
from csc_console.i18n import gettext
from csc_console.kit import Kit, User
from csc_console.services import Refused
from csc_console.settings import ServiceName

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
TREND_MONTHS = 12
DASHBOARD_DEPARTMENTS = frozenset({"marketing", "auditor", "chief_engineer", "quality"})
"""Whose menu links the dashboard (anyone signed in may open it: the reports are reads)."""
FIGURE = re.compile(r"^[a-z_]+(\.[a-z_]+)?$")
FILE_FIGURES = {
    "opened": "opened", "closed": "closed", "open": "open_at_month_end", "overdue": "overdue",
}  # fmt: skip
"""The dashboard's rows of returns and CAPAs, and the report's figure each is."""


def figure_title(figure: str, key: str = "", state: str = "", of: str = "") -> str:
    """The figure a rows page lists, in the dashboard's own words: its chart, and the bar
    (a kind, a channel, a promise, a state) where one bar's rows are asked for."""
    keyed = {
        "feedback_by_kind": (gettext("Customer feedback by kind"), vocab.ENTRY_KINDS),
        "feedback_by_channel": (gettext("Customer feedback by channel"), vocab.CHANNELS),
        "complaints_by_category": (gettext("Complaints by category"), vocab.CATEGORIES),
    }
    # Breaches: the escalations chart's bar, or (of one promise) the breaches chart's.
    breaches = gettext("Breaches and escalations")
    if figure == "breaches" and key:
        return f"{gettext('Breaches by promise')} · {vocab.label(vocab.CLOCKS, key)}"
    if figure in ("breaches", "escalations"):
        bar = gettext("Breached") if figure == "breaches" else gettext("Escalated")
        return " · ".join(w for w in (breaches, bar, vocab.label(vocab.CLOCKS, key or None)) if w)
    parts = {
        "returns": (gettext("Return cases"), {
            "opened": gettext("Opened in the month"), "closed": gettext("Closed in the month"),
            "open_at_month_end": gettext("Open at the month's end"),
        }),
        "capa": (gettext("CAPAs"), {
            "opened": gettext("Teams convened in the month"),
            "closed": gettext("Closed (D8) in the month"),
            "open_at_month_end": gettext("Open at the month's end"),
            "overdue": gettext("Open with an action overdue"),
        }),
        "replied_within_8h": (gettext("Replies within 8 h"), {
            "started": gettext("The reply clocks started"),
        }),
        "on_site_within_8h": (gettext("On site within 8 h"), {
            "started": gettext("The on-site clocks started"),
        }),
    }  # fmt: skip
    if of == "follow_ups":
        states = {
            "closed": gettext("Followed up and closed"),
            "followed_up": gettext("Followed up, still open"),
            "pending": gettext("Not yet followed up"),
        }
        words = gettext("Follow-ups of last month")
        return f"{words} · {states[state]}" if state in states else words
    if figure in keyed:
        words, labels = keyed[figure]
        return f"{words} · {vocab.label(labels, key)}" if key else words
    group, _, part = figure.partition(".")
    if group in parts:
        words, named = parts[group]
        return f"{words} · {named[part]}" if part in named else words
    return gettext("Rows behind the dashboard")


def month_before(month: str, back: int = 1) -> str:
    year, number = int(month[:4]), int(month[5:7])
    index = year * 12 + number - 1 - back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def follow_up_state(entry: dict[str, Any], month: str) -> str:
    """4.6: where a last month's entry stands by the end of ``month``: closed by a follow-up,
    followed up (still open), or not yet followed up."""
    done = [f for f in entry.get("follow_ups") or [] if str(f.get("at", ""))[:7] <= month]
    if any(f.get("closed") for f in done):
        return "closed"
    return "followed_up" if done else "pending"


def add_dashboard_pages(app: FastAPI, kit: Kit) -> None:
    services = kit.services

    async def report(user: User, month: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await services.get(
                "sla", f"/reports/monthly/{month}", user.token
            )
        except Refused:
            return None
        return result

    def chosen_month(month: str) -> str:
        return month if MONTH.match(month) else f"{datetime.now(UTC):%Y-%m}"

    @app.get("/dashboard", response_class=HTMLResponse)
    async def dashboard(request: Request, month: str = "") -> Response:
        user = kit.current_user(request)
        context = await figures(user, month)
        return kit.render(request, "dashboard.html", **context)

    async def figures(user: User, month: str) -> dict[str, Any]:
        month = chosen_month(month)
        months = [month_before(month, back) for back in reversed(range(TREND_MONTHS))]
        reports = await asyncio.gather(*(report(user, m) for m in months))
        this = reports[-1] or {}
        breaches = this.get("breaches") or []
        escalations = this.get("escalations") or []
        last_month = month_before(month)
        entries = await services.get_all(
            "intake", "/register-entries", user.token, {"month": last_month}
        )
        states = [follow_up_state(e, month) for e in entries]

        def rows_of(table: dict[str, str], counts: dict[str, int]) -> list[tuple[str, str, int]]:
            keys = [k for k in table if k in counts] + [k for k in counts if k not in table]
            return [(k, gettext(table[k]) if k in table else k, counts[k])
                    for k in keys]  # fmt: skip

        kinds = rows_of(vocab.ENTRY_KINDS, this.get("feedback_by_kind") or {})
        channels = rows_of(vocab.CHANNELS, this.get("feedback_by_channel") or {})
        categories = rows_of(vocab.CATEGORIES, this.get("complaints_by_category") or {})
        by_clock: dict[str, int] = {}
        for b in breaches:
            by_clock[b["clock"]] = by_clock.get(b["clock"], 0) + 1
        breach_rows = rows_of(vocab.CLOCKS, by_clock)
        returns = this.get("returns") or {}
        capa = this.get("capa") or {}
        return_rows = [
            ("opened", gettext("Opened in the month"), int(returns.get("opened", 0))),
            ("closed", gettext("Closed in the month"), int(returns.get("closed", 0))),
            ("open", gettext("Open at the month's end"), int(returns.get("open_at_month_end", 0))),
        ]
        capa_rows = [
            ("opened", gettext("Teams convened in the month"), int(capa.get("opened", 0))),
            ("closed", gettext("Closed (D8) in the month"), int(capa.get("closed", 0))),
            ("open", gettext("Open at the month's end"), int(capa.get("open_at_month_end", 0))),
            ("overdue", gettext("Open with an action overdue"), int(capa.get("overdue", 0))),
        ]
        follow_rows = [
            ("closed", gettext("Followed up and closed"), states.count("closed")),
            ("followed_up", gettext("Followed up, still open"), states.count("followed_up")),
            ("pending", gettext("Not yet followed up"), states.count("pending")),
        ]
        escalation_rows = [
            ("breached", gettext("Breached"), len(breaches)),
            ("escalated", gettext("Escalated"), len(escalations)),
        ]

        def share(r: dict[str, Any] | None, key: str) -> float | None:
            value = ((r or {}).get(key) or {}).get("share")
            return float(value) if value is not None else None

        trend = [
            (m, (r or {}).get("replied_within_8h"), (r or {}).get("on_site_within_8h"))
            for m, r in zip(months, reports, strict=True)
        ]

        def bars(chart_id: str, title: str, rows: list[tuple[str, str, int]]) -> Any:
            return charts.bars(chart_id, title, [(name, n) for _, name, n in rows])

        figures = {
            "kinds": bars("chart-kinds", gettext("Customer feedback by kind"), kinds),
            "channels": bars("chart-channels", gettext("Customer feedback by channel"), channels),
            "categories": bars("chart-categories", gettext("Complaints by category"), categories),
            "escalations": bars(
                "chart-breaches", gettext("Breaches and escalations"), escalation_rows
            ),
            "breaches": bars("chart-breach-clocks", gettext("Breaches by promise"), breach_rows),
            "returns": bars("chart-returns", gettext("Return cases"), return_rows),
            "capa": bars("chart-capa", gettext("CAPAs"), capa_rows),
            "follow_ups": bars(
                "chart-follow-ups", gettext("Follow-ups of last month"), follow_rows
            ),
            "trend": charts.shares(
                "chart-trend",
                gettext("Share within 8 hours, 12 months"),
                [
                    (
                        gettext("Replies within 8 h"),
                        [share(r, "replied_within_8h") for r in reports],
                    ),
                    (
                        gettext("On site within 8 h"),
                        [share(r, "on_site_within_8h") for r in reports],
                    ),
                ],
                months,
            ),
        }

        def rows_of_figure(figure: str) -> str:
            return f"/dashboard/rows?month={month}&figure={figure}"

        links = {
            "escalations": {
                "breached": rows_of_figure("breaches"),
                "escalated": rows_of_figure("escalations"),
            },
            **{
                group: {key: rows_of_figure(f"{group}.{FILE_FIGURES[key]}") for key, _, _ in rows}
                for group, rows in (("returns", return_rows), ("capa", capa_rows))
            },
        }
        return dict(
            month=month,
            links=links,
            last_month=last_month,
            report=this,
            found=reports[-1] is not None,
            figures=figures,
            kinds=kinds,
            channels=channels,
            categories=categories,
            escalation_rows=escalation_rows,
            breach_rows=breach_rows,
            return_rows=return_rows,
            capa_rows=capa_rows,
            follow_rows=follow_rows,
            trend=trend,
        )

    @app.get("/dashboard/rows", response_class=HTMLResponse)
    async def dashboard_rows(
        request: Request, month: str = "", figure: str = "", key: str = "", of: str = ""
    ) -> Response:
        """The rows behind one figure: the ones its count counted. sla's figures as sla lists
        them, with the same filters as the report's count; the follow-ups of 4.6 as this
        page counts them, from intake's entries."""
        user = kit.current_user(request)
        month = chosen_month(month)
        rows = await figure_rows(user, month, figure, key, of, request.query_params)
        title = figure_title(figure, key, request.query_params.get("state", ""), of)
        return kit.render(
            request, "dashboard_rows.html", month=month, of=of or figure, key=key, rows=rows,
            title=title,
        )  # fmt: skip

    async def figure_rows(
        user: User, month: str, figure: str, key: str, of: str, query: Any
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        if of == "follow_ups":
            state = query.get("state", "")
            entries = await services.get_all(
                "intake", "/register-entries", user.token, {"month": month_before(month)}
            )
            rows = [
                _entry_row(e) for e in entries if not state or follow_up_state(e, month) == state
            ]
        elif FIGURE.match(figure):
            params = {"figure": figure, **({"key": key} if key else {})}
            try:
                found = await services.get(
                    "sla", f"/reports/monthly/{month}/rows", user.token, params
                )
            except Refused:
                found = []
            rows = [_figure_row(r) for r in found]
        return rows

    # Documents (att. 4 from sla; att. 3 and att. 2 from intake, as csc audit forms makes
    # them), passed on as the service makes them, to download and print.
    DOCUMENTS: dict[str, tuple[ServiceName, str]] = {
        "monthly-report": ("sla", "/reports/monthly/{month}.{kind}"),
        "register": ("intake", "/forms/register.{kind}"),
        "field-service": ("intake", "/forms/field-service.{kind}"),
    }

    @app.get("/documents/{name}.{kind}")
    async def document(request: Request, name: str, kind: str, month: str = "") -> Response:
        user = kit.current_user(request)
        if name not in DOCUMENTS or kind not in ("pdf", "xlsx") or not MONTH.match(month):
            return kit.render(
                request,
                "message.html",
                status_code=404 if name not in DOCUMENTS else 422,
                title=kit.translated(request, "No such document"),
                message=kit.translated(
                    request,
                    "Give a month as YYYY-MM and PDF or XLSX: %(path)s",
                    path=request.url.path,
                ),
            )
        service, path = DOCUMENTS[name]
        params = {"month": month} if name != "monthly-report" else {}
        for key in ("customer", "engineer", "site"):
            if request.query_params.get(key):
                params[key] = request.query_params[key]
        answer = await services.download(
            service, path.format(month=month, kind=kind), user.token, params
        )
        return Response(answer.content, media_type=answer.media_type, headers=answer.headers)


def _figure_row(r: dict[str, Any]) -> dict[str, Any]:
    """One row sla counted in a figure: an entry, a clock, a return case or a CAPA."""
    record = r.get("record")
    if record == "entry":
        return _entry_row({**r, "received_at": r.get("at")})
    if record == "clock":
        what = vocab.label(vocab.CLOCKS, r.get("clock"))
        state = vocab.label(vocab.CLOCK_STATES, r.get("status"))
        return {"case_id": r["case_id"], "at": r.get("at"), "customer": r.get("customer") or {},
                "what": f"{what} · {state}", "text": ""}  # fmt: skip
    # A return case or a CAPA: the months it opened and closed in (att. 4 counts by month).
    months = " – ".join(m for m in (r.get("opened_on") or r.get("opened_month"),
                                    r.get("closed_on") or r.get("closed_month")) if m)  # fmt: skip
    return {
        "case_id": r["case_id"],
        "at": None,
        "customer": r.get("customer") or {},
        "what": " · ".join(x for x in (r.get("capa_no"), months) if x),
        "text": "",
    }


def _entry_row(e: dict[str, Any]) -> dict[str, Any]:
    what = (
        vocab.label(vocab.CATEGORIES, e.get("category"))
        if e.get("entry_type") == "complaint"
        else vocab.label(vocab.ENTRY_KINDS, e.get("kind"))
    )
    return {
        "case_id": e["case_id"],
        "at": e.get("received_at"),
        "customer": e.get("customer") or {},
        "what": f"{what} · {vocab.label(vocab.CHANNELS, e.get('channel'))}",
        "text": e.get("text") or "",
    }
