"""Case 3, replay: rebuild sla, returns and capa from offset 0 of a topic of N events.

The topic is filled first, straight from here: the customers' ``CustomerRegistered``
and N ``ComplaintLogged`` events, encoded with the system's own codec and sent by a
batching producer (not timed). Then, each
in a process of its own: the baseline, a bare aiokafka consumer reading the topic
to its end; and each service's replay into an empty SQLite store, timed from
the first read to the digest of the rebuilt read model.
"""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaProducer

from bench import workload
from bench.context import Context, run_worker, say
from bench.harness import Figure
from csc_contracts import Topics
from csc_messaging.topology import ensure_topics

NAME = "replay"
SERVICES = ("sla", "returns", "capa")
RATE_TARGET = 0.5
MILLION_TARGET_S = 60.0


async def fill(bootstrap: str, topic: str, events: int) -> float:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=50,
        max_batch_size=1 << 20,
        compression_type=None,
    )
    await producer.start()
    began = time.perf_counter()
    try:
        pending = []
        for message in workload.intake_topic_events(events):
            pending.append(
                await producer.send(
                    topic, value=message.value, key=message.key, headers=message.headers
                )
            )
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - began


def run(ctx: Context) -> list[Figure]:
    events = ctx.sizes.replay_events
    bootstrap = ctx.kafka()
    prefix = ctx.prefix(NAME)
    topics = Topics(prefix=prefix)
    asyncio.run(ensure_topics(bootstrap, topics))
    say(f"replay: filling {topics.intake} with {events:,} events")
    filled_in = asyncio.run(fill(bootstrap, topics.intake, events))
    ctx.notes.append(
        f"replay: {events:,} ComplaintLogged events produced in {filled_in:.0f} s "
        f"({events / filled_in:,.0f}/s, encoding included; not a figure)"
    )
    # Budget: generous, so a slow machine still finishes; a case that ran out is reported.
    budget = 600 + events / 500

    say("replay: baseline, a bare consumer reading the topic to its end")
    base, base_rss = run_worker(
        "bench.replay_worker",
        {"what": "consumer", "bootstrap": bootstrap, "topic": topics.intake, "partitions": 3},
        timeout=budget,
    )
    base_rate = base["records"] / base["elapsed_s"]
    figures: list[Figure] = []
    for service in SERVICES:
        say(f"replay: {service} from offset 0 into an empty store")
        data_dir = ctx.dir(NAME, service)
        result, rss = run_worker(
            "bench.replay_worker",
            {"what": service},
            timeout=budget,
            env={
                "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                "CSC_TOPIC_PREFIX": prefix,
                "CSC_DATA_DIR": str(data_dir),
                "CSC_STORE": "sqlite",
                "CSC_LOG_FORMAT": "console",
            },
        )
        on_topic = events + len(workload.CUSTOMERS)
        if result["records"] != on_topic:
            ctx.notes.append(f"replay {service}: read {result['records']} of {on_topic} records")
        counts = result["topics"].get(topics.intake, {})
        if counts.get("applied") != on_topic:
            ctx.notes.append(f"replay {service}: outcomes {counts}")
        rate = result["records"] / result["elapsed_s"]
        million_s = 1_000_000 / rate
        case = f"replay {service}, {events:,} events"
        figures += [
            Figure(
                case,
                "throughput",
                "events/s",
                rate,
                base_rate,
                target=f"≥ {RATE_TARGET}× baseline",
                met=rate >= RATE_TARGET * base_rate,
            ),
            Figure(case, "time", "s", result["elapsed_s"], base["elapsed_s"]),
            Figure(
                case,
                "time for 1 M" if events == 1_000_000 else "time for 1 M (projected)",
                "s",
                million_s,
                1_000_000 / base_rate,
                target=f"≤ {MILLION_TARGET_S:.0f} s",
                met=million_s <= MILLION_TARGET_S,
            ),
            Figure(case, "peak RSS", "MiB", rss, base_rss),
        ]
    return figures
