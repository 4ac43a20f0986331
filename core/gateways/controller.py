"""The gateways of one broker, started together, each failing on its own with a reason.

``eventdeck serve`` stops when a gateway cannot start; the window opens anyway and
shows the reason next to an offer of a free port (``free_port_near``).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from eventdeck.core.broker.broker import Broker
from eventdeck.core.broker.errors import EventDeckError
from eventdeck.core.gateways.admission import quiet_accept_failures, raise_open_files_limit
from eventdeck.core.gateways.listen import ListenAddress

if TYPE_CHECKING:
    from eventdeck.core.gateways.acl import AccessRules
    from eventdeck.core.gateways.http.server import HttpGateway
    from eventdeck.core.gateways.http.streams import StreamEvent
    from eventdeck.core.gateways.mqtt.limits import MqttLimits
    from eventdeck.core.gateways.mqtt.server import ClientEvent, MqttGateway

log = logging.getLogger("eventdeck.gateways")

ClientListener = Callable[[str], None]  # one line about a client that came or went


class _Gateway(Protocol):
    @property
    def port(self) -> int: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class GatewayState:
    """What one gateway is doing: listening at ``endpoint``, switched off, or failed with ``error``."""

    name: str  # "MQTT" or "HTTP"
    endpoint: ListenAddress | None  # None: switched off
    running: bool = False
    error: str = ""

    @property
    def summary(self) -> str:
        if self.endpoint is None:
            return f"{self.name} off"
        if self.running:
            return f"{self.name} {self.endpoint}"
        return f"{self.name} not running"


def free_port_near(host: str, port: int, tries: int = 20) -> int:
    """A port near ``port`` that nothing listens on (falls back to one the OS picks)."""
    for candidate in range(port + 1, min(port + 1 + tries, 65536)):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            try:
                probe.bind((host, candidate))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    continue
                raise
            return candidate
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class Gateways:
    """Starts, restarts and stops the MQTT and HTTP gateways of ``broker``."""

    def __init__(
        self,
        broker: Broker,
        *,
        mqtt: ListenAddress | None,
        http: ListenAddress | None,
        mqtt_credentials: Mapping[str, str] | None = None,
        mqtt_limits: MqttLimits | None = None,
        http_token: str | None = None,
        http_max_body: int = 1024 * 1024,
        rules: AccessRules | None = None,
        on_client: ClientListener | None = None,
    ) -> None:
        self.broker = broker
        self.rules = rules
        self.mqtt_credentials = mqtt_credentials
        self.mqtt_limits = mqtt_limits
        self.http_token = http_token
        self.http_max_body = http_max_body
        self.on_client = on_client
        self._wanted: dict[str, ListenAddress | None] = {"MQTT": mqtt, "HTTP": http}
        self._running: dict[str, _Gateway] = {}
        self._errors: dict[str, str] = {}
        self.mqtt: MqttGateway | None = None
        self.http: HttpGateway | None = None

    def states(self) -> list[GatewayState]:
        states = []
        for name, wanted in self._wanted.items():
            gateway = self._running.get(name)
            where = ListenAddress(wanted.host, gateway.port) if gateway is not None and wanted is not None else wanted
            states.append(GatewayState(name, where, gateway is not None, self._errors.get(name, "")))
        return states

    async def start(self) -> list[GatewayState]:
        """Start every gateway that is switched on; a failure is recorded, never raised."""
        quiet_accept_failures(asyncio.get_running_loop(), log)
        raise_open_files_limit()
        for name, endpoint in self._wanted.items():
            if endpoint is not None and name not in self._running:
                await self._start(name, endpoint)
        return self.states()

    async def restart(self, name: str, endpoint: ListenAddress | None) -> GatewayState:
        """Move gateway ``name`` ("MQTT" or "HTTP") to ``endpoint`` (None switches it off)."""
        gateway = self._running.pop(name, None)
        if gateway is not None:
            await gateway.stop()
            if gateway is self.mqtt:
                self.mqtt = None
            elif gateway is self.http:
                self.http = None
        self._errors.pop(name, None)
        self._wanted[name] = endpoint
        if endpoint is not None:
            await self._start(name, endpoint)
        return next(state for state in self.states() if state.name == name)

    async def stop(self) -> None:
        """Stop every gateway, closing each connection with the right reason."""
        for name in list(self._running):
            await self._running.pop(name).stop()
        self.mqtt = self.http = None

    async def _start(self, name: str, endpoint: ListenAddress) -> None:
        # Imported here: aiohttp and the MQTT stack load only once a gateway starts, which
        # keeps them off the window's path to its first paint.
        from eventdeck.core.gateways.http.server import HttpGateway  # noqa: PLC0415
        from eventdeck.core.gateways.mqtt.server import MqttGateway  # noqa: PLC0415

        mqtt: MqttGateway | None = None
        http: HttpGateway | None = None
        gateway: _Gateway
        if name == "MQTT":
            gateway = mqtt = MqttGateway(
                self.broker,
                endpoint.host,
                endpoint.port,
                limits=self.mqtt_limits,
                credentials=self.mqtt_credentials,
                rules=self.rules,
                on_event=self._mqtt_event,
            )
        else:
            gateway = http = HttpGateway(
                self.broker,
                endpoint.host,
                endpoint.port,
                token=self.http_token,
                max_body=self.http_max_body,
                rules=self.rules,
                on_stream=self._http_event,
                mqtt=lambda: self.mqtt,  # /mqtt: MQTT over WebSocket, while the MQTT gateway runs
            )
        try:
            await gateway.start()
        except EventDeckError as exc:
            self._errors[name] = str(exc)
            log.warning("%s", exc)
            return
        self._running[name] = gateway
        self.mqtt = mqtt or self.mqtt
        self.http = http or self.http
        log.info("%s gateway listening on %s", name, ListenAddress(endpoint.host, gateway.port))

    def shared_groups(self) -> dict[str, list[str]]:
        """MQTT shared subscriptions: broker subscription name -> member client ids ({} while MQTT is off)."""
        return self.mqtt.shared_groups() if self.mqtt is not None else {}

    def _mqtt_event(self, event: ClientEvent) -> None:
        detail = f" ({event.detail})" if event.detail else ""
        self._tell(f"mqtt client {event.client_id!r} from {event.address} {event.kind}{detail}")

    def _http_event(self, event: StreamEvent) -> None:
        what = "connected" if event.opened else "disconnected"
        self._tell(f"http {event.protocol} client {event.peer} {what} (pattern {event.pattern or '#'})")

    def _tell(self, line: str) -> None:
        log.info("%s", line)
        if self.on_client is not None:
            self.on_client(line)
