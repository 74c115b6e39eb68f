"""``csc-returns serve``, ``csc-returns replay``, ``csc-returns dlq`` and ``csc-returns held``.

Returns' store also holds the decisions made over HTTP (4.3.1-4.3.3), which
csc.intake.v1 cannot give back: a replay restores them from csc.returns.journal.
"""

from __future__ import annotations

from csc_messaging.cli import service_cli
from csc_returns.bootstrap import RETURNS

cli = service_cli(RETURNS)
