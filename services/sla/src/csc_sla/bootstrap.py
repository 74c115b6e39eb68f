"""Composition root of the sla service."""

from __future__ import annotations

from csc_messaging.runtime import ConsumerSpec
from csc_messaging.settings import ServiceSettings
from csc_sla.application import SlaApplication
from csc_sla.projections import ClockBoard


class SlaSettings(ServiceSettings):
    http_port: int = 8004


SLA = ConsumerSpec(
    name="sla",
    settings_class=SlaSettings,
    application_class=SlaApplication,
    read_model_class=ClockBoard,
    subscribes_to=["intake"],
    title="Customer Service Control — sla",
    description="The 8-hour reply clock (4.2.1) and, later, every other promise.",
)
