"""Fuzz a live MQTT gateway on loopback: >= 100,000 mutated, truncated and oversized packets.

While fuzzing connections come and go, a well-behaved client stays subscribed and must keep
receiving a heartbeat. At the end: no crash, no leaked task, memory growth < 20 MB. Prints one
JSON line; exits 1 if a check failed.

    .venv/bin/python tests/benchmarks/mqtt_fuzz_live.py [--cases 100000] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import random
import sys
import time

import psutil

from eventdeck.core import Broker
from eventdeck.core.gateways.mqtt import MqttGateway, MqttLimits
from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec import records as mqtt
from eventdeck.core.mqtt_codec.decode import PacketReader
from eventdeck.core.mqtt_codec.encode import encode

WORKERS = 16
PACKETS_PER_CONNECTION = 20
HEARTBEAT_EVERY = 0.02


def _corpus(version: int) -> list[bytes]:
    props = mqtt.Properties(user_properties=(("k", "v"),), response_topic="r", correlation_data=b"\x01", topic_alias=1)
    packets = [
        mqtt.Publish("fuzz/a", b"x" * 40),
        mqtt.Publish("fuzz/b", b"y", 1, packet_id=1),
        mqtt.Publish("fuzz/c", b"z", 2, True, packet_id=2, properties=props),
        mqtt.Publish("", b"alias", 0, properties=mqtt.Properties(topic_alias=1)),
        mqtt.Ack(c.PUBREL, 2),
        mqtt.Ack(c.PUBACK, 7),
        mqtt.Subscribe(
            3, (mqtt.SubscriptionRequest("fuzz/#", 1), mqtt.SubscriptionRequest("$SYS/+", 2, True, True, 1))
        ),
        mqtt.Unsubscribe(4, ("fuzz/#",)),
        mqtt.PingReq(),
        mqtt.Disconnect(c.DISCONNECT_WITH_WILL),
    ]
    return [encode(p, version) for p in packets]


def _connect(rng: random.Random, version: int) -> bytes:
    will = mqtt.Will("fuzz/will", b"gone", rng.randint(0, 2), rng.random() < 0.5) if rng.random() < 0.3 else None
    props = mqtt.Properties(session_expiry=rng.choice([0, 0, 60]), receive_maximum=rng.choice([None, 1, 10]))
    client_id = rng.choice(["", "f1", "f2", "f3", "f4"])  # few ids: sessions get reused and taken over
    packet = mqtt.Connect(client_id, version, rng.random() < 0.7, rng.choice([0, 5, 60]), will=will, properties=props)
    return encode(packet, version)


def _mutate(rng: random.Random, data: bytes) -> bytes:
    choice = rng.random()
    if choice < 0.25:
        return data  # a valid packet keeps the connection going
    buf = bytearray(data)
    if choice < 0.5:
        for _ in range(rng.randint(1, 3)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        return bytes(buf)
    if choice < 0.6:
        return bytes(buf[: rng.randrange(1, len(buf))])  # truncated
    if choice < 0.7:
        return bytes(buf[:1]) + b"\xff\xff\xff\x7f" + bytes(buf[2:])  # claims 256 MiB
    if choice < 0.75:
        return bytes(buf[:1]) + b"\xff\xff\xff\xff\x01"  # five-byte length
    if choice < 0.85:
        return rng.randbytes(rng.randint(1, 200))
    position = rng.randrange(len(buf))
    return bytes(buf[:position]) + rng.randbytes(rng.randint(1, 8)) + bytes(buf[position:])


async def _fuzz_worker(port: int, rng: random.Random, budget: list[int], stats: dict[str, int]) -> None:
    while budget[0] > 0:
        version = rng.choice([c.MQTT_311, c.MQTT_5])
        corpus = _corpus(version)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            stats["connect_errors"] += 1
            await asyncio.sleep(0.01)
            continue
        stats["connections"] += 1
        connect = _connect(rng, version)
        parts = [_mutate(rng, connect) if rng.random() < 0.2 else connect]
        count = min(budget[0], rng.randint(1, PACKETS_PER_CONNECTION))
        budget[0] -= count
        parts.extend(_mutate(rng, rng.choice(corpus)) for _ in range(count))
        stats["cases"] += count
        try:
            writer.write(b"".join(parts))
            if rng.random() < 0.5:  # sometimes wait for the server's answer (or its hang-up)
                async with asyncio.timeout(0.2):
                    while await reader.read(65536):
                        pass
        except (TimeoutError, OSError):
            pass
        writer.transport.abort()


async def _good_client(port: int, received: list[float], stop: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    parser = PacketReader(version=c.MQTT_5)
    writer.write(encode(mqtt.Connect("well-behaved", c.MQTT_5, keep_alive=0), c.MQTT_5))
    writer.write(encode(mqtt.Subscribe(1, (mqtt.SubscriptionRequest("heartbeat", 0),)), c.MQTT_5))
    while not stop.is_set():
        data = await reader.read(65536)
        if not data:
            raise ConnectionError("the gateway closed the well-behaved client")
        now = time.monotonic()
        received.extend(now for packet in parser.feed(data) if isinstance(packet, mqtt.Publish))
    writer.close()


async def main(cases: int, seed: int) -> dict[str, object]:
    process = psutil.Process()
    async with Broker() as broker, MqttGateway(broker, port=0, limits=MqttLimits(connect_timeout=2.0)) as gateway:
        port = gateway.port
        stop = asyncio.Event()
        received: list[float] = []
        good = asyncio.create_task(_good_client(port, received, stop))
        while not any(info.pattern == "heartbeat" for info in broker.subscriptions()):  # noqa: ASYNC110
            await asyncio.sleep(0.01)

        async def heartbeat() -> int:
            sent = 0
            while not stop.is_set():
                await broker.publish("heartbeat", sent)
                sent += 1
                await asyncio.sleep(HEARTBEAT_EVERY)
            return sent

        beats = asyncio.create_task(heartbeat())
        # Warm up (imports, caches, first sessions) before the memory baseline.
        stats = {"cases": 0, "connections": 0, "connect_errors": 0}
        rng = random.Random(seed)
        await asyncio.gather(*(_fuzz_worker(port, random.Random(rng.random()), [200], stats) for _ in range(4)))
        gc.collect()
        rss_before = process.memory_info().rss
        tasks_before = len(asyncio.all_tasks())
        started = time.monotonic()
        stats = {"cases": 0, "connections": 0, "connect_errors": 0}
        budget = [cases]
        await asyncio.gather(*(_fuzz_worker(port, random.Random(rng.random()), budget, stats) for _ in range(WORKERS)))
        elapsed = time.monotonic() - started
        async with asyncio.timeout(10):  # the gateway finishes the last hang-ups
            while len(gateway.connections) > 1:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        gc.collect()
        rss_after = process.memory_info().rss
        tasks_after = len(asyncio.all_tasks())
        stop.set()
        sent = await beats
        await broker.publish("heartbeat", "last")
        await asyncio.wait_for(good, 5)
        in_window = [t for t in received if started <= t <= started + elapsed]
        gaps = [b - a for a, b in itertools.pairwise(in_window)]
        result: dict[str, object] = {
            "benchmark": "mqtt_fuzz_live",
            "seed": seed,
            "cases": stats["cases"],
            "connections": stats["connections"],
            "seconds": round(elapsed, 1),
            "rss_growth_mb": round((rss_after - rss_before) / 2**20, 1),
            "tasks_before": tasks_before,
            "tasks_after": tasks_after,
            "sessions_left": len(gateway.store.sessions),
            "heartbeats_sent": sent,
            "heartbeats_received": len(received),
            "max_heartbeat_gap_s": round(max(gaps, default=0.0), 3),
        }
        result["ok"] = (
            stats["cases"] >= cases
            and (rss_after - rss_before) < 20 * 2**20
            and tasks_after <= tasks_before
            and len(received) >= sent * 0.99
        )
        return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    outcome = asyncio.run(main(args.cases, args.seed))
    print(json.dumps(outcome))
    sys.exit(0 if outcome["ok"] else 1)
