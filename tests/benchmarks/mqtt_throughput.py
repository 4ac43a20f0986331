"""MQTT throughput and scale: EventDeck's gateway against a private Mosquitto, same clients, same run.

Prints ONE JSON line: each figure for both brokers and its ratio to Mosquitto (goal in brackets):

- ``qos0``: 2 publishers -> 1 subscriber, 100-byte QoS 0 messages, messages/s (>= 1.0)
- ``qos1``: the same at QoS 1 end to end: PUBACKs to the publishers, PUBACKs from the subscriber (>= 0.7)
- ``fanout``: 1 publisher -> 100 subscribers, deliveries/s (>= 0.5)
- ``scale``: 10,000 connected clients with one subscription each: resident memory per client, and
  the p99 latency of a probe message published every 2 ms while they stay connected
- ``durable`` (only with ``--only durable``): ``qos1`` with a persistent subscriber (clean session 0), so
  every message goes through the broker's store: EventDeck's gateway served with ``--data DIR`` (each
  PUBACK after the commit), the same without a store (``eventdeck_no_store``) and Mosquitto with
  ``persistence true`` in a temp dir; ``durable_ratio`` is ours over Mosquitto's (>= 0.5),
  ``durable_store_ratio`` ours with the store over ours without. ``--synchronous normal`` serves the
  store without an fsync per commit (still nothing lost to ``kill -9``). The two keep different
  promises: Mosquitto writes its whole database only every ``autosave_interval`` (1800 s by default)
  and at a clean shutdown, so a ``kill -9`` loses every message it acknowledged since; saving after
  every change (``--mosquitto 'autosave_on_changes true' --mosquitto 'autosave_interval 1'``) is the
  nearest it comes, and still loses one per crash (``crash_durability.py --mosquitto``)

``mosquitto_pub -l`` tops out near 100 k msg/s, so it cannot measure a broker. The clients here are
raw sockets that cost almost nothing: publishers write pre-encoded PUBLISH packets in large writes,
subscribers count bytes (every message has the same size) and answer QoS 1 with PUBACKs built from
the packet ids at their fixed offsets. Publishers keep at most ``WINDOW`` messages between them and
the slowest subscriber, so neither broker has to queue (or drop) what a subscriber cannot take yet:
the figures are sustained delivery rates. Every run starts a fresh broker process (EventDeck's
gateway: this script with ``--serve``); the clients run in this process; rounds alternate the
brokers and each figure is the median of ``--rounds``. Both brokers run with their defaults, except
that EventDeck's gateway takes 50,000 connections (its default, 1,000, is for a desktop). Rates move
with the machine's load (its load average is in the line); each broker's CPU time per delivery
(``cpu_us_per_delivery``) moves far less, and says which broker does less work per message.

    .venv/bin/python tests/benchmarks/mqtt_throughput.py [--rounds 3] [--seconds 3] [--clients 10000]
        [--only qos0,qos1,fanout,scale,durable] [--offline N] [--window] [--profile FILE]
        [--synchronous full|normal] [--mosquitto 'autosave_interval 1' ...]

``--mosquitto LINE`` adds a line to Mosquitto's config, e.g. ``autosave_on_changes true`` and
``autosave_interval 1`` (save its database after every change, the nearest it comes to a store).
``--offline N`` leaves N persistent sessions subscribed to the benchmark topic offline first (on
both brokers): each queues every message, as an away fleet of devices would. ``--window`` runs
EventDeck's side with the main window open. ``--profile FILE`` writes cProfile statistics (CPU time)
of the gateway process (of its last run) to FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from eventdeck.core.mqtt_codec import records as mqtt
from eventdeck.core.mqtt_codec.encode import encode
from eventdeck.core.store import Synchronous

TOPIC = "bench/t"
PAYLOAD = b"x" * 100
# Messages between the publishers and the slowest subscriber: enough to keep every socket busy, far
# below what either broker queues per subscriber (Mosquitto: 1,000 QoS 1; EventDeck: 10,000).
WINDOW = {"qos0": 5_000, "qos1": 1_000, "fanout": 1_000, "durable": 1_000}
SCENARIOS = {"qos0": (0, 2, 1), "qos1": (1, 2, 1), "fanout": (0, 1, 100), "durable": (1, 2, 1)}  # QoS, pubs, subs
OPTIONAL = {"durable"}  # run only when --only names them
BROKERS = {"durable": ("eventdeck", "eventdeck_no_store", "mosquitto")}  # else eventdeck and mosquitto
CHUNK = 250  # messages per write
WAVE = 250  # clients connecting at once in the scale run: within the gateway's waiting-socket budget (512)
STALL = 5.0  # seconds without progress that end a transfer
CONNACK_SUBACK = len(encode(mqtt.ConnAck())) + len(encode(mqtt.SubAck(1, (0,))))


def _record(qos: int, topic: str = TOPIC) -> bytes:
    """One PUBLISH as the subscriber receives it (3.1.1: no properties), packet id 1 at QoS 1."""
    return encode(mqtt.Publish(topic, PAYLOAD, qos, packet_id=1 if qos else 0))


# -- the clients -----------------------------------------------------------------------


class Client(asyncio.Protocol):
    """An MQTT 3.1.1 connection that counts what it receives after CONNACK (and SUBACK)."""

    def __init__(self, expect: int, progress: asyncio.Event) -> None:
        self.expect = expect  # handshake bytes before the messages start
        self.progress = progress
        self.ready = asyncio.get_running_loop().create_future()
        self.received = 0  # bytes after the handshake
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.expect:
            taken = min(self.expect, len(data))
            self.expect -= taken
            data = data[taken:]
            if not self.expect and not self.ready.done():
                self.ready.set_result(None)
        if data:
            self.on_data(data)
            self.progress.set()

    def on_data(self, data: bytes) -> None:
        self.received += len(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"the broker closed the connection ({exc})"))

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


class Subscriber(Client):
    """Counts bytes; at QoS 1 answers every PUBLISH with its PUBACK (the id sits at a fixed offset)."""

    def __init__(self, qos: int, record: int, id_at: int, progress: asyncio.Event) -> None:
        super().__init__(CONNACK_SUBACK, progress)
        self.qos, self.record, self.id_at = qos, record, id_at
        self._tail = b""

    def on_data(self, data: bytes) -> None:
        self.received += len(data)
        if not self.qos:
            return
        data = self._tail + data
        whole = len(data) - len(data) % self.record
        at, record = self.id_at, self.record
        self.write(b"".join([b"\x40\x02" + data[i + at : i + at + 2] for i in range(0, whole, record)]))
        self._tail = data[whole:]

    def messages(self) -> int:
        return self.received // self.record


async def _connect(port: int, make: Callable[[], Client], *packets: mqtt.Packet) -> Client:
    _, client = await asyncio.get_running_loop().create_connection(make, "127.0.0.1", port)
    client.write(b"".join(encode(packet) for packet in packets))
    await asyncio.wait_for(client.ready, 30)
    return client


async def subscriber(
    port: int, name: str, qos: int, progress: asyncio.Event, topic: str = TOPIC, *, clean: bool = True
) -> Subscriber:
    """A subscriber to ``topic``; ``clean=False``: on a persistent session (what it is sent is kept durably)."""
    data = _record(qos, topic)
    id_at = 2 + 2 + len(topic.encode())  # fixed header (1-byte length), topic length and name
    client = await _connect(
        port,
        lambda: Subscriber(qos, len(data), id_at, progress),
        mqtt.Connect(name, keep_alive=0, clean_start=clean),
        mqtt.Subscribe(1, (mqtt.SubscriptionRequest(topic, qos),)),
    )
    assert isinstance(client, Subscriber)
    return client


async def publisher(port: int, name: str, progress: asyncio.Event) -> Client:
    return await _connect(port, lambda: Client(len(encode(mqtt.ConnAck())), progress), mqtt.Connect(name, keep_alive=0))


def _chunks(qos: int) -> list[bytes]:
    """Pre-encoded writes of ``CHUNK`` messages; at QoS 1 packet ids cycle through more than the window."""
    if not qos:
        return [encode(mqtt.Publish(TOPIC, PAYLOAD)) * CHUNK]
    ids = range(1, 4 * WINDOW["qos1"] + 1)
    packets = [encode(mqtt.Publish(TOPIC, PAYLOAD, 1, packet_id=i)) for i in ids]
    return [b"".join(packets[i : i + CHUNK]) for i in range(0, len(packets), CHUNK)]


async def transfer(port: int, pid: int, name: str, seconds: float) -> dict[str, float]:
    """Publishers send as fast as the window allows for ``seconds`` (after a short warm-up); deliveries/s,
    and the broker's CPU time per delivery (a figure a loaded machine disturbs less than rates)."""
    qos, publishers, subscribers = SCENARIOS[name]
    window = WINDOW[name]
    progress = asyncio.Event()
    clean = name != "durable"
    subs = [await subscriber(port, f"sub-{qos}-{n}", qos, progress, clean=clean) for n in range(subscribers)]
    pubs = [await publisher(port, f"pub-{qos}-{n}", progress) for n in range(publishers)]
    chunks = _chunks(qos)
    sent, turn, stalled = 0, 0, False
    loop = asyncio.get_running_loop()
    warm_until = loop.time() + 0.5  # connections settle, queues reach their steady state
    deadline = warm_until + seconds
    began, base, cpu = 0.0, -1, 0.0
    while (now := loop.time()) < deadline:
        if base < 0 and now >= warm_until:
            began, base, cpu = now, sum(sub.messages() for sub in subs), _cpu_seconds(pid)
        if sent - min(sub.messages() for sub in subs) + CHUNK <= window:
            pubs[turn % publishers].write(chunks[turn % len(chunks)])
            sent += CHUNK
            turn += 1
            if turn % 8 == 0:
                await asyncio.sleep(0)  # let the subscribers' reads in
            continue
        progress.clear()
        try:
            async with asyncio.timeout(STALL):
                await progress.wait()
        except TimeoutError:
            stalled = True
            break
    elapsed = loop.time() - (STALL if stalled else 0.0) - began
    delivered = sum(sub.messages() for sub in subs) - base
    cpu = _cpu_seconds(pid) - cpu
    acked = sum(pub.received for pub in pubs) // 4
    for client in (*pubs, *subs):
        assert client.transport is not None
        client.transport.abort()
    result = {"rate": round(delivered / elapsed) if base >= 0 and elapsed > 0 else 0, "sent": sent}
    result["cpu_us_per_delivery"] = round(cpu / delivered * 1e6, 2) if base >= 0 and delivered > 0 else 0
    if qos:
        result["publisher_acks"] = acked
    return result


async def scale(port: int, clients: int, pid: int) -> dict[str, float]:
    """``clients`` connections with a subscription each: memory per client, then probe latency."""
    before = _rss_kb(pid)
    progress = asyncio.Event()
    idle: list[Client] = []
    started = time.perf_counter()
    for wave in range(0, clients, WAVE):
        idle += await asyncio.gather(
            *(subscriber(port, f"idle-{n}", 0, progress, f"scale/{n}") for n in range(wave, min(wave + WAVE, clients)))
        )
    connect_seconds = time.perf_counter() - started
    await asyncio.sleep(1.0)
    after = _rss_kb(pid)
    latency = await _probe_latency(port)
    for client in idle:
        assert client.transport is not None
        client.transport.abort()
    return {
        "clients": clients,
        "connect_s": round(connect_seconds, 2),
        "rss_mb": round(after / 1024, 1),
        "kb_per_client": round((after - before) / clients, 2),
        **latency,
    }


async def _probe_latency(port: int, count: int = 1000) -> dict[str, float]:
    """A QoS 0 message every 2 ms from one client to another: publish-to-delivery latency, ms."""
    arrivals: list[float] = []

    class Probe(Subscriber):
        def on_data(self, data: bytes) -> None:
            now = time.perf_counter()
            before = self.received // self.record
            self.received += len(data)
            arrivals.extend([now] * (self.received // self.record - before))

    record = _record(0, "latency/probe")
    progress = asyncio.Event()
    probe = await _connect(
        port,
        lambda: Probe(0, len(record), 0, progress),
        mqtt.Connect("probe-sub", keep_alive=0),
        mqtt.Subscribe(1, (mqtt.SubscriptionRequest("latency/probe"),)),
    )
    sender = await publisher(port, "probe-pub", progress)
    sent: list[float] = []
    for _ in range(count):
        sent.append(time.perf_counter())
        sender.write(record)
        await asyncio.sleep(0.002)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(STALL):
            while len(arrivals) < count:  # noqa: ASYNC110 - the protocol fills the list
                await asyncio.sleep(0.01)
    for client in (probe, sender):
        assert client.transport is not None
        client.transport.abort()
    latencies = sorted((arrived - left) * 1000 for left, arrived in zip(sent, arrivals, strict=False))
    if not latencies:
        return {"latency_p50_ms": -1, "latency_p99_ms": -1, "probes_lost": count}
    return {
        "latency_p50_ms": round(latencies[len(latencies) // 2], 3),
        "latency_p99_ms": round(latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 3),
        "probes_lost": count - len(latencies),
    }


async def _leave_offline_sessions(port: int, count: int, qos: int) -> None:
    """``count`` clients with a persistent session subscribe to the benchmark's topic and go away."""

    async def leave(n: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(encode(mqtt.Connect(f"offline-{qos}-{n}", clean_start=False)))
        writer.write(encode(mqtt.Subscribe(1, (mqtt.SubscriptionRequest(TOPIC, qos=qos),))))
        await reader.readexactly(CONNACK_SUBACK)
        writer.write(encode(mqtt.Disconnect()))
        writer.close()
        await writer.wait_closed()

    for start in range(0, count, 100):
        await asyncio.gather(*(leave(n) for n in range(start, min(start + 100, count))))


# -- the brokers ----------------------------------------------------------------------


def _spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _wait_listening(port: int) -> None:
    async with asyncio.timeout(20):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return


def mosquitto_config(port: int, persistence: Path | None = None, extra: list[str] | None = None) -> str:
    """A private Mosquitto's config: on ``port``, with persistence in ``persistence`` if given, plus ``extra`` lines.

    It keeps the user it is started as: as root it would switch to the user ``mosquitto``, who cannot
    write a private temporary directory, and its persistence would fail at every save (quietly).
    """
    lines = [f"listener {port} 127.0.0.1", "allow_anonymous true", f"user {getpass.getuser()}"]
    if persistence is not None:
        lines += ["persistence true", f"persistence_location {persistence}/"]
    return "\n".join([*lines, *(extra or [])]) + "\n"


@contextlib.asynccontextmanager
async def broker(
    kind: str, folder: Path, options: argparse.Namespace, *, durable: bool = False
) -> AsyncIterator[tuple[int, int]]:
    """A fresh broker process on a free port: ``eventdeck`` (this script with --serve) or ``mosquitto``;
    ``durable``: with its store (``--data``) or persistence in a fresh directory (not ``eventdeck_no_store``)."""
    port = _spare_port()
    data = Path(tempfile.mkdtemp(dir=folder))
    if kind == "mosquitto":
        config = folder / "mosquitto.conf"
        config.write_text(mosquitto_config(port, data if durable else None, options.mosquitto))
        command = ["mosquitto", "-c", str(config)]
    else:
        command = [sys.executable, __file__, "--serve", str(port)]
        command += ["--data", str(data), "--synchronous", options.synchronous] * (kind == "eventdeck")
        profile = ["--profile", options.profile] if options.profile and kind == "eventdeck" else []
        command += ["--window"] * options.window + profile
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: ASYNC220
    try:
        await _wait_listening(port)
        yield port, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(process.wait, 30)


async def run(options: argparse.Namespace) -> dict[str, object]:
    scenarios: dict[str, Callable[[int, int], Awaitable[dict[str, float]]]] = {
        **{
            name: lambda port, pid, name=name: transfer(port, pid, name, options.seconds)  # type: ignore[misc]
            for name in SCENARIOS
        },
        "scale": lambda port, pid: scale(port, options.clients, pid),
    }
    chosen = options.only.split(",") if options.only else [name for name in scenarios if name not in OPTIONAL]
    kinds = {name: BROKERS.get(name, ("eventdeck", "mosquitto")) for name in chosen}
    runs = {name: {kind: list[dict[str, float]]() for kind in kinds[name]} for name in chosen}
    with tempfile.TemporaryDirectory() as folder:
        for round_ in range(options.rounds):
            for name in chosen:
                order = kinds[name] if round_ % 2 == 0 else kinds[name][::-1]
                for kind in order:
                    async with broker(kind, Path(folder), options, durable=name == "durable") as (port, pid):
                        if options.offline and name != "scale":
                            await _leave_offline_sessions(port, options.offline, 1 if name == "qos1" else 0)
                        runs[name][kind].append(await scenarios[name](port, pid))
    result: dict[str, object] = {
        "benchmark": "mqtt_throughput",
        "rounds": options.rounds,
        "seconds": options.seconds,
        "offline_sessions": options.offline,
        "synchronous": options.synchronous,
        "mosquitto_config": options.mosquitto,
        "window": options.window,
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    for name, by_broker in runs.items():
        result.update(_figures(name, by_broker))
    return result


def _figures(name: str, by_broker: dict[str, list[dict[str, float]]]) -> dict[str, object]:
    """Each broker's medians (and the spread of the main figure), and EventDeck's ratio to Mosquitto.

    The ratio is of rates (higher is better); for ``scale`` it is Mosquitto's p99 latency over ours
    (so above 1 is also better), with memory per client as a plain ratio (ours over Mosquitto's).
    """
    key = "latency_p99_ms" if name == "scale" else "rate"
    medians = {kind: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for kind, runs in by_broker.items()}
    figures: dict[str, object] = {
        name: {kind: {**medians[kind], f"{key}_each": [r[key] for r in by_broker[kind]]} for kind in by_broker}
    }
    ours, theirs = medians["eventdeck"][key], medians["mosquitto"][key]
    if ours > 0 and theirs > 0:
        figures[f"{name}_ratio"] = round(theirs / ours if name == "scale" else ours / theirs, 3)
    if name == "durable" and medians["eventdeck_no_store"]["rate"] > 0:
        figures["durable_store_ratio"] = round(ours / medians["eventdeck_no_store"]["rate"], 3)
    if name == "scale" and medians["mosquitto"]["kb_per_client"] > 0:
        memory = medians["eventdeck"]["kb_per_client"] / medians["mosquitto"]["kb_per_client"]
        figures["scale_memory_ratio"] = round(memory, 2)
    return figures


# -- the gateway process (--serve) ------------------------------------------------------


async def serve(port: int, window: bool, data: Path | None, synchronous: Synchronous) -> None:
    """EventDeck's broker (on a store in ``data``, if given) and MQTT gateway until SIGTERM."""
    from eventdeck.core import Broker  # noqa: PLC0415 - the driver process never needs them
    from eventdeck.core.gateways.admission import raise_open_files_limit  # noqa: PLC0415
    from eventdeck.core.gateways.mqtt import MqttGateway, MqttLimits  # noqa: PLC0415

    raise_open_files_limit()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    limits = MqttLimits(max_connections=50_000)  # the default (1,000) is for a desktop, not for 10,000 devices
    core = Broker() if data is None else await Broker.on_store(data, synchronous=synchronous)
    async with core, MqttGateway(core, port=port, limits=limits), contextlib.AsyncExitStack() as stack:
        if window:
            from bench_window import window_showing  # noqa: PLC0415 - Qt only with a window

            await stack.enter_async_context(window_showing(core))
        await stop.wait()


def _serve_main(port: int, window: bool, profile: str | None, data: Path | None, synchronous: Synchronous) -> None:
    profiler = None
    if profile:
        import cProfile  # noqa: PLC0415

        profiler = cProfile.Profile(time.process_time)  # CPU time: what other processes take does not count
        profiler.enable()
    if window:
        from bench_window import run_with_qt  # noqa: PLC0415

        run_with_qt(serve(port, window, data, synchronous))
    else:
        asyncio.run(serve(port, window, data, synchronous))
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per transfer")
    parser.add_argument("--clients", type=int, default=10_000, help="connections in the scale run")
    parser.add_argument("--only", default="", help="comma-separated: qos0,qos1,fanout,scale (default), durable")
    parser.add_argument("--offline", type=int, default=0, help="persistent sessions left offline on the topic first")
    parser.add_argument("--window", action="store_true", help="run EventDeck's side with the main window open")
    parser.add_argument("--profile", help="write cProfile statistics of the gateway process here")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # internal: be the gateway process
    parser.add_argument("--synchronous", choices=("full", "normal"), default="full", help="the durable run's store")
    parser.add_argument(
        "--mosquitto",
        action="append",
        default=[],
        metavar="LINE",
        help="a line added to Mosquitto's config (repeatable), e.g. 'autosave_interval 1'",
    )
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)  # internal: the gateway's store
    args = parser.parse_args()
    if args.serve is not None:
        _serve_main(args.serve, args.window, args.profile, args.data, args.synchronous)
        sys.exit(0)
    if shutil.which("mosquitto") is None:
        sys.exit("mosquitto is not installed (apt install mosquitto)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # the scale run's clients live in this process
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.clients + 100 > hard:
        sys.exit(f"--clients {args.clients} needs more open files than this process may have ({hard})")
    print(json.dumps(asyncio.run(run(args))))
