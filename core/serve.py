"""``eventdeck serve``: the embedded broker and its gateways with no window.

For servers, CI and demos on another screen: one log line per client that comes or
goes, a summary line now and then, and a clean stop on Ctrl+C or SIGTERM (every
connection closed with the right reason). A gateway that cannot start (port taken,
non-loopback without credentials) ends the command with a one-line reason, never a
traceback.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass

from .broker import Broker, BrokerStats
from .endpoints import DEFAULT_HTTP, Endpoint
from .errors import EventDeckError
from .http_gateway import HttpGateway
from .http_streams import StreamEvent

log = logging.getLogger("eventdeck.serve")

@dataclass(frozen=True, slots=True)
class ServeOptions:
    http: Endpoint | None = DEFAULT_HTTP
    http_token: str | None = None
    summary_every: float = 60.0


def _log_stream(event: StreamEvent) -> None:
    what = "connected" if event.opened else "disconnected"
    log.info("http %s client %s %s (pattern %s)", event.protocol, event.peer, what, event.pattern or "#")


def summary(stats: BrokerStats, previous: BrokerStats | None, streams: int) -> str:
    """One line on what the broker did since the last summary."""
    if previous is None or stats.time <= previous.time:
        rates = ""
    else:
        elapsed = stats.time - previous.time
        rates = (
            f"{(stats.published - previous.published) / elapsed:,.0f} msg/s in, "
            f"{(stats.delivered - previous.delivered) / elapsed:,.0f} deliveries/s, "
        )
    return (
        f"{rates}{stats.published:,} published, {stats.channels:,} channels, "
        f"{stats.subscriptions:,} subscriptions, {streams:,} http streams"
    )


async def serve(options: ServeOptions, stop: asyncio.Event | None = None) -> int:
    """Run until ``stop`` is set (or SIGINT/SIGTERM); return the process exit code."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with Broker() as broker:
            http = None
            if options.http is not None:
                http = HttpGateway(
                    broker, options.http.host, options.http.port, token=options.http_token, on_stream=_log_stream
                )
            try:
                if http is not None:
                    await http.start()
                    log.info("http gateway listening on %s", http.url)
            except EventDeckError as exc:
                log.error("cannot start: %s", exc)
                return 1
            try:
                previous: BrokerStats | None = None
                while not stop.is_set():
                    try:
                        await asyncio.wait_for(stop.wait(), timeout=options.summary_every)
                    except TimeoutError:
                        stats = broker.stats()
                        log.info("%s", summary(stats, previous, http.open_streams if http else 0))
                        previous = stats
                log.info("stopping: closing every connection")
            finally:
                if http is not None:
                    await http.stop()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    log.info("stopped cleanly")
    return 0
