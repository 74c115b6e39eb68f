"""The propagation baseline: a bare aiokafka produce -> consume round trip on the same broker.

``python -m bench.kafka_roundtrip '<json spec>'``: one producer (acks=all, as intake's
relay) sends a message every 1/rate seconds, open loop; one consumer in the same
event loop reads them back. A message's latency counts from when it was due to be
sent until it was consumed. Prints one JSON document.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.harness import latency_summary


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    bootstrap, topic = spec["bootstrap"], spec["topic"]
    rate, warmup, duration = spec["rate"], spec["warmup"], spec["duration"]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    await consumer.start()
    await producer.start()
    clock = time.perf_counter
    try:
        tps = [TopicPartition(topic, p) for p in range(spec["partitions"])]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)  # resolve now: nothing sent below may be missed
        skip = int(rate * warmup)
        total = skip + int(rate * duration)
        due_at: dict[int, float] = {}
        latencies: list[float] = []
        received = 0
        first_due = last_seen = 0.0

        async def receive() -> None:
            nonlocal received, last_seen
            while received < total:
                batches = await consumer.getmany(timeout_ms=100)
                now = clock()
                for records in batches.values():
                    for record in records:
                        n = int(record.value or b"0")
                        due = due_at.pop(n, None)
                        if due is None:
                            continue
                        received += 1
                        if n >= skip:
                            latencies.append(now - due)
                            last_seen = now

        receiver = asyncio.ensure_future(receive())
        start = clock() + 0.05
        for i in range(total):
            due = start + i / rate
            delay = due - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            due_at[i] = due
            if i == skip:
                first_due = due
            await producer.send(topic, value=str(i).encode(), key=str(i % 1000).encode())
        await asyncio.wait_for(receiver, timeout=60)
    finally:
        await producer.stop()
        await consumer.stop()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    measured = last_seen - first_due
    return {
        "sent": total - skip,
        "received": len(latencies),
        "throughput": len(latencies) / measured if measured > 0 else None,
        "latency_ms": latency_summary(latencies),
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }


def main() -> None:
    print(json.dumps(asyncio.run(run(json.loads(sys.argv[1])))))


if __name__ == "__main__":
    main()
