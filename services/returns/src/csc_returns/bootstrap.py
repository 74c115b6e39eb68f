"""Composition root of the returns service."""

from __future__ import annotations

from csc_messaging.runtime import ConsumerSpec
from csc_messaging.settings import ServiceSettings
from csc_returns.application import ReturnsApplication
from csc_returns.entrypoints.http import routes
from csc_returns.projections import ReturnCases
from csc_returns.public import to_public


class ReturnsSettings(ServiceSettings):
    http_port: int = 8002


RETURNS = ConsumerSpec(
    name="returns",
    settings_class=ReturnsSettings,
    application_class=ReturnsApplication,
    read_model_class=ReturnCases,
    routes=routes,
    subscribes_to=["intake"],
    title="Customer Service Control — returns",
    description="Returned product (4.3): partial replacement (4.3.1), whole-batch returns "
    "behind QC's confirmation (4.3.2), and the Product Nonconformance Processing Report "
    "(PNPR, 4.3.3) as JSON, PDF and XLSX. A quality complaint or quality-problem report "
    "from intake opens a case; every step is published on csc.returns.v1. Returns' store "
    "is the system of record of its decisions: a replay from csc.intake.v1 rebuilds the "
    "cases, not the decisions.",
    to_public=to_public,
)

# The HTTP app, as ``csc-returns serve`` runs it and tests build it.
create_app = RETURNS.http_app
