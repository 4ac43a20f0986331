"""A connector whose broker stops answering still stops within its connect timeout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable
from contextlib import AsyncExitStack

import pytest

from eventdeck.core.connectors.address import parse_url
from eventdeck.core.connectors.backend import ConnectionState, Outgoing
from eventdeck.core.connectors.base import ConnectorBackend


class Unanswering(ConnectorBackend):
    """Connects at once; then every read and the goodbye wait forever, like a broker that froze."""

    async def _connect(self, stack: AsyncExitStack) -> None:
        stack.push_async_callback(asyncio.Event().wait)  # closing waits for an answer that never comes

    async def _pump(self) -> None:
        await asyncio.Event().wait()

    async def _send(self, channel: str, payload: bytes, options: Outgoing) -> None:
        raise NotImplementedError

    def _address(self, options: Outgoing) -> tuple[Hashable, Outgoing]:
        raise NotImplementedError

    async def _refresh(self) -> None:
        """Nothing to list."""


async def test_stop_gives_up_on_a_broker_that_does_not_answer() -> None:
    connector = Unanswering(parse_url("redis://127.0.0.1:1/0"), connect_timeout=0.3)
    await connector.start()
    started = time.monotonic()
    await connector.stop()
    assert time.monotonic() - started < 2.0
    assert connector.status.state is ConnectionState.DISCONNECTED
    assert connector.broker.closed


class SlowToCancel(Unanswering):
    """Its pump holds up cancellation for a second (some client libraries do), then lets go."""

    async def _connect(self, stack: AsyncExitStack) -> None:
        self.closed = False

        async def close() -> None:
            self.closed = True

        stack.push_async_callback(close)

    async def _pump(self) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await asyncio.sleep(1.0)


async def test_stop_closes_the_connection_even_when_the_pump_is_slow_to_cancel() -> None:
    connector = SlowToCancel(parse_url("redis://127.0.0.1:1/0"), connect_timeout=0.3)
    await connector.start()
    await asyncio.sleep(0)  # let the pump start
    started = time.monotonic()
    await connector.stop()
    assert 0.3 <= time.monotonic() - started < 1.0  # waited its connect_timeout for the pump, no longer
    assert connector.closed
    assert connector.status.state is ConnectionState.DISCONNECTED
    await asyncio.sleep(1.2)  # the pump lets go and the connection task ends instead of reconnecting
    assert connector.status.state is ConnectionState.DISCONNECTED


class SwallowsCancellation(Unanswering):
    """Its inventory call eats a cancellation and returns, as redis-py can mid-command."""

    async def _connect(self, stack: AsyncExitStack) -> None:
        """Nothing to close."""

    async def _refresh(self) -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return


async def test_a_library_that_swallows_cancellation_does_not_keep_the_connector_running(
    caplog: pytest.LogCaptureFixture,
) -> None:
    connector = SwallowsCancellation(parse_url("redis://127.0.0.1:1/0"), connect_timeout=2.0)
    await connector.start()
    await asyncio.sleep(0.05)  # the inventory call is under way
    started = time.monotonic()
    await connector.stop()
    assert time.monotonic() - started < 1.0
    assert "did not stop" not in caplog.text
