"""The MQTT 3.1.1/5.0 gateway: lets real MQTT clients publish to and subscribe on the embedded broker.

``packets`` (codec) and ``protocol`` (per-connection state machine) are sans-io; ``server``
is the thin asyncio shell::

    async with MqttGateway(broker, port=1883) as gateway:
        ...
"""

from .errors import GatewayError, ProtocolError
from .limits import MqttLimits
from .server import ClientEvent, MqttClientInfo, MqttGateway

__all__ = ["ClientEvent", "GatewayError", "MqttClientInfo", "MqttGateway", "MqttLimits", "ProtocolError"]
