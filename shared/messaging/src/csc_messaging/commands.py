"""What every service's command side shares: injected time, moments that may not lie in
the future, and who asked (the actor and the request's Idempotency-Key)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from csc_contracts import Actor
from csc_messaging.refusals import RuleViolation

Now = Callable[[], datetime]

# A device's clock may run a little ahead of ours; more than this is a wrong entry.
CLOCK_SKEW = timedelta(minutes=5)


def utcnow() -> datetime:
    return datetime.now(UTC)


def not_future(moment: datetime | None, now: datetime, field: str) -> datetime:
    """``moment`` as given (``now`` when absent), refused when it lies in the future."""
    if moment is None:
        return now
    if moment > now + CLOCK_SKEW:
        raise RuleViolation(
            "input",
            f"{field} lies in the future",
            field=field,
            kind="invalid",
            code="input.future",
            params={"field": field},
        )
    return moment


def not_future_day(day: date | None, today: date, field: str) -> date:
    """``day`` as given (``today`` when absent), refused when it lies in the future."""
    if day is None:
        return today
    if day > today:
        raise RuleViolation(
            "input",
            f"{field} lies in the future",
            field=field,
            kind="invalid",
            code="input.future",
            params={"field": field},
        )
    return day


def by(actor: Actor, key: str | None, **more: Any) -> dict[str, Any]:
    """The fields every recorded decision carries: who made it and under which request."""
    return {"actor": actor.model_dump(mode="json"), "request_key": key, **more}
