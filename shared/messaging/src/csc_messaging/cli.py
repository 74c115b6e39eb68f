"""Command line shared by the services: ``serve`` and, for consumers, ``replay``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
import uvicorn
from fastapi import FastAPI

from csc_messaging.logs import configure_logging
from csc_messaging.settings import ServiceSettings
from csc_messaging.store import wipe_store


def service_cli(
    service: str,
    settings_factory: Callable[[], ServiceSettings],
    http_factory: Callable[[ServiceSettings], FastAPI],
    replay: Callable[[ServiceSettings], Any] | None = None,
) -> typer.Typer:
    cli = typer.Typer(
        help=f"The {service} service of Customer Service Control.", no_args_is_help=True
    )

    @cli.command()
    def serve(
        host: Annotated[str | None, typer.Option(help="Overrides CSC_HTTP_HOST.")] = None,
        port: Annotated[int | None, typer.Option(help="Overrides CSC_HTTP_PORT.")] = None,
    ) -> None:
        """Run the HTTP API and the service's Kafka side in one process."""
        settings = settings_factory()
        configure_logging(service, settings.log_format)
        uvicorn.run(
            http_factory(settings),
            host=host or settings.http_host,
            port=port or settings.http_port,
            log_level="warning",
            access_log=False,
        )

    if replay is not None:
        replay_fn = replay

        @cli.command("replay")
        def replay_cmd(
            wipe: Annotated[
                bool, typer.Option(help="Delete this service's store first, then rebuild it.")
            ] = False,
        ) -> None:
            """Rebuild the store from offset 0 of the topics this service consumes.

            Prints one JSON line: records read, outcomes, and the read model's digest.
            """
            settings = settings_factory()
            configure_logging(service, "console")
            if wipe:
                wipe_store(settings, service)
            result = asyncio.run(replay_fn(settings))
            typer.echo(json.dumps(result, sort_keys=True))

    @cli.command()
    def settings() -> None:
        """Print the effective settings (passwords hidden)."""
        data = settings_factory().model_dump(mode="json")
        if data.get("postgres_password"):
            data["postgres_password"] = "***"
        typer.echo(json.dumps(data, indent=2, sort_keys=True))

    return cli
