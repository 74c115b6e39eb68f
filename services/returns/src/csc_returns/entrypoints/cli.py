"""``csc-returns serve`` and ``csc-returns replay``."""

from __future__ import annotations

from csc_messaging.cli import service_cli
from csc_returns.bootstrap import RETURNS
from csc_returns.entrypoints.http import create_app

cli = service_cli(RETURNS.name, RETURNS.settings_class, create_app, replay=RETURNS.replay)
