"""Returns (4.3): replacement of a few units, the whole-batch return through QC's gate, and
the PNPR, as pages of the console over returns' HTTP API.

A return's page (``/returns/{case_id}``) shows the whole-batch return as a stepper: the
customer's request, Marketing asking QC (4.3.2.1), QC confirming or rejecting (4.3.2.2),
Marketing telling the Warehouse to receive, the Warehouse receiving (4.3.2.2), QC's
check on site with its samples (4.3.2.3), then the PNPR's steps (4.3.3). Each step's form
is offered only to the department returns lets take it and only once the case stands
there; the receive form is not offered before QC confirmed, and the page says why. The
work queues of QC, the Warehouse and Marketing get their sections of returns.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse

from csc_console import actions, display, vocab
from csc_console.i18n import N_, gettext
from csc_console.kit import (
    Form,
    Kit,
    Params,
    User,
    form_route,
    local_time,
    optional,
    whole_number,
)
from csc_console.services import Refused
from csc_contracts import PERSON_DEPARTMENTS

BOARD_ROWS = 5
DISPOSITIONS = tuple(vocab.DISPOSITIONS)

# form -> (its path under /returns/{id}/, the action, the statuses it applies in, id prefix)
FORMS: dict[str, tuple[str, str, tuple[str, ...], str]] = {
    "replace": ("replacement", "agree_replacement", ("reported",), "replace-"),
    "ship": ("replacement/shipment", "ship_replacement", ("replacement_agreed",), "ship-"),
    "request": ("request", "request_return", ("reported",), "request-"),
    "ask": ("quality-confirmation-request", "request_confirmation", ("return_requested",), "ask-"),
    "confirm": ("quality-confirmation", "confirm_return", ("awaiting_quality",), "confirm-"),
    "reject": ("quality-rejection", "reject_return", ("awaiting_quality",), "reject-"),
    "authorize": (
        "receipt-authorization",
        "authorize_receipt",
        ("confirmed_by_quality",),
        "authorize-",
    ),
    "receive": ("receipt", "receive_return", ("receipt_authorized",), "receive-"),
    "samples": ("samples", "take_samples", ("received",), "samples-"),
    "more": ("more-samples-request", "request_more_samples", ("received",), "more-"),
    "identify": ("pnpr/identification", "identify_nonconforming", ("sampled",), "identify-"),
    "isolate": ("pnpr/isolation", "isolate_nonconforming", ("identified",), "isolate-"),
    "report": ("pnpr/report", "report_nonconformance", ("isolated",), "report-"),
    "review": ("pnpr/review", "review_nonconformance", ("nonconformance_reported",), "review-"),
    "dispose": ("pnpr/dispositions", "disposition_nonconforming", ("reviewed",), "dispose-"),
}


def is_case_id(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def ids(text: str | None) -> list[str]:
    """Unit or sample ids as typed: separated by commas (also Chinese ones), spaces or lines."""
    return [part for part in re.split(r"[,，、;；\s]+", text or "") if part]


def _board(v: dict[str, str]) -> list[dict[str, str]]:
    rows = []
    for i in range(BOARD_ROWS):
        name = v.get(f"board-{i}-name", "").strip()
        if name:
            rows.append({"name": name, "department": v.get(f"board-{i}-department", "")})
    return rows


def _decision(v: dict[str, str]) -> list[dict[str, Any]]:
    """The review board's lines: units per disposition; a line left empty or 0 is no line."""
    lines = []
    for disposition in DISPOSITIONS:
        quantity = v.get(f"decision-{disposition}", "").strip()
        if quantity and quantity != "0":
            lines.append({"disposition": disposition, "quantity": whole_number(quantity)})
    return lines


# What each form sends to returns: the service path (under /cases/{id}/ unless it opens the
# case) and the body, from the form's values and the viewer's time zone.
BODIES: dict[str, Callable[[str, dict[str, str], str], tuple[str, dict[str, Any]]]] = {
    "replace": lambda case_id, v, tz: (
        "/replacements",
        {
            "case_id": case_id,
            "delivery": optional(v.get("delivery")),
            "lot": v.get("lot", "").strip(),
            "quantity": whole_number(v.get("quantity")),
            "units": ids(v.get("units")),
            "agreed_with": optional(v.get("agreed_with")),
        },
    ),
    "ship": lambda case_id, v, tz: (
        f"/cases/{case_id}/replacement/shipment",
        {
            "quantity": whole_number(v.get("quantity")),
            "lot": v.get("lot", "").strip(),
            "units": ids(v.get("units")),
            "shipped_at": local_time(v.get("shipped_at"), tz),
            "shipping_note": optional(v.get("shipping_note")),
        },
    ),
    "request": lambda case_id, v, tz: (
        "/returns",
        {
            "case_id": case_id,
            "delivery": v.get("delivery", "").strip(),
            "lot": v.get("lot", "").strip(),
            "quantity": whole_number(v.get("quantity")),
            "reason": v.get("reason", ""),
        },
    ),
    "ask": lambda case_id, v, tz: (
        f"/cases/{case_id}/quality-confirmation-request",
        {"note": optional(v.get("note"))},
    ),
    "confirm": lambda case_id, v, tz: (
        f"/cases/{case_id}/quality-confirmation",
        {"finding": v.get("finding", "")},
    ),
    "reject": lambda case_id, v, tz: (
        f"/cases/{case_id}/quality-rejection",
        {"reason": v.get("reason", "")},
    ),
    "authorize": lambda case_id, v, tz: (f"/cases/{case_id}/receipt-authorization", {}),
    "receive": lambda case_id, v, tz: (
        f"/cases/{case_id}/receipt",
        {
            "quantity": whole_number(v.get("quantity")),
            "location": v.get("location", "").strip(),
            "lot": v.get("lot", "").strip(),
            "received_at": local_time(v.get("received_at"), tz),
        },
    ),
    "samples": lambda case_id, v, tz: (
        f"/cases/{case_id}/samples",
        {
            "condition": v.get("condition", ""),
            "sample_count": len(ids(v.get("sample_ids"))) or 1,
            "sample_ids": ids(v.get("sample_ids")),
        },
    ),
    "more": lambda case_id, v, tz: (
        f"/cases/{case_id}/more-samples-request",
        {
            "asked": v.get("asked", ""),
            "quantity": whole_number(v.get("quantity")) if v.get("quantity", "").strip() else None,
            "reason": v.get("reason", ""),
        },
    ),
    "identify": lambda case_id, v, tz: (
        f"/cases/{case_id}/pnpr/identification",
        {"tag": v.get("tag", "").strip()},
    ),
    "isolate": lambda case_id, v, tz: (
        f"/cases/{case_id}/pnpr/isolation",
        {"location": v.get("location", "").strip()},
    ),
    "report": lambda case_id, v, tz: (
        f"/cases/{case_id}/pnpr/report",
        {"description": v.get("description", "")},
    ),
    "review": lambda case_id, v, tz: (
        f"/cases/{case_id}/pnpr/review",
        {"board": _board(v), "decision": _decision(v), "note": optional(v.get("note"))},
    ),
    "dispose": lambda case_id, v, tz: (
        f"/cases/{case_id}/pnpr/dispositions",
        {
            "disposition": v.get("disposition", ""),
            "quantity": whole_number(v.get("quantity")),
            "concession": optional(v.get("concession")),
            "note": optional(v.get("note")),
        },
    ),
}

# The whole-batch return's steps (4.3.2), in order: what records each, who takes it.
WHOLE_BATCH = (
    ("request", N_("The customer asks to return the batch"), "4.3.2", "marketing"),
    ("ask", N_("Marketing asks QC to confirm the problem"), "4.3.2.1", "marketing"),
    ("decide", N_("QC confirms the quality abnormality, or rejects"), "4.3.2.2", "quality"),
    ("authorize", N_("Marketing tells the Warehouse to receive"), "4.3.2.2", "marketing"),
    ("receive", N_("The Warehouse receives the goods"), "4.3.2.2", "warehouse"),
    ("samples", N_("QC checks them on site and picks samples"), "4.3.2.3", "quality"),
    ("pnpr", N_("Nonconforming product processed (PNPR)"), "4.3.3", "quality"),
)
# The PNPR's steps (4.3.3): identified, isolated, reported, reviewed, dispositioned.
PNPR_STEPS = (
    ("identify", N_("Identify: tag the goods as nonconforming"), "quality"),
    ("isolate", N_("Isolate: put them in a quarantine location"), "warehouse"),
    ("report", N_("Report the nonconformance"), "quality"),
    ("review", N_("Review board: decide the units of each disposition"), "quality"),
    ("dispose", N_("Disposition: carry out the board's decision"), "quality"),
)


def whole_batch_steps(case: dict[str, Any]) -> list[dict[str, Any]]:
    """Each step of the return with its record (None while not taken) and its state."""
    quality = case.get("quality") or {}
    decision = quality.get("decision")
    rejected = decision is not None and not decision.get("confirmed")
    pnpr = case.get("pnpr")
    records = {
        "request": case.get("request"),
        "ask": quality.get("requested"),
        "decide": decision,
        "authorize": case.get("receipt_authorized"),
        "receive": case.get("receipt"),
        "samples": case.get("samples"),
        "pnpr": pnpr if case.get("status") == "dispositioned" else None,
    }
    steps, current = [], False
    for key, title, clause, department in WHOLE_BATCH:
        record = records[key]
        if record:
            state = "done"
        elif rejected:
            state = "stopped"
        elif not current:
            state, current = "current", True
        else:
            state = "later"
        steps.append(
            {"key": key, "title": title, "clause": clause, "department": department}
            | {"record": record, "state": state}
        )
    return steps


def pnpr_steps(case: dict[str, Any]) -> list[dict[str, Any]]:
    pnpr = case.get("pnpr") or {}
    records = {
        "identify": pnpr.get("identified"),
        "isolate": pnpr.get("isolated"),
        "report": pnpr.get("reported"),
        "review": pnpr.get("reviewed"),
        "dispose": pnpr if case.get("status") == "dispositioned" else None,
    }
    reached = bool(case.get("samples"))  # the PNPR follows QC's check on site (4.3.2.3)
    steps, current = [], False
    for key, title, department in PNPR_STEPS:
        record = records[key]
        if record:
            state = "done"
        elif reached and not current:
            state, current = "current", True
        else:
            state = "later"
        steps.append(
            {"key": key, "title": title, "department": department}
            | {"record": record, "state": state}
        )
    return steps


def left_to_disposition(case: dict[str, Any]) -> dict[str, int]:
    """Units per disposition the review board decided and not yet dispositioned."""
    pnpr = case.get("pnpr") or {}
    reviewed = pnpr.get("reviewed") or {}
    done: dict[str, int] = {}
    for d in pnpr.get("dispositions") or []:
        done[d["disposition"]] = done.get(d["disposition"], 0) + int(d["quantity"])
    return {
        line["disposition"]: int(line["quantity"]) - done.get(line["disposition"], 0)
        for line in reviewed.get("decision") or []
        if int(line["quantity"]) - done.get(line["disposition"], 0) > 0
    }


def _since(value: object, now: datetime) -> str:
    at = display.parse_time(value)
    return display.duration(now - at) if at else ""


def _pnpr_since(case: dict[str, Any]) -> object:
    """When the PNPR's step QC now takes became QC's to take."""
    pnpr = case.get("pnpr") or {}
    if case["status"] == "sampled":
        return case["samples"]["at"]
    if case["status"] == "isolated":
        return pnpr["isolated"]["at"]
    return pnpr["reported"]["at"]


def _row(
    case: dict[str, Any], since: object, now: datetime, detail: str, location: str | None = None
) -> dict[str, Any]:
    request = case.get("request") or {}
    return {
        "returns": True,
        "case_id": case["case_id"],
        "customer": case.get("customer") or {},
        "product": case.get("product"),
        "lot": request.get("lot") or case.get("lot"),
        "delivery": request.get("delivery"),
        "quantity": (case.get("receipt") or {}).get("quantity") or request.get("quantity"),
        "since": since,
        "age": _since(since, now),
        "location": location,
        "detail": detail,
    }


def quarantine_rows(stock: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Goods in quarantine (4.3.3): where, how many, since when, awaiting what."""
    rows = []
    for s in stock:
        awaiting = vocab.label(vocab.QUARANTINE_AWAITING, s.get("awaiting"))
        if s.get("awaiting_dispositions"):
            awaiting += ": " + ", ".join(
                f"{vocab.label(vocab.DISPOSITIONS, d)} {n}"
                for d, n in s["awaiting_dispositions"].items()
            )
        rows.append(
            {
                "returns": True,
                "case_id": s["case_id"],
                "customer": s.get("customer") or {},
                "product": s.get("product"),
                "lot": s.get("lot"),
                "delivery": None,
                "quantity": s.get("quantity"),
                "since": s.get("isolated_at"),
                "age": _since(s.get("isolated_at"), now),
                "location": s.get("location"),
                "detail": gettext("%(tag)s · awaiting %(what)s", tag=s.get("tag"), what=awaiting),
            }
        )
    return rows


Sections = list[tuple[str, str, list[dict[str, Any]]]]


async def queue_sections(kit: Kit, user: User, sections: Sections) -> Sections:
    """The work queue's sections of returns for the user's department, beside its others:
    QC's (4.3.2.1, 4.3.2.3) after its own, the Warehouse's (4.3.2.2, 4.3.3) first."""
    before, after = await returns_sections(kit, user)
    return [*before, *sections, *after]


async def returns_sections(kit: Kit, user: User) -> tuple[Sections, Sections]:
    """The sections of returns for the user's department: those shown before its others,
    and those after (``queue_sections``); read while the queue reads its own."""
    department, now = user.department, datetime.now(UTC)

    async def cases(status: str) -> list[dict[str, Any]]:
        return await kit.services.get_all("returns", "/cases", user.token, {"status": status})

    if department == "quality":
        asked, received, pnpr = await asyncio.gather(
            cases("awaiting_quality"),
            cases("received"),
            asyncio.gather(cases("sampled"), cases("isolated"), cases("nonconformance_reported")),
        )
        next_step = {
            "sampled": gettext("to identify (tag)"),
            "isolated": gettext("to report"),
            "nonconformance_reported": gettext("to review"),
        }
        return [], [
            (
                "returns-confirm",
                gettext("Returns awaiting QC's confirmation (4.3.2.1)"),
                [
                    _row(c, c["quality"]["requested"]["at"], now, c["request"]["reason"])
                    for c in asked
                ],
            ),
            (
                "returns-check",
                gettext("Returned goods to check on site, samples to take (4.3.2.3)"),
                [_row(c, c["receipt"]["at"], now, "", c["receipt"]["location"]) for c in received],
            ),
            (
                "returns-pnpr",
                gettext("PNPRs waiting for QC (4.3.3)"),
                [
                    _row(
                        c,
                        _pnpr_since(c),
                        now,
                        next_step[c["status"]],
                        (c["pnpr"].get("isolated") or {}).get("location"),
                    )
                    for batch in pnpr
                    for c in batch
                ],
            ),
        ]
    if department == "warehouse":
        authorized, identified, stock = await asyncio.gather(
            cases("receipt_authorized"),
            cases("identified"),
            kit.services.get_all("returns", "/quarantine", user.token),
        )
        quarantine = quarantine_rows(stock, now)
        return [
            (
                "returns-receive",
                gettext("Returns authorized to receive (4.3.2.2)"),
                [_row(c, c["receipt_authorized"]["at"], now, "") for c in authorized],
            ),
            (
                "returns-isolate",
                gettext("Nonconforming goods to isolate (4.3.3)"),
                [
                    _row(c, c["pnpr"]["identified"]["at"], now, c["pnpr"]["identified"]["tag"])
                    | {"location": c["receipt"]["location"]}
                    for c in identified
                ],
            ),
            ("returns-quarantine", gettext("Goods in quarantine (4.3.3)"), quarantine),
        ], []
    if department == "marketing":
        requested, confirmed = await asyncio.gather(
            cases("return_requested"), cases("confirmed_by_quality")
        )
        rows = [
            _row(c, c["request"]["at"], now, gettext("to ask QC to confirm (4.3.2.1)"))
            for c in requested
        ] + [
            _row(
                c,
                c["quality"]["decision"]["at"],
                now,
                gettext("QC confirmed: to tell the Warehouse to receive (4.3.2.2)"),
            )
            for c in confirmed
        ]
        return [], [("returns-marketing", gettext("Returns waiting for Marketing"), rows)]
    if department == "production":
        # 4.3.3: rework and repair are done in Production, which records them.
        stock = await kit.services.get_all("returns", "/quarantine", user.token)
        work = [
            s for s in stock if {"rework", "repair"} & set(s.get("awaiting_dispositions") or {})
        ]
        return [
            (
                "returns-rework",
                gettext("Returned goods to rework or repair (4.3.3)"),
                quarantine_rows(work, now),
            ),
        ], []
    return [], []


def add_returns_pages(app: FastAPI, kit: Kit) -> None:
    async def return_case(user: User, case_id: str) -> dict[str, Any] | None:
        try:
            case: dict[str, Any] = await kit.services.get(
                "returns", f"/cases/{case_id}", user.token
            )
        except Refused as exc:
            if exc.problem.status in (404, 422):
                return None
            raise
        return case

    async def page(
        request: Request, case_id: str, shown: dict[str, Form] | None = None, status_code: int = 200
    ) -> Response:
        user = kit.current_user(request)
        case = await return_case(user, case_id) if is_case_id(case_id) else None
        if case is None:
            return kit.render(
                request,
                "message.html",
                status_code=404,
                title=kit.translated(request, "No such return"),
                message=kit.translated(
                    request,
                    "Returns has no case %(id)s: a return is opened from a quality complaint "
                    "or a quality problem in the Register.",
                    id=case_id,
                ),
            )
        forms = {name: Form() for name in FORMS}
        status = case["status"]
        request_ = case.get("request") or {}
        # What a form starts from: what the case already says.
        forms["receive"].values = {
            "lot": request_.get("lot", ""),
            "quantity": str((case.get("receipt_authorized") or {}).get("quantity", "")),
        }
        forms["request"].values = {"lot": case.get("lot") or ""}
        forms["replace"].values = {"lot": case.get("lot") or ""}
        left = left_to_disposition(case)
        first = next(iter(left), "")
        forms["dispose"].values = {"disposition": first, "quantity": str(left.get(first, ""))}
        forms |= shown or {}
        offered: dict[str, bool] = {}
        for name, (_, action, states, prefix) in FORMS.items():
            forms[name].prefix = prefix
            applies = actions.may(user.department, action) and status in states
            # A refused form is shown again, offered or not: its refusal and input are kept.
            offered[name] = applies or forms[name].problem is not None
        received = int((case.get("receipt") or {}).get("quantity") or 0)
        return kit.render(
            request,
            "returns_case.html",
            status_code=status_code,
            case=case,
            case_id=case_id,
            forms=forms,
            offered=offered,
            paths={name: path for name, (path, _, _, _) in FORMS.items()},
            steps=whole_batch_steps(case),
            pnpr_steps=pnpr_steps(case),
            received=received,
            left=left,
            board_rows=range(BOARD_ROWS),
            departments=[d.value for d in PERSON_DEPARTMENTS],
            dispositions=DISPOSITIONS,
        )

    @app.get("/returns/{case_id}", response_class=HTMLResponse)
    async def return_page(request: Request, case_id: str) -> Response:
        return await page(request, case_id)

    @app.get("/returns/{case_id}/card", response_class=HTMLResponse)
    async def return_card(request: Request, case_id: str) -> Response:
        """The case page's card of its return (empty when returns has no case of it)."""
        user = kit.current_user(request)
        case = await return_case(user, case_id) if is_case_id(case_id) else None
        if case is None:
            return HTMLResponse("")
        return kit.render(
            request, "returns_card.html", case=case, case_id=case_id, steps=whole_batch_steps(case)
        )

    @app.get("/returns/{case_id}/pnpr.{kind}")
    async def pnpr_document(request: Request, case_id: str, kind: str) -> Response:
        """The PNPR as returns prints it (4.3.3), PDF or spreadsheet, with the user's token."""
        user = kit.current_user(request)
        if kind not in ("pdf", "xlsx") or not is_case_id(case_id):
            return kit.render(
                request,
                "message.html",
                status_code=404,
                title=kit.translated(request, "No such document"),
                message=kit.translated(request, "A case's PNPR is printed as PDF or XLSX."),
            )
        answer = await kit.services.get_bytes(
            "returns", f"/cases/{case_id}/pnpr.{kind}", user.token
        )
        headers = {}
        if "content-disposition" in answer.headers:
            headers["Content-Disposition"] = answer.headers["content-disposition"]
        return Response(
            answer.content,
            media_type=answer.headers.get("content-type", "application/octet-stream"),
            headers=headers,
        )

    def step_route(name: str) -> None:
        path, action, _, _ = FORMS[name]

        def show(request: Request, params: Params, form: Form, status: int) -> Awaitable[Response]:
            return page(request, params["case_id"], {name: form}, status)

        form_route(
            kit, app, f"/returns/{{case_id}}/{path}", service="returns", action=action,
            send=lambda p, v, tz: BODIES[name](p["case_id"], v, tz),
            show=show, done=lambda p, _: f"/returns/{p['case_id']}#step-{name}",
        )  # fmt: skip

    for name in FORMS:
        step_route(name)
