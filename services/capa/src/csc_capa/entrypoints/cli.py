"""``csc-capa serve`` and ``csc-capa replay``.

Capa's store is the system of record of QC's and the team's decisions
(4.4.3-4.4.4, 4.3.4), which csc.intake.v1 and csc.returns.v1 cannot give
back: ``replay --wipe`` refuses a store that holds any.
"""

from __future__ import annotations

from typing import Any

from csc_capa.bootstrap import CAPA
from csc_capa.domain import Investigation
from csc_capa.entrypoints.http import create_app
from csc_messaging.cli import Decisions, service_cli


def _derived(event: Any) -> bool:
    # Openings, and facts taken from intake's and returns' events (no actor of capa's).
    return isinstance(event, Investigation.Opened) or (
        isinstance(event, Investigation.Step) and event.actor is None
    )


cli = service_cli(
    CAPA.name,
    CAPA.settings_class,
    create_app,
    replay=CAPA.replay,
    dead_letters=CAPA.dead_letters,
    decisions=Decisions(CAPA.bootstrap, _derived, "4.4.3-4.4.4, 4.3.4", "csc.capa.v1"),
)
