"""``csc-returns serve`` and ``csc-returns replay``.

Returns' replay differs from the other consumers' in one way: its store is the
system of record of the decisions made over HTTP (4.3.1-4.3.3), which no topic
it consumes can give back. ``replay --wipe`` therefore refuses a store that
holds any; rebuild into an empty store (another ``CSC_DATA_DIR`` or schema)
to compare digests instead.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from csc_messaging.cli import service_cli
from csc_messaging.logs import configure_logging
from csc_messaging.settings import ServiceSettings
from csc_messaging.store import wipe_store
from csc_returns.bootstrap import RETURNS
from csc_returns.domain import ReturnCase
from csc_returns.entrypoints.http import create_app

cli = service_cli(RETURNS.name, RETURNS.settings_class, create_app)


def decisions_recorded(settings: ServiceSettings) -> int:
    """How many events of the store were recorded over HTTP rather than derived from Kafka."""
    service = RETURNS.bootstrap(settings)
    app = service.app
    try:
        found, position = 0, 0
        while notifications := app.recorder.select_notifications(position + 1, 1000):
            for notification in notifications:
                if not isinstance(app.mapper.to_domain_event(notification), ReturnCase.Opened):
                    found += 1
                position = notification.id
        return found
    finally:
        app.close()


@cli.command("replay")
def replay(
    wipe: Annotated[
        bool,
        typer.Option(
            help="Delete this service's store first, then rebuild it; refused when the store "
            "holds decisions recorded over HTTP, which no topic can give back."
        ),
    ] = False,
) -> None:
    """Rebuild the cases from offset 0 of csc.intake.v1.

    Prints one JSON line: records read, outcomes, and the read model's digest.
    """
    settings = RETURNS.settings_class()
    configure_logging(RETURNS.name, "console")
    if wipe:
        decisions = decisions_recorded(settings)
        if decisions:
            typer.echo(
                f"refusing to wipe: this store holds {decisions} decisions recorded over HTTP "
                "(4.3.1-4.3.3) that csc.intake.v1 cannot give back; they are published on "
                "csc.returns.v1. Replay into an empty store (another CSC_DATA_DIR or schema) "
                "to compare digests.",
                err=True,
            )
            raise typer.Exit(2)
        wipe_store(settings, RETURNS.name)
    result = asyncio.run(RETURNS.replay(settings))
    typer.echo(json.dumps(result, sort_keys=True))
