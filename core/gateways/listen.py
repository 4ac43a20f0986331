"""Where gateways listen: ``HOST:PORT`` addresses as people type them on the command line (not where a
connector connects: that is ``eventdeck.core.connectors.address.Endpoint``)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_HTTP_PORT = 8080
DEFAULT_MQTT_PORT = 1883


@dataclass(frozen=True, slots=True)
class ListenAddress:
    """Where a gateway listens."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_listen_address(text: str, default_port: int) -> ListenAddress | None:
    """``off`` -> None; otherwise ``HOST:PORT``, ``HOST``, ``:PORT``, ``PORT`` or ``[V6]:PORT``.

    Raises ``ValueError`` with a sentence saying what is wrong.
    """
    text = text.strip()
    if text.lower() == "off":
        return None
    host, port_text = "127.0.0.1", ""
    if text.startswith("["):
        inner, _, rest = text[1:].partition("]")
        host, port_text = inner, rest.removeprefix(":")
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        host = host or "127.0.0.1"
    elif text.isdigit():
        port_text = text
    elif text:
        host = text
    if not host:
        raise ValueError(f"{text!r} names no host")
    if not port_text:
        return ListenAddress(host, default_port)
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{text!r}: the port must be a number from 0 to 65535")
    return ListenAddress(host, int(port_text))


DEFAULT_HTTP = ListenAddress("127.0.0.1", DEFAULT_HTTP_PORT)
DEFAULT_MQTT = ListenAddress("127.0.0.1", DEFAULT_MQTT_PORT)
