"""What every case shares: figures, the table, percentiles, processes' memory and CPU."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Figure:
    """One line of the table: a measured value beside its baseline."""

    case: str
    metric: str
    unit: str
    value: float | None
    baseline: float | None = None
    target: str | None = None
    met: bool | None = None
    note: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


@dataclass
class Latencies:
    """Seconds in, milliseconds out."""

    samples: list[float] = field(default_factory=list)

    def add(self, seconds: float) -> None:
        self.samples.append(seconds)

    def extend(self, seconds: Iterable[float]) -> None:
        self.samples.extend(seconds)

    def percentile_ms(self, q: float) -> float | None:
        return percentile_ms(self.samples, q)

    def summary(self) -> dict[str, float | None]:
        return latency_summary(self.samples)


def percentile_ms(samples: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of samples in seconds, in milliseconds."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1] * 1000


def latency_summary(samples: Sequence[float]) -> dict[str, float | None]:
    ordered = sorted(samples)
    if not ordered:
        return {
            "count": 0,
            "p50": None,
            "p90": None,
            "p95": None,
            "p99": None,
            "max": None,
            "mean": None,
        }
    return {
        "count": len(ordered),
        "p50": percentile_ms(ordered, 50),
        "p90": percentile_ms(ordered, 90),
        "p95": percentile_ms(ordered, 95),
        "p99": percentile_ms(ordered, 99),
        "max": ordered[-1] * 1000,
        "mean": sum(ordered) / len(ordered) * 1000,
    }


class ProcessWatch:
    """Peak RSS and CPU time of running processes over one phase of a case.

    The kernel's high-water mark (VmHWM) is reset at the start of the phase, so the
    peak is the phase's, not the start-up's.
    """

    def __init__(self, pids: Iterable[int]) -> None:
        self.pids = list(pids)
        self._cpu0: dict[int, float] = {}
        self._t0 = 0.0
        self.cpu_seconds: dict[int, float] = {}
        self.elapsed = 0.0
        self.peak_rss_mib: dict[int, float | None] = {}

    def __enter__(self) -> ProcessWatch:
        for pid in self.pids:
            reset_peak_rss(pid)
            self._cpu0[pid] = cpu_seconds(pid) or 0.0
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed = time.perf_counter() - self._t0
        for pid in self.pids:
            self.peak_rss_mib[pid] = peak_rss_mib(pid)
            self.cpu_seconds[pid] = (cpu_seconds(pid) or 0.0) - self._cpu0[pid]

    def total_peak_rss_mib(self) -> float | None:
        peaks = [p for p in self.peak_rss_mib.values() if p is not None]
        return sum(peaks) if peaks else None

    def cpu_share(self, pid: int) -> float | None:
        """CPU time over wall time: 1.0 is one core kept busy for the whole phase."""
        return self.cpu_seconds[pid] / self.elapsed if self.elapsed else None


def _status_kib(pid: int, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_mib(pid: int) -> float | None:
    kib = _status_kib(pid, "VmHWM")
    return kib / 1024 if kib is not None else None


def rss_mib(pid: int) -> float | None:
    """The process's resident memory now (VmRSS)."""
    kib = _status_kib(pid, "VmRSS")
    return kib / 1024 if kib is not None else None


def reset_peak_rss(pid: int) -> None:
    # "5" resets the high-water mark to the current RSS (Linux 4.0+, needs the
    # process's owner or root); where refused, the peak covers the process's life.
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass


def cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    # utime and stime are fields 14 and 15 of stat(5); [0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / ticks


def child_peak_rss_mib(rusage_maxrss_kib: int) -> float:
    return rusage_maxrss_kib / 1024


def machine() -> dict[str, Any]:
    """What the figures were taken on."""
    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kib = _meminfo_kib("MemTotal")
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(mem_kib / 1024 / 1024, 1) if mem_kib else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _meminfo_kib(key: str) -> int | None:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def git_revision() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip()

    return {"commit": git("rev-parse", "HEAD") or None, "dirty": bool(git("status", "--porcelain"))}


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit in ("ms",):
        text = f"{value:.3f}" if value < 1 else f"{value:.1f}" if value < 100 else f"{value:.0f}"
    elif unit in ("s",):
        text = f"{value:.1f}"
    elif unit in ("MiB",):
        text = f"{value:.0f}"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    else:
        text = f"{value:.1f}"
    return f"{text} {unit}"


def fmt_ratio(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.2f}×"


def render_table(figures: Sequence[Figure]) -> str:
    headers = ["case", "figure", "value", "baseline", "ratio", "target", "met?"]
    rows: list[list[str]] = []
    previous_case = None
    for f in figures:
        rows.append(
            [
                f.case if f.case != previous_case else "",
                f.metric,
                fmt(f.value, f.unit),
                fmt(f.baseline, f.unit),
                fmt_ratio(f.ratio),
                f.target or "",
                "" if f.met is None else ("yes" if f.met else "NO"),
            ]
        )
        previous_case = f.case
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    right = {2, 3, 4}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)
        ).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    for cells in rows:
        if cells[0] and len(out) > 2:
            out.append("")
        out.append(line(cells))
    return "\n".join(out)


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
