"""``eventdeck serve``: the embedded broker and its gateways with no window.

For servers, CI and demos on another screen: one log line per client that comes or
goes, a summary line now and then, and a clean stop on Ctrl+C or SIGTERM (every
connection closed with the right reason). A gateway that cannot start (port taken,
non-loopback without credentials) ends the command with a one-line reason, never a
traceback. With ``--scenario`` the scenario's simulation runs too, once the gateways
listen, so external clients and dashboards have something to watch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from eventdeck.core.asyncapi.export import TrafficRecorder, to_yaml
from eventdeck.core.broker.broker import Broker, BrokerStats
from eventdeck.core.broker.message import Message
from eventdeck.core.broker.subscription import SubscriptionInfo
from eventdeck.core.broker.tap import Tap
from eventdeck.core.cli.interrupts import Interrupts
from eventdeck.core.cli.serve_data import open_broker
from eventdeck.core.cli.serve_settings import (
    DEFAULT_HTTP_MAX_BODY,
    DEFAULT_SUMMARY_EVERY,
    HTTP_TOKEN_VARIABLE,
    MQTT_PASSWORD_VARIABLE,
)
from eventdeck.core.gateways.acl import AccessRules
from eventdeck.core.gateways.controller import Gateways, GatewayState, free_port_near
from eventdeck.core.gateways.listen import DEFAULT_HTTP, DEFAULT_MQTT, ListenAddress
from eventdeck.core.gateways.mqtt.limits import MqttLimits
from eventdeck.core.recording import RecordingWriter
from eventdeck.core.simulation.simulation import Simulation
from eventdeck.core.simulation.workspace import Workspace
from eventdeck.core.store import Synchronous
from eventdeck.core.wording import plural

log = logging.getLogger("eventdeck.serve")


@dataclass(frozen=True, slots=True)
class ServeOptions:
    mqtt: ListenAddress | None = DEFAULT_MQTT
    http: ListenAddress | None = DEFAULT_HTTP
    mqtt_credentials: Mapping[str, str] | None = None
    mqtt_limits: MqttLimits | None = None
    http_token: str | None = None
    http_max_body: int = DEFAULT_HTTP_MAX_BODY
    summary_every: float = DEFAULT_SUMMARY_EVERY
    export_asyncapi: Path | None = None  # written when serve stops: what was observed, as AsyncAPI 3.0
    record: Path | None = None  # a new recording (never an existing file), every message as it passes
    rules: AccessRules | None = None  # --acl: who may read and write which channels
    scenario: Workspace | None = None  # --scenario: simulated publishers and consumers, started once serving
    data: Path | None = None  # --data: the broker's durable store (None: in memory)
    data_sync: Synchronous = "full"  # --data-sync


def summary(stats: BrokerStats, previous: BrokerStats | None, gateways: Gateways) -> str:
    """One line on what the broker did since the last summary."""
    if previous is None or stats.time <= previous.time:
        rates = ""
    else:
        elapsed = stats.time - previous.time
        rates = (
            f"{(stats.published - previous.published) / elapsed:,.0f} msg/s in, "
            f"{(stats.delivered - previous.delivered) / elapsed:,.0f} deliveries/s, "
        )
    clients = len(gateways.mqtt.clients()) if gateways.mqtt else 0
    streams = gateways.http.open_streams if gateways.http else 0
    return (
        f"{rates}{stats.published:,} published, {plural(stats.channels, 'channel')}, "
        f"{plural(stats.subscriptions, 'subscription')}, {plural(clients, 'mqtt client')}, "
        f"{plural(streams, 'http stream')}"
    )


def start_failure(state: GatewayState, options: ServeOptions) -> str:
    """The line serve stops with when a gateway cannot start: the gateway's reason, and what to type instead."""
    hint = _start_hint(state, options)
    return f"cannot start: {state.error}" + (f"; {hint}" if hint else "")


def _start_hint(state: GatewayState, options: ServeOptions) -> str:
    from eventdeck.core.gateways.http.server import is_loopback  # noqa: PLC0415 - aiohttp loads with a gateway

    endpoint = state.endpoint
    if endpoint is None:
        return ""
    if not is_loopback(endpoint.host):
        elsewhere = f"to listen on {endpoint.host}, "
        if state.name == "MQTT" and not options.mqtt_credentials:
            return (
                f"{elsewhere}give --mqtt-user NAME with the password in ${MQTT_PASSWORD_VARIABLE} "
                "(or --mqtt-password-file FILE); or listen on 127.0.0.1 only"
            )
        if state.name == "HTTP" and not options.http_token:
            return (
                f"{elsewhere}give a bearer token in ${HTTP_TOKEN_VARIABLE} or --http-token-file FILE; "
                "or listen on 127.0.0.1 only"
            )
    if endpoint.port == 0:
        return ""
    try:
        free = free_port_near(endpoint.host, endpoint.port)
    except OSError:  # not a taken port (an address this machine lacks, a privileged port): the reason says it
        return ""
    return f"port {free} is free: --{state.name.lower()} {ListenAddress(endpoint.host, free)}"


RECORD_EVERY = 0.2  # seconds between tap drains while recording (--export-asyncapi, --record)


class TrafficKeeper:
    """What serve keeps of the traffic, fed from one tap: the AsyncAPI picture (``--export-asyncapi``:
    every message and subscription seen) and the messages themselves (``--record``, via ``writer``)."""

    def __init__(self, tap: Tap, *, describe: bool, writer: RecordingWriter | None = None) -> None:
        self.tap = tap
        self.recorder = TrafficRecorder() if describe else None
        self.writer = writer
        self.subscriptions: dict[str, SubscriptionInfo] = {}  # clients leave before the export is written

    def catch_up(self, subscriptions: list[SubscriptionInfo]) -> None:
        batch = self.tap.drain()
        if batch.lost:
            log.warning("the recording missed %s (traffic outran the recorder)", plural(batch.lost, "broker event"))
        messages = [item for item in batch.events if isinstance(item, Message)]
        if self.recorder is not None:
            self.recorder.add_all(messages)
        writer = self.writer
        if writer is not None and writer.error is None and not writer.write(messages):
            log.error(
                "recording stopped after %s: %s; the broker keeps serving",
                plural(writer.count, "message"),
                writer.error,
            )
        self.subscriptions.update((info.name, info) for info in subscriptions)

    def write_asyncapi(self, path: Path) -> bool:
        """Write the AsyncAPI export (made with ``describe=True``) to ``path``; False, logged, if it fails."""
        assert self.recorder is not None, "no AsyncAPI picture was kept (describe=False)"
        text = to_yaml(self.recorder.document(list(self.subscriptions.values())))
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            log.error("cannot write the AsyncAPI export to %s: %s", path, exc.strerror or exc)
            return False
        log.info("AsyncAPI 3.0 document of what was observed written to %s", path)
        return True


@contextlib.asynccontextmanager
async def running(broker: Broker, scenario: Workspace | None) -> AsyncIterator[None]:
    """The scenario's simulation (nothing without one) while the body runs, stopped after it."""
    if scenario is None:
        yield
        return
    simulation = Simulation(broker, scenario)
    simulation.start()
    log.info(
        "running the scenario %r from %s: %s, %s, %s",
        scenario.title,
        scenario.source,
        plural(len(scenario.publishers), "simulated publisher"),
        plural(len(scenario.subscribers), "subscriber"),
        plural(len(scenario.responders), "responder"),
    )
    try:
        yield
    finally:
        await simulation.stop()


async def serve(options: ServeOptions, stop: asyncio.Event | None = None) -> int:
    """Run until ``stop`` is set (or SIGINT/SIGTERM); return the process exit code."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    record_to: RecordingWriter | None = None
    with Interrupts(stop.set):
        try:
            broker = await open_broker(options.data, options.data_sync)
            if broker is None:
                return 1
            async with broker:
                gateways = Gateways(
                    broker,
                    mqtt=options.mqtt,
                    http=options.http,
                    mqtt_credentials=options.mqtt_credentials,
                    mqtt_limits=options.mqtt_limits,
                    http_token=options.http_token,
                    http_max_body=options.http_max_body,
                    rules=options.rules,
                )
                try:
                    failed = [state for state in await gateways.start() if state.error]
                    if failed:
                        for state in failed:
                            log.error("%s", start_failure(state, options))
                        return 1
                    if options.mqtt is None and options.http is None:
                        log.warning("both gateways are off: only this process can reach the broker")
                    if options.record is not None:  # opened only now: a failed start leaves the file alone
                        try:
                            record_to = RecordingWriter(options.record)
                        except FileExistsError:
                            log.error(
                                "cannot record to %s: it already exists (a recording from an earlier run?); "
                                "give a new file name or move it away",
                                options.record,
                            )
                            return 1
                        except OSError as exc:
                            log.error("cannot record to %s: %s", options.record, exc.strerror or exc)
                            return 1
                    describe = options.export_asyncapi is not None
                    keeping = describe or record_to is not None
                    keeper = TrafficKeeper(broker.tap(), describe=describe, writer=record_to) if keeping else None
                    previous: BrokerStats | None = None
                    next_summary = loop.time() + options.summary_every
                    wake_every = RECORD_EVERY if keeper else options.summary_every
                    async with running(broker, options.scenario):
                        while not stop.is_set():
                            with contextlib.suppress(TimeoutError):
                                await asyncio.wait_for(stop.wait(), timeout=wake_every)
                            if keeper is not None:
                                keeper.catch_up(broker.subscriptions())
                            if loop.time() >= next_summary:
                                stats = broker.stats()
                                log.info("%s", summary(stats, previous, gateways))
                                previous, next_summary = stats, loop.time() + options.summary_every
                    log.info("stopping: closing every connection")
                finally:
                    await gateways.stop()
                if keeper is not None:
                    keeper.catch_up(broker.subscriptions())
                if record_to is not None and record_to.error is None:
                    log.info("%s recorded to %s", plural(record_to.count, "message"), record_to.path)
                if (
                    keeper is not None
                    and options.export_asyncapi
                    and not keeper.write_asyncapi(options.export_asyncapi)
                ):
                    return 1
                if record_to is not None and record_to.error is not None:  # it served to the end, but...
                    log.error("stopped; the recording is incomplete: %s", record_to.error)
                    return 1
        finally:
            if record_to is not None:
                record_to.close()
    log.info("stopped cleanly")
    return 0
