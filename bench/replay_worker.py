"""One timed rebuild, in a process of its own: ``python -m bench.replay_worker '<json spec>'``.

``{"what": "consumer"}``: a bare aiokafka consumer reads the topic to its end (the
baseline). ``{"what": "sla" | "returns" | "capa"}``: the service's own replay
(``ConsumerSpec.replay``, what ``csc-<service> replay`` runs) from offset 0 into an
empty store, settings from the environment as the CLI takes them. Prints one JSON
document; the parent reads this process's peak RSS from the kernel.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from csc_messaging.runtime import ConsumerSpec

SPECS = {
    "sla": ("csc_sla.bootstrap", "SLA"),
    "returns": ("csc_returns.bootstrap", "RETURNS"),
    "capa": ("csc_capa.bootstrap", "CAPA"),
}


async def consume(spec: dict[str, Any]) -> dict[str, Any]:
    tps = [TopicPartition(spec["topic"], p) for p in range(spec["partitions"])]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=spec["bootstrap"],
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        max_poll_records=2000,
    )
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        began = time.perf_counter()
        records = 0
        pending = {tp for tp in tps if end[tp] > 0}
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=500)
            for batch in batches.values():
                # Touch what any reader would: the value and the headers.
                records += sum(1 for r in batch if r.value is not None and r.headers)
            for tp in list(pending):
                if await consumer.position(tp) >= end[tp]:
                    pending.discard(tp)
        elapsed = time.perf_counter() - began
    finally:
        await consumer.stop()
    return {"records": records, "elapsed_s": elapsed}


async def rebuild(what: str) -> dict[str, Any]:
    module, attribute = SPECS[what]
    consumer_spec: ConsumerSpec = getattr(importlib.import_module(module), attribute)
    settings = consumer_spec.settings_class()
    began = time.perf_counter()
    result = await consumer_spec.replay(settings)
    elapsed = time.perf_counter() - began
    return {
        "records": result["records"],
        "elapsed_s": elapsed,
        "topics": result["topics"],
        "digest": result["digest"],
    }


def main() -> None:
    spec = json.loads(sys.argv[1])
    what = spec["what"]
    report = asyncio.run(consume(spec) if what == "consumer" else rebuild(what))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
