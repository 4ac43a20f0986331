"""Connector errors, and turning low-level failures into sentences a person can act on."""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Iterator

from eventdeck.core.broker.errors import EventDeckError


class ConnectorError(EventDeckError):
    """A connector could not be set up, reach its broker, or do what was asked; the message says why."""


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it was raised from or while handling (client libraries often wrap OS errors)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def describe_network_failure(exc: BaseException, host: str, port: int, timeout: float) -> str | None:
    """A specific sentence for DNS, TCP and TLS failures anywhere in ``exc``'s chain, or None."""
    for cause in causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS failure with {host}:{port}: certificate verify failed ({cause.verify_message or cause.reason})"
        if isinstance(cause, ssl.SSLError):
            return f"TLS failure with {host}:{port}: {cause.reason or cause}"
        if isinstance(cause, socket.gaierror):
            return f"unknown host {host!r}: {cause.strerror}"
        if isinstance(cause, OSError) and cause.errno == socket.EAI_NONAME:  # aiormq's own error for a failed lookup
            return f"unknown host {host!r}"
        if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED:
            return f"nothing listens on {host}:{port} (connection refused)"
        if isinstance(cause, TimeoutError):
            return f"no answer from {host}:{port} within {timeout:g} s"
        if isinstance(cause, ConnectionResetError | BrokenPipeError):
            return f"{host}:{port} closed the connection"
        if isinstance(cause, OSError) and cause.strerror:
            return f"cannot reach {host}:{port}: {cause.strerror}"
    for cause in causes(exc):
        # Some clients report a refused connection only in words (e.g. "[Errno 111] Connection refused").
        text = str(cause).lower()
        if "connection refused" in text:
            return f"nothing listens on {host}:{port} (connection refused)"
        if "name or service not known" in text or "nodename nor servname" in text:
            return f"unknown host {host!r}"
    return None
