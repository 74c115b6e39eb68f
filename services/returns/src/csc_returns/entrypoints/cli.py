"""``csc-returns serve``, ``csc-returns replay``, ``csc-returns dlq`` and ``csc-returns held``.

Returns' store also holds the decisions made over HTTP (4.3.1-4.3.3), which
csc.intake.v1 cannot give back: a replay restores them from csc.returns.journal.
"""

from __future__ import annotations

from csc_messaging.cli import consumer_cli
from csc_returns.bootstrap import RETURNS
from csc_returns.entrypoints.http import create_app

cli = consumer_cli(RETURNS, create_app)
