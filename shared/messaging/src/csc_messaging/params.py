"""HTTP parameters every service that takes commands reads the same way."""

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Repeat a request with the same key and it returns the first result.",
    ),
]
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
    """

    def __init__(
        self,
        router: APIRouter,
        prefix: str,
        caller: Any,
        answer: Callable[[UUID, Any], dict[str, Any]],
    ) -> None:
        self.router, self.prefix, self.caller, self.answer = router, prefix, caller, answer

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
        self.router.post(route, status_code=201, tags=[tag])(endpoint)
