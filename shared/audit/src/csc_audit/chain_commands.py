"""``csc audit verify``: recompute the hash chains and report the first broken link.

Reads each service's store (the service's own settings: ``CSC_STORE``,
``CSC_DATA_DIR`` or ``--data-dir``, ``POSTGRES_*``, ``CSC_POSTGRES_SCHEMA``),
its topic ``csc.<svc>.v1`` (or ``--topic``, a copy of it), the checkpoints on
``csc.audit.v1`` and the relay's position on ``csc.relay.offsets`` (Kafka from
``KAFKA_BOOTSTRAP_SERVERS`` ... and ``CSC_TOPIC_PREFIX``), then
``csc_audit.chain_verify`` compares them. ``--kafka-only`` leaves the stores
out: what an auditor without database access can check. Prints
``<svc>: OK <n> events, head <hash>`` per service, or the first broken link and
every other finding; exits 1 when anything is broken.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from csc_audit.app import app
from csc_audit.bundle import verify_bundle
from csc_audit.chain_verify import (
    Finding,
    PublicOf,
    PublishedRecord,
    ServiceReport,
    chain_store,
    verify_service,
)
from csc_contracts import SERVICES
from csc_messaging.chain import ChainHead, Checkpoint
from csc_messaging.kafka_io import read_to_end
from csc_messaging.relay import ToPublic, read_relay_record
from csc_messaging.runtime import ServiceSpec, service_spec
from csc_messaging.settings import ServiceSettings

PAGE = 1000


class StoreMissing(Exception):
    pass


def service_settings(service: str, data_dir: Path | None = None) -> ServiceSettings:
    """The service's own settings from the environment, as the service would read them."""
    settings_class = service_spec(service).settings_class
    overrides: dict[str, Any] = {"relay_enabled": False}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return settings_class(**overrides)


def _to_public(spec: ServiceSpec) -> ToPublic:
    if spec.to_public is None:
        raise LookupError(f"{spec.name} publishes nothing: it has no hash chain")
    return spec.to_public


@contextmanager
def open_store(
    service: str, settings: ServiceSettings
) -> Iterator[tuple[Application[Any], PublicOf]]:
    """The service's eventsourcing application over its store, and its ``to_public``."""
    if settings.store == "sqlite":
        path = settings.data_dir / f"{service}.sqlite"
        if not path.exists():
            raise StoreMissing(f"no store at {path}")
    spec = service_spec(service)
    to_public = _to_public(spec)
    application = spec.application(settings)
    try:

        def public_of(notification: Notification) -> Any:
            return to_public(application.mapper.to_domain_event(notification))

        yield application, public_of
    finally:
        application.close()


def notifications(application: Application[Any]) -> Iterator[Notification]:
    start = 1
    while True:
        page = application.recorder.select_notifications(start, PAGE)
        if not page:
            return
        yield from page
        start = page[-1].id + 1


async def _read_kafka(
    settings: ServiceSettings,
    topic: str,
    service: str,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[PublishedRecord], list[Checkpoint], ChainHead | None, set[int]]:
    # The relay's position and the checkpoints first: every record they vouch for was
    # committed before them, so the records read next include it.
    kafka, topics = settings.kafka, settings.topics
    held: set[int] = set()
    try:
        state = await read_relay_record(kafka, topics, service)
        relay, held = state.chain, {h.seq for h in state.held}
    except Exception:  # an auditor's account may not read the relays' offsets
        relay = None
    checkpoints = []
    async for record in read_to_end(kafka, topics.audit):
        if record.key == service.encode() and record.value:
            checkpoint = Checkpoint.from_json(record.value)
            if checkpoint is not None:
                checkpoints.append(checkpoint)
    records = []
    async for record in read_to_end(kafka, topic):
        records.append(PublishedRecord.of(record))
        if progress is not None:
            progress(len(records))
    return records, checkpoints, relay, held


def verify_one(
    service: str,
    *,
    topic: str | None = None,
    kafka_only: bool = False,
    data_dir: Path | None = None,
    console: Console | None = None,
) -> ServiceReport:
    """Verify one service: its store (unless ``kafka_only``) against Kafka and the checkpoints."""
    settings = service_settings(service, data_dir)
    topic = topic or settings.topics.events(service)
    with _progress(console, f"{service}: {topic}", None) as advance:
        records, checkpoints, relay, held = asyncio.run(
            _read_kafka(settings, topic, service, advance)
        )
    if kafka_only:
        return verify_service(service, records=records, checkpoints=checkpoints, relay=relay)
    try:
        with open_store(service, settings) as (application, public_of):
            total = application.recorder.max_notification_id() or 0
            with _progress(console, f"{service}: store", total) as advance:
                store = chain_store(notifications(application), public_of, advance)
    except StoreMissing as exc:
        if not records and not any(c.records for c in checkpoints):
            return ServiceReport(service, "store+kafka", note=f"{exc}, nothing published")
        report = verify_service(service, records=records, checkpoints=checkpoints, relay=relay)
        report.findings.append(
            Finding("store", "deleted", None, f"{exc}, but Kafka holds its published events")
        )
        return report
    return verify_service(
        service, records=records, checkpoints=checkpoints, relay=relay, store=store, held=held
    )


def verify_running(
    service: str, settings: ServiceSettings, application: Application[Any]
) -> ServiceReport:
    """Verify one service as ``verify_one`` does, over the store a running service holds
    (its own application and settings): what its ``GET /audit/chain`` answers."""
    to_public = _to_public(service_spec(service))

    def public_of(notification: Notification) -> Any:
        return to_public(application.mapper.to_domain_event(notification))

    records, checkpoints, relay, held = asyncio.run(
        _read_kafka(settings, settings.topics.events(service), service)
    )
    store = chain_store(notifications(application), public_of)
    return verify_service(
        service, records=records, checkpoints=checkpoints, relay=relay, store=store, held=held
    )


@contextmanager
def _progress(console: Console | None, what: str, total: int | None) -> Iterator[Any]:
    """A progress bar on a terminal's stderr (a count when the total is unknown)."""
    if console is None or not console.is_terminal or (total is not None and total < PAGE):
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(what, total=total)
        yield lambda position: progress.update(task, completed=position)


ServiceOption = Annotated[
    str,
    typer.Option(
        "--service", "-s", help=f"One of {', '.join(SERVICES)}, or all.", show_default=True
    ),
]


@app.command("verify")
def verify(
    service: ServiceOption = "all",
    topic: Annotated[
        str | None,
        typer.Option(help="Verify this topic (a copy of the service's) instead of the live one."),
    ] = None,
    kafka_only: Annotated[
        bool,
        typer.Option(
            "--kafka-only",
            help="No store access: check the records' own chain and the checkpoints.",
        ),
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Where the SQLite stores are (default: CSC_DATA_DIR)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    bundle: Annotated[
        Path | None,
        typer.Option(
            help="Check a bundle made by `csc audit export` on its own, with no Kafka or store."
        ),
    ] = None,
    expect: Annotated[
        str | None,
        typer.Option("--expect-manifest-sha256", help="With --bundle: the sha256 noted at export."),
    ] = None,
) -> None:
    """Recompute the hash chains from the stores and from Kafka; report the first broken link.

    Any edited, deleted, reordered or inserted event, in a store or on a topic, is a
    broken link (ISO 9001 §7.5.3: records protected from loss of integrity). With
    --bundle, check an export bundle instead: hashes, sizes, counts, every event.
    """
    if bundle is not None:
        if service != "all" or topic is not None or kafka_only or data_dir is not None:
            raise typer.BadParameter(
                "a bundle is checked on its own: leave out --service, --topic, --kafka-only "
                "and --data-dir",
                param_hint="--bundle",
            )
        check_bundle(bundle, expect, as_json)
        return
    if expect is not None:
        raise typer.BadParameter("goes with --bundle", param_hint="--expect-manifest-sha256")
    if service != "all" and service not in SERVICES:
        raise typer.BadParameter(f"one of {', '.join(SERVICES)}, or all", param_hint="--service")
    services = list(SERVICES) if service == "all" else [service]
    if topic is not None and len(services) != 1:
        raise typer.BadParameter("--topic needs one --service", param_hint="--topic")
    common = ServiceSettings()
    if len(services) > 1 and common.store == "postgres" and common.postgres_schema:
        raise typer.BadParameter(
            "CSC_POSTGRES_SCHEMA names one service's schema: verify one --service at a time",
            param_hint="--service",
        )
    console = Console(stderr=True)
    reports = []
    for name in services:
        try:
            reports.append(
                verify_one(
                    name, topic=topic, kafka_only=kafka_only, data_dir=data_dir, console=console
                )
            )
        except RuntimeError as exc:  # a topic that does not exist, a store that does not open
            typer.echo(f"{name}: cannot verify: {exc}", err=True)
            raise typer.Exit(2) from exc
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {**asdict(r), "ok": r.ok, "first": asdict(r.first) if r.first else None}
                    for r in reports
                ],
                indent=2,
            )
        )
    else:
        for report in reports:
            for line in report.lines():
                typer.echo(line)
    if not all(r.ok for r in reports):
        raise typer.Exit(1)


def check_bundle(bundle: Path, expect: str | None, as_json: bool) -> None:
    """Print what ``verify_bundle`` found; exit 1 when anything is wrong."""
    report = verify_bundle(bundle, expect_manifest_sha256=expect)
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        for line in report.lines():
            typer.echo(line)
    if not report.ok:
        raise typer.Exit(1)


__all__ = ["check_bundle", "verify", "verify_one", "verify_running"]
