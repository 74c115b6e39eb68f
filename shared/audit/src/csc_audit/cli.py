"""``csc audit``: what an auditor runs, reading Kafka (and, to verify, the stores)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Audit: verify tamper evidence, replay a case's history from Kafka, print the forms.",
    no_args_is_help=True,
)

import csc_audit.chain_commands  # noqa: E402  (verify: the hash chains)
import csc_audit.replay_commands  # noqa: E402, F401  (timeline, as-of, export, forms, verify-bundle)
