"""HTTP load in a process of its own: ``python -m bench.loadgen '<json spec>'``.

Open loop: request i is due at start + i/rate whether or not earlier ones were
answered, and its latency counts from when it was due, so a server that falls
behind shows it in the latency instead of quietly slowing the client down
(coordinated omission). Closed loop: ``concurrency`` clients each send the next
request when the last is answered; that measures saturation throughput.

The client speaks just enough HTTP/1.1 (keep-alive, Content-Length bodies) for
this: a general client spends more CPU per request than the servers measured here,
and on two cores the client's CPU is taken from the server.

Prints one JSON document. With ``acks_path``, also writes one JSON line per
answered request: the response's ``case_id`` and ``recorded_at`` and the
wall-clock time the answer arrived.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import resource
import sys
import time
from collections.abc import Callable
from typing import IO, Any

from bench.harness import latency_summary
from bench.workload import complaint_body

RESPONSE_TIMEOUT = 30.0


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        keep_alive = True
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                raise ConnectionError("chunked responses are not expected here")
            elif name == b"connection" and value.strip().lower() == b"close":
                keep_alive = False
        body = await self.reader.readexactly(length) if length else b""
        if not keep_alive:
            self.close()
            raise ConnectionResetError("server asked to close")
        return status, body

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class Pool:
    """At most ``size`` keep-alive connections; a request waits for a free one."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port, self.size = host, port, size
        self.idle: list[Connection] = []
        self.opened = 0
        self.waiting: collections.deque[asyncio.Future[Connection | None]] = collections.deque()

    async def acquire(self) -> Connection:
        while self.idle:
            connection = self.idle.pop()
            if not connection.reader.at_eof():
                return connection
            # The server closed it while idle (uvicorn's keep-alive timeout).
            connection.close()
            self.opened -= 1
        if self.opened < self.size:
            self.opened += 1
            try:
                return await Connection.open(self.host, self.port)
            except BaseException:
                self.opened -= 1
                raise
        waiter: asyncio.Future[Connection | None] = asyncio.get_running_loop().create_future()
        self.waiting.append(waiter)
        handed = await waiter
        return handed if handed is not None else await self.acquire()

    def release(self, connection: Connection | None) -> None:
        """Hand a connection back; None when it broke (a slot is free again)."""
        if connection is None:
            self.opened -= 1
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        if connection is not None:
            self.idle.append(connection)

    def close(self) -> None:
        for connection in self.idle:
            connection.close()


class Requests:
    """Encoded requests: numbered complaint bodies, plus the case's headers."""

    def __init__(self, host: str, port: int, path: str, headers: dict[str, str]) -> None:
        head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.head = head.encode()

    def __call__(self, n: int) -> bytes:
        body = json.dumps(complaint_body(n), separators=(",", ":")).encode()
        return self.head + b"Content-Length: %d\r\n\r\n" % len(body) + body


class Results:
    def __init__(self, acks: IO[str] | None) -> None:
        self.latencies: list[float] = []
        self.statuses: collections.Counter[str] = collections.Counter()
        self.errors: collections.Counter[str] = collections.Counter()
        self.acks = acks

    def answered(self, status: int, body: bytes, latency: float) -> None:
        self.statuses[str(status)] += 1
        if 200 <= status < 300:
            self.latencies.append(latency)
            if self.acks is not None:
                answer = json.loads(body)
                self.acks.write(
                    json.dumps(
                        {
                            "case_id": answer.get("case_id"),
                            "recorded_at": answer.get("recorded_at"),
                            "acked_at": time.time(),
                        }
                    )
                    + "\n"
                )

    def failed(self, exc: BaseException) -> None:
        self.errors[type(exc).__name__] += 1


async def _send(
    pool: Pool, request: bytes, due: float, results: Results, clock: Callable[[], float]
) -> None:
    try:
        connection = await pool.acquire()
    except Exception as exc:
        results.failed(exc)
        return
    try:
        status, body = await asyncio.wait_for(connection.exchange(request), RESPONSE_TIMEOUT)
    except Exception as exc:
        connection.close()
        pool.release(None)
        results.failed(exc)
        return
    pool.release(connection)
    results.answered(status, body, clock() - due)


async def open_loop(spec: dict[str, Any], results: Results) -> dict[str, Any]:
    rate: float = spec["rate"]
    total = int(rate * spec["duration"])
    pool = Pool(spec["host"], spec["port"], spec.get("connections", 64))
    build = Requests(spec["host"], spec["port"], spec["path"], spec.get("headers", {}))
    first = spec.get("first", 0)
    clock = time.perf_counter
    start = clock() + 0.05
    lag_max = 0.0
    tasks: list[asyncio.Task[None]] = []
    for i in range(total):
        due = start + i / rate
        delay = due - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            lag_max = max(lag_max, -delay)
        tasks.append(asyncio.ensure_future(_send(pool, build(first + i), due, results, clock)))
    sent_by = clock()
    await asyncio.gather(*tasks)
    elapsed = clock() - start
    pool.close()
    return {
        "mode": "open",
        "offered_rate": rate,
        "sent": total,
        "send_window_s": sent_by - start,
        "elapsed_s": elapsed,
        # Answers over the time it took to send them all and have them answered.
        "throughput": len(results.latencies) / elapsed if elapsed else None,
        "max_send_lag_ms": lag_max * 1000,
        "connections_opened": pool.opened,
    }


async def closed_loop(spec: dict[str, Any], results: Results) -> dict[str, Any]:
    pool = Pool(spec["host"], spec["port"], spec["concurrency"])
    build = Requests(spec["host"], spec["port"], spec["path"], spec.get("headers", {}))
    counter = iter(range(spec.get("first", 0), sys.maxsize))
    clock = time.perf_counter
    start = clock()
    stop_at = start + spec["duration"]

    async def client() -> None:
        while clock() < stop_at:
            began = clock()
            await _send(pool, build(next(counter)), began, results, clock)

    await asyncio.gather(*(client() for _ in range(spec["concurrency"])))
    elapsed = clock() - start
    pool.close()
    return {
        "mode": "closed",
        "concurrency": spec["concurrency"],
        "elapsed_s": elapsed,
        "throughput": len(results.latencies) / elapsed if elapsed else None,
    }


async def run(spec: dict[str, Any], acks: IO[str] | None) -> dict[str, Any]:
    results = Results(acks)
    if spec["mode"] == "open":
        report = await open_loop(spec, results)
    else:
        report = await closed_loop(spec, results)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report.update(
        {
            "ok": len(results.latencies),
            "statuses": dict(results.statuses),
            "errors": dict(results.errors),
            "latency_ms": latency_summary(results.latencies),
            "client_cpu_s": usage.ru_utime + usage.ru_stime,
        }
    )
    return report


def main() -> None:
    spec = json.loads(sys.argv[1])
    acks_path = spec.get("acks_path")
    with open(acks_path, "w") if acks_path else contextlib.nullcontext() as acks:
        report = asyncio.run(run(spec, acks))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
