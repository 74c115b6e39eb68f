"""QC's investigation (4.4.3) and its CAPA as a guided 8D (4.4.4, 4.3.4), over capa's HTTP API.

The page of one case's investigation: QC's contacts with the customer and its
requests for samples or photos, the evidence received (uploaded here, each file
shown with its SHA-256 and photos as thumbnails), QC's finding, then the 8D's
disciplines D0 to D8, each its own section saying who recorded what, and the
report in the customer's format, the 8D or the company's CPAR, previewed and
downloadable. A form is offered only to the departments capa lets record it
(``actions.py``, as ``csc_capa.permissions``), narrowed as capa narrows it: an
8D step to QC and the departments on the team QC convened (4.4.4), an action's
implementation to its owner's department and the team leader's (4.3.4). The
work queues get the investigations by state and the overdue actions (QC) and
each department's own open actions (everyone on a CAPA team).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse
from starlette.datastructures import UploadFile

from csc_console import actions, display
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
from csc_console.services import Problem, Refused

# 4.4.4: the cross-functional team has at least these departments (capa's TEAM_DEPARTMENTS).
TEAM_DEPARTMENTS = ("marketing", "development", "engineering", "production")
TEAM_ROWS = 6  # member rows the team form offers
UPDATE_ROWS = 3  # document rows the D7 form offers
EVIDENCE_KINDS = {
    "samples": N_("samples"),
    "photos": N_("photos"),
    "videos": N_("videos"),
    "measurements": N_("measurement reports"),
}
STATUSES = {
    "investigating": N_("investigating"),
    "not_confirmed": N_("not confirmed"),
    "misuse": N_("misuse"),
    "confirmed": N_("confirmed"),
    "in_progress": N_("CAPA under way"),
    "closed": N_("closed"),
}
OPEN_STATUSES = ("investigating", "confirmed", "in_progress")
FINISHED = ("not_confirmed", "misuse", "closed")
OUTCOMES = {
    "confirmed": N_("Confirmed genuine"),
    "not_confirmed": N_("Not confirmed"),
    "misuse": N_("Misuse by the customer (4.2.3)"),
}
FORMATS = {
    "customer": N_("The customer's own format"),
    "8d": N_("8D report"),
    "cpar": N_("Corrective/Preventive Action Request (CPAR)"),
}
FORMAT_SOURCES = {
    "case": N_("chosen for this case"),
    "customer": N_("the customer's registered format"),
    "default": N_("the company's form, as no other is asked for"),
}
ACTION_KINDS = {"corrective": N_("corrective"), "preventive": N_("preventive")}
DOCUMENT_KINDS = {
    "standard": N_("standard"),
    "fmea": N_("FMEA"),
    "control_plan": N_("control plan"),
    "work_instruction": N_("work instruction"),
}
# Each form of the page: what goes before its fields' ids (one page shows them all).
FORMS = {
    "contact": "contact-",
    "evidence_request": "evreq-",
    "evidence": "evidence-",
    "confirm": "confirm-",
    "not_confirm": "notconfirm-",
    "misuse": "misuse-",
    "d0": "d0-",
    "team": "team-",
    "d2": "d2-",
    "d3": "d3-",
    "d4": "d4-",
    "d5": "d5-",
    "effectiveness": "eff-",
    "d7": "d7-",
    "d8": "d8-",
    "report_format": "format-",
    "customer_format": "customer-format-",
}


def _day(value: str | None) -> str | None:
    return (value or "").strip() or None


def _person(v: dict[str, str], prefix: str) -> dict[str, str]:
    return {
        "name": v.get(f"{prefix}name", "").strip(),
        "department": v.get(f"{prefix}department", ""),
    }


def team_body(v: dict[str, str], tz: str) -> dict[str, Any]:
    """D1: the leader and the member rows that have a name (empty rows are left out)."""
    members = []
    for i in range(TEAM_ROWS):
        member: dict[str, Any] = _person(v, f"member_{i}_")
        if not member["name"]:
            continue
        member["role"] = optional(v.get(f"member_{i}_role"))
        members.append(member)
    return {"leader": _person(v, "leader_"), "members": members}


def team_problem(problem: Problem) -> Problem:
    """Too few members, said as the rule of 4.4.4 rather than "give at least one"."""
    errors = tuple(
        replace(
            e,
            type="team_too_small",
            msg=gettext(
                "The team needs at least four members besides its leader, among them "
                "Marketing, Development, Engineering and Production (4.4.4)."
            ),
        )
        if e.field == "members" and e.type == "too_short"
        else e
        for e in problem.errors
    )
    return replace(problem, errors=errors)


def prevention_body(v: dict[str, str], tz: str) -> dict[str, Any]:
    updates = [
        {
            "kind": v.get(f"update_{i}_kind", ""),
            "reference": v.get(f"update_{i}_reference", "").strip(),
            "change": v.get(f"update_{i}_change", ""),
        }
        for i in range(UPDATE_ROWS)
        if v.get(f"update_{i}_reference", "").strip() or v.get(f"update_{i}_change", "").strip()
    ]
    return {"updates": updates, "note": optional(v.get("note"))}


# capa's path, the page's form, the action (actions.MAY), and the body from the form.
STEPS: dict[str, tuple[str, str, Callable[[dict[str, str], str], dict[str, Any]]]] = {
    "contacts": (
        "contact",
        "capa_contact_customer",
        lambda v, tz: {
            "contacted_at": local_time(v.get("contacted_at"), tz),
            "contact": v.get("contact", "").strip(),
            "means": v.get("means", "").strip(),
            "summary": v.get("summary", ""),
        },
    ),
    "evidence-requests": (
        "evidence_request",
        "capa_request_evidence",
        lambda v, tz: {
            "kinds": [k for k in EVIDENCE_KINDS if v.get(f"kind_{k}")]
            + [
                k.strip()
                for k in v.get("other_kinds", "").replace("，", ",").split(",")
                if k.strip()
            ],
            "details": v.get("details", ""),
            "due": _day(v.get("due")),
        },
    ),
    "confirmation": ("confirm", "capa_confirm", lambda v, tz: {"finding": v.get("finding", "")}),
    "non-confirmation": (
        "not_confirm",
        "capa_not_confirm",
        lambda v, tz: {"reason": v.get("reason", "")},
    ),
    "misuse": ("misuse", "capa_find_misuse", lambda v, tz: {"finding": v.get("finding", "")}),
    "d0/emergency-response": (
        "d0",
        "capa_record_emergency_response",
        lambda v, tz: {"actions": v.get("actions", "")},
    ),
    "team": ("team", "capa_convene_team", team_body),
    "d2/problem": (
        "d2",
        "capa_describe_problem",
        lambda v, tz: {
            k: v.get(k, "") for k in ("what", "where", "when", "who", "why", "how", "how_many")
        },
    ),
    "d3/containment": (
        "d3",
        "capa_record_containment",
        lambda v, tz: {
            "actions": v.get("actions", ""),
            "scope": v.get("scope", ""),
            "quantity": whole_number(v.get("quantity")) if v.get("quantity", "").strip() else None,
        },
    ),
    "d4/root-cause": (
        "d4",
        "capa_identify_root_cause",
        lambda v, tz: {
            "root_cause": v.get("root_cause", ""),
            "escape_point": v.get("escape_point", ""),
            "method": v.get("method", "").strip(),
        },
    ),
    "d5/actions": (
        "d5",
        "capa_plan_action",
        lambda v, tz: {
            "kind": v.get("kind", "corrective"),
            "description": v.get("description", ""),
            "owner": _person(v, "owner_"),
            "due": _day(v.get("due")),
        },
    ),
    "effectiveness": (
        "effectiveness",
        "capa_verify_effectiveness",
        lambda v, tz: {
            "effective": {"yes": True, "no": False}.get(v.get("effective", ""), v.get("effective")),
            "method": v.get("method", ""),
            "result": v.get("result", ""),
            "verified_on": _day(v.get("verified_on")),
        },
    ),
    "d7/prevention": ("d7", "capa_prevent_recurrence", prevention_body),
    "d8/closure": (
        "d8",
        "capa_close",
        lambda v, tz: {"summary": v.get("summary", ""), "recognition": v.get("recognition", "")},
    ),
    "report-format": (
        "report_format",
        "capa_choose_report_format",
        lambda v, tz: {"format": v.get("format", ""), "reason": optional(v.get("reason"))},
    ),
}


def offered(inv: dict[str, Any], department: str) -> dict[str, bool]:
    """Which forms this department is offered on this case, as capa would take them."""
    status = inv["status"]
    team = inv.get("team") or {}
    on_team = department == "quality" or department in {
        m.get("department") for m in [team.get("leader") or {}, *(team.get("members") or [])]
    }
    rnd = inv.get("round", 1)
    d4_now = any(r.get("round") == rnd for r in inv.get("d4") or [])
    current = [a for a in inv.get("actions") or [] if a.get("round") == rnd]
    verified_now = any(
        v.get("round") == rnd and v.get("effective") for v in inv.get("verifications") or []
    )

    def may(action: str) -> bool:
        return actions.may(department, action)

    def step(action: str) -> bool:  # an 8D step: QC and the team (4.4.4)
        return may(action) and on_team

    running = status == "in_progress"
    return {
        "contact": may("capa_contact_customer") and status not in FINISHED,
        "evidence_request": may("capa_request_evidence") and status not in FINISHED,
        "evidence": may("capa_receive_evidence") and status not in FINISHED,
        "confirm": may("capa_confirm") and status == "investigating",
        "not_confirm": may("capa_not_confirm") and status == "investigating",
        "misuse": may("capa_find_misuse") and status == "investigating",
        "d0": step("capa_record_emergency_response") and status in OPEN_STATUSES,
        "team": may("capa_convene_team") and status == "confirmed",
        "d2": step("capa_describe_problem") and running and not inv.get("d2"),
        "d3": step("capa_record_containment") and running,
        "d4": step("capa_identify_root_cause") and running and bool(inv.get("d2")) and not d4_now,
        "d5": step("capa_plan_action") and running and d4_now,
        "effectiveness": step("capa_verify_effectiveness")
        and running
        and bool(current)
        and all(a.get("status") == "implemented" for a in current)
        and not verified_now,
        "d7": step("capa_prevent_recurrence") and running and bool(inv.get("d4")),
        # Offered while the CAPA runs: what is still missing is said beside it, and capa
        # refuses an early close with its clause (4.3.4).
        "d8": step("capa_close") and running,
        "report_format": may("capa_choose_report_format") and status not in FINISHED,
        "customer_format": may("capa_register_report_format"),
    }


def implementers(inv: dict[str, Any], action: dict[str, Any]) -> set[str]:
    """4.3.4: an action is implemented by its owner's department or the team leader's."""
    leader = ((inv.get("team") or {}).get("leader") or {}).get("department")
    return {action.get("owner", {}).get("department"), leader} - {None, "auditor"}


def closing_gaps(inv: dict[str, Any]) -> list[str]:
    """What a CAPA still lacks before D8 (4.3.4, 4.4.4), in the reader's words."""
    rnd = inv.get("round", 1)
    gaps = []
    if not any(
        v.get("round") == rnd and v.get("effective") for v in inv.get("verifications") or []
    ):
        gaps.append(gettext("the actions of this round verified effective (4.3.4)"))
    for step, present in (
        ("D2", inv.get("d2")),
        ("D3", inv.get("d3")),
        ("D7", inv.get("d7")),
    ):
        if not present:
            gaps.append(gettext("%(step)s recorded (4.4.4)", step=step))
    return gaps


def days_left(due: str | None, today: date) -> int | None:
    try:
        return (date.fromisoformat(str(due)) - today).days
    except ValueError:
        return None


def due_badge(action: dict[str, Any], today: date) -> dict[str, Any]:
    """An action's due date as a badge with words (never colour alone)."""
    if action.get("status") == "implemented":
        late = action.get("overdue_days") or 0
        text = (
            gettext("implemented %(days)s d late", days=late)
            if late
            else gettext("implemented on time")
        )
        return {"state": "met", "text": text, "tooltip": str(action.get("implemented_on"))}
    left = days_left(action.get("due"), today)
    if left is None:
        return {"state": "running", "text": str(action.get("due")), "tooltip": ""}
    if action.get("overdue") or left < 0:
        return {
            "state": "breached",
            "text": gettext("overdue by %(days)s d", days=abs(left)),
            "tooltip": str(action.get("due")),
        }
    state = "warned" if left <= 7 else "running"
    text = gettext("due today") if left == 0 else gettext("due in %(days)s d", days=left)
    return {"state": state, "text": text, "tooltip": str(action.get("due"))}


async def capa_queue(kit: Kit, user: User, tz: str) -> dict[str, Any]:
    """The work queue's CAPA sections: QC's investigations by state and overdue actions;
    every department's own open actions on CAPAs under way (4.4.4, 4.3.4)."""
    if user.department == "auditor":
        return {}
    services, token = kit.services, user.token
    today = (
        datetime.now(UTC).astimezone(display.zone(tz, kit.settings.console_site_timezone)).date()
    )

    async def listed(status: str) -> list[dict[str, Any]]:
        try:
            return await services.get_all("capa", "/investigations", token, {"status": status})
        except Refused:
            return []

    async def first_page(status: str) -> tuple[list[dict[str, Any]], str | None]:
        # The states before a CAPA runs hold every quality complaint not yet closed:
        # the first page here, the rest a link away (/queue/capa-<state>).
        params = {"status": status, "limit": kit.settings.console_queue_page}
        return await services.get_page("capa", "/investigations", token, params)

    async def nothing() -> Any:
        return None

    qc = user.department == "quality"
    # QC's sections are read with the CAPAs under way, not after them.
    running, investigating_page, confirmed_page, overdue = await asyncio.gather(
        listed("in_progress"),
        first_page("investigating") if qc else nothing(),
        first_page("confirmed") if qc else nothing(),
        services.get_all("capa", "/overdue-actions", token) if qc else nothing(),
    )
    mine = [
        a
        | {"case_id": inv["case_id"], "capa_no": inv["capa_no"], "customer": inv["customer"]}
        | {"badge": due_badge(a, today)}
        for inv in running
        for a in inv.get("actions") or []
        if a.get("status") == "open" and (a.get("owner") or {}).get("department") == user.department
    ]
    mine.sort(key=lambda a: (str(a.get("due")), a["capa_no"], a.get("action_no", 0)))
    queue: dict[str, Any] = {"my_actions": mine}
    if qc:
        investigating, more_investigating = investigating_page
        confirmed, more_confirmed = confirmed_page
        queue["by_state"] = [
            ("investigating", investigating, more_investigating),
            ("confirmed", confirmed, more_confirmed),
            ("in_progress", running, None),
        ]
        queue["overdue"] = [a | {"badge": due_badge(a | {"overdue": True}, today)} for a in overdue]
    return queue


def add_capa_pages(app: FastAPI, kit: Kit) -> None:
    services = kit.services

    async def read_format(user: User, code: str | None) -> dict[str, Any] | None:
        if not code:
            return None
        try:
            found: dict[str, Any] = await services.get(
                "capa", f"/report-formats/{quote(code, safe='')}", user.token
            )
        except Refused as exc:
            if exc.problem.status == 404:
                return None
            raise
        return found

    async def capa_page(
        request: Request,
        case_id: str,
        shown: dict[str, Form] | None = None,
        status_code: int = 200,
    ) -> Response:
        user = kit.current_user(request)
        try:
            uuid.UUID(case_id)
        except ValueError:
            return kit.render(
                request,
                "message.html",
                status_code=404,
                title=kit.translated(request, "No such case"),
                message=kit.translated(request, "%(id)s is not a case number.", id=case_id),
            )
        try:
            inv = await services.get("capa", f"/investigations/{case_id}", user.token)
        except Refused as exc:
            if exc.problem.status != 404:
                raise
            return kit.render(
                request,
                "message.html",
                status_code=404,
                title=kit.translated(request, "No investigation of this case"),
                message=kit.translated(
                    request,
                    "QC investigates quality complaints and returned goods (4.4.3, 4.3.4); "
                    "this case has no investigation.",
                ),
            )
        registered = await read_format(user, (inv.get("customer") or {}).get("code"))
        forms = {name: Form(prefix=prefix) for name, prefix in FORMS.items()}
        for action in inv.get("actions") or []:
            n = action["action_no"]
            forms[f"d6-{n}"] = Form(prefix=f"d6-{n}-")
        for name, form in (shown or {}).items():
            if name == "team" and form.problem is not None:
                form.problem = team_problem(form.problem)
            form.prefix = forms[name].prefix if name in forms else form.prefix
            forms[name] = form
        department = user.department
        tz = kit.viewer_tz(request)
        today = (
            datetime.now(UTC)
            .astimezone(display.zone(tz, kit.settings.console_site_timezone))
            .date()
        )
        team = inv.get("team") or {}
        present = {
            m.get("department") for m in [team.get("leader") or {}, *(team.get("members") or [])]
        }
        return kit.render(
            request,
            "capa_page.html",
            status_code=status_code,
            inv=inv,
            case_id=case_id,
            forms=forms,
            offer=offered(inv, department),
            implementers={a["action_no"]: implementers(inv, a) for a in inv.get("actions") or []},
            badges={a["action_no"]: due_badge(a, today) for a in inv.get("actions") or []},
            gaps=closing_gaps(inv),
            registered=registered,
            team_departments=TEAM_DEPARTMENTS,
            team_present=present,
            team_rows=TEAM_ROWS,
            update_rows=UPDATE_ROWS,
            person_departments=[d for d in vocab_departments() if d != "auditor"],
            evidence_kinds=EVIDENCE_KINDS,
            statuses=STATUSES,
            outcomes=OUTCOMES,
            formats=FORMATS,
            format_sources=FORMAT_SOURCES,
            action_kinds=ACTION_KINDS,
            document_kinds=DOCUMENT_KINDS,
            today=today.isoformat(),
        )

    @app.get("/cases/{case_id}/capa", response_class=HTMLResponse)
    async def capa(request: Request, case_id: str) -> Response:
        return await capa_page(request, case_id)

    def capa_step(
        path: str, form_name: str, action: str, body: Callable[..., dict[str, Any]]
    ) -> None:
        def show(request: Request, params: Params, form: Form, status: int) -> Awaitable[Response]:
            return capa_page(request, params["case_id"], {form_name: form}, status)

        form_route(
            kit, app, f"/cases/{{case_id}}/capa/{path}", service="capa", action=action,
            send=lambda p, v, tz: (f"/investigations/{p['case_id']}/{path}", body(v, tz)),
            show=show,
            done=lambda p, _: f"/cases/{p['case_id']}/capa#{form_name.replace('_', '-')}",
        )  # fmt: skip

    for path, (form_name, action, body) in STEPS.items():
        capa_step(path, form_name, action, body)

    @app.post("/cases/{case_id}/capa/customer-format")
    async def register_format(request: Request, case_id: str) -> Response:
        """The customer's own way of reporting its CAPAs (4.3.4), for this and later cases."""
        user = kit.current_user(request)
        form = await request.form()

        async def call(v: dict[str, str], key: str) -> Any:
            inv = await services.get("capa", f"/investigations/{case_id}", user.token)
            code = quote(str((inv.get("customer") or {}).get("code", "")), safe="")
            body = {
                "format": v.get("format", ""),
                "title": optional(v.get("title")),
                "template": v.get("template") if (v.get("template") or "").strip() else None,
            }
            return await services.put("capa", f"/report-formats/{code}", user.token, body, key)

        return await kit.submit(
            request,
            form,
            user,
            "capa_register_report_format",
            call,
            lambda f, s: capa_page(request, case_id, {"customer_format": f}, s),
            lambda r: f"/cases/{case_id}/capa#report",
        )

    @app.post("/cases/{case_id}/capa/actions/{action_no}/implementation")
    async def implement(request: Request, case_id: str, action_no: int) -> Response:
        user = kit.current_user(request)
        form = await request.form()

        async def call(v: dict[str, str], key: str) -> Any:
            body = {
                "validation": v.get("validation", ""),
                "implemented_on": _day(v.get("implemented_on")),
            }
            return await services.post(
                "capa",
                f"/investigations/{case_id}/d6/actions/{action_no}/implementation",
                user.token,
                body,
                key,
            )

        return await kit.submit(
            request,
            form,
            user,
            "capa_implement_action",
            call,
            lambda f, s: capa_page(request, case_id, {f"d6-{action_no}": f}, s),
            lambda r: f"/cases/{case_id}/capa#d6",
        )

    @app.post("/cases/{case_id}/capa/evidence")
    async def upload_evidence(request: Request, case_id: str) -> Response:
        """Evidence from the customer (4.4.3): the file's bytes sent on to capa as they are."""
        user = kit.current_user(request)
        form = await request.form()
        upload = form.get("file")
        kit.check_csrf(request, form)
        values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        values.pop("csrf", None)
        key = str(form.get("idempotency_key") or uuid.uuid4())
        values.pop("idempotency_key", None)
        if not isinstance(upload, UploadFile) or not upload.filename:
            problem = Problem(
                status=422,
                title="Unprocessable Content",
                detail=kit.translated(request, "Please choose the file to upload."),
                clause="4.4.3",
            )
            return await capa_page(
                request, case_id, {"evidence": Form(values=values, problem=problem)}, 422
            )
        data = await upload.read()
        params: dict[str, Any] = {"filename": upload.filename}
        if optional(values.get("description")):
            params["description"] = values["description"].strip()
        if (values.get("request_no") or "").strip():
            params["request_no"] = values["request_no"].strip()
        try:
            await services.post_bytes(
                "capa",
                f"/investigations/{case_id}/evidence",
                user.token,
                data,
                upload.content_type or "application/octet-stream",
                params,
                key,
            )
        except Refused as exc:
            return await capa_page(
                request,
                case_id,
                {"evidence": Form(values=values, problem=exc.problem)},
                exc.problem.status,
            )
        if request.headers.get("x-requested-with") == "fetch":
            return Response(status_code=204)
        return kit.redirect(request, f"/cases/{case_id}/capa#evidence")

    @app.get("/cases/{case_id}/capa/evidence/{sha256}")
    async def evidence(request: Request, case_id: str, sha256: str) -> Response:
        """The evidence's bytes as capa keeps them; only photos shown in the page itself."""
        user = kit.current_user(request)
        answer = await services.get_bytes(
            "capa", f"/investigations/{case_id}/evidence/{quote(sha256, safe='')}", user.token
        )
        media = answer.headers.get("content-type", "application/octet-stream")
        headers = {
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "private, max-age=3600",
        }
        if not (media.startswith("image/") and request.query_params.get("inline")):
            headers["Content-Disposition"] = answer.headers.get("content-disposition", "attachment")
        return Response(answer.content, media_type=media, headers=headers)

    @app.get("/cases/{case_id}/capa/report-preview", response_class=HTMLResponse)
    async def report_preview(request: Request, case_id: str, format: str = "") -> Response:
        """The report as it will print (4.3.4), from capa's ``report.json``: in the page
        (htmx) or, without script, as a page of its own."""
        user = kit.current_user(request)
        params = {"format": format} if format else None
        problem: Problem | None = None
        preview: dict[str, Any] | None = None
        try:
            preview = await services.get(
                "capa", f"/investigations/{case_id}/report.json", user.token, params
            )
        except Refused as exc:
            problem = exc.problem
        name = (
            "capa_report_preview.html"
            if request.headers.get("hx-request")
            else ("capa_report_page.html")
        )
        return kit.render(
            request,
            name,
            status_code=200
            if problem is None or name.startswith("capa_report_preview")
            else problem.status,
            case_id=case_id,
            preview=preview,
            problem=problem,
            formats=FORMATS,
            chosen=format,
        )

    @app.get("/cases/{case_id}/capa/report.{kind}")
    async def report(request: Request, case_id: str, kind: str) -> Response:
        """The CAPA report as capa prints it (4.3.4): PDF or XLSX, in any of its formats."""
        user = kit.current_user(request)
        if kind not in ("pdf", "xlsx"):
            return kit.render(
                request,
                "message.html",
                status_code=404,
                title=kit.translated(request, "No such report"),
                message=kit.translated(request, "Reports are printed as PDF or XLSX."),
            )
        params = (
            {"format": request.query_params["format"]}
            if request.query_params.get("format")
            else None
        )
        try:
            answer = await services.get_bytes(
                "capa", f"/investigations/{case_id}/report.{kind}", user.token, params
            )
        except Refused as exc:
            return kit.render(
                request,
                "message.html",
                status_code=exc.problem.status,
                title=kit.translated(request, "The report cannot be printed"),
                message=kit.refusal(request, exc.problem),
                clause=exc.problem.clause,
            )
        disposition = answer.headers.get("content-disposition", "attachment")
        return Response(
            answer.content,
            media_type=answer.headers.get("content-type"),
            headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"},
        )


def vocab_departments() -> list[str]:
    from csc_contracts import PERSON_DEPARTMENTS

    return [d.value for d in PERSON_DEPARTMENTS]
