"""MQTT throughput: EventDeck's gateway against a Mosquitto started here, same clients, same run.

200,000 messages of about 60 bytes go from ``mosquitto_pub -l`` to ``mosquitto_sub -C``, at QoS 0
and then at QoS 1. Prints one JSON line with both rates and the ratios (goal: >= 0.25 of Mosquitto).
With ``--offline N``, N persistent sessions (7-day expiry) subscribed to the same topic are left
offline first, on both brokers: each of them queues every message, as an away fleet of devices would.

    .venv/bin/python tests/benchmarks/mqtt_throughput.py [--count N] [--offline N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

from bench_window import Stalls, run_with_qt, window_showing

from eventdeck.core import Broker
from eventdeck.core.gateways.mqtt import MqttGateway
from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec import records as mqtt
from eventdeck.core.mqtt_codec.encode import encode

TOPIC = "bench/throughput"
RUN_TIMEOUT = 300.0


def _spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_listening(port: int) -> None:
    async with asyncio.timeout(10):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return


async def _leave_offline_sessions(port: int, count: int, qos: int) -> None:
    """``count`` MQTT 5 clients with a week-long session subscribe to the benchmark's topic and go away."""
    week = mqtt.Properties(session_expiry=7 * 24 * 3600)

    async def leave(n: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(encode(mqtt.Connect(f"offline-{qos}-{n}", c.MQTT_5, properties=week), c.MQTT_5))
        await reader.read(64)  # CONNACK
        writer.write(encode(mqtt.Subscribe(1, (mqtt.SubscriptionRequest(TOPIC, qos=qos),)), c.MQTT_5))
        await reader.read(64)  # SUBACK
        writer.write(encode(mqtt.Disconnect(), c.MQTT_5))
        writer.close()
        await writer.wait_closed()

    for start in range(0, count, 100):
        await asyncio.gather(*(leave(n) for n in range(start, min(start + 100, count))))


async def _run(
    port: int, qos: int, count: int, lines: bytes, subscribed: asyncio.Future[None] | None, *, offline: int
) -> dict[str, float]:
    """One transfer; returns messages/s and how many arrived (all of them, unless something dropped)."""
    await _leave_offline_sessions(port, offline, qos)
    sub = await asyncio.create_subprocess_exec(
        "mosquitto_sub", "-p", str(port), "-q", str(qos), "-t", TOPIC, "-C", str(count), "-i", f"bench-sub-{qos}",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    if subscribed is not None:
        await subscribed
    else:
        await asyncio.sleep(1.0)  # Mosquitto: give the subscriber time to subscribe
    assert sub.stdout is not None
    received = 0
    started = time.perf_counter()
    # stdin stays open until the subscriber is done: mosquitto_pub -l drops in-flight QoS 1 messages at EOF.
    pub = await asyncio.create_subprocess_exec(
        "mosquitto_pub", "-p", str(port), "-q", str(qos), "-t", TOPIC, "-l", "-i", f"bench-pub-{qos}",
        stdin=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert pub.stdin is not None
    pub.stdin.write(lines)
    elapsed = 0.0
    try:
        async with asyncio.timeout(RUN_TIMEOUT):
            while True:
                try:  # a broker that dropped messages never reaches the count: stop after 5 s of silence
                    chunk = await asyncio.wait_for(sub.stdout.read(1 << 20), 5.0)
                except TimeoutError:
                    break
                if not chunk:
                    break
                received += chunk.count(b"\n")
                elapsed = time.perf_counter() - started
    except TimeoutError:
        pass
    if sub.returncode is None:
        sub.kill()
    pub.stdin.close()
    await sub.wait()
    if pub.returncode is None:
        pub.kill()
    await pub.wait()
    return {"rate": round(received / elapsed) if elapsed else 0, "received": received, "seconds": round(elapsed, 2)}


async def _gateway_run(qos: int, count: int, lines: bytes, window: bool, offline: int) -> dict[str, float]:
    async with Broker() as broker, MqttGateway(broker, port=0) as gateway, contextlib.AsyncExitStack() as stack:
        if window:
            await stack.enter_async_context(window_showing(broker))
        stalls = Stalls()
        stalls.start()
        loop = asyncio.get_running_loop()
        subscribed: asyncio.Future[None] = loop.create_future()

        async def watch() -> None:
            while not any(info.pattern == TOPIC for info in broker.subscriptions()):  # noqa: ASYNC110 - polls
                await asyncio.sleep(0.01)
            subscribed.set_result(None)

        watcher = asyncio.create_task(watch())
        result: dict[str, float] = await _run(gateway.port, qos, count, lines, subscribed, offline=offline)
        await watcher
        return result | await stalls.stop()


async def _mosquitto_run(qos: int, count: int, lines: bytes, folder: Path, offline: int) -> dict[str, float]:
    port = _spare_port()
    # Mosquitto's defaults drop QoS 1 messages beyond 1,000 queued per client; lift that so both
    # brokers deliver every message (EventDeck's gateway queues up to MqttLimits.max_queued).
    config = folder / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n")
    server = await asyncio.create_subprocess_exec(
        "mosquitto", "-c", str(config), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        await _wait_listening(port)
        return await _run(port, qos, count, lines, None, offline=offline)
    finally:
        server.terminate()
        await server.wait()


async def main(count: int, window: bool, offline: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        # about 60 bytes each, all different
        lines = "".join(
            f'{{"sensor":"s-{n % 100:03d}","seq":{n:08d},"value":21.5,"unit":"C"}}\n' for n in range(count)
        ).encode()
        result: dict[str, object] = {
            "benchmark": "mqtt_throughput", "messages": count, "window": window, "offline_sessions": offline
        }  # fmt: skip
        for qos in (0, 1):
            ours = await _gateway_run(qos, count, lines, window, offline)
            theirs = await _mosquitto_run(qos, count, lines, Path(folder), offline)
            result[f"qos{qos}_eventdeck"] = ours
            result[f"qos{qos}_mosquitto"] = theirs
            result[f"qos{qos}_ratio"] = round(ours["rate"] / theirs["rate"], 3) if theirs["rate"] else None
        return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--window", action="store_true", help="run EventDeck's side with the main window open")
    parser.add_argument("--offline", type=int, default=0, help="persistent sessions left offline on the topic first")
    args = parser.parse_args()
    for tool in ("mosquitto", "mosquitto_pub", "mosquitto_sub"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (apt install mosquitto mosquitto-clients)")
    run = main(args.count, args.window, args.offline)
    print(json.dumps(run_with_qt(run) if args.window else asyncio.run(run)))
