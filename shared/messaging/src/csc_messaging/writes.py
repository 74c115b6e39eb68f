"""How every write runs: again on a version conflict, and under its Idempotency-Key.

Two writers that read the same version of an aggregate both decide and both
save; the store takes the first and refuses the second (eventsourcing's
optimistic concurrency: an ``IntegrityError`` on the aggregate's next version).
The refused one is run again from the start: it reloads what it reads and
checks every rule again on the state as it now is, which is what its user would
do by hand. A few times, with a growing random pause so that writers that
collided do not collide again; then 409, nothing of the request recorded.

Every route a service's router makes with ``command_routes(app)`` does this for
POST, PUT and PATCH; the whole request is the unit run again, so its
Idempotency-Key is looked up again too (a request that lost to its own retry
finds the first one's result).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import IntegrityError
from fastapi import Request, Response
from fastapi.routing import APIRoute

from csc_messaging.idempotency import KeyedSaves
from csc_messaging.retries import CONFLICT_ATTEMPTS, WriteConflict, pause_before

WRITES = frozenset({"POST", "PUT", "PATCH"})


class CommandRoute(APIRoute):
    """A route whose writes run again on a version conflict; ``application`` keeps their keys."""

    application: KeyedSaves | None = None

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()
        if not (self.methods or set()) & WRITES:
            return handler

        async def run(request: Request) -> Response:
            # Read once and kept, so that a run again reads the same body, a route that
            # streams it (capa's evidence) too: a consumed stream cannot be read twice.
            await request.body()
            for attempt in range(1, CONFLICT_ATTEMPTS + 1):
                try:
                    response: Response = await handler(request)
                    return response
                except IntegrityError:
                    if attempt == CONFLICT_ATTEMPTS:
                        raise WriteConflict(attempt) from None
                    await asyncio.sleep(pause_before(attempt))
            raise AssertionError("unreachable")

        return run


def command_routes(app: KeyedSaves) -> type[CommandRoute]:
    """The route class of a service's router: its writes retried, their keys kept in ``app``."""

    class ServiceRoute(CommandRoute):
        application = app

    return ServiceRoute
