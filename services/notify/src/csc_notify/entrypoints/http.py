"""Notify's HTTP API: the directory of recipients, and the notifications with their attempts.

Every request carries a bearer token (401 without one). Marketing and the
Chief Engineer keep the directory and redrive dead letters (403 naming the
clause for others); anyone of the company reads the directory. Notifications are
read by those they were meant for: a person their own and their department's
(``/notifications/mine``), Marketing, the Chief Engineer and auditors all of them.
"""

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from csc_contracts import Actor, PersonDepartment
from csc_messaging.answers import READ
from csc_messaging.paging import Cursor, Limit, paged
from csc_messaging.params import IdempotencyKey
from csc_messaging.rules import found
from csc_messaging.runtime import Service
from csc_messaging.writes import command_routes
from csc_notify import answers as a
from csc_notify.application import NotifyApplication, authorize_reading
from csc_notify.commands import RecipientIn
from csc_notify.projections import NotifyBoard

Handle = Annotated[
    str,
    Path(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._@+|:-]*$",
        description="The recipient's user id, e.g. wang.fang.",
    ),
]


def routes(service: Service) -> APIRouter:
    board, app = service.read_model, service.app
    assert isinstance(board, NotifyBoard) and isinstance(app, NotifyApplication)
    router = APIRouter(
        dependencies=[Depends(service.current_actor)], route_class=command_routes(app)
    )
    Caller = Annotated[Actor, Depends(service.current_actor)]

    def recipient_out(handle: str) -> dict[str, Any]:
        board.catch_up()
        return found(
            board.get("recipients", handle),
            f"recipient {handle}",
            code="notify.recipient.not_found",
            params={"handle": handle},
        )

    @router.put("/recipients/{handle}", tags=["directory"], response_model=a.RecipientOut, **READ)
    def put_recipient(
        handle: Handle, body: RecipientIn, actor: Caller, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        """Set who a person is, how they are reached, in which language, and when warnings
        wait (clause 3: Marketing keeps it). The same body again records nothing."""
        app.set_recipient(handle, body, actor, key)
        return recipient_out(handle)

    @router.delete("/recipients/{handle}", tags=["directory"], status_code=204)
    def delete_recipient(handle: Handle, actor: Caller) -> Response:
        """Take a person out of the directory; what is not yet sent to them is dead-lettered."""
        app.remove_recipient(handle, actor)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.get("/recipients", tags=["directory"], response_model=list[a.RecipientOut], **READ)
    def list_recipients(
        request: Request,
        response: Response,
        department: Annotated[str | None, Query(max_length=40)] = None,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> list[dict[str, Any]]:
        order = ("department", "handle") if department else ("handle",)
        page = board.page(
            "recipients", where={"department": department}, order=order, cursor=cursor, limit=limit
        )
        return paged(page, request, response)

    @router.get("/recipients/{handle}", tags=["directory"], response_model=a.RecipientOut, **READ)
    def get_recipient(handle: Handle) -> dict[str, Any]:
        return recipient_out(handle)

    @router.get(
        "/notifications", tags=["notifications"], response_model=list[a.NotificationOut], **READ
    )
    def list_notifications(
        request: Request,
        response: Response,
        actor: Caller,
        status_: Annotated[
            Literal["pending", "retrying", "sent", "dead"] | None, Query(alias="status")
        ] = None,
        case_id: UUID | None = None,
        handle: Annotated[str | None, Query(max_length=128)] = None,
        department: Annotated[
            PersonDepartment | None, Query(description="To anyone of this department.")
        ] = None,
        order: Annotated[
            Literal["made", "newest"],
            Query(description="In the order they were made, or newest first."),
        ] = "made",
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> list[dict[str, Any]]:
        """Notifications in the order they were made (``order=newest``: newest first);
        ``status=dead`` lists the dead letters. A person reads with ``handle`` their own user
        or ``department`` their own (3)."""
        authorize_reading(actor, handle=handle, department=department.value if department else None)
        where: dict[str, Any] = {
            "status": status_,
            "case_id": str(case_id) if case_id else None,
            "handle": handle,
            "department": department.value if department else None,
        }
        keys = ("status", "case_id", "handle", "department")
        first = next((k for k in keys if where[k] is not None), None)
        columns = (first, "created") if first else ("created",)
        page = board.page(
            "notifications",
            where=where,
            order=columns,
            descending=order == "newest",
            cursor=cursor,
            limit=limit,
        )
        return paged(page, request, response)

    @router.get(
        "/notifications/mine",
        tags=["notifications"],
        response_model=list[a.NotificationOut],
        **READ,
    )
    def my_notifications(
        request: Request,
        response: Response,
        actor: Caller,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> list[dict[str, Any]]:
        """The caller's notifications, as a recipient of the directory by their user name,
        and those to anyone of their department: newest first."""
        page = board.meant_for(actor.user, actor.department.value, cursor, limit)
        return paged(page, request, response)

    def notification_out(notification_id: UUID) -> dict[str, Any]:
        board.catch_up()
        return found(
            board.get("notifications", str(notification_id)),
            f"notification {notification_id}",
            code="notify.notification.not_found",
            params={"notification": str(notification_id)},
        )

    @router.get(
        "/notifications/{notification_id}",
        tags=["notifications"],
        response_model=a.NotificationOut,
        **READ,
    )
    def get_notification(notification_id: UUID, actor: Caller) -> dict[str, Any]:
        row = notification_out(notification_id)
        if row["handle"] != actor.user:
            authorize_reading(actor, handle=None, department=row["department"])
        return row

    @router.post(
        "/notifications/{notification_id}/redrive",
        tags=["notifications"],
        response_model=a.NotificationOut,
        **READ,
    )
    def redrive(notification_id: UUID, actor: Caller, key: IdempotencyKey = None) -> dict[str, Any]:
        """Try a dead-lettered notification again, once its cause is fixed (a recipient's
        address, the SMTP server); it gets the full number of attempts again."""
        app.redrive(notification_id, actor, key)
        return notification_out(notification_id)

    return router
