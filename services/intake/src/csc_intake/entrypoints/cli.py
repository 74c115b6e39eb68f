"""``csc-intake serve``, ``views rebuild|status``, ``held``, ``settings``."""

from __future__ import annotations

from csc_intake.bootstrap import SERVICE, IntakeSettings, bootstrap
from csc_intake.entrypoints.http import create_app
from csc_messaging.cli import service_cli
from csc_messaging.settings import ServiceSettings
from csc_messaging.views import View


def views(settings: ServiceSettings) -> list[View]:
    """Intake's read models (``csc-intake views rebuild|status``)."""
    return [bootstrap(settings).view]


cli = service_cli(SERVICE, IntakeSettings, lambda settings: create_app(settings), views=views)
