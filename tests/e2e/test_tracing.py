"""One complaint, one trace: intake's request, its commit, the relay's publish, sla's apply
and sla's commit, linked across Kafka by the record's ``ce_traceparent``.

intake and sla run in this test's process (their ASGI apps, with their lifespans: relay,
consumer and timer on a real broker), so the OpenTelemetry SDK's in-memory exporter sees
the spans of both.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from typer.testing import CliRunner

from csc_devkit.cli import app as csc
from csc_intake.bootstrap import IntakeSettings
from csc_intake.bootstrap import create_app as intake_app
from csc_sla.bootstrap import SlaSettings
from csc_sla.bootstrap import create_app as sla_app
from e2e.support import CUSTOMER, complaint, read_topic, wait_until

EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def provider() -> None:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
    trace.set_tracer_provider(tracer_provider)


def in_trace(trace_id: int) -> list[ReadableSpan]:
    return [s for s in EXPORTER.get_finished_spans() if s.context.trace_id == trace_id]


def children(spans: list[ReadableSpan], parent: ReadableSpan, name: str) -> list[ReadableSpan]:
    return [
        s
        for s in spans
        if s.parent is not None and s.parent.span_id == parent.context.span_id and s.name == name
    ]


def test_one_complaint_is_one_trace_across_kafka(stack: Any, monkeypatch: Any) -> None:
    for name, value in stack.env("intake").items():
        monkeypatch.setenv(name, value)
    events = stack.topics.events("intake")
    marketing = stack.auth("marketing")
    with (
        TestClient(intake_app(IntakeSettings())) as intake,
        TestClient(sla_app(SlaSettings())) as sla,
    ):
        assert intake.post("/customers", json=CUSTOMER, headers=marketing).status_code == 201
        wait_until(
            lambda: sla.get("/ingest-stats").json().get(events, {}).get("applied"),
            what="sla to apply the customer",
        )
        EXPORTER.clear()
        posted = intake.post("/complaints", json=complaint(1), headers=marketing)
        assert posted.status_code == 201, posted.text
        case_id = posted.json()["case_id"]

        found = wait_until(
            lambda: [s for s in EXPORTER.get_finished_spans() if s.name == "POST /complaints"],
            what="intake's request span",
        )
        (request,) = found  # FastAPI's own server span
        assert request.kind == SpanKind.SERVER
        assert request.attributes is not None
        assert request.attributes["http.route"] == "/complaints"
        assert request.attributes["http.response.status_code"] == 201
        trace_id = request.context.trace_id

        def whole() -> list[ReadableSpan] | None:
            spans = in_trace(trace_id)
            applied = [s for s in spans if s.name == f"apply {events}"]
            return spans if applied and children(spans, applied[0], "store commit") else None

        spans = wait_until(whole, timeout=60, what="sla's apply in the complaint's trace")
        publishes = [
            p
            for commit in spans
            if commit.name == "store commit"
            for p in children(spans, commit, f"publish {events}")
        ]
        assert publishes and all(p.kind == SpanKind.PRODUCER for p in publishes), spans
        applies = [a for p in publishes for a in children(spans, p, f"apply {events}")]
        assert len(applies) == 1, spans  # its records in one run, or linked to it
        (apply,) = applies
        assert apply.kind == SpanKind.CONSUMER
        assert children(spans, apply, "store commit"), "sla's commit under its apply"
        assert {s.resource.attributes.get("service.name") for s in spans}  # one provider

        clocks = sla.get(f"/cases/{case_id}/clocks", headers=stack.auth("auditor"))
        assert clocks.status_code == 200 and clocks.json(), clocks.text

    # The record carries the publish span's context as the CloudEvents extension.
    records = [
        r for r in read_topic(stack.bootstrap, events) if r.key and r.key.decode() == case_id
    ]
    assert records
    sent = {dict(r.headers)["ce_traceparent"].decode().rsplit("-", 1)[0] for r in records}
    assert sent == {f"00-{trace_id:032x}-{p.context.span_id:016x}" for p in publishes}
    # The chain does not cover how a record travelled: the audit still verifies.
    result = CliRunner().invoke(
        csc, ["audit", "verify", "--service", "intake"], env=stack.env("intake")
    )
    assert result.exit_code == 0, result.stdout
