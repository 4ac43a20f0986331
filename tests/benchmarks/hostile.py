"""A legitimate client's throughput and latency while hostile sockets sit on both gateways.

Starts ``eventdeck serve`` (MQTT and HTTP gateways on free loopback ports, one process of its
own), then measures a legitimate MQTT client (publish and subscribe, QoS 1, round-trip latency of
each message) and a legitimate HTTP publisher twice: once on a quiet server (the reference) and
once while, on EACH gateway, 1,000 sockets connect and send nothing and 300 more send a
request one byte at a time and never finish it. The legitimate clients connect after the attack
is in place, so being let in at all is part of what is measured.

Goal: under attack the legitimate client keeps at least half its throughput and its p99 latency
stays within 2x of the quiet run (plus 5 ms of scheduling noise). Prints one JSON line; exits 1 if
a goal is missed.

    .venv/bin/python tests/benchmarks/hostile.py [--idle 1000] [--slow 300] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import re
import resource
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import aiomqtt
import psutil

SLOW_BYTE_EVERY = 0.5  # seconds between the bytes a slow socket sends
MQTT_CONNECT_START = bytes([0x10, 0x7F, 0x00, 0x04]) + b"MQTT" + bytes([0x04, 0x02, 0x00, 0x3C])
HTTP_REQUEST_START = b"POST /channels/hostile HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"


def start_serve() -> tuple[subprocess.Popen[str], int, int]:
    """``eventdeck serve`` on free ports; returns the process, its MQTT port and its HTTP port."""
    command = [sys.executable, "-m", "eventdeck.gui.app", "serve", "--mqtt", "127.0.0.1:0", "--http", "127.0.0.1:0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    ports: dict[str, int] = {}
    deadline = time.monotonic() + 30
    while len(ports) < 2 and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        found = re.search(r"(MQTT|HTTP) gateway listening on 127\.0\.0\.1:(\d+)", line)
        if found:
            ports[found.group(1)] = int(found.group(2))
    if len(ports) < 2:
        process.kill()
        raise RuntimeError("eventdeck serve did not start both gateways")
    return process, ports["MQTT"], ports["HTTP"]


async def idle_socket(port: int, held: list[asyncio.StreamWriter]) -> None:
    with contextlib.suppress(OSError):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        held.append(writer)


async def slow_socket(port: int, data: bytes, stop: asyncio.Event, held: list[asyncio.StreamWriter]) -> None:
    """Send ``data`` one byte every half second, never finishing; reconnect if the server closes it."""
    while not stop.is_set():
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(SLOW_BYTE_EVERY)
            continue
        held.append(writer)
        try:
            for byte in data:
                if stop.is_set():
                    return
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(SLOW_BYTE_EVERY)
            await stop.wait()
        except OSError:
            await asyncio.sleep(SLOW_BYTE_EVERY)


async def mqtt_round_trips(port: int, seconds: float) -> dict[str, Any]:
    """Publish QoS 1 messages to our own subscription for ``seconds``; each message's round trip is timed."""
    latencies: list[float] = []
    try:
        async with asyncio.timeout(15):
            client = aiomqtt.Client("127.0.0.1", port, identifier=f"legit-{time.monotonic_ns()}", timeout=10)
            await client.__aenter__()
    except (aiomqtt.MqttError, TimeoutError) as exc:
        return {"connected": False, "error": str(exc), "msgs_per_s": 0.0, "p99_ms": None}
    try:
        # paho leaves Nagle on: its PUBACK and next PUBLISH would wait for the server's delayed ACK (40 ms)
        client._client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await client.subscribe("legit/mqtt", qos=1)
        deadline = time.monotonic() + seconds
        started = time.monotonic()
        messages = aiter(client.messages)
        while time.monotonic() < deadline:
            sent = time.perf_counter()
            await client.publish("legit/mqtt", repr(sent).encode(), qos=1)
            async with asyncio.timeout(10):
                received = await anext(messages)
            latencies.append(time.perf_counter() - float(bytes(received.payload).decode()))  # type: ignore[arg-type]
        elapsed = time.monotonic() - started
    finally:
        with contextlib.suppress(aiomqtt.MqttError):
            await client.__aexit__(None, None, None)
    return {
        "connected": True,
        "messages": len(latencies),
        "msgs_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(statistics.quantiles(latencies, n=100)[98] * 1000, 2),
    }


def http_publishes(port: int, count: int) -> dict[str, Any]:
    """Time ``count`` POSTs from a thread (a plain blocking client, as curl would be)."""
    latencies: list[float] = []
    failures: list[str] = []
    for n in range(count):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/channels/legit/http",
            data=json.dumps({"n": n}).encode(),
            headers={"Content-Type": "application/json"},
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
        except OSError as exc:
            failures.append(str(exc))
            continue
        latencies.append(time.perf_counter() - started)
    if len(latencies) < 2:
        return {"ok": len(latencies), "failed": len(failures), "p99_ms": None, "errors": failures[:3]}
    return {
        "ok": len(latencies),
        "failed": len(failures),
        "errors": failures[:3],
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(statistics.quantiles(latencies, n=100)[98] * 1000, 2),
    }


async def measure(mqtt_port: int, http_port: int, seconds: float) -> dict[str, Any]:
    mqtt, http = await asyncio.gather(
        mqtt_round_trips(mqtt_port, seconds), asyncio.to_thread(http_publishes, http_port, 1000)
    )
    return {"mqtt": mqtt, "http": http}


@dataclass(frozen=True)
class Attack:
    mqtt_port: int
    http_port: int
    idle: int  # per gateway
    slow: int  # per gateway


async def attack(plan: Attack, ready: Any, stop_flag: Any) -> None:
    """Open and hold the hostile sockets until ``stop_flag`` is set; report the counts through ``ready``."""
    held: list[asyncio.StreamWriter] = []
    stop = asyncio.Event()
    for port in (plan.mqtt_port, plan.http_port):
        for start in range(0, plan.idle, 100):  # in bursts, as a real attacker's connects arrive
            await asyncio.gather(*(idle_socket(port, held) for _ in range(min(100, plan.idle - start))))
    slow_tasks = [
        asyncio.create_task(slow_socket(port, data, stop, held))
        for port, data in ((plan.mqtt_port, MQTT_CONNECT_START), (plan.http_port, HTTP_REQUEST_START))
        for _ in range(plan.slow)
    ]
    await asyncio.sleep(1.0)  # let the slow sockets connect and start dribbling
    ready.put(len(held))
    await asyncio.to_thread(stop_flag.wait)
    stop.set()
    await asyncio.gather(*slow_tasks, return_exceptions=True)
    ready.put(len(held))
    for writer in held:
        writer.close()


def attacker(plan: Attack, ready: Any, stop_flag: Any) -> None:
    """The attack in a process of its own, so its work does not slow the legitimate clients' process."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(attack(plan, ready, stop_flag))


def under_attack(plan: Attack, seconds: float) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    ready, stop_flag = context.Queue(), context.Event()
    child = context.Process(target=attacker, args=(plan, ready, stop_flag))
    child.start()
    try:
        opened_at_start = ready.get(timeout=120)
        result = asyncio.run(measure(plan.mqtt_port, plan.http_port, seconds))
        stop_flag.set()
        opened = ready.get(timeout=60)
    finally:
        stop_flag.set()
        child.join(30)
        if child.is_alive():
            child.kill()
    return {**result, "hostile_sockets_open_at_start": opened_at_start, "hostile_sockets_opened": opened}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idle", type=int, default=1000, help="idle sockets per gateway")
    parser.add_argument("--slow", type=int, default=300, help="slow sockets per gateway")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long each measurement runs")
    args = parser.parse_args()
    process, mqtt_port, http_port = start_serve()
    try:
        quiet = asyncio.run(measure(mqtt_port, http_port, args.seconds))
        hostile = under_attack(Attack(mqtt_port, http_port, args.idle, args.slow), args.seconds)
        server_rss_mb = psutil.Process(process.pid).memory_info().rss / 2**20
        alive = process.poll() is None
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()

    def within(metric: str, kind: str) -> bool:
        before, after = quiet[kind][metric], hostile[kind][metric]
        return before is not None and after is not None and after <= 2 * before + 5.0

    goals = {
        "server_alive": alive,
        "mqtt_client_let_in": bool(hostile["mqtt"]["connected"]),
        "mqtt_throughput_ge_half": hostile["mqtt"]["msgs_per_s"] >= quiet["mqtt"]["msgs_per_s"] / 2,
        "mqtt_p99_within_2x": within("p99_ms", "mqtt"),
        "http_all_ok": hostile["http"]["failed"] == 0,
        "http_p99_within_2x": within("p99_ms", "http"),
    }
    print(
        json.dumps(
            {
                "benchmark": "hostile",
                "idle_per_gateway": args.idle,
                "slow_per_gateway": args.slow,
                "reference": "the same clients on the same server with no hostile sockets",
                "quiet": quiet,
                "under_attack": hostile,
                "server_rss_mb": round(server_rss_mb, 1),
                "goals_met": goals,
            }
        )
    )
    return 0 if all(goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
