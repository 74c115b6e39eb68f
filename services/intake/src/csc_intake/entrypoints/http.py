"""Intake's routes: the customer archive, the Register, answers to customers, field service
(the API's description is ``csc_intake.bootstrap.INTAKE``'s)."""

import re
from collections.abc import Callable
from inspect import Parameter, Signature
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import (
    APIRouter,
    Depends,
    Query,
    Request,
    Response,
    status,
)

from csc_audit.http import chain_router, history_router
from csc_contracts import Actor, Channel, ComplaintCategory, FeedbackKind
from csc_intake import answers as a
from csc_intake import commands as c
from csc_intake.application import IntakeApplication
from csc_intake.projections import IntakeView, history
from csc_messaging.paging import Cursor, Limit, paged
from csc_messaging.params import IdempotencyKey, Month
from csc_messaging.rules import BadCursor, found
from csc_messaging.runtime import Service
from csc_messaging.steps import Step
from csc_messaging.views import In, Page, decode_cursor, encode_cursor
from csc_messaging.writes import command_routes

KEYWORD = Parameter.KEYWORD_ONLY


def rows(model: Any) -> dict[str, Any]:
    """A route answering with the view's rows as ``model``: the rows as stored, so a field a
    row lacks is left out, not sent as null."""
    return {"response_model": model, "response_model_exclude_unset": True}


def _version_after(cursor: str | None) -> int | None:
    """The version a page of a case's history starts after: its cursor's one value."""
    if cursor is None:
        return None
    (version,) = decode_cursor(cursor, 1)
    if not isinstance(version, int) or not 1 <= version < 2**63:
        raise BadCursor("is not a cursor this list gave (for this order)")
    return version


def routes(service: Service) -> APIRouter:
    relay, view, run = service.relay, service.read_model, service.app
    assert relay is not None and isinstance(view, IntakeView)
    assert isinstance(run, IntakeApplication)
    current_actor = service.current_actor
    Caller = Annotated[Actor, Depends(current_actor)]
    api = APIRouter(dependencies=[Depends(current_actor)], route_class=command_routes(run))

    def published(result: Any) -> None:
        relay.wake()

    # What a read of one entry, customer or record answers, or its 404 with the code.

    def entry_row(case_id: UUID) -> dict[str, Any]:
        return found(
            view.entry(str(case_id)),
            f"register entry {case_id}",
            code="intake.entry.not_found",
            params={"case_id": str(case_id)},
        )

    def customer_row(code: str) -> dict[str, Any]:
        return found(
            view.customer(code),
            f"customer {code} in the archive",
            code="intake.customer.not_found",
            params={"customer": code},
        )

    def record_row(record_id: UUID) -> dict[str, Any]:
        return found(
            view.field_service_record(str(record_id)),
            f"field service record {record_id}",
            code="intake.field_service.record_not_found",
            params={"record_id": str(record_id)},
        )

    def entry_out(aggregate: Any) -> dict[str, Any]:
        published(aggregate)
        return entry_row(aggregate.id)

    def created(
        response: Response, pair: tuple[Any, bool], out: Callable[[Any], dict[str, Any]]
    ) -> dict[str, Any]:
        aggregate, is_new = pair
        if not is_new:
            response.status_code = status.HTTP_200_OK  # a retry: the first result again
        return out(aggregate)

    def customer_out(customer: Any) -> dict[str, Any]:
        published(customer)
        return customer_row(customer.code)

    def record_out(record: Any) -> dict[str, Any]:
        published(record)
        return record_row(record.id)

    # What a step answers, by the resource its route is under.
    answers: dict[str, tuple[Callable[[Any], dict[str, Any]], Any]] = {
        "customers": (customer_out, a.CustomerPage),
        "register-entries": (entry_out, a.RegisterEntry),
        "complaints": (entry_out, a.RegisterEntry),
        "field-service-records": (record_out, a.FieldServiceRecord),
    }

    # Steps, as commands.STEPS declares them: each route beside the reads of its kind.

    def serve(step: Step) -> None:
        out, model = answers[step.path.split("/")[1]]
        options: dict[str, Any] = {"tags": [step.tag], **rows(model)}
        if step.verb == "POST":
            options["status_code"] = 201
        subject = re.search(r"\{(\w+)\}", step.path)
        key = Parameter("key", KEYWORD, default=None, annotation=IdempotencyKey)
        body = Parameter("body", KEYWORD, annotation=step.command)
        actor = Parameter("actor", KEYWORD, annotation=Caller)
        if subject is None:
            # A new customer, entry or record is 201; a retry finds it (200).
            def endpoint(**given: Any) -> dict[str, Any]:
                made = run.record(step.action, given["body"], given["actor"], given["key"])
                return created(given["response"], made, out)

            response = Parameter("response", KEYWORD, annotation=Response)
            params = [body, actor, response, key]
        else:
            name = subject.group(1)

            def endpoint(**given: Any) -> dict[str, Any]:
                return out(
                    run.take(step.action, given[name], given["body"], given["actor"], given["key"])
                )

            # A customer is named by its code; entries and records by their id.
            kind = str if name == "code" else UUID
            params = [Parameter(name, KEYWORD, annotation=kind), body, actor, key]
        endpoint.__signature__ = Signature(params)  # type: ignore[attr-defined]
        endpoint.__name__, endpoint.__doc__ = step.action, step.doc
        api.api_route(step.path, methods=[step.verb], **options)(endpoint)

    def serve_steps(prefixes: tuple[str, ...], on_one: bool) -> None:
        for step in c.STEPS.routes:
            if step.path.split("/")[1] in prefixes and ("{" in step.path) == on_one:
                serve(step)

    serve_steps(("customers",), on_one=False)
    serve_steps(("customers",), on_one=True)

    @api.get("/customers", tags=["customers"], **rows(list[a.CustomerSummary]))
    def list_customers(
        request: Request, response: Response, limit: Limit = 100, cursor: Cursor = None
    ) -> list[dict[str, Any]]:
        """The customer archive (4.1.5), by code; paged (``Link: rel="next"``)."""
        return paged(view.customers(cursor=cursor, limit=limit), request, response)

    @api.get("/customers/{code}", tags=["customers"], **rows(a.CustomerPage))
    def customer_page(code: str) -> dict[str, Any]:
        """The customer's page: archive, contacts, contact log, visits, surveys, entries."""
        return customer_row(code)

    # The Register (4.1.2-4.1.3, 4.4.1) ---------------------------------------------------

    serve_steps(("register-entries", "complaints"), on_one=False)

    @api.get("/register-entries", tags=["register"], **rows(list[a.RegisterEntry]))
    def list_entries(
        request: Request,
        response: Response,
        entry_type: Annotated[Literal["feedback", "complaint"] | None, Query()] = None,
        kind: FeedbackKind | None = None,
        category: ComplaintCategory | None = None,
        channel: Channel | None = None,
        customer: str | None = None,
        month: Month = None,
        status_: Annotated[Literal["open", "closed"] | None, Query(alias="status")] = None,
        case_id: Annotated[
            list[UUID] | None,
            Query(
                max_length=100,
                description="Only these cases' entries: repeat it for several (at most 100).",
            ),
        ] = None,
        on_site: Annotated[
            bool | None, Query(description="Only the entries asked on site (4.2.2), or not.")
        ] = None,
        replied: Annotated[
            bool | None, Query(description="Only the entries replied to (4.2.1), or not.")
        ] = None,
        order: Annotated[
            Literal["recorded", "newest"],
            Query(description="`recorded`: in the order recorded; `newest`: newest first."),
        ] = "recorded",
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> list[dict[str, Any]]:
        """The Register, filtered by any of the parameters, in the order asked; paged
        (``Link: rel="next"``)."""
        where: dict[str, Any] = {
            "case_id": In(tuple(dict.fromkeys(str(c) for c in case_id))) if case_id else None,
            "entry_type": entry_type,
            "kind": kind and kind.value,
            "category": category and category.value,
            "channel": channel and channel.value,
            "customer": customer,
            "month": month,
            "status": status_,
            "on_site": on_site,
            "replied": replied,
        }
        page = view.entries(where, cursor=cursor, limit=limit, newest_first=order == "newest")
        return paged(page, request, response)

    @api.get("/complaints", tags=["register"], **rows(list[a.RegisterEntry]))
    def list_complaints(
        request: Request, response: Response, limit: Limit = 100, cursor: Cursor = None
    ) -> list[dict[str, Any]]:
        """The Register's complaints (4.4.1), in the order recorded; paged."""
        page = view.entries({"entry_type": "complaint"}, cursor=cursor, limit=limit)
        return paged(page, request, response)

    @api.get("/register-entries/{case_id}", tags=["register"], **rows(a.RegisterEntry))
    def get_entry(case_id: UUID) -> dict[str, Any]:
        return entry_row(case_id)

    @api.get(
        "/register-entries/{case_id}/history",
        tags=["register"],
        response_model=list[a.HistoryStep],
    )
    def entry_history(
        case_id: UUID,
        request: Request,
        response: Response,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> list[dict[str, Any]]:
        """Everything that happened to one case, in order: when, what, who, which fields;
        paged by the events' version (``Link: rel="next"``)."""
        run.entry(case_id)
        after = _version_after(cursor)
        events = list(run.events.get(case_id, gt=after, limit=limit + 1))
        more = len(events) > limit
        events = events[:limit]
        following = encode_cursor([events[-1].originator_version]) if more else None
        return paged(Page(history(events), following), request, response)

    serve_steps(("register-entries",), on_one=True)

    @api.get("/inbox/engineering", tags=["inboxes"], **rows(list[a.RegisterEntry]))
    def engineering_inbox(
        request: Request, response: Response, limit: Limit = 100, cursor: Cursor = None
    ) -> list[dict[str, Any]]:
        """Entries Engineering was notified of (4.1.2), newest recorded first; paged."""
        page = view.engineering_inbox(cursor=cursor, limit=limit)
        return paged(page, request, response)

    @api.get("/inbox/chief-engineer", tags=["inboxes"], **rows(list[a.RegisterEntry]))
    def chief_engineer_inbox(
        request: Request,
        response: Response,
        include_acknowledged: bool = False,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> list[dict[str, Any]]:
        """Important information awaiting the Chief Engineer (4.1.3), newest recorded
        first; paged."""
        page = view.chief_engineer_inbox(include_acknowledged, cursor=cursor, limit=limit)
        return paged(page, request, response)

    # Field service (4.1.4, 4.5) ----------------------------------------------------------

    serve_steps(("field-service-records",), on_one=False)
    serve_steps(("field-service-records",), on_one=True)

    @api.get("/field-service-records", tags=["field service"], **rows(list[a.FieldServiceRecord]))
    def list_field_service(
        request: Request,
        response: Response,
        kind: Literal["daily", "visit"] | None = None,
        customer: str | None = None,
        site: str | None = None,
        engineer: str | None = None,
        work_date: str | None = None,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> list[dict[str, Any]]:
        """Field service records (4.1.4) and visits (4.5), in the order recorded, filtered by
        any of the parameters; paged (``Link: rel="next"``)."""
        where = {
            "kind": kind,
            "customer": customer,
            "site": site,
            "engineer": engineer,
            "work_date": work_date,
        }
        page = view.field_service_records(where, cursor=cursor, limit=limit)
        return paged(page, request, response)

    @api.get(
        "/field-service-records/{record_id}", tags=["field service"], **rows(a.FieldServiceRecord)
    )
    def get_field_service(record_id: UUID) -> dict[str, Any]:
        return record_row(record_id)

    # Operations ------------------------------------------------------------------------------

    @api.get("/relay", tags=["operations"])
    def relay_status() -> a.RelayStatus:
        """How far the outbox relay has published the store to Kafka."""
        s = relay.status
        return a.RelayStatus(
            running=s.running,
            position=s.position,
            store_head=s.store_head,
            lag=s.lag,
            published_since_start=s.published,
            held=[a.HeldEvent(**h.__dict__) for h in s.held],
        )

    @api.get("/digest", tags=["operations"])
    def digest() -> a.Digest:
        """A hash of the whole read model, to compare a live store with a replayed one."""
        return a.Digest(digest=view.digest(), position=view.position)

    router = APIRouter()
    router.include_router(api)
    # Auditors' reads (csc_audit.http): the chain, a case as of a moment, bundles, att. 2-3.
    audit = [Depends(current_actor)]
    router.include_router(chain_router("intake", service.settings, run), dependencies=audit)
    router.include_router(history_router(service.settings), dependencies=audit)
    return router
