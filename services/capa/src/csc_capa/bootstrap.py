"""Composition root of the capa service."""

from __future__ import annotations

from csc_capa.application import CapaApplication
from csc_capa.projections import Investigations
from csc_messaging.runtime import ConsumerSpec
from csc_messaging.settings import ServiceSettings


class CapaSettings(ServiceSettings):
    http_port: int = 8003


CAPA = ConsumerSpec(
    name="capa",
    settings_class=CapaSettings,
    application_class=CapaApplication,
    read_model_class=Investigations,
    subscribes_to=["intake"],
    title="Customer Service Control — capa",
    description="Complaint investigation and corrective/preventive action (4.3.4, 4.4.3-4.4.4).",
)
