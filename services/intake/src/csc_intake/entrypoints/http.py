"""Intake's HTTP API: the customer archive, the Register, answers to customers, field service.

Every request carries a bearer token naming the user and department
(401 without one); the application decides what each department may record
(403 naming who may). Every POST takes an ``Idempotency-Key``: a retried
request returns the first result and records nothing twice.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    Query,
    Response,
    status,
)

from csc_contracts import Actor, Channel, ComplaintCategory, FeedbackKind
from csc_intake import commands as c
from csc_intake.bootstrap import Intake, bootstrap
from csc_intake.projections import history
from csc_messaging.auth import TokenVerifier, authenticator
from csc_messaging.params import CaseSteps, IdempotencyKey, Month
from csc_messaging.problems import install_problems
from csc_messaging.rules import found
from csc_messaging.runtime import probes, store_check, supervise_relay
from csc_messaging.settings import ServiceSettings
from csc_messaging.writes import command_routes


def create_app(settings: ServiceSettings | None = None, intake: Intake | None = None) -> FastAPI:
    intake = intake or bootstrap(settings)
    stop = asyncio.Event()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        relay_task = (
            asyncio.create_task(supervise_relay(intake.relay, stop))
            if intake.settings.relay_enabled
            else None
        )
        try:
            yield
        finally:
            stop.set()
            if relay_task is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(relay_task, timeout=15)
            intake.app.close()

    async def relay_check() -> str | None:
        return await intake.relay.problem() if intake.settings.relay_enabled else None

    app = FastAPI(
        title="Customer Service Control — intake",
        description=__doc__,
        lifespan=lifespan,
    )
    app.include_router(
        probes(
            {"store": store_check(intake.app), "relay": relay_check},
            intake.relay if intake.settings.relay_enabled else None,
        )
    )
    current_actor = authenticator(TokenVerifier(intake.settings.auth))
    Caller = Annotated[Actor, Depends(current_actor)]
    api = APIRouter(dependencies=[Depends(current_actor)], route_class=command_routes(intake.app))
    run = intake.app
    view = intake.view

    def published(result: Any) -> None:
        intake.relay.wake()

    def entry_out(aggregate: Any) -> dict[str, Any]:
        published(aggregate)
        return found(view.entry(str(aggregate.id)), f"register entry {aggregate.id}")

    def created(
        response: Response, pair: tuple[Any, bool], out: Callable[[Any], dict[str, Any]]
    ) -> dict[str, Any]:
        aggregate, is_new = pair
        if not is_new:
            response.status_code = status.HTTP_200_OK  # a retry: the first result again
        return out(aggregate)

    # Customers (4.1.5) -----------------------------------------------------------------

    def customer_out(customer: Any) -> dict[str, Any]:
        published(customer)
        return found(view.customer(customer.code), f"customer {customer.code}")

    @api.post("/customers", status_code=201, tags=["customers"])
    def register_customer(
        body: c.RegisterCustomer, actor: Caller, response: Response, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        """Enter a customer in the customer archive (4.1.5)."""
        return created(response, run.register_customer(body, actor, key), customer_out)

    @api.put("/customers/{code}", tags=["customers"])
    def update_customer(
        code: str, body: c.CustomerDetails, actor: Caller, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        """Bring a customer's archive entry up to date (4.1.5)."""
        return customer_out(run.update_customer(code, body, actor, key))

    @api.post("/customers/{code}/contacts", status_code=201, tags=["customers"])
    def log_contact(
        code: str, body: c.LogContact, actor: Caller, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        """Record regular contact with a customer (4.1.5)."""
        return customer_out(run.log_contact(code, body, actor, key))

    @api.post("/customers/{code}/satisfaction-surveys", status_code=201, tags=["customers"])
    def record_survey(
        code: str, body: c.RecordSurvey, actor: Caller, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        """Record the yearly customer satisfaction survey's result (4.1.5)."""
        return customer_out(run.record_survey(code, body, actor, key))

    @api.get("/customers", tags=["customers"])
    def list_customers() -> list[dict[str, Any]]:
        return view.customers()

    @api.get("/customers/{code}", tags=["customers"])
    def customer_page(code: str) -> dict[str, Any]:
        """The customer's page: archive, contacts, contact log, visits, surveys, entries."""
        return found(view.customer(code), f"customer {code}")

    # The Register (4.1.2-4.1.3, 4.4.1) ---------------------------------------------------

    @api.post("/register-entries", status_code=201, tags=["register"])
    def register_feedback(
        body: c.RegisterFeedback, actor: Caller, response: Response, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        """Record customer information in the Customer Information Register (4.1.1-4.1.3)."""
        return created(response, run.register_feedback(body, actor, key), entry_out)

    @api.post("/complaints", status_code=201, tags=["register"])
    def log_complaint(
        body: c.LogComplaint, actor: Caller, response: Response, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        """Record a service, quality or delivery complaint in the Register (4.4.1)."""
        return created(response, run.log_complaint(body, actor, key), entry_out)

    @api.get("/register-entries", tags=["register"])
    def list_entries(
        entry_type: Annotated[Literal["feedback", "complaint"] | None, Query()] = None,
        kind: FeedbackKind | None = None,
        category: ComplaintCategory | None = None,
        channel: Channel | None = None,
        customer: str | None = None,
        month: Month = None,
        status_: Annotated[Literal["open", "closed"] | None, Query(alias="status")] = None,
    ) -> list[dict[str, Any]]:
        """The Register, in the order recorded, filtered by any of the parameters."""
        return view.entries(
            entry_type=entry_type,
            kind=kind and kind.value,
            category=category and category.value,
            channel=channel and channel.value,
            customer=customer,
            month=month,
            status=status_,
        )

    @api.get("/complaints", tags=["register"])
    def list_complaints() -> list[dict[str, Any]]:
        return view.entries(entry_type="complaint")

    @api.get("/register-entries/{case_id}", tags=["register"])
    def get_entry(case_id: UUID) -> dict[str, Any]:
        return found(view.entry(str(case_id)), f"register entry {case_id}")

    @api.get("/register-entries/{case_id}/history", tags=["register"])
    def entry_history(case_id: UUID) -> list[dict[str, Any]]:
        """Everything that happened to one case, in order: when, what, who, which fields."""
        run.entry(case_id)
        return history(list(run.events.get(case_id)))

    steps = CaseSteps(api, "/register-entries", Caller, lambda _, entry: entry_out(entry))

    def entry_command(
        path: str, action: Callable[..., Any], body_type: type[c.Command], doc: str
    ) -> None:
        steps(path, action, body_type, "register", doc)

    entry_command(
        "important",
        run.report_important,
        c.ReportImportant,
        "Report the entry to the Chief Engineer as important, saying why (4.1.3).",
    )
    entry_command(
        "important/acknowledgement",
        run.acknowledge_important,
        c.AcknowledgeImportant,
        "The Chief Engineer takes note of important information (4.1.3).",
    )
    entry_command(
        "replies",
        run.send_reply,
        c.SendReply,
        "Record the reply to the customer's call or letter (4.2.1).",
    )
    entry_command(
        "on-site-requests",
        run.require_on_site,
        c.RequireOnSite,
        "Someone must go on site: not solved by phone, or a quality problem (4.2.2).",
    )
    entry_command(
        "on-site-visits",
        run.complete_visit,
        c.CompleteVisit,
        "Record the on-site visit: arrival, who, diagnosis, solution (4.2.2).",
    )
    entry_command(
        "misuse",
        run.determine_misuse,
        c.DetermineMisuse,
        "Record the finding that the customer misused the product (4.2.3).",
    )
    entry_command(
        "technician-dispatches",
        run.dispatch_technician,
        c.DispatchTechnician,
        "Send a technician to help and teach correct use despite misuse (4.2.3).",
    )
    entry_command(
        "quality-impact",
        run.assess_quality_impact,
        c.AssessQualityImpact,
        "Record the impact and remedy agreed with the customer; QC is notified (4.4.2).",
    )
    entry_command(
        "follow-ups",
        run.record_follow_up,
        c.RecordFollowUp,
        "Record the result of following up a past month's entry (4.6).",
    )

    @api.get("/inbox/engineering", tags=["inboxes"])
    def engineering_inbox() -> list[dict[str, Any]]:
        """Entries Engineering was notified of (4.1.2), newest first."""
        return view.engineering_inbox()

    @api.get("/inbox/chief-engineer", tags=["inboxes"])
    def chief_engineer_inbox(include_acknowledged: bool = False) -> list[dict[str, Any]]:
        """Important information awaiting the Chief Engineer (4.1.3), newest first."""
        return view.chief_engineer_inbox(include_acknowledged)

    # Field service (4.1.4, 4.5) ----------------------------------------------------------

    def record_out(record: Any) -> dict[str, Any]:
        published(record)
        return found(view.field_service_record(str(record.id)), f"record {record.id}")

    @api.post("/field-service-records", status_code=201, tags=["field service"])
    def record_field_service(
        body: c.RecordFieldService,
        actor: Caller,
        response: Response,
        key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        """A day's Field Service Work Record at an OEM customer (4.1.4), or a visit (4.5)."""
        return created(response, run.record_field_service(body, actor, key), record_out)

    @api.post(
        "/field-service-records/{record_id}/amendments", status_code=201, tags=["field service"]
    )
    def amend_field_service(
        record_id: UUID, body: c.AmendFieldService, actor: Caller, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        """Correct a day's record; what it replaced stays in its history."""
        return record_out(run.amend_field_service(record_id, body, actor, key))

    @api.get("/field-service-records", tags=["field service"])
    def list_field_service(
        kind: Literal["daily", "visit"] | None = None,
        customer: str | None = None,
        site: str | None = None,
        engineer: str | None = None,
        work_date: str | None = None,
    ) -> list[dict[str, Any]]:
        return view.field_service_records(
            kind=kind, customer=customer, site=site, engineer=engineer, work_date=work_date
        )

    @api.get("/field-service-records/{record_id}", tags=["field service"])
    def get_field_service(record_id: UUID) -> dict[str, Any]:
        return found(view.field_service_record(str(record_id)), f"record {record_id}")

    # Operations ------------------------------------------------------------------------------

    @api.get("/relay", tags=["operations"])
    def relay_status() -> dict[str, Any]:
        """How far the outbox relay has published the store to Kafka."""
        s = intake.relay.status
        return {
            "running": s.running,
            "position": s.position,
            "store_head": s.store_head,
            "lag": s.lag,
            "published_since_start": s.published,
            "held": [h.__dict__ for h in s.held],
        }

    @api.get("/digest", tags=["operations"])
    def digest() -> dict[str, Any]:
        return {"digest": view.digest(), "position": view.position}

    app.include_router(api)
    install_problems(app, intake.settings.http_limits)
    return app
