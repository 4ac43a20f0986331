"""Connector stream benchmark: an independent client floods a real broker while a connector monitors it.

Prints ONE JSON line. Per broker: what the independent publisher sent, what the
connector's mirror saw (counted on the mirror's channel counter), messages missed,
the rate seen, and the event loop's stall (lateness of a 5 ms timer, p99 and max)
while the flood runs. ``--window`` does the same with the real main window open (offscreen)
showing the connector, on the qasync loop, as a user would watch it::

    .venv/bin/python tests/benchmarks/connector_stream.py [--rate 20000] [--duration 20]
        [--brokers mqtt,nats,redis] [--window]

Publishers run in their own processes so they do not share our event loop:
MQTT uses ``mosquitto_pub -l -q 1`` fed line by line, NATS nats-py, Redis redis-py
pipelines, RabbitMQ aio-pika. Brokers that are not running are reported as skipped.
This is a script, not a pytest test: nothing here is named ``test_*``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

from bench_window import Stalls, run_with_qt, window_showing

from eventdeck.core.connectors import backend_from_url

PORTS = {"mqtt": 1883, "nats": 4222, "redis": 6379, "amqp": 5672}
URLS = {
    "mqtt": os.environ.get("BENCH_MQTT_URL", "mqtt://127.0.0.1:1883"),
    "nats": "nats://127.0.0.1:4222",
    "redis": "redis://127.0.0.1:6379/0",
    "amqp": "amqp://guest:guest@127.0.0.1:5672/",
}
CHANNEL = "bench/{kind}/stream"  # as the mirror names it; NATS and AMQP publish it with '.'
SCRIPT = os.path.abspath(__file__)
GOALS = {"missed": 0, "p99_stall_ms": 20.0}
MUST_NOT_MISS = ("mqtt", "nats", "redis")
TICK = 0.01  # publishers top up to the target count every 10 ms
PAYLOAD = b'{"reading":' + b"1" * 80 + b"}"


# -- publishers (run in a child process) ----------------------------------------------------


def _paced(rate: int, count: int, send: Any) -> None:
    """Call ``send(n)`` to keep ``rate`` messages a second until ``count`` are sent."""
    started = time.monotonic()
    sent = 0
    while sent < count:
        due = min(count, int((time.monotonic() - started) * rate) + 1)
        if due > sent:
            send(due - sent)
            sent = due
        time.sleep(TICK)


def publish(kind: str, rate: int, count: int) -> None:
    started = time.monotonic()
    channel = CHANNEL.format(kind=kind)
    if kind == "mqtt":
        process = subprocess.Popen(
            ["mosquitto_pub", "-h", "127.0.0.1", "-p", "1883", "-q", "1", "-t", channel, "-l"], stdin=subprocess.PIPE
        )
        assert process.stdin is not None
        line = PAYLOAD + b"\n"
        stdin = process.stdin

        def send_mqtt(n: int) -> None:
            stdin.write(line * n)
            stdin.flush()

        _paced(rate, count, send_mqtt)
        stdin.close()
        process.wait()
    elif kind == "redis":
        import redis  # noqa: PLC0415 - only the child process needs it

        client = redis.Redis(host="127.0.0.1", port=6379)

        def send_redis(n: int) -> None:
            pipe = client.pipeline(transaction=False)
            for _ in range(n):
                pipe.publish(channel, PAYLOAD)
            pipe.execute()

        _paced(rate, count, send_redis)
    else:
        asyncio.run(_publish_async(kind, channel.replace("/", "."), rate, count))
    print(json.dumps({"sent": count, "seconds": time.monotonic() - started}), flush=True)


async def _publish_async(kind: str, subject: str, rate: int, count: int) -> None:
    started = time.monotonic()
    sent = 0
    if kind == "nats":
        import nats  # noqa: PLC0415

        client = await nats.connect("nats://127.0.0.1:4222")
        while sent < count:
            due = min(count, int((time.monotonic() - started) * rate) + 1)
            for _ in range(due - sent):
                await client.publish(subject, PAYLOAD)
            sent = due
            await client.flush()
            await asyncio.sleep(TICK)
        await client.drain()
    else:
        import aio_pika  # noqa: PLC0415

        connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
        channel = await connection.channel(publisher_confirms=False)
        exchange = await channel.get_exchange("amq.topic")
        while sent < count:
            due = min(count, int((time.monotonic() - started) * rate) + 1)
            for _ in range(due - sent):
                await exchange.publish(aio_pika.Message(PAYLOAD), routing_key=subject)
            sent = due
            await asyncio.sleep(TICK)
        await connection.close()


# -- the monitoring side -----------------------------------------------------------------------


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


async def measure(kind: str, rate: int, duration: float, window: bool = False) -> dict[str, Any]:
    if not _reachable(PORTS[kind]):
        return {"skipped": f"not reachable at 127.0.0.1:{PORTS[kind]}"}
    backend = backend_from_url(URLS[kind])
    await backend.start()
    async with contextlib.AsyncExitStack() as stack:
        if window:
            await stack.enter_async_context(window_showing(backend))
        return await _flood(backend, kind, rate, duration)


async def _flood(backend: Any, kind: str, rate: int, duration: float) -> dict[str, Any]:
    channel = CHANNEL.format(kind=kind)
    count = int(rate * duration)

    def seen() -> int:
        info = next((info for info in backend.broker.channels() if info.name == channel), None)
        return info.messages if info else 0

    stalls = Stalls()
    stalls.start()
    publisher = await asyncio.create_subprocess_exec(
        sys.executable, SCRIPT, "--publish", kind, "--rate", str(rate), "--count", str(count),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    started = time.monotonic()
    first_seen: float | None = None
    while publisher.returncode is None:
        if first_seen is None and seen():
            first_seen = time.monotonic()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(publisher.wait(), 0.05)
    output, _ = await publisher.communicate()
    stall = await stalls.stop()
    report = json.loads(output.decode().strip().splitlines()[-1])
    # Let the tail arrive: wait until the count stops growing (or everything is there).
    last, quiet_since = seen(), time.monotonic()
    while seen() < report["sent"] and time.monotonic() - quiet_since < 3.0:
        await asyncio.sleep(0.1)
        if seen() != last:
            last, quiet_since = seen(), time.monotonic()
    finished = time.monotonic()
    total = seen()
    await backend.stop()
    active = finished - (first_seen or started) - (time.monotonic() - quiet_since if total < report["sent"] else 0)
    return {
        "published": report["sent"],
        "publish_rate": round(report["sent"] / report["seconds"]),
        "seen": total,
        "missed": report["sent"] - total,
        "rate_seen": round(total / max(active, 1e-9)),
        **stall,
    }


async def main(rate: int, duration: float, kinds: list[str], window: bool = False) -> dict[str, Any]:
    results = {kind: await measure(kind, rate, duration, window) for kind in kinds}
    ok = all(
        "skipped" in result
        or (
            result["p99_stall_ms"] <= GOALS["p99_stall_ms"]
            and (kind not in MUST_NOT_MISS or result["missed"] <= GOALS["missed"])
        )
        for kind, result in results.items()
    )
    return {"rate": rate, "duration_s": duration, "window": window, "brokers": results, "goals": GOALS, "ok": ok}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=20_000, help="messages a second (default 20000)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per broker (default 20)")
    # RabbitMQ is opt-in: its aio-pika publisher tops out near 5,000 msg/s here, so it cannot show the goal rate.
    parser.add_argument("--brokers", default="mqtt,nats,redis", help="comma-separated: mqtt,nats,redis,amqp")
    parser.add_argument("--window", action="store_true", help="monitor with the main window open (offscreen)")
    parser.add_argument("--publish", choices=sorted(PORTS), help=argparse.SUPPRESS)  # child-process mode
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        publish(args.publish, args.rate, args.count)
    elif args.window:
        print(json.dumps(run_with_qt(main(args.rate, args.duration, args.brokers.split(","), window=True))))
    else:
        print(json.dumps(asyncio.run(main(args.rate, args.duration, args.brokers.split(",")))))
