"""Process wiring shared by the services: HTTP probes, relay supervision, consumer apps."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import structlog
from eventsourcing.application import Application
from fastapi import APIRouter, Depends, FastAPI, Response, status
from faststream.kafka import KafkaBroker
from pydantic import Field

from csc_contracts import Actor
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


@dataclass
class ConsumingService:
    """A service that applies other services' public events to its own store."""

    name: str
    settings: ServiceSettings
    app: ConsumerApplication
    read_model: View
    subscribes_to: Sequence[str]
    ingestors: dict[str, Ingestor] = field(default_factory=dict)
    consumer: BatchConsumer | None = None

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
        relay: OutboxRelay | None = None,
        background: Sequence[Background] = (),
    ) -> FastAPI:
        """The service's process: HTTP, the consumer, and (if it publishes) its outbox relay."""
        broker = self.build_broker()
        consumer = self.consumer
        assert consumer is not None
        stop = asyncio.Event()
        running: dict[str, asyncio.Task[None]] = {}
        metrics = self.metrics
        metrics.instrument_store(self.app)
        metrics.watch_consumer(consumer, self.ingestors)
        if relay is not None:
            metrics.watch_relay(relay, self.app)

        @contextlib.asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            await asyncio.to_thread(self.read_model.catch_up)
            await broker.start()
            await consumer.start()
            running["consumer"] = asyncio.create_task(consumer.run(stop))
            tasks = [running["consumer"], asyncio.create_task(follow_view(stop))]
            tasks.extend(asyncio.create_task(job(stop)) for job in background)
            if relay is not None:
                tasks.append(asyncio.create_task(supervise_relay(relay, stop)))
            dlqs = [self.settings.topics.dlq(topic) for topic in self.topics]
            tasks.append(asyncio.create_task(metrics.sample_dlqs(self.settings.kafka, dlqs, stop)))
            log.info("consumer.started", group_id=self.group_id, topics=list(self.ingestors))
            try:
                yield
            finally:
                stop.set()
                for task in tasks:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(task, timeout=15)
                await broker.stop()
                self.app.close()

        async def kafka_check() -> str | None:
            return None if await broker.ping(timeout=3) else "Kafka broker does not answer"

        async def follow_view(stop: asyncio.Event) -> None:
            await follow(self.read_model, stop)

        async def consumer_check() -> str | None:
            task = running.get("consumer")
            if task is not None and task.done():
                return "the consumer has stopped"
            return consumer.problem

        checks: dict[str, ReadinessCheck] = {
            "store": store_check(self.app),
            "kafka": kafka_check,
            "consumer": consumer_check,
        }
        if relay is not None:
            checks["relay"] = relay.problem
        http = FastAPI(title=title, description=description, lifespan=lifespan)
        http.include_router(probes(checks, relay, self.read_model, metrics))
        metrics.install(http)
        http.include_router(router)

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

        install_problems(http, self.settings.http_limits)
        return http


@dataclass(frozen=True)
class ConsumerSpec:
    """Everything that makes a consuming service itself; the wiring is the same for all."""

    name: str
    settings_class: type[ServiceSettings]
    application_class: type[ConsumerApplication]
    read_model_class: type[View]
    subscribes_to: Sequence[str]
    title: str
    description: str
    to_public: ToPublic | None = None
    make_application: Callable[[ServiceSettings, dict[str, str]], ConsumerApplication] | None = None
    background: Callable[[ConsumingService], Sequence[Background]] | None = None

    def bootstrap(self, settings: ServiceSettings | None = None) -> ConsumingService:
        from csc_messaging.store import eventsourcing_env

        settings = settings or self.settings_class()
        env = eventsourcing_env(settings, self.name)
        app = (
            self.make_application(settings, env)
            if self.make_application is not None
            else self.application_class(env=env)
        )
        return ConsumingService(
            name=self.name,
            settings=settings,
            app=app,
            read_model=self.read_model_class(app),
            subscribes_to=self.subscribes_to,
        )

    def http_app(
        self,
        routes: Callable[[ConsumingService], APIRouter],
        settings: ServiceSettings | None = None,
    ) -> FastAPI:
        service = self.bootstrap(settings)
        relay = None
        if self.to_public is not None and service.settings.relay_enabled:
            relay = OutboxRelay(
                app=service.app,
                service=self.name,
                to_public=self.to_public,
                kafka=service.settings.kafka,
                topics=service.settings.topics,
                batch_size=service.settings.relay_batch_size,
                poll_seconds=service.settings.relay_poll_seconds,
                checkpoint_every=service.settings.audit_checkpoint_every,
                checkpoint_seconds=service.settings.audit_checkpoint_seconds,
                max_record_bytes=service.settings.relay_max_record_bytes,
                journal=True,
            )
        return service.http_app(
            routes(service),
            title=self.title,
            description=self.description,
            relay=relay,
            background=self.background(service) if self.background is not None else (),
        )

    def views(self, settings: ServiceSettings) -> list[View]:
        """The service's read models kept as tables (``csc-<svc> views``)."""
        service = self.bootstrap(settings)
        return [service.read_model]

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
