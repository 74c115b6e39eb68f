"""``csc-sla serve``, ``csc-sla replay``, ``csc-sla dlq`` and ``csc-sla held``.

The timer's warnings, breaches and escalations and the pauses are sla's own
decisions: a replay restores them from csc.sla.journal.
"""

from __future__ import annotations

from csc_messaging.cli import consumer_cli
from csc_sla.bootstrap import SLA
from csc_sla.entrypoints.http import create_app

cli = consumer_cli(SLA, create_app)
