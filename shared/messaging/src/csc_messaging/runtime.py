"""Process wiring shared by the services: each service's spec (``ServiceSpec``, ``ConsumerSpec``),
the service it builds, its HTTP probes and relay supervision."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Literal

import structlog
from eventsourcing.application import Application
from fastapi import APIRouter, Depends, FastAPI, Response, status
from faststream.kafka import KafkaBroker
from pydantic import Field

from csc_contracts import JOURNALED, SERVICES, Actor
from csc_messaging.answers import Answer
from csc_messaging.application import ConsumerApplication
from csc_messaging.auth import TokenVerifier, actor_of, principal_authenticator
from csc_messaging.ingest import Ingestor
from csc_messaging.metrics import ServiceMetrics
from csc_messaging.permissions import Principal
from csc_messaging.problems import install_problems
from csc_messaging.redrive import DeadLetter, redrive_topics
from csc_messaging.relay import OutboxRelay, RelayPositionAhead, ToPublic
from csc_messaging.settings import ServiceSettings
from csc_messaging.views import View

if TYPE_CHECKING:
    from csc_messaging.consumer import BatchConsumer
    from csc_messaging.replay import Progress

log = structlog.get_logger(__name__)

ReadinessCheck = Callable[[], Awaitable[str | None]]
Background = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


class Health(Answer):
    status: Literal["ok"]


class RelayProgress(Answer):
    position: int = Field(description="The last notification of the log it published.")
    lag: int = Field(description="Notifications stored and not published yet.")
    held: int = Field(description="Stored events it holds back (`held` lists them).")


class ViewProgress(Answer):
    position: int = Field(description="The notification of the log the read model reflects.")
    applied: int = Field(
        description="Events this process applied to it since it started (a restart with "
        "nothing new applies none: the read model is kept, not folded again)."
    )


class Readiness(Answer):
    status: Literal["ready", "unavailable"]
    relay: RelayProgress | None = None
    view: ViewProgress | None = None
    warnings: list[str] | None = None
    problems: dict[str, str] | None = Field(
        default=None, description="Each dependency that does not answer, and why."
    )


class Digest(Answer):
    """What a live store and a replayed one are compared by."""

    digest: str = Field(description="SHA-256 of the whole read model, row by row.")
    position: int = Field(description="The notification of the log it reflects.")
    bookkeeping: int = Field(
        description="Events of the log that record which Kafka record a transaction applied."
    )


def probes(
    checks: dict[str, ReadinessCheck],
    relay: OutboxRelay | None = None,
    view: View | None = None,
    metrics: ServiceMetrics | None = None,
) -> APIRouter:
    """``/healthz``: the process answers. ``/readyz``: every dependency answers; it also
    says how far the relay is, and what it holds back (which does not make it unready:
    everything else is still published)."""
    router = APIRouter(tags=["probes"])

    @router.get("/healthz", response_model=Health)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        response_model=Readiness,
        response_model_exclude_unset=True,
        responses={503: {"model": Readiness, "description": "A dependency does not answer."}},
    )
    async def readyz(response: Response) -> dict[str, Any]:
        problems: dict[str, str] = {}
        for name, check in checks.items():
            try:
                problem = await asyncio.wait_for(check(), timeout=5)
            except Exception as exc:
                problem = repr(exc)
            if problem:
                problems[name] = problem
        body: dict[str, Any] = {"status": "ready"}
        if view is not None:
            position = await asyncio.to_thread(lambda: view.position)
            body["view"] = {"position": position, "applied": view.applied}
        if relay is not None:
            relay_status = relay.status
            body["relay"] = {
                "position": relay_status.position,
                "lag": relay_status.lag,
                "held": len(relay_status.held),
            }
            if relay_status.held:
                first = relay_status.held[0]
                body["warnings"] = [
                    f"{len(relay_status.held)} stored event(s) held back by the outbox relay, "
                    f"the first notification {first.seq}: {first.reason} "
                    "(list them with `held`)"
                ]
        if problems:
            response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
            body.update(status="unavailable", problems=problems)
        if metrics is not None:
            metrics.ready.labels(metrics.service).set(0 if problems else 1)
        return body

    return router


def store_check(app: Application[Any]) -> ReadinessCheck:
    async def check() -> str | None:
        await asyncio.to_thread(app.recorder.max_notification_id)
        return None

    return check


async def follow(view: View, stop: asyncio.Event, idle: float = 0.05) -> None:
    """Keep a read model current between requests, so a read finds little to apply."""
    while not stop.is_set():
        try:
            applied = await asyncio.to_thread(view.catch_up)
        except Exception:
            log.exception("view.follow_failed")
            applied = 0
            idle_for = 5.0
        else:
            idle_for = idle
        if not applied:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=idle_for)


async def supervise_relay(relay: OutboxRelay, stop: asyncio.Event) -> None:
    """Keep the relay running through broker outages; give up only on a store/topic mismatch."""
    backoff = 0.5
    while not stop.is_set():
        try:
            await relay.run(stop)
            backoff = 0.5
        except RelayPositionAhead:
            log.exception("relay.fatal")
            raise
        except Exception:
            log.exception("relay.failed", retry_in=backoff)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=backoff)
            backoff = min(backoff * 2, 30.0)


@dataclass(kw_only=True)
class Service:
    """One service as its settings make it: the application over its own store, its read
    model and, if it publishes, its outbox relay (built always, run when relay_enabled)."""

    name: str
    settings: ServiceSettings
    app: Application[Any]
    read_model: View
    relay: OutboxRelay | None = None

    @functools.cached_property
    def metrics(self) -> ServiceMetrics:
        """This process's metrics (``/metrics``), a registry of its own."""
        return ServiceMetrics(self.name, enabled=self.settings.metrics_enabled)

    @functools.cached_property
    def current_principal(self) -> Callable[..., Principal]:
        """The FastAPI dependency naming the caller and their capacity (401 without a valid
        bearer token)."""
        return principal_authenticator(TokenVerifier(self.settings.auth))

    @functools.cached_property
    def current_actor(self) -> Callable[..., Actor]:
        """The FastAPI dependency naming the caller (401 without a valid bearer token)."""
        return actor_of(self.current_principal)

    @property
    def running_relay(self) -> OutboxRelay | None:
        """The relay this process runs: none when the settings turn it off."""
        return self.relay if self.settings.relay_enabled else None

    def http_app(
        self,
        router: APIRouter,
        *,
        title: str,
        description: str,
        background: Sequence[Background] = (),
    ) -> FastAPI:
        """The service's process: HTTP, its read model kept current, what it runs in the
        background and (if it publishes) its outbox relay."""
        stop = asyncio.Event()
        relay = self.running_relay
        metrics = self.metrics
        metrics.instrument_store(self.app)
        self._instrument(metrics)
        if relay is not None:
            metrics.watch_relay(relay, self.app)

        @contextlib.asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            # Only what the log gained since the view's position is applied: nothing is
            # folded from the whole log at start.
            await asyncio.to_thread(self.read_model.catch_up)
            tasks = await self._start(stop)
            tasks.append(asyncio.create_task(follow(self.read_model, stop)))
            tasks.extend(asyncio.create_task(job(stop)) for job in background)
            if relay is not None:
                tasks.append(asyncio.create_task(supervise_relay(relay, stop)))
            try:
                yield
            finally:
                stop.set()
                for task in tasks:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(task, timeout=15)
                await self._stopped()
                self.app.close()

        checks = {"store": store_check(self.app), **self._checks()}
        if relay is not None:
            checks["relay"] = relay.problem
        http = FastAPI(title=title, description=description, lifespan=lifespan)
        http.include_router(probes(checks, relay, self.read_model, metrics))
        metrics.install(http)
        http.include_router(router)
        self._operations(http)
        install_problems(http, self.settings.http_limits)
        return http

    # What a kind of service adds to the process (ConsumingService: its consumer).

    def _instrument(self, metrics: ServiceMetrics) -> None:
        """Metrics of its own beside the store's and the relay's."""

    def _checks(self) -> dict[str, ReadinessCheck]:
        """Readiness checks beside the store's and the relay's."""
        return {}

    async def _start(self, stop: asyncio.Event) -> list[asyncio.Task[None]]:
        """Started first in the lifespan; the tasks it returns are awaited at the end."""
        return []

    async def _stopped(self) -> None:
        """After its tasks ended, before the store closes."""

    def _operations(self, http: FastAPI) -> None:
        """Routes of its own after the service's."""


@dataclass(kw_only=True)
class ConsumingService(Service):
    """A service that applies other services' public events to its own store."""

    app: ConsumerApplication
    subscribes_to: Sequence[str]
    ingestors: dict[str, Ingestor] = field(default_factory=dict)
    consumer: BatchConsumer | None = None
    broker: KafkaBroker | None = None
    _consuming: dict[str, asyncio.Task[None]] = field(default_factory=dict, init=False, repr=False)

    @property
    def group_id(self) -> str:
        return f"{self.settings.topic_prefix}csc-{self.name}"

    def build_broker(self) -> KafkaBroker:
        """The FastStream broker of the DLQ publishers; also sets up ``consumer``.

        The consumer itself is a plain aiokafka group member (``csc_messaging.consumer``):
        it seeks to the store's positions on assignment, which FastStream's subscribers
        do not let a handler do.
        """
        from csc_messaging.consumer import BatchConsumer, dead_letter_publisher

        kafka = self.settings.kafka
        broker = KafkaBroker(
            kafka.bootstrap_servers,
            security=kafka.faststream_security(),
            client_id=f"csc-{self.name}",
        )
        for topic in self.topics:
            dead_letter = dead_letter_publisher(broker, topic=topic, group_id=self.group_id)
            self.ingestors[topic] = Ingestor(self.app, dead_letter)
        self.consumer = BatchConsumer(
            app=self.app,
            kafka=kafka,
            group_id=self.group_id,
            client_id=f"csc-{self.name}",
            ingestors=self.ingestors,
            max_records=self.settings.consumer_max_records,
        )
        self.broker = broker
        return broker

    @property
    def topics(self) -> list[str]:
        """The topics this service consumes, in the order it applies them on a replay."""
        return [self.settings.topics.events(source) for source in self.subscribes_to]

    async def replay(self, progress: Progress | None = None) -> dict[str, Any]:
        """Restore an empty store from this service's journal, then apply every topic it
        consumes from offset 0 (what the journal covers is skipped); counts and digest.

        Topics one after the other (a case's later events come from the services that
        read its first ones), each topic's partitions side by side.
        """
        from csc_messaging.journal import restore
        from csc_messaging.replay import replay_topic

        totals: dict[str, Any] = {"records": 0, "topics": {}}
        if not await asyncio.to_thread(self.app.recorder.max_notification_id):
            journal = self.settings.topics.journal(self.name)
            restored = await restore(self.app, self.settings.kafka, journal)
            totals["restored"] = restored.as_dict()
        for topic in self.topics:
            # Replaying sends nothing to a DLQ: what it cannot read was dead-lettered live.
            result = await replay_topic(
                self.settings.kafka, topic, Ingestor(self.app, None), progress=progress
            )
            totals["records"] += result.records
            totals["topics"][topic] = result.counts
        totals["digest"] = await asyncio.to_thread(self.read_model.digest)
        totals["service"] = self.name
        return totals

    def http_app(
        self,
        router: APIRouter,
        *,
        title: str,
        description: str,
        background: Sequence[Background] = (),
    ) -> FastAPI:
        """The service's process: HTTP, the consumer, and (if it publishes) its outbox relay."""
        self.build_broker()
        return super().http_app(router, title=title, description=description, background=background)

    def _parts(self) -> tuple[KafkaBroker, BatchConsumer]:
        assert self.broker is not None and self.consumer is not None, "build_broker first"
        return self.broker, self.consumer

    def _instrument(self, metrics: ServiceMetrics) -> None:
        metrics.watch_consumer(self._parts()[1], self.ingestors)

    def _checks(self) -> dict[str, ReadinessCheck]:
        broker, consumer = self._parts()

        async def kafka_check() -> str | None:
            return None if await broker.ping(timeout=3) else "Kafka broker does not answer"

        async def consumer_check() -> str | None:
            task = self._consuming.get("consumer")
            if task is not None and task.done():
                return "the consumer has stopped"
            return consumer.problem

        return {"kafka": kafka_check, "consumer": consumer_check}

    async def _start(self, stop: asyncio.Event) -> list[asyncio.Task[None]]:
        broker, consumer = self._parts()
        await broker.start()
        await consumer.start()
        self._consuming["consumer"] = asyncio.create_task(consumer.run(stop))
        dlqs = [self.settings.topics.dlq(topic) for topic in self.topics]
        sampler = asyncio.create_task(self.metrics.sample_dlqs(self.settings.kafka, dlqs, stop))
        log.info("consumer.started", group_id=self.group_id, topics=list(self.ingestors))
        return [self._consuming["consumer"], sampler]

    async def _stopped(self) -> None:
        await self._parts()[0].stop()

    def _operations(self, http: FastAPI) -> None:
        @http.get(
            "/digest",
            tags=["audit"],
            dependencies=[Depends(self.current_actor)],
            response_model=Digest,
        )
        def digest() -> dict[str, Any]:
            """A hash of the whole read model, to compare a live store with a replayed one."""
            model = self.read_model
            return {
                "digest": model.digest(),
                "position": model.position,
                "bookkeeping": model.bookkeeping,
            }

        @http.get("/ingest-stats", tags=["audit"], response_model=dict[str, dict[str, int]])
        def ingest_stats() -> dict[str, dict[str, int]]:
            """Records handled since this process started, by outcome, per topic."""
            return {topic: dict(i.stats.counts) for topic, i in self.ingestors.items()}


Routes = Callable[[Service], APIRouter]
HttpHandlers = Callable[[FastAPI], None]


@dataclass(frozen=True, kw_only=True)
class ServiceSpec:
    """Everything that makes a service itself: its settings, application, read model, public
    mapping and routes. The wiring is the same for all: ``bootstrap`` builds the service,
    ``http_app`` its process. Each service's ``bootstrap.py`` declares one, named by the
    ``csc.services`` entry point of its package."""

    name: str
    settings_class: type[ServiceSettings]
    application_class: type[Application[Any]]
    read_model_class: type[View]
    routes: Routes
    title: str
    description: str
    to_public: ToPublic | None = None
    make_application: Callable[[ServiceSettings, dict[str, str]], Application[Any]] | None = None
    background: Callable[[Service], Sequence[Background]] | None = None
    http_handlers: Sequence[HttpHandlers] = ()

    def application(self, settings: ServiceSettings) -> Application[Any]:
        """The application over the service's store, and nothing else (no read model)."""
        from csc_messaging.store import eventsourcing_env

        env = eventsourcing_env(settings, self.name)
        if self.make_application is not None:
            return self.make_application(settings, env)
        return self.application_class(env=env)

    def relay(self, settings: ServiceSettings, app: Application[Any]) -> OutboxRelay | None:
        """The outbox relay publishing the store on ``csc.<name>.v1`` (and, for a service
        that keeps one, its journal)."""
        if self.to_public is None:
            return None
        return OutboxRelay(
            app=app,
            service=self.name,
            to_public=self.to_public,
            kafka=settings.kafka,
            topics=settings.topics,
            batch_size=settings.relay_batch_size,
            poll_seconds=settings.relay_poll_seconds,
            checkpoint_every=settings.audit_checkpoint_every,
            checkpoint_seconds=settings.audit_checkpoint_seconds,
            max_record_bytes=settings.relay_max_record_bytes,
            journal=self.name in JOURNALED,
        )

    def bootstrap(self, settings: ServiceSettings | None = None) -> Service:
        settings = settings or self.settings_class()
        app = self.application(settings)
        return Service(
            name=self.name,
            settings=settings,
            app=app,
            read_model=self.read_model_class(app),
            relay=self.relay(settings, app),
        )

    def http_app(
        self, settings: ServiceSettings | None = None, service: Service | None = None
    ) -> FastAPI:
        """The service's HTTP app over ``service`` (by default the one ``settings`` make)."""
        service = service or self.bootstrap(settings)
        http = service.http_app(
            self.routes(service),
            title=self.title,
            description=self.description,
            background=self.background(service) if self.background is not None else (),
        )
        for install in self.http_handlers:
            install(http)
        return http

    def views(self, settings: ServiceSettings) -> list[View]:
        """The service's read models kept as tables (``csc-<svc> views``)."""
        return [self.bootstrap(settings).read_model]


@dataclass(frozen=True, kw_only=True)
class ConsumerSpec(ServiceSpec):
    """A service that also consumes other services' topics: replayable, with dead letters."""

    subscribes_to: Sequence[str]

    def bootstrap(self, settings: ServiceSettings | None = None) -> ConsumingService:
        settings = settings or self.settings_class()
        app = self.application(settings)
        assert isinstance(app, ConsumerApplication), f"{self.name} consumes: {type(app)}"
        return ConsumingService(
            name=self.name,
            settings=settings,
            app=app,
            read_model=self.read_model_class(app),
            relay=self.relay(settings, app),
            subscribes_to=self.subscribes_to,
        )

    async def replay(
        self, settings: ServiceSettings, progress: Progress | None = None
    ) -> dict[str, Any]:
        service = self.bootstrap(settings)
        try:
            return await service.replay(progress)
        finally:
            service.app.close()

    async def unjournaled(self, settings: ServiceSettings) -> int:
        """How many events of the store its journal does not hold yet (a wipe would lose)."""
        from csc_messaging.relay import read_relay_record

        service = self.bootstrap(settings)
        try:
            head = await asyncio.to_thread(service.app.recorder.max_notification_id) or 0
            state = await read_relay_record(settings.kafka, settings.topics, self.name)
            return max(0, head - state.journaled)
        finally:
            service.app.close()

    async def dead_letters(
        self, settings: ServiceSettings, *, apply: bool, skip: frozenset[str] = frozenset()
    ) -> list[DeadLetter]:
        """This consumer's dead letters on every DLQ of the topics it reads; ``apply``
        redrives them (``csc_messaging.redrive``)."""
        service = self.bootstrap(settings)
        topics = settings.topics
        dlqs = [topics.dlq(topics.events(source)) for source in self.subscribes_to]
        try:
            return await redrive_topics(
                service.app, settings.kafka, dlqs, service.group_id, apply=apply, skip=skip
            )
        finally:
            service.app.close()


SERVICES_GROUP = "csc.services"


def service_specs() -> dict[str, ServiceSpec]:
    """Every service installed, by name, in the order of ``csc_contracts.SERVICES``: each
    package declares its spec as an entry point of the ``csc.services`` group."""
    found: dict[str, ServiceSpec] = {}
    for point in entry_points(group=SERVICES_GROUP):
        spec = point.load()
        if not isinstance(spec, ServiceSpec) or spec.name != point.name:
            raise TypeError(f"entry point {point.value} is not the ServiceSpec of {point.name}")
        found[point.name] = spec
    order = {name: i for i, name in enumerate(SERVICES)}
    return dict(sorted(found.items(), key=lambda item: order.get(item[0], len(order))))


def service_spec(name: str) -> ServiceSpec:
    """The installed service ``name``'s spec (``LookupError`` when no package declares it)."""
    for point in entry_points(group=SERVICES_GROUP, name=name):
        spec = point.load()
        if isinstance(spec, ServiceSpec) and spec.name == name:
            return spec
        raise TypeError(f"entry point {point.value} is not the ServiceSpec of {name}")
    raise LookupError(f"no installed package declares the service {name!r} ({SERVICES_GROUP})")
