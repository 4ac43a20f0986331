"""The MQTT 3.1.1/5.0 gateway: lets real MQTT clients publish to and subscribe on the embedded broker.

``eventdeck.core.mqtt_codec`` (records, decode, encode), ``protocol`` (the per-connection
state machine, ``MqttServerProtocol``) and ``outbox`` (its PUBLISH flow to the client) are
sans-io; ``server``, ``connection``, ``sessions`` and ``shared`` are the asyncio shell::

    async with MqttGateway(broker, port=1883) as gateway:
        ...

The names below load when first used, so that ``mqtt.limits`` (the command line's help, the window's
settings) does not bring in the server.
"""

from typing import TYPE_CHECKING

from eventdeck.core.lazy import lazy_exports

if TYPE_CHECKING:
    from eventdeck.core.gateways.errors import GatewayError
    from eventdeck.core.gateways.mqtt.limits import MqttLimits
    from eventdeck.core.gateways.mqtt.server import ClientEvent, MqttClientInfo, MqttGateway
    from eventdeck.core.mqtt_codec.errors import ProtocolError

__all__ = ["ClientEvent", "GatewayError", "MqttClientInfo", "MqttGateway", "MqttLimits", "ProtocolError"]

__getattr__ = lazy_exports(
    __name__,
    {
        "eventdeck.core.gateways.errors": ("GatewayError",),
        "eventdeck.core.gateways.mqtt.limits": ("MqttLimits",),
        "eventdeck.core.gateways.mqtt.server": ("ClientEvent", "MqttClientInfo", "MqttGateway"),
        "eventdeck.core.mqtt_codec.errors": ("ProtocolError",),
    },
)
