"""Case 4, the store: eventsourcing's ``save`` against a raw INSERT of the same bytes.

On SQLite (a file in WAL mode, as every service runs it) and on PostgreSQL (the
devkit's local server, or $POSTGRES_HOST), one aggregate per save and a batch of
aggregates per save; one transaction per save either way. The aggregate is a small
one, the size of sla's case file. Each measurement runs in a process of its own.
"""

from __future__ import annotations

import uuid
from typing import Any

from bench.context import Context, run_worker, say
from bench.harness import Figure

NAME = "store"


def run(ctx: Context) -> list[Figure]:
    s = ctx.sizes
    engines: list[str] = ["sqlite"]
    postgres: dict[str, Any] | None = None
    try:
        postgres = dict(ctx.postgres())
        engines.append("postgres")
    except Exception as exc:
        ctx.notes.append(f"store: no PostgreSQL ({exc!r}); SQLite only")
    figures: list[Figure] = []
    for engine in engines:
        for per_save, saves in ((1, s.store_saves), (s.batch_size, s.store_batches)):
            results: dict[str, tuple[dict[str, Any], float]] = {}
            for impl in ("raw", "eventsourcing"):
                say(f"store: {engine}, {per_save} per save, {impl}")
                tag = uuid.uuid4().hex[:8]
                spec: dict[str, Any] = {
                    "engine": engine,
                    "impl": impl,
                    "per_save": per_save,
                    "saves": saves,
                    "data_dir": str(ctx.dir(NAME, f"{engine}-{per_save}-{impl}-{tag}")),
                    "schema": f"bench_{impl[:3]}_{per_save}_{tag}",
                    "postgres": postgres,
                }
                results[impl] = run_worker("bench.store_worker", spec, timeout=600)
            (es, es_rss), (raw, raw_rss) = results["eventsourcing"], results["raw"]
            case = (
                f"store {engine}, 1 aggregate per save"
                if per_save == 1
                else f"store {engine}, {per_save} aggregates per save"
            )
            figures += [
                Figure(case, "throughput", "events/s", es["events_per_s"], raw["events_per_s"]),
                Figure(
                    case, "p50 per save", "ms", es["latency_ms"]["p50"], raw["latency_ms"]["p50"]
                ),
                Figure(
                    case, "p99 per save", "ms", es["latency_ms"]["p99"], raw["latency_ms"]["p99"]
                ),
                Figure(case, "peak RSS", "MiB", es_rss, raw_rss),
            ]
    if "postgres" in engines:
        ctx.notes.append(
            "store: the devkit's local PostgreSQL runs with fsync=off and synchronous_commit=off "
            "(a throwaway test cluster); SQLite commits are fsync'd (WAL, synchronous=FULL)"
        )
    return figures
