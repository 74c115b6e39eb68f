"""Command line shared by the services: ``serve``, ``views``, ``held``, ``settings`` and, for
consumers, ``replay`` and ``dlq``; ``service_cli`` makes it from the service's spec."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import typer
import uvicorn
from fastapi import FastAPI
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from csc_messaging.logs import configure_logging
from csc_messaging.redrive import DeadLetter
from csc_messaging.relay import read_relay_record
from csc_messaging.runtime import ConsumerSpec, ServiceSpec
from csc_messaging.settings import ServiceSettings
from csc_messaging.store import wipe_store
from csc_messaging.tracing import configure_tracing
from csc_messaging.views import View

if TYPE_CHECKING:
    from csc_messaging.replay import Progress as ReplayProgress


class Replay(Protocol):
    def __call__(
        self, settings: ServiceSettings, progress: ReplayProgress | None = None
    ) -> Coroutine[Any, Any, dict[str, Any]]: ...


class DeadLetters(Protocol):
    def __call__(
        self, settings: ServiceSettings, *, apply: bool, skip: frozenset[str]
    ) -> Coroutine[Any, Any, list[DeadLetter]]: ...


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed else "", style="progress.data.speed")


class _Bars:
    """The replay's progress: one bar per topic, offsets done of those it covers."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def topic(self, topic: str, total: int) -> Callable[[int], None]:
        task = self._progress.add_task(f"replaying {topic}", total=total)
        return functools.partial(self._progress.advance, task)


@contextlib.contextmanager
def replay_bars(show: bool | None) -> Iterator[_Bars | None]:
    # On stderr: stdout is the JSON line a program reads.
    console = Console(stderr=True)
    if not (console.is_terminal if show is None else show):
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _Rate(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        yield _Bars(progress)


def service_cli(spec: ServiceSpec) -> typer.Typer:
    """A service's command line, the same for every service: serve, views, held, settings
    and, for one that consumes (``ConsumerSpec``), replay and dlq."""
    if isinstance(spec, ConsumerSpec):
        return _cli(
            spec.name,
            spec.settings_class,
            spec.http_app,
            replay=spec.replay,
            unjournaled=spec.unjournaled,
            dead_letters=spec.dead_letters,
            views=spec.views,
        )
    return _cli(spec.name, spec.settings_class, spec.http_app, views=spec.views)


def _cli(
    service: str,
    settings_factory: Callable[[], ServiceSettings],
    http_factory: Callable[[ServiceSettings], FastAPI],
    replay: Replay | None = None,
    unjournaled: Callable[[ServiceSettings], Coroutine[Any, Any, int]] | None = None,
    dead_letters: DeadLetters | None = None,
    views: Callable[[ServiceSettings], Sequence[View]] | None = None,
) -> typer.Typer:
    cli = typer.Typer(
        help=f"The {service} service of Customer Service Control.", no_args_is_help=True
    )
    if views is not None:
        cli.add_typer(views_cli(service, settings_factory, views), name="views")

    @cli.command()
    def serve(
        host: Annotated[str | None, typer.Option(help="Overrides CSC_HTTP_HOST.")] = None,
        port: Annotated[int | None, typer.Option(help="Overrides CSC_HTTP_PORT.")] = None,
    ) -> None:
        """Run the HTTP API and the service's Kafka side in one process."""
        settings = settings_factory()
        configure_logging(service, settings.log_format)
        configure_tracing(service)
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
            progress: Annotated[
                bool | None,
                typer.Option(
                    "--progress/--no-progress",
                    help="A progress bar per topic on stderr; by default when it is a terminal.",
                ),
            ] = None,
        ) -> None:
            """Rebuild the store: an empty one from this service's journal, exactly as it was,
            then from offset 0 of the topics it consumes (what the journal covers is skipped),
            each topic's partitions side by side.

            Prints one JSON line: what was restored, records read, outcomes, and the read
            model's digest.
            """
            settings = settings_factory()
            configure_logging(service, "console")
            if wipe:
                behind = asyncio.run(unjournaled(settings)) if unjournaled is not None else 0
                if behind:
                    typer.echo(
                        f"refusing to wipe: {behind} events of this store are not on its "
                        f"journal yet, and a wipe would lose them. Start {service} until its "
                        "relay has caught up (its /readyz shows the lag), then stop it and "
                        "replay again.",
                        err=True,
                    )
                    raise typer.Exit(2)
                wipe_store(settings, service)
            with replay_bars(progress) as bars:
                result = asyncio.run(replay_fn(settings, progress=bars))
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

    @cli.command("held")
    def held_cmd(
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    ) -> None:
        """Stored events the outbox relay holds back because it cannot publish them.

        Each with its reason; later events of the same aggregate wait behind it. They go
        out in order once a release can publish them. Exits 1 while anything is held.
        """
        settings = settings_factory()
        state = asyncio.run(read_relay_record(settings.kafka, settings.topics, service))
        for held in state.held:
            if as_json:
                typer.echo(json.dumps(held.__dict__))
            else:
                typer.echo(
                    f"notification {held.seq} (aggregate {held.originator_id} "
                    f"v{held.version}) held since {held.since}: {held.reason}"
                )
        if not state.held:
            if not as_json:
                typer.echo(f"{service} holds nothing back")
            return
        raise typer.Exit(1)

    @cli.command()
    def settings() -> None:
        """Print the effective settings (passwords and secrets hidden)."""
        data = settings_factory().model_dump(mode="json")
        # Every credential, whoever adds one: the store's, Kafka's, the token secret, SMTP's.
        for name, value in data.items():
            if value and ("password" in name or "secret" in name):
                data[name] = "***"
        typer.echo(json.dumps(data, indent=2, sort_keys=True))

    return cli


def views_cli(
    service: str,
    settings_factory: Callable[[], ServiceSettings],
    views: Callable[[ServiceSettings], Sequence[View]],
) -> typer.Typer:
    cli = typer.Typer(help=f"{service}'s read models (tables in its store).", no_args_is_help=True)

    @cli.command("rebuild")
    def rebuild_cmd() -> None:
        """Build every read model anew from the store's log, into new tables swapped in
        when done: the service may keep running and answering meanwhile."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        settings = settings_factory()
        configure_logging(service, "console")
        built = views(settings)
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        ) as bar:
            for view in built:
                task = bar.add_task(f"{service} view {view.name}", total=None)

                def advance(done: int, total: int, task: Any = task) -> None:
                    bar.update(task, completed=done, total=total)

                applied = view.rebuild(advance)
                bar.update(task, completed=applied, total=applied)
        for view in built:
            typer.echo(json.dumps({"view": view.name, "position": view.position,
                                   "digest": view.digest()}))  # fmt: skip

    @cli.command("status")
    def status_cmd() -> None:
        """Each read model's position in the log, and how far behind the log's head."""
        settings = settings_factory()
        for view in views(settings):
            head = view.head()
            typer.echo(json.dumps({"view": view.name, "position": view.position,
                                   "behind": head - view.position}))  # fmt: skip

    return cli
