"""Composition root of the returns service."""

from __future__ import annotations

from csc_messaging.runtime import ConsumerSpec
from csc_messaging.settings import ServiceSettings
from csc_returns.application import ReturnsApplication
from csc_returns.projections import ReturnCases


class ReturnsSettings(ServiceSettings):
    http_port: int = 8002


RETURNS = ConsumerSpec(
    name="returns",
    settings_class=ReturnsSettings,
    application_class=ReturnsApplication,
    read_model_class=ReturnCases,
    subscribes_to=["intake"],
    title="Customer Service Control — returns",
    description="Returned product: replacement, whole-batch returns, PNPR (4.3).",
)
