"""Composition root of the intake service."""

from __future__ import annotations

from csc_intake.application import IntakeApplication
from csc_intake.entrypoints.http import routes
from csc_intake.projections import IntakeView
from csc_intake.public import to_public
from csc_messaging.runtime import ServiceSpec
from csc_messaging.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    http_port: int = 8001


# Intake consumes no topic: it is where the procedure's cases begin (4.1, 4.4.1).
INTAKE = ServiceSpec(
    name="intake",
    settings_class=IntakeSettings,
    application_class=IntakeApplication,
    read_model_class=IntakeView,
    routes=routes,
    title="Customer Service Control — intake",
    description="Intake's HTTP API: the customer archive, the Register, answers to customers, "
    "field service.\n\nEvery request carries a bearer token naming the user and department\n"
    "(401 without one); the application decides what each department may record\n"
    "(403 naming who may). Every POST takes an ``Idempotency-Key``: a retried\n"
    "request returns the first result and records nothing twice.\n",
    to_public=to_public,
)

# The HTTP app, as ``csc-intake serve`` runs it and tests build it.
create_app = INTAKE.http_app
