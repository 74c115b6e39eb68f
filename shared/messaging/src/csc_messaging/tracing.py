"""Traces with OpenTelemetry: HTTP request -> store -> relay -> Kafka -> consumer -> store.

Off by default. ``configure_tracing`` installs a tracer provider with the OTLP/HTTP
exporter only when the environment names a collector (``OTEL_EXPORTER_OTLP_ENDPOINT``
or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``; the exporter reads the rest of its
``OTEL_EXPORTER_OTLP_*`` settings itself) and neither ``OTEL_SDK_DISABLED=true`` nor
``OTEL_TRACES_EXPORTER=none`` says otherwise. Without a provider the API's spans record
nothing and no header is added to any record.

HTTP requests are FastAPI's own server spans (FastAPI traces each request through the
OpenTelemetry API, continuing a caller's ``traceparent``, once a provider is installed).
How a trace crosses the outbox: a request's span is current while its command commits;
the store remembers, per notification id, the context of the commit's span (in memory,
the last ``REMEMBERED``: a relay that publishes after a restart starts a new trace). The
relay's publish span is that commit's child, and its context travels with the record as
the CloudEvents distributed-tracing extension (``traceparent``, ``tracestate``; in Kafka
binary mode the headers ``ce_traceparent``, ``ce_tracestate``). A consumer's run of
records is applied under one span whose parent is the first record's context, linked to
the others'. The record chain (``csc_messaging.chain``) does not cover these headers:
they say how a record travelled, not what it records.
"""

from __future__ import annotations

import functools
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, MutableMapping, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "ce_traceparent"
TRACESTATE = "ce_tracestate"
TRACE_HEADERS = frozenset({TRACEPARENT, TRACESTATE})
REMEMBERED = 10_000

_propagator = TraceContextTextMapPropagator()
tracer = trace.get_tracer("csc_messaging")


def configure_tracing(service: str, environ: MutableMapping[str, str] | None = None) -> bool:
    """Install the OTLP exporter if the environment asks for one; whether it did."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    if env.get("OTEL_TRACES_EXPORTER", "otlp").lower() == "none":
        return False
    if not (
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    ):
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME", f"csc-{service}")})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return True


def add_trace_ids(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: the current span's trace and span ids, where there is one."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict.setdefault("trace_id", format(context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(context.span_id, "016x"))
    return event_dict


# ---- Kafka headers ----------------------------------------------------------------------


def trace_headers(span_context: SpanContext) -> list[tuple[str, bytes]]:
    """The CloudEvents distributed-tracing extension for a record sent under ``span_context``."""
    if not span_context.is_valid:
        return []
    carrier: dict[str, str] = {}
    _propagator.inject(carrier, context=trace.set_span_in_context(NonRecordingSpan(span_context)))
    headers = [(TRACEPARENT, carrier["traceparent"].encode())]
    if carrier.get("tracestate"):
        headers.append((TRACESTATE, carrier["tracestate"].encode()))
    return headers


def record_context(headers: Iterable[tuple[str, bytes]]) -> SpanContext | None:
    """The span context a record carries in its ``ce_traceparent``, if any."""
    carrier = {
        name.removeprefix("ce_"): value.decode("ascii", "replace")
        for name, value in headers
        if name in TRACE_HEADERS
    }
    if "traceparent" not in carrier:
        return None
    found = trace.get_current_span(_propagator.extract(carrier)).get_span_context()
    return found if found.is_valid else None


# ---- the store --------------------------------------------------------------------------


class _Remembered:
    """Per notification id, the context of the span its commit ran under."""

    def __init__(self) -> None:
        self._contexts: OrderedDict[int, SpanContext] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, ids: Sequence[int], context: SpanContext) -> None:
        with self._lock:
            for notification_id in ids:
                self._contexts[notification_id] = context
            while len(self._contexts) > REMEMBERED:
                self._contexts.popitem(last=False)

    def pop(self, notification_id: int) -> SpanContext | None:
        with self._lock:
            return self._contexts.pop(notification_id, None)


def instrument_store(app: Any) -> None:
    """A span per commit of ``app``'s store; each notification remembers it for the relay."""
    recorder = app.recorder
    if getattr(recorder, "_csc_traces", None) is not None:
        return
    remembered = _Remembered()
    insert = recorder.insert_events

    @functools.wraps(insert)
    def traced(stored_events: Sequence[Any], **kwargs: Any) -> Any:
        if not trace.get_current_span().get_span_context().is_valid:
            return insert(stored_events, **kwargs)  # nothing to follow: no span at all
        with tracer.start_as_current_span("store commit") as span:
            span.set_attribute("csc.events", len(stored_events))
            ids = insert(stored_events, **kwargs)
            if ids:
                remembered.add(list(ids), span.get_span_context())
            return ids

    recorder.insert_events = traced
    recorder._csc_traces = remembered


def commit_context(app: Any, notification_id: int) -> SpanContext | None:
    remembered: _Remembered | None = getattr(app.recorder, "_csc_traces", None)
    return remembered.pop(notification_id) if remembered is not None else None


def start_publish(topic: str, parent: SpanContext) -> trace.Span:
    return tracer.start_span(
        f"publish {topic}",
        context=trace.set_span_in_context(NonRecordingSpan(parent)),
        kind=SpanKind.PRODUCER,
        attributes={"messaging.system": "kafka", "messaging.destination.name": topic},
    )


def end_all(spans: Iterable[trace.Span], error: BaseException | None = None) -> None:
    for span in spans:
        if error is not None:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, repr(error)))
        span.end()


def start_apply(topic: str, contexts: Sequence[SpanContext]) -> trace.Span:
    """A consumer's run, child of its first record's trace and linked to the others'."""
    parent = trace.set_span_in_context(NonRecordingSpan(contexts[0]))
    return tracer.start_span(
        f"apply {topic}",
        context=parent,
        kind=SpanKind.CONSUMER,
        links=[Link(c) for c in contexts[1:]],
        attributes={"messaging.system": "kafka", "messaging.source.name": topic},
    )


def attach(span: trace.Span) -> object:
    return otel_context.attach(trace.set_span_in_context(span))


def detach(token: object) -> None:
    otel_context.detach(token)  # type: ignore[arg-type]
