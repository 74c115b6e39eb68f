"""``csc-returns serve`` and ``csc-returns replay``.

Returns' store is the system of record of the decisions made over HTTP
(4.3.1-4.3.3), which csc.intake.v1 cannot give back: ``replay --wipe``
refuses a store that holds any.
"""

from __future__ import annotations

from typing import Any

from csc_messaging.cli import Decisions, service_cli
from csc_returns.bootstrap import RETURNS
from csc_returns.domain import ReturnCase
from csc_returns.entrypoints.http import create_app


def _derived(event: Any) -> bool:
    return isinstance(event, ReturnCase.Opened)


cli = service_cli(
    RETURNS.name,
    RETURNS.settings_class,
    create_app,
    replay=RETURNS.replay,
    dead_letters=RETURNS.dead_letters,
    decisions=Decisions(RETURNS.bootstrap, _derived, "4.3.1-4.3.3", "csc.returns.v1"),
)
