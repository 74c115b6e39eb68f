"""The ``csc audit`` command group, on its own so the modules that add commands to it
(chain_commands, replay_commands) import it without importing each other or ``cli``."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Audit: verify tamper evidence, replay a case's history from Kafka, print the forms.",
    no_args_is_help=True,
)
