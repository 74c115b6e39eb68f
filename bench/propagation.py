"""Case 2, propagation: intake commit -> visible in sla's read model, at a fixed rate.

Complaints are posted to intake open loop. A complaint is committed when intake
records it (the ``recorded_at`` of its answer, intake's clock) and visible when
sla has committed the case's reply clock: sla's ClockBoard folds sla's notification log
on every read, so from that moment ``GET /clocks`` shows it. The bench sees sla's
commits by polling sla's SQLite store every 2 ms (read-only; WAL lets it read
beside sla), and the records on Kafka with a consumer of its own, which splits
the latency into intake's relay (commit -> on Kafka) and sla's consumer (Kafka ->
committed in sla). All times are wall-clock times of this one machine.

Baseline: a bare aiokafka produce -> consume round trip at the same rate on the
same broker.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench import workload
from bench.context import Context, poll, run_worker, say
from bench.harness import Figure, ProcessWatch, latency_summary
from csc_contracts import Topics
from csc_devkit.processes import ServiceProcess
from csc_messaging.topology import TopicSpec, create_topics, ensure_topics
from csc_sla.domain import Clock
from csc_sla.policy import ClockKind

NAME = "propagation"
P99_TARGET_MS = 150.0
BACKLOG = 3_000
DRAIN_TARGET = 3_000.0
STORE_POLL_S = 0.002


class StoreTail(threading.Thread):
    """When each aggregate first appeared in a service's SQLite store."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True, name="store-tail")
        self.path = path
        self.seen: dict[str, float] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        last = 0
        try:
            while not self.stopping.is_set():
                rows = conn.execute(
                    "SELECT rowid, originator_id FROM stored_events WHERE rowid > ? ORDER BY rowid",
                    (last,),
                ).fetchall()
                now = time.time()
                for rowid, originator_id in rows:
                    self.seen.setdefault(originator_id, now)
                    last = rowid
                time.sleep(STORE_POLL_S)
        finally:
            conn.close()


class TopicTail(threading.Thread):
    """When each key first appeared on a topic, as a read_committed consumer sees it."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        super().__init__(daemon=True, name="topic-tail")
        self.bootstrap, self.topic, self.partitions = bootstrap, topic, partitions
        self.seen: dict[str, float] = {}
        self.ready = threading.Event()
        self.stopping = threading.Event()

    def run(self) -> None:
        asyncio.run(self._tail())

    async def _tail(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
        )
        await consumer.start()
        try:
            tps = [TopicPartition(self.topic, p) for p in range(self.partitions)]
            consumer.assign(tps)
            await consumer.seek_to_end(*tps)
            for tp in tps:
                await consumer.position(tp)
            self.ready.set()
            while not self.stopping.is_set():
                batches = await consumer.getmany(timeout_ms=100)
                now = time.time()
                for records in batches.values():
                    for record in records:
                        if record.key is not None:
                            self.seen.setdefault(record.key.decode(), now)
        finally:
            await consumer.stop()


def sla_store_id(case_id: str) -> str:
    """The case's reply clock (4.2.1) as sla's store names it: eventsourcing's SQLite
    recorder keeps UUID originator ids as hex text."""
    clock_id: UUID = Clock.create_id(UUID(case_id), ClockKind.REPLY.value)
    return clock_id.hex


def run(ctx: Context) -> list[Figure]:
    s = ctx.sizes
    bootstrap = ctx.kafka()
    prefix = ctx.prefix(NAME)
    topics = Topics(prefix=prefix)
    asyncio.run(ensure_topics(bootstrap, topics))
    roundtrip_topic = f"{prefix}roundtrip"
    asyncio.run(create_topics(bootstrap, [TopicSpec(roundtrip_topic, 3)]))

    say("propagation: baseline, a bare aiokafka produce -> consume round trip")
    baseline, baseline_rss = run_worker(
        "bench.kafka_roundtrip",
        {
            "bootstrap": bootstrap,
            "topic": roundtrip_topic,
            "partitions": 3,
            "rate": s.rate,
            "warmup": s.warmup_s,
            "duration": s.load_s,
        },
        timeout=120 + 2 * (s.warmup_s + s.load_s),
    )

    say("propagation: starting intake and sla")
    data = ctx.dir(NAME)
    intake = ctx.service("intake", prefix, data / "intake", **workload.intake_env())
    workload.prepare_intake(intake.url)
    sla = ctx.service("sla", prefix, data / "sla")
    assert intake.proc is not None and sla.proc is not None
    host, port = intake.url.removeprefix("http://").split(":")
    load_spec: dict[str, Any] = {
        "host": host,
        "port": int(port),
        "path": "/complaints",
        "headers": workload.intake_headers(),
        "mode": "open",
    }

    store_tail = StoreTail(data / "sla" / "sla.sqlite")
    topic_tail = TopicTail(bootstrap, topics.intake, 3)
    store_tail.start()
    topic_tail.start()
    topic_tail.ready.wait(30)
    try:
        say(f"propagation: warm-up ({s.warmup_s:.0f}s at 100/s)")
        warm, _ = run_worker(
            "bench.loadgen",
            {**load_spec, "rate": 100, "duration": s.warmup_s, "first": 0},
            timeout=120,
        )
        poll(lambda: len(store_tail.seen) >= warm["ok"], timeout=60)
        acks_path = data / "acks.jsonl"
        say(f"propagation: {s.rate:.0f} complaints/s for {s.load_s:.0f}s through intake to sla")
        with ProcessWatch([intake.proc.pid, sla.proc.pid]) as watch:
            report, _ = run_worker(
                "bench.loadgen",
                {
                    **load_spec,
                    "rate": s.rate,
                    "duration": s.load_s,
                    "first": 1_000_000,
                    "acks_path": str(acks_path),
                },
                timeout=120 + 3 * s.load_s,
            )
            acks = [json.loads(line) for line in acks_path.read_text().splitlines() if line]
            wanted = {sla_store_id(a["case_id"]) for a in acks}
            # sla may trail far behind; give it time to drain, at a few dozen per second.
            drain = max(120.0, len(wanted) / 25)
            caught_up = poll(lambda: wanted <= store_tail.seen.keys(), timeout=drain)
        backlog = _backlog(ctx, sla, load_spec, topic_tail, store_tail, data)
    finally:
        store_tail.stopping.set()
        topic_tail.stopping.set()
        store_tail.join(10)
        topic_tail.join(10)
    if not caught_up:
        ctx.notes.append(
            f"propagation: {len(wanted - store_tail.seen.keys())} of {len(wanted)} complaints "
            f"not visible in sla {drain:.0f} s after the load ended"
        )

    total, relay_leg, sla_leg = [], [], []
    committed, visible = [], []
    for ack in acks:
        committed_at = _committed_at(ack)
        visible_at = store_tail.seen.get(sla_store_id(ack["case_id"]))
        if visible_at is None:
            continue
        total.append(visible_at - committed_at)
        committed.append(committed_at)
        visible.append(visible_at)
        on_kafka = topic_tail.seen.get(ack["case_id"])
        if on_kafka is not None:
            relay_leg.append(on_kafka - committed_at)
            sla_leg.append(visible_at - on_kafka)
    span = max(visible) - min(committed) if visible else 0.0
    throughput = len(total) / span if span > 0 else None
    latency, relay_ms, sla_ms = (
        latency_summary(total),
        latency_summary(relay_leg),
        latency_summary(sla_leg),
    )
    if report["errors"] or set(report["statuses"]) - {"201"}:
        ctx.notes.append(f"propagation: intake answered {report['statuses']} {report['errors']}")
    say("propagation: baseline of the backlog, a bare consumer reading intake's topic")
    bare, _ = run_worker(
        "bench.replay_worker",
        {"what": "consumer", "bootstrap": bootstrap, "topic": topics.intake, "partitions": 3},
        timeout=300,
    )
    case = f"propagation @{s.rate:.0f}/s, intake → sla"
    p99 = latency["p99"]
    drain_case = f"backlog of {BACKLOG:,} complaints, sla"
    drain_rate = backlog["records_per_s"]
    drain_figures = [
        Figure(
            drain_case,
            "drain",
            "records/s",
            drain_rate,
            bare["records"] / bare["elapsed_s"],
            target=f"≥ {DRAIN_TARGET:,.0f} records/s",
            met=drain_rate is not None and drain_rate >= DRAIN_TARGET,
            note="baseline: a bare aiokafka consumer reading the same topic",
        ),
        Figure(drain_case, "store transactions", "txn", backlog["transactions"]),
    ]
    figures = [
        Figure(case, "throughput", "events/s", throughput, baseline["throughput"]),
        Figure(case, "p50", "ms", latency["p50"], baseline["latency_ms"]["p50"]),
        Figure(
            case,
            "p99",
            "ms",
            p99,
            baseline["latency_ms"]["p99"],
            target=f"≤ {P99_TARGET_MS:.0f} ms",
            met=p99 is not None and p99 <= P99_TARGET_MS,
        ),
        Figure(case, "p50 commit → on Kafka", "ms", relay_ms["p50"]),
        Figure(case, "p99 commit → on Kafka", "ms", relay_ms["p99"]),
        Figure(case, "p50 on Kafka → in sla", "ms", sla_ms["p50"]),
        Figure(case, "p99 on Kafka → in sla", "ms", sla_ms["p99"]),
        Figure(
            case,
            "peak RSS",
            "MiB",
            watch.total_peak_rss_mib(),
            baseline_rss,
            note="intake + sla; baseline: the round-trip process",
        ),
        Figure(
            case,
            "CPU",
            "cores",
            sum(watch.cpu_seconds.values()) / watch.elapsed if watch.elapsed else None,
            baseline["cpu_s"] / s.load_s if s.load_s else None,
            note="intake + sla; baseline: the round-trip process",
        ),
    ]
    return figures + drain_figures


def _backlog(
    ctx: Context,
    sla: ServiceProcess,
    load_spec: dict[str, Any],
    topic_tail: TopicTail,
    store_tail: StoreTail,
    data: Path,
) -> dict[str, Any]:
    """sla stopped, ``BACKLOG`` complaints on Kafka, then sla started: how fast it drains.

    Timed from sla's first commit of the backlog to its last; what that first commit
    applied is not counted, so the rate is records applied over the time it took.
    """
    s = ctx.sizes
    say(f"propagation: a backlog of {BACKLOG:,} complaints while sla is stopped")
    sla.stop()
    acks_path = data / "backlog.jsonl"
    run_worker(
        "bench.loadgen",
        {**load_spec, "rate": s.rate, "duration": BACKLOG / s.rate, "first": 2_000_000,
         "acks_path": str(acks_path)},
        timeout=120 + 3 * BACKLOG / s.rate,
    )  # fmt: skip
    acks = [json.loads(line) for line in acks_path.read_text().splitlines() if line]
    cases = {a["case_id"] for a in acks}
    if not poll(lambda: cases <= topic_tail.seen.keys(), timeout=120):
        ctx.notes.append("propagation: intake did not publish the whole backlog in 120 s")
    wanted = {sla_store_id(case) for case in cases}
    say(f"propagation: sla drains {len(wanted):,} complaints ({2 * len(wanted):,} records)")
    applied_before = _transactions(data / "sla" / "sla.sqlite")
    restarted = ctx.service("sla", sla.env["CSC_TOPIC_PREFIX"], data / "sla")
    drained = poll(lambda: wanted <= store_tail.seen.keys(), timeout=max(120.0, len(wanted) / 25))
    restarted.stop()
    if not drained:
        ctx.notes.append(
            f"propagation: {len(wanted - store_tail.seen.keys())} of the backlog's "
            f"{len(wanted)} complaints not visible in sla"
        )
    seen = sorted(store_tail.seen[w] for w in wanted if w in store_tail.seen)
    first = seen[0] if seen else 0.0
    # Two records a complaint (ComplaintLogged, EngineeringNotified), same partition.
    after_first = 2 * sum(1 for t in seen if t > first)
    span = seen[-1] - first if seen else 0.0
    return {
        "records_per_s": after_first / span if span > 0 else None,
        "transactions": _transactions(data / "sla" / "sla.sqlite") - applied_before,
    }


def _transactions(path: Path) -> int:
    """How many transactions of sla's store applied Kafka records (one RecordApplied each)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (count,) = conn.execute(
            "SELECT count(*) FROM stored_events WHERE topic LIKE '%:RecordApplied'"
        ).fetchone()
        return int(count)
    finally:
        conn.close()


def _committed_at(ack: dict[str, Any]) -> float:
    recorded = ack.get("recorded_at")
    if recorded:
        return datetime.fromisoformat(recorded).timestamp()
    return float(ack["acked_at"])
