"""``csc-intake serve``, ``views rebuild|status``, ``held``, ``settings``."""

from __future__ import annotations

from csc_intake.bootstrap import INTAKE
from csc_messaging.cli import service_cli

cli = service_cli(INTAKE)
