"""``csc-sla serve``, ``csc-sla replay``, ``csc-sla dlq`` and ``csc-sla held``.

The timer's warnings, breaches and escalations and the pauses are sla's own
decisions: a replay restores them from csc.sla.journal.
"""

from __future__ import annotations

from csc_messaging.cli import service_cli
from csc_sla.bootstrap import SLA

cli = service_cli(SLA)
