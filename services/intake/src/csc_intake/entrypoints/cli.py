"""``csc-intake serve``."""

from __future__ import annotations

from csc_intake.bootstrap import SERVICE, IntakeSettings
from csc_intake.entrypoints.http import create_app
from csc_messaging.cli import service_cli

cli = service_cli(SERVICE, IntakeSettings, lambda settings: create_app(settings))
