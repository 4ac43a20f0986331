"""Helpers for the connector tests: started backends, service checks, private servers on spare ports,
waiting without sleeps, and the reconnect check every connector must pass."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import pytest

from eventdeck.core import Broker, Message
from eventdeck.core.connectors import GAP_CHANNEL, ConnectorBackend, ConnectorError, backend_from_url, parse_url
from eventdeck.core.connectors.backend import ConnectionState, Status

WAIT = 15.0  # generous: the machine is small and shared
B = TypeVar("B", bound=ConnectorBackend)


def reachable(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_service(port: int, what: str) -> None:
    if not reachable(port):
        pytest.skip(f"{what} not reachable at 127.0.0.1:{port}")


def require_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


@contextlib.asynccontextmanager
async def connected(url: str, kind: type[B], service: str, **options: Any) -> AsyncIterator[B]:
    """A started ``kind`` backend for ``url`` (a service running on this machine), stopped afterwards."""
    require_service(parse_url(url).port, service)
    connector = backend_from_url(url, **options)
    assert isinstance(connector, kind)
    await connector.start()
    try:
        yield connector
    finally:
        await connector.stop()


def backend_fixture(url: str, kind: type[B], service: str) -> Any:
    """The ``backend`` fixture of a connector's tests: a started ``kind`` backend per test."""

    @pytest.fixture
    async def backend() -> AsyncIterator[B]:
        async with connected(url, kind, service) as connector:
            yield connector

    return backend


async def check_network_failures_are_named(scheme: str) -> None:
    """Nothing listening and an unknown host are said in those words, whatever the client library raised."""
    port = free_port()
    with pytest.raises(ConnectorError, match=f"nothing listens on 127.0.0.1:{port}"):
        await backend_from_url(f"{scheme}://127.0.0.1:{port}").start()
    with pytest.raises(ConnectorError, match=r"unknown host 'no-such-host\.invalid'"):
        await backend_from_url(f"{scheme}://no-such-host.invalid").start()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def wait_until(predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.02)


async def next_message(broker: Broker, pattern: str, trigger: Callable[[], object], timeout: float = WAIT) -> Message:  # noqa: ASYNC109
    """Subscribe the mirror to ``pattern``, run ``trigger`` (sync or async) and return the first message."""
    sub = broker.subscribe(pattern)
    try:
        result = trigger()
        if asyncio.iscoroutine(result):
            await asyncio.wait_for(result, timeout)
        delivery = await asyncio.wait_for(sub.get(), timeout)
        return delivery.message
    finally:
        sub.unsubscribe()


class PrivateServer:
    """A broker process of our own on a spare port, to stop and start under a connected backend."""

    def __init__(
        self, command: Sequence[str], port: int, env: Mapping[str, str] | None = None, start_timeout: float = WAIT
    ) -> None:
        self.command = list(command)
        self.port = port
        self.env = dict(env) if env is not None else None
        self.start_timeout = start_timeout
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Self:
        try:
            await self.start()
        except BaseException:
            await self.stop()  # also when it was slow to start: no server is left running
            raise
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, env=self.env
        )
        process = self.process

        def listening() -> bool:
            if process.returncode is not None:
                raise AssertionError(f"{self.command[0]} exited with {process.returncode} before listening")
            return reachable(self.port)

        await wait_until(listening, f"{self.command[0]} to listen on {self.port}", self.start_timeout)

    async def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), WAIT)


async def run(*command: str) -> None:
    """Run a command line client to completion (e.g. mosquitto_pub, redis-cli); fail on a non-zero exit."""
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.DEVNULL)
    code = await asyncio.wait_for(process.wait(), WAIT)
    assert code == 0, f"{command[0]} exited with {code}"


async def self_signed(directory: Path) -> tuple[Path, Path]:
    """A key and a self-signed certificate for ``localhost`` (a day long), made with openssl."""
    key, cert = directory / "key.pem", directory / "cert.pem"
    await run(require_binary("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
              "-days", "1", "-keyout", str(key), "-out", str(cert))  # fmt: skip
    key.chmod(0o644)  # servers that drop privileges must still read it
    return key, cert


class StatusLog:
    """Records every status a backend reports."""

    def __init__(self, backend: ConnectorBackend) -> None:
        self.seen: list[Status] = []
        backend.add_status_listener(self.seen.append)

    def states(self) -> list[ConnectionState]:
        return [status.state for status in self.seen]


async def check_reconnect_to(server: PrivateServer, url: str) -> None:
    """``check_reconnect`` with a backend for ``url`` on ``server`` (started here); both stopped afterwards."""
    async with server:
        connector = backend_from_url(url, initial_backoff=0.2, max_backoff=1.0)
        try:
            await check_reconnect(connector, server, "edtest/reconnect")
        finally:
            await connector.stop()


async def check_reconnect(backend: ConnectorBackend, server: PrivateServer, channel: str) -> None:
    """Stop the server under a monitoring backend and start it again: RECONNECTING, CONNECTED, a gap, nothing lost."""
    statuses = StatusLog(backend)
    mirror = backend.broker
    gaps = mirror.subscribe(GAP_CHANNEL)
    await backend.start()
    first = await next_message(mirror, channel, lambda: backend.publish(channel, {"n": 1}))
    assert first.payload == b'{"n":1}'

    await server.stop()
    await wait_until(lambda: ConnectionState.RECONNECTING in statuses.states(), "RECONNECTING")
    reconnecting = next(s for s in statuses.seen if s.state is ConnectionState.RECONNECTING)
    assert "lost connection to" in reconnecting.detail
    assert "retrying in" in reconnecting.detail

    await server.start()
    await wait_until(lambda: statuses.states()[-1] is ConnectionState.CONNECTED, "CONNECTED again")
    gap = (await asyncio.wait_for(gaps.get(), WAIT)).message
    assert float(gap.headers["x-gap-seconds"]) > 0
    assert gap.headers["x-gap-reason"]
    held = {info.name: info.messages for info in mirror.channels()}
    assert held[channel] >= 1  # what the mirror had survives the gap

    second = await next_message(mirror, channel, lambda: backend.publish(channel, {"n": 2}))
    assert second.payload == b'{"n":2}'
    assert backend.status.state is ConnectionState.CONNECTED
    assert backend.gaps == 1
