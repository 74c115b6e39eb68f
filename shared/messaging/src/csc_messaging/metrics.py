"""Prometheus metrics of one service process, at ``/metrics``.

Each process builds one ``ServiceMetrics`` with a registry of its own (tests run several
services in one process; the default global registry would mix them). Every metric has
the ``service`` label, so one query covers the services and a dashboard can tell them
apart without relabelling.

What is counted as it happens: HTTP requests (duration by route template, method and
status), store commits (duration), and what a service adds (sla's timer, notify's
sends). What is read when Prometheus scrapes: the relay's lag, the age of the oldest
event it has not published, what it holds back; each consumer's records by outcome and
lag per partition; DLQ depth (sampled every ``DLQ_SAMPLE_SECONDS``); and whatever a
service watches (``watch``), such as sla's open clocks.

The names, kinds and labels are listed in docs/metrics.md; the deploy tests check that
every metric the alert rules and the dashboard name is one of ``METRIC_NAMES``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from fastapi import APIRouter, FastAPI
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from csc_messaging import tracing

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer

    from csc_messaging.consumer import BatchConsumer
    from csc_messaging.ingest import Ingestor
    from csc_messaging.kafka_conn import KafkaConnection
    from csc_messaging.relay import OutboxRelay

log = structlog.get_logger(__name__)

# Seconds without a committed batch (or an idle look at the log) after which the relay
# counts as stalled, as ``OutboxRelay.problem`` says for /readyz.
RELAY_STALL_SECONDS = 15.0
DLQ_SAMPLE_SECONDS = 30.0

# Request and commit durations: a few ms (a read) to seconds (a PDF, a slow disk).
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STORE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

# Outcome names of ``csc_messaging.ingest.Outcome`` as the metric labels them.
OUTCOMES = {
    "applied": "applied",
    "duplicate": "duplicate",
    "skipped_unknown_type": "skipped",
    "dead_lettered": "dead_lettered",
}

# Every csc_ metric the services expose (the shared ones and each service's own); the
# deploy tests compare the rules and the dashboard with it, and a test of a running
# service compares it with what /metrics shows.
METRIC_NAMES: dict[str, str] = {
    "csc_http_request_duration_seconds": "histogram",
    "csc_store_commit_duration_seconds": "histogram",
    "csc_ready": "gauge",
    "csc_relay_running": "gauge",
    "csc_relay_stalled": "gauge",
    "csc_relay_lag_events": "gauge",
    "csc_relay_oldest_unpublished_age_seconds": "gauge",
    "csc_relay_held_events": "gauge",
    "csc_relay_seconds_since_progress": "gauge",
    "csc_relay_published_total": "counter",
    "csc_consumer_records_total": "counter",
    "csc_consumer_lag_records": "gauge",
    "csc_consumer_failing": "gauge",
    "csc_dlq_records": "gauge",
    "csc_sla_clocks": "gauge",
    "csc_sla_warnings_total": "counter",
    "csc_sla_breaches_total": "counter",
    "csc_sla_escalations_total": "counter",
    "csc_sla_timer_tick_duration_seconds": "histogram",
    "csc_notify_sends_total": "counter",
    "csc_console_sse_streams": "gauge",
}


class _Watch(Collector):
    """A collector whose families are computed at scrape time by a function."""

    def __init__(self, collect: Callable[[], Iterable[Metric]]) -> None:
        self._collect = collect

    def collect(self) -> Iterable[Metric]:
        try:
            return list(self._collect())
        except Exception:
            # A scrape that fails on one part still shows the rest.
            log.exception("metrics.collect_failed")
            return []


class ServiceMetrics:
    """The metrics of one service process."""

    def __init__(self, service: str, *, enabled: bool = True) -> None:
        self.service = service
        # Off (CSC_METRICS_ENABLED=false): nothing is timed, watched or served.
        self.enabled = enabled
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.http_duration = Histogram(
            "csc_http_request_duration_seconds",
            "HTTP requests by route template, method and status: time to the last byte "
            "(to the first for an event stream).",
            ["service", "method", "route", "status"],
            buckets=HTTP_BUCKETS,
            registry=self.registry,
        )
        self.store_commit = Histogram(
            "csc_store_commit_duration_seconds",
            "Writes to the event store (one transaction each: a command's events, or a "
            "consumed run with its Kafka position).",
            ["service"],
            buckets=STORE_BUCKETS,
            registry=self.registry,
        )
        self.ready = Gauge(
            "csc_ready",
            "1 when the last /readyz answered ready, 0 when it answered 503.",
            ["service"],
            registry=self.registry,
        )
        self._dlq_depth: dict[str, int] = {}
        self._stored: list[Callable[[Sequence[Any]], None]] = []

    # ---- the service's own metrics ------------------------------------------------------

    def counter(self, name: str, doc: str, labels: Sequence[str] = ()) -> Counter:
        return Counter(name, doc, ["service", *labels], registry=self.registry)

    def histogram(self, name: str, doc: str, buckets: Sequence[float] = HTTP_BUCKETS) -> Histogram:
        return Histogram(name, doc, ["service"], buckets=buckets, registry=self.registry)

    def watch(self, collect: Callable[[], Iterable[Metric]]) -> None:
        """Families computed at each scrape (in a worker thread: it may read the store)."""
        if not self.enabled:
            return
        self.registry.register(_Watch(collect))

    def watch_count(self, name: str, doc: str, count: Callable[[], int]) -> None:
        """A gauge read from ``count`` at each scrape."""
        self.watch(lambda: [_gauge(name, doc, self.service, count())])

    def gauge_family(self, name: str, doc: str, labels: Sequence[str] = ()) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, doc, labels=["service", *labels])

    def on_stored(self, hook: Callable[[Sequence[Any]], None]) -> None:
        """Called with the stored events of each write the store committed."""
        self._stored.append(hook)

    # ---- the store --------------------------------------------------------------------

    def instrument_store(self, app: Any) -> None:
        """Time every write of ``app``'s recorder (``insert_events`` is one transaction)."""
        tracing.instrument_store(app)
        recorder = app.recorder
        insert = recorder.insert_events
        if not self.enabled or getattr(insert, "_csc_timed", False):
            return
        observe = self.store_commit.labels(self.service).observe
        hooks = self._stored

        @functools.wraps(insert)
        def timed(stored_events: Sequence[Any], **kwargs: Any) -> Any:
            began = time.perf_counter()
            result = insert(stored_events, **kwargs)
            observe(time.perf_counter() - began)
            for hook in hooks:
                try:
                    hook(stored_events)
                except Exception:
                    log.exception("metrics.stored_hook_failed")
            return result

        timed._csc_timed = True  # type: ignore[attr-defined]
        recorder.insert_events = timed

    # ---- the relay --------------------------------------------------------------------

    def watch_relay(self, relay: OutboxRelay, app: Any) -> None:
        service = self.service

        def collect() -> Iterable[Metric]:
            status = relay.status
            since = time.monotonic() - status.last_progress
            stalled = not status.running or since > RELAY_STALL_SECONDS
            yield _gauge(
                "csc_relay_running",
                "1 while the outbox relay is connected to Kafka and publishing.",
                service,
                int(status.running),
            )
            yield _gauge(
                "csc_relay_stalled",
                "1 when the relay cannot publish: not running (Kafka unreachable, a batch "
                f"failing) or no progress for {RELAY_STALL_SECONDS:.0f} s.",
                service,
                int(stalled),
            )
            yield _gauge(
                "csc_relay_seconds_since_progress",
                "Seconds since the relay last committed a batch or found nothing to publish.",
                service,
                round(since, 3),
            )
            yield _gauge(
                "csc_relay_held_events",
                "Stored events the relay holds back (cannot be published; `held` lists them).",
                service,
                len(status.held),
            )
            published = CounterMetricFamily(
                "csc_relay_published",
                "Notifications of the store's log this process's relay published.",
                labels=["service"],
            )
            published.add_metric([service], status.published)
            yield published
            if not status.started:
                return  # where it stands is not known before it has read its position
            head = app.recorder.max_notification_id() or 0
            lag = max(0, head - status.position)
            yield _gauge(
                "csc_relay_lag_events",
                "Notifications stored and not yet published.",
                service,
                lag,
            )
            age = 0.0
            if lag:
                page = app.recorder.select_notifications(status.position + 1, 1)
                if page:
                    stamp = getattr(app.mapper.to_domain_event(page[0]), "timestamp", None)
                    if isinstance(stamp, datetime):
                        moment = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
                        age = max(0.0, (datetime.now(UTC) - moment).total_seconds())
            yield _gauge(
                "csc_relay_oldest_unpublished_age_seconds",
                "Age of the oldest stored notification not yet published (0 when none).",
                service,
                round(age, 3),
            )

        self.watch(collect)

    # ---- consumers --------------------------------------------------------------------

    def watch_consumer(self, consumer: BatchConsumer, ingestors: dict[str, Ingestor]) -> None:
        service = self.service

        def collect() -> Iterable[Metric]:
            records = CounterMetricFamily(
                "csc_consumer_records",
                "Records this process's consumer handled, by topic and outcome (applied, "
                "duplicate, skipped: unknown type, dead_lettered: sent to <topic>.dlq).",
                labels=["service", "topic", "outcome"],
            )
            for topic, ingestor in ingestors.items():
                for outcome, count in ingestor.stats.counts.items():
                    records.add_metric([service, topic, OUTCOMES.get(outcome, outcome)], count)
            yield records
            lag = GaugeMetricFamily(
                "csc_consumer_lag_records",
                "Records of a partition this member owns that are not applied yet "
                "(the partition's high watermark less the store's position).",
                labels=["service", "topic", "partition"],
            )
            for (topic, partition), behind in sorted(consumer.lags().items()):
                lag.add_metric([service, topic, str(partition)], behind)
            yield lag
            yield _gauge(
                "csc_consumer_failing",
                "1 while the consumer cannot apply what it reads (see /readyz).",
                service,
                int(consumer.problem is not None),
            )
            depth = GaugeMetricFamily(
                "csc_dlq_records",
                f"Records on each DLQ of the topics it consumes (sampled every "
                f"{DLQ_SAMPLE_SECONDS:.0f} s; redriven letters stay on the topic).",
                labels=["service", "topic"],
            )
            for topic, count in sorted(self._dlq_depth.items()):
                depth.add_metric([service, topic], count)
            yield depth

        self.watch(collect)

    async def sample_dlqs(
        self,
        kafka: KafkaConnection,
        topics: Sequence[str],
        stop: asyncio.Event,
        every: float = DLQ_SAMPLE_SECONDS,
    ) -> None:
        """Keep ``csc_dlq_records`` current: each DLQ's end offsets less its start."""
        if not self.enabled:
            return
        from aiokafka import AIOKafkaConsumer

        reader: AIOKafkaConsumer | None = None
        try:
            while not stop.is_set():
                try:
                    if reader is None:
                        reader = AIOKafkaConsumer(
                            **kafka.client_options(), enable_auto_commit=False
                        )
                        await reader.start()
                    await self._sample(reader, topics)
                except Exception as exc:
                    log.info("metrics.dlq_sample_failed", error=repr(exc))
                    if reader is not None:
                        with contextlib.suppress(Exception):
                            await reader.stop()
                        reader = None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=every)
        finally:
            if reader is not None:
                with contextlib.suppress(Exception):
                    await reader.stop()

    async def _sample(self, reader: AIOKafkaConsumer, topics: Sequence[str]) -> None:
        from aiokafka import TopicPartition

        await reader.topics()  # fetches the cluster's metadata: every topic's partitions
        for topic in topics:
            partitions = reader.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in sorted(partitions)]
            if not tps:
                self._dlq_depth[topic] = 0
                continue
            ends = await reader.end_offsets(tps)
            starts = await reader.beginning_offsets(tps)
            self._dlq_depth[topic] = sum(ends[tp] - starts[tp] for tp in tps)

    # ---- HTTP -------------------------------------------------------------------------

    def install(self, http: FastAPI) -> None:
        """``/metrics`` and the request histogram on ``http``."""
        if not self.enabled:
            return
        http.include_router(self.router())
        http.add_middleware(_TimeRequests, metrics=self)

    def router(self) -> APIRouter:
        router = APIRouter(tags=["probes"])
        registry = self.registry

        # Not in the OpenAPI: it is for Prometheus, not an API of the service's.
        @router.get("/metrics", response_class=Response, include_in_schema=False)
        def metrics() -> Response:
            """Prometheus metrics of this process (text exposition format)."""
            return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

        return router

    def exposition(self) -> str:
        return generate_latest(self.registry).decode()


def _gauge(name: str, doc: str, service: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=["service"])
    family.add_metric([service], value)
    return family


class _TimeRequests:
    """ASGI middleware: each request's duration by its route template (not its path, so
    case ids do not make a series each), method and status."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = [500]
        done = [False]

        def observe() -> None:
            if done[0]:
                return
            done[0] = True
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.http_duration.labels(
                self.metrics.service, scope["method"], template, str(status[0])
            ).observe(time.perf_counter() - began)

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = dict(message.get("headers") or ())
                if headers.get(b"content-type", b"").startswith(b"text/event-stream"):
                    observe()
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                observe()

        try:
            await self.app(scope, receive, timed_send)
        finally:
            observe()
