"""The durable broker's promise under ``kill -9``: every acknowledged QoS 1 message is delivered.

Each round: ``eventdeck serve --data DIR`` runs (a subprocess); a persistent QoS 1 subscriber
(clean session 0) is away; a publisher pipelines numbered QoS 1 messages (at most ``ROUND_LIMIT``) and
records which got their PUBACK, plus a retained message per round; serve is killed with SIGKILL at a random moment;
serve starts again on the same DIR; the subscriber comes back on its session (session present 1)
and takes what was queued. Every acknowledged number must arrive (duplicates are allowed and
counted), and the last acknowledged retained message (or a later one) must still be retained.
Prints ONE JSON line: rounds, acked, lost, duplicated, retained_lost, sessions_lost, seconds.

``--online`` keeps the subscriber connected while the publisher runs, taking and acknowledging
messages as they come: the kill then finds messages in flight to it (its session's own rows).
``--mosquitto`` puts a private Mosquitto with ``persistence true`` through the same rounds (the
reference the throughput goal compares with): its in-memory database is saved every
``--autosave-interval`` seconds (Mosquitto's default: 1800), or with ``--autosave-on-changes`` after
that many changes, and at a clean shutdown. Its queue per client is unbounded (``max_queued_messages
0``) so that only the crash can lose messages, and the subscriber's session is saved by one clean
restart before the rounds (for EventDeck too). A round that finds the session gone subscribes again.

    .venv/bin/python -m tests.benchmarks.crash_durability [--rounds 200] [--seed 1] [--online]
        [--mosquitto [--autosave-interval N] [--autosave-on-changes]]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec import records as mqtt
from eventdeck.core.mqtt_codec.decode import PacketReader
from eventdeck.core.mqtt_codec.encode import encode
from tests.benchmarks.mqtt_throughput import _spare_port, _wait_listening, mosquitto_config

TOPIC = "crash/numbers"
RETAINED = "crash/retained"
SUBSCRIBER = "crash-subscriber"
WINDOW = 200  # QoS 1 messages the publisher keeps unacknowledged
# Messages a round publishes at most: below what the away subscriber's queue holds (the gateway's max_queued,
# 10,000), past which the broker drops the oldest by its overflow policy, a loss that no crash causes.
ROUND_LIMIT = 8_000
KILL_AFTER = (0.02, 0.4)  # seconds of publishing before the kill, drawn uniformly
QUIET = 1.0  # seconds without a message that end the subscriber's catch-up


class Client:
    """A raw MQTT 3.1.1 client on a socket (asyncio sets TCP_NODELAY: no Nagle delay)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.parser = PacketReader(version=c.MQTT_311)
        self.inbox: list[mqtt.Packet] = []

    @classmethod
    async def connect(cls, port: int, client_id: str, *, clean: bool) -> tuple[Client, bool]:
        """The client, and whether the broker said session present."""
        client = cls(*await asyncio.open_connection("127.0.0.1", port))
        client.send(mqtt.Connect(client_id, c.MQTT_311, clean_start=clean))
        connack = await client.next(10.0)
        assert isinstance(connack, mqtt.ConnAck), connack
        return client, connack.session_present

    def send(self, *packets: mqtt.Packet) -> None:
        self.writer.write(b"".join(encode(packet, c.MQTT_311) for packet in packets))

    async def next(self, timeout: float) -> mqtt.Packet | None:  # noqa: ASYNC109 - a quiet period ends a read
        """The next packet; None if the connection ended or nothing came within ``timeout``."""
        while not self.inbox:
            try:
                data = await asyncio.wait_for(self.reader.read(65536), timeout)
            except (TimeoutError, ConnectionError):
                return None
            if not data:
                return None
            self.inbox.extend(self.parser.feed(data))
        return self.inbox.pop(0)

    def close(self) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            self.send(mqtt.Disconnect())
        self.writer.close()


class Serve:
    """The broker under test as a subprocess on a fixed port, keeping its data in ``data``:
    ``eventdeck serve --data DIR``, or Mosquitto with persistence and these ``mosquitto`` config lines."""

    def __init__(self, data: Path, port: int, mosquitto: list[str] | None = None) -> None:
        self.data, self.port, self.mosquitto = data, port, mosquitto
        self.process: subprocess.Popen[bytes] | None = None

    def _command(self) -> list[str]:
        if self.mosquitto is None:
            command = [sys.executable, "-m", "eventdeck.gui.app", "serve", "--data", str(self.data)]
            return [*command, "--mqtt", f"127.0.0.1:{self.port}", "--http", "off"]
        config = self.data / "mosquitto.conf"
        config.write_text(mosquitto_config(self.port, self.data, ["max_queued_messages 0", *self.mosquitto]))
        return ["mosquitto", "-c", str(config)]

    async def start(self) -> None:
        self.process = subprocess.Popen(self._command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: ASYNC220
        await _wait_listening(self.port)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.process.wait, 30)

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(self.process.wait, 30)


class Tally:
    def __init__(self) -> None:
        self.acked: set[int] = set()
        self.received: Counter[int] = Counter()
        self.next_number = 0
        self.retained_acked = -1  # the last round whose retained message was acknowledged
        self.retained_lost = 0
        self.sessions_lost = 0


async def publish_until_killed(port: int, serve: Serve, tally: Tally, round_: int, rng: random.Random) -> None:
    """Pipeline numbered QoS 1 messages (and this round's retained one) until serve is killed."""
    client, _ = await Client.connect(port, f"crash-publisher-{round_}", clean=True)
    inflight: dict[int, int] = {}  # packet id -> number (0 for the retained message)
    retained_id = 65_535
    client.send(mqtt.Publish(RETAINED, str(round_).encode(), 1, retain=True, packet_id=retained_id))
    free = asyncio.Event()

    async def read_acks() -> None:
        while (packet := await client.next(30.0)) is not None:
            if isinstance(packet, mqtt.Ack) and packet.kind == c.PUBACK:
                if packet.packet_id == retained_id:
                    tally.retained_acked = round_
                elif (number := inflight.pop(packet.packet_id, None)) is not None:
                    tally.acked.add(number)
                    free.set()

    async def write() -> None:
        packet_id = 0
        first = tally.next_number
        while tally.next_number - first < ROUND_LIMIT:
            while len(inflight) >= WINDOW:
                free.clear()
                await free.wait()
            batch = []
            for _ in range(min(50, WINDOW - len(inflight))):
                packet_id = packet_id % 60_000 + 1
                number = tally.next_number
                tally.next_number += 1
                inflight[packet_id] = number
                batch.append(mqtt.Publish(TOPIC, str(number).encode(), 1, packet_id=packet_id))
            client.send(*batch)
            await client.writer.drain()
        await asyncio.Event().wait()  # the round's budget is spent: wait for the kill

    reader = asyncio.create_task(read_acks())
    writer = asyncio.create_task(write())
    await asyncio.sleep(rng.uniform(*KILL_AFTER))
    await serve.kill()
    writer.cancel()
    with contextlib.suppress(asyncio.CancelledError, ConnectionError):
        await writer
    await reader  # ends when the socket does: every PUBACK that left the broker is counted
    client.writer.close()


async def subscribe(client: Client) -> None:
    client.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest(TOPIC, 1),)))
    while not isinstance(packet := await client.next(10.0), mqtt.SubAck):
        assert packet is not None, "no SUBACK"


async def catch_up(port: int, tally: Tally, quiet: float = QUIET) -> None:
    """The subscriber back on its session: take (and acknowledge) what comes until ``quiet`` seconds pass
    without a message (everything queued for it) or the connection ends (the broker was killed)."""
    client, present = await Client.connect(port, SUBSCRIBER, clean=False)
    if not present:  # the broker forgot the session: subscribe again, so later rounds still count
        tally.sessions_lost += 1
        await subscribe(client)
    while (packet := await client.next(quiet)) is not None:
        if isinstance(packet, mqtt.Publish) and packet.topic == TOPIC:
            tally.received[int(packet.payload)] += 1
            if packet.qos:
                client.send(mqtt.Ack(c.PUBACK, packet.packet_id))
    client.close()


async def check_retained(port: int, tally: Tally) -> None:
    client, _ = await Client.connect(port, "crash-retained-check", clean=True)
    client.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest(RETAINED, 0),)))
    kept = -1
    while (packet := await client.next(QUIET)) is not None:
        if isinstance(packet, mqtt.Publish):
            kept = int(packet.payload)
            break
    client.close()
    if kept < tally.retained_acked:
        tally.retained_lost += 1


async def run(rounds: int, seed: int, mosquitto: list[str] | None = None, *, online: bool = False) -> dict[str, object]:
    rng = random.Random(seed)
    tally = Tally()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="eventdeck-crash-") as folder:
        serve = Serve(Path(folder), _spare_port(), mosquitto)
        await serve.start()
        try:
            subscriber, _ = await Client.connect(serve.port, SUBSCRIBER, clean=False)
            await subscribe(subscriber)
            subscriber.close()  # away: its persistent session queues
            await serve.stop()  # a clean restart: the session is on disk before the first kill
            await serve.start()
            for round_ in range(rounds):
                # online: the subscriber takes messages as they come, so the kill finds some in flight to it
                listening = asyncio.create_task(catch_up(serve.port, tally, quiet=60.0)) if online else None
                await publish_until_killed(serve.port, serve, tally, round_, rng)
                if listening is not None:
                    await listening
                await serve.start()
                await catch_up(serve.port, tally)
                await check_retained(serve.port, tally)
        finally:
            await serve.stop()
    lost = len(tally.acked - set(tally.received))
    return {
        "benchmark": "crash_durability",
        "broker": "eventdeck" if mosquitto is None else " / ".join(["mosquitto", *mosquitto]),
        "rounds": rounds,
        "online": online,
        "sent": tally.next_number,
        "acked": len(tally.acked),
        "lost": lost,
        "duplicated": sum(count - 1 for count in tally.received.values() if count > 1),
        "delivered_unacked": len(set(tally.received) - tally.acked),
        "retained_lost": tally.retained_lost,
        "sessions_lost": tally.sessions_lost,
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--online", action="store_true", help="the subscriber stays connected while publishing")
    parser.add_argument("--mosquitto", action="store_true", help="a private Mosquitto with persistence true instead")
    parser.add_argument("--autosave-interval", type=int, help="Mosquitto's autosave_interval (its default: 1800)")
    parser.add_argument("--autosave-on-changes", action="store_true", help="Mosquitto's autosave_on_changes true")
    options = parser.parse_args()
    mosquitto = None
    if options.mosquitto:
        mosquitto = [] if options.autosave_interval is None else [f"autosave_interval {options.autosave_interval}"]
        mosquitto += ["autosave_on_changes true"] * options.autosave_on_changes
    print(json.dumps(asyncio.run(run(options.rounds, options.seed, mosquitto, online=options.online))))


if __name__ == "__main__":
    main()
