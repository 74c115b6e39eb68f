"""Composition root: builds intake from its settings."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from csc_intake.application import IntakeApplication
from csc_intake.projections import IntakeView
from csc_intake.public import to_public
from csc_messaging.commands import Now, utcnow
from csc_messaging.relay import OutboxRelay
from csc_messaging.settings import ServiceSettings
from csc_messaging.store import eventsourcing_env

SERVICE = "intake"


class IntakeSettings(ServiceSettings):
    http_port: int = 8001


@dataclass
class Intake:
    settings: ServiceSettings
    app: IntakeApplication
    relay: OutboxRelay

    @functools.cached_property
    def view(self) -> IntakeView:
        """The read model's tables, made (or rebuilt, if their shape changed) when first
        asked for: a tool that only reads the log (``csc audit verify``) leaves them be."""
        return IntakeView(self.app)


def bootstrap(settings: ServiceSettings | None = None, clock: Now = utcnow) -> Intake:
    settings = settings or IntakeSettings()
    app = IntakeApplication(env=eventsourcing_env(settings, SERVICE), clock=clock)
    relay = OutboxRelay(
        app=app,
        service=SERVICE,
        to_public=to_public,
        kafka=settings.kafka,
        topics=settings.topics,
        batch_size=settings.relay_batch_size,
        poll_seconds=settings.relay_poll_seconds,
        max_record_bytes=settings.relay_max_record_bytes,
        checkpoint_every=settings.audit_checkpoint_every,
        checkpoint_seconds=settings.audit_checkpoint_seconds,
    )
    return Intake(settings=settings, app=app, relay=relay)
