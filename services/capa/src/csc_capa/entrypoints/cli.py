"""``csc-capa serve`` and ``csc-capa replay``."""

from __future__ import annotations

from csc_capa.bootstrap import CAPA
from csc_capa.entrypoints.http import create_app
from csc_messaging.cli import service_cli

cli = service_cli(CAPA.name, CAPA.settings_class, create_app, replay=CAPA.replay)
