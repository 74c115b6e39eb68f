"""Command line shared by the services: ``serve`` and, for consumers, ``replay``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

import typer
import uvicorn
from fastapi import FastAPI

from csc_messaging.logs import configure_logging
from csc_messaging.redrive import DeadLetter
from csc_messaging.settings import ServiceSettings
from csc_messaging.store import wipe_store


def decisions_recorded(
    settings: ServiceSettings,
    bootstrap: Callable[[ServiceSettings], Any],
    derived: Callable[[Any], bool],
) -> int:
    """How many stored events were recorded over HTTP rather than derived from Kafka."""
    app = bootstrap(settings).app
    try:
        found, position = 0, 0
        while notifications := app.recorder.select_notifications(position + 1, 1000):
            for notification in notifications:
                if not derived(app.mapper.to_domain_event(notification)):
                    found += 1
                position = notification.id
        return found
    finally:
        app.close()


@dataclass(frozen=True)
class Decisions:
    """A consumer whose store is also the system of record of decisions made over HTTP.

    No topic it consumes can give those back, so ``replay --wipe`` refuses a
    store that holds any; rebuild into an empty store (another ``CSC_DATA_DIR``
    or schema) to compare digests instead.
    """

    bootstrap: Callable[[ServiceSettings], Any]
    derived: Callable[[Any], bool]
    """True for a stored event that a replay of the consumed topics makes again."""
    clauses: str
    published_on: str


class DeadLetters(Protocol):
    def __call__(
        self, settings: ServiceSettings, *, apply: bool, skip: frozenset[str]
    ) -> Coroutine[Any, Any, list[DeadLetter]]: ...


def service_cli(
    service: str,
    settings_factory: Callable[[], ServiceSettings],
    http_factory: Callable[[ServiceSettings], FastAPI],
    replay: Callable[[ServiceSettings], Any] | None = None,
    decisions: Decisions | None = None,
    dead_letters: DeadLetters | None = None,
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
                if decisions is not None:
                    held = decisions_recorded(settings, decisions.bootstrap, decisions.derived)
                    if held:
                        typer.echo(
                            f"refusing to wipe: this store holds {held} decisions recorded "
                            f"over HTTP ({decisions.clauses}) that the topics {service} "
                            f"consumes cannot give back; they are published on "
                            f"{decisions.published_on}. Replay into an empty store (another "
                            "CSC_DATA_DIR or schema) to compare digests.",
                            err=True,
                        )
                        raise typer.Exit(2)
                wipe_store(settings, service)
            result = asyncio.run(replay_fn(settings))
            typer.echo(json.dumps(result, sort_keys=True))

    if dead_letters is not None:
        letters_fn = dead_letters

        @cli.command("dlq")
        def dlq_cmd(
            redrive: Annotated[
                bool,
                typer.Option(help="Apply the pending ones again, in order, each at most once."),
            ] = False,
            skip: Annotated[
                list[str] | None,
                typer.Option(
                    help="With --redrive: pass over this dead letter (its id as listed), "
                    "one no fix will make readable. Repeatable."
                ),
            ] = None,
            as_json: Annotated[
                bool, typer.Option("--json", help="One JSON object per line.")
            ] = False,
        ) -> None:
            """This service's dead letters: what it could not apply, why, and where each stands.

            --redrive applies the pending ones once their cause is fixed (a new release, a
            corrected producer) and stops at the first that still fails; exits 1 then.
            """
            if skip and not redrive:
                raise typer.BadParameter("goes with --redrive", param_hint="--skip")
            settings = settings_factory()
            configure_logging(service, "console")
            try:
                # An unknown --skip is refused before anything is applied.
                letters = asyncio.run(
                    letters_fn(settings, apply=redrive, skip=frozenset(skip or ()))
                )
            except LookupError as exc:
                typer.echo(f"{service}: {exc}", err=True)
                raise typer.Exit(2) from exc
            for letter in letters:
                typer.echo(json.dumps(letter.to_json()) if as_json else letter.line())
            if not letters and not as_json:
                typer.echo(f"{service} has no dead letters")
            if any(letter.status == "failing" for letter in letters):
                raise typer.Exit(1)

    @cli.command()
    def settings() -> None:
        """Print the effective settings (passwords hidden)."""
        data = settings_factory().model_dump(mode="json")
        if data.get("postgres_password"):
            data["postgres_password"] = "***"
        typer.echo(json.dumps(data, indent=2, sort_keys=True))

    return cli
