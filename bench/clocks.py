"""Case 5, sla's clocks at scale (bench/sla_clocks.py), as rows of the table.

The timer's "what is due?" over N open clocks (an index seek in the board's
tables) stands beside a bare heap of the same deadlines; the other figures (feed,
fold, the board applying what a tick fired, memory, firing) have no baseline of
their own and are printed for comparison across commits.
"""

from __future__ import annotations

from bench.context import Context, run_worker, say
from bench.harness import Figure

NAME = "clocks"


def run(ctx: Context) -> list[Figure]:
    clocks = ctx.sizes.clocks
    say(f"clocks: {clocks:,} open clocks in sla's application, then 20 timer ticks")
    f, rss = run_worker(
        "bench.sla_clocks", {}, timeout=1800, argv=["--clocks", str(clocks), "--json"]
    )
    case = f"sla clocks, {clocks:,} open"
    return [
        Figure(case, "feed", "complaints/s", f["feed_per_s"]),
        Figure(case, "read model fold", "s", f["fold_s"]),
        Figure(case, "per tick: board applies fired events", "ms", f["catch_up_ms"]),
        Figure(case, "per tick: seek for due", "ms", f["scan_ms"], f["base_scan_ms"]),
        Figure(case, "per fired event", "ms", f["fire_ms"]),
        Figure(case, "breach announced after due", "ms", f["breach_latency_ms"]),
        Figure(case, "RSS growth for the clocks", "MiB", f["rss_growth_mib"]),
        Figure(case, "peak RSS", "MiB", rss),
    ]
