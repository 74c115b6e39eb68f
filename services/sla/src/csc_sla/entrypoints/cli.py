"""``csc-sla serve``, ``csc-sla replay`` and ``csc-sla dlq``."""

from __future__ import annotations

from csc_messaging.cli import service_cli
from csc_sla.bootstrap import SLA
from csc_sla.entrypoints.http import create_app

cli = service_cli(
    SLA.name, SLA.settings_class, create_app, replay=SLA.replay, dead_letters=SLA.dead_letters
)
