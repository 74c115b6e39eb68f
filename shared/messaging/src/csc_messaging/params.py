"""HTTP parameters every service that takes commands reads the same way."""

from collections.abc import Callable, Mapping
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from csc_messaging.idempotency import HEADER, KeyReused, RequestKey, fingerprint
from csc_messaging.writes import CommandRoute


async def request_key(
    request: Request,
    response: Response,
    key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            min_length=1,
            max_length=200,
            description="Repeat a request with the same key and it returns the first result "
            "(200) and records nothing; the same key with a different request is refused "
            "(422). A key is the caller's own, for this route.",
        ),
    ] = None,
) -> RequestKey | None:
    """The request's key, scoped to its user and route, checked against the store."""
    if key is None:
        return None
    route = request.scope.get("route")
    actor = getattr(request.state, "actor", None)
    if not isinstance(route, CommandRoute) or route.application is None or actor is None:
        raise RuntimeError(
            f"{HEADER} needs a router made with route_class=command_routes(app) "
            "and an authenticated caller"
        )
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    scoped = RequestKey(
        actor.user,
        f"{request.method} {route.path}",
        key,
        fingerprint(request.url.path, request.query_params.multi_items(), content_type,
                    await request.body()),
    )  # fmt: skip
    recorded = await run_in_threadpool(route.application.key_record, scoped)
    if recorded is not None:
        if recorded.fingerprint != scoped.fingerprint:
            raise KeyReused(scoped)
        # The first request's effect is on record: its result again, nothing recorded.
        scoped.replay = True
        response.status_code = status.HTTP_200_OK
    return scoped


IdempotencyKey = Annotated[RequestKey | None, Depends(request_key)]
# A calendar month, YYYY-MM, of the years the services count in (a month outside them,
# 0000-01 or 9999-12, has no first or next month to count from).
MONTH_PATTERN = r"^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])$"
Month = Annotated[
    str | None, Query(pattern=MONTH_PATTERN, description="YYYY-MM, from 1970-01 to 2999-12.")
]


class CaseSteps:
    """``POST {prefix}/{case_id}/{path}`` endpoints that each run one command on one case.

    ``action(case_id, body, actor, key)`` records the step; ``answer(case_id, result)``
    is what the caller gets back (201). ``caller`` is the dependency that names the actor.
    ``options`` go to every route as they are (``response_model=``, say).
    """

    def __init__(
        self,
        router: APIRouter,
        prefix: str,
        caller: Any,
        answer: Callable[[UUID, Any], dict[str, Any]],
        *,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.router, self.prefix, self.caller, self.answer = router, prefix, caller, answer
        self.options = dict(options or {})

    def __call__(
        self, path: str, action: Callable[..., Any], body_type: type[Any], tag: str, doc: str
    ) -> None:
        answer = self.answer

        def endpoint(
            case_id: UUID, body: Any, actor: Any, key: IdempotencyKey = None
        ) -> dict[str, Any]:
            return answer(case_id, action(case_id, body, actor, key))

        endpoint.__annotations__["body"] = body_type
        endpoint.__annotations__["actor"] = self.caller
        endpoint.__doc__ = doc
        endpoint.__name__ = action.__name__
        route = f"{self.prefix}/{{case_id}}/{path}"
        self.router.post(route, status_code=201, tags=[tag], **self.options)(endpoint)
