"""Schemas "on the web" for remote ``$ref`` tests: a local HTTP server, and the split document set pointed at it.

The server serves ``tests/fixtures/split/web`` and a few misbehaving paths (slow, huge, endless,
redirected to ftp://), and records every path asked for, so a test can prove nothing was fetched.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from eventdeck.core.asyncapi.source import MAX_DOCUMENT_BYTES
from tests.paths import ROOT

SPLIT = ROOT / "tests" / "fixtures" / "split"
PUBLISHED_AT = "https://schemas.example.com/eventdeck/"
"""Where the fixture's one remote reference says its schema is."""
SLOW_SECONDS = 3.0


class SchemaServer:
    def __init__(self, server: ThreadingHTTPServer) -> None:
        host, port = server.server_address[:2]
        self.url = f"http://{host!s}:{port}/"
        self.requests: list[str] = []
        self._server = server


class _Handler(SimpleHTTPRequestHandler):
    served: SchemaServer

    def do_GET(self) -> None:
        self.served.requests.append(self.path)
        if self.path == "/slow.json":
            time.sleep(SLOW_SECONDS)
            self._send(b"{}")
        elif self.path == "/huge.json":
            self._send(b" " * (MAX_DOCUMENT_BYTES + 1))
        elif self.path == "/endless.json":  # no Content-Length: the size cap must stop the reading
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            chunk = b" " * 65536
            with suppress(BrokenPipeError, ConnectionResetError):  # the client stopped reading: as it should
                for _ in range(MAX_DOCUMENT_BYTES // len(chunk) * 2):
                    self.wfile.write(chunk)
        elif self.path == "/to-ftp.json":
            self.send_response(302)
            self.send_header("Location", "ftp://example.com/schema.json")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            super().do_GET()

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: pytest shows what failed


@contextmanager
def serving(folder: Path = SPLIT / "web") -> Iterator[SchemaServer]:
    """A server of ``folder`` on a free port of 127.0.0.1, stopped on exit."""
    handler = type("Handler", (_Handler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: handler(*a, directory=str(folder)))
    served = SchemaServer(server)
    handler.served = served
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def split_set(folder: Path, published_at: str = PUBLISHED_AT) -> Path:
    """A copy of the split document set in ``folder`` whose remote reference points at ``published_at``;
    returns the copy's ``services`` folder."""
    copy = folder / "split"
    shutil.copytree(SPLIT, copy)
    orders = copy / "services" / "orders.yaml"
    orders.write_text(orders.read_text(encoding="utf-8").replace(PUBLISHED_AT, published_at), encoding="utf-8")
    return copy / "services"
