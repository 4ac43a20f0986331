"""What a gateway's clients may do with channels.

Two rules always hold, whatever the configuration:

- ``$`` channels are the broker's. Replies to commands (``$reply/...``) are read only by the
  requester that waits for them, inside the broker, so no client may subscribe to them; dead
  letters (``$dead/...``) may be read. No client may publish into a ``$`` channel, except the
  first reply to a command that is still waiting for one: any other reply (to nothing, late, or a
  second one) is refused and counted.
- With access rules (``eventdeck serve --acl FILE``, see ``acl.py``) a client reads and writes only
  what its rules grant. Without them the broker is open, as Mosquitto is by default.
"""

from __future__ import annotations

from collections.abc import Callable

from eventdeck.core.broker.channels import is_broker_channel
from eventdeck.core.broker.message import Kind
from eventdeck.core.broker.requests import REPLY_PREFIX
from eventdeck.core.gateways.acl import AccessRules, ClientAccess
from eventdeck.core.gateways.errors import AccessDenied

REPLIES = REPLY_PREFIX.rstrip("/")


class ClientPolicy:
    """One client's answers: ``None`` when allowed, otherwise the reason it is refused."""

    def __init__(self, access: ClientAccess | None, claim_reply: Callable[[str], bool]) -> None:
        self._access = access
        self._claim_reply = claim_reply
        self.refused = 0  # publishes and subscriptions refused, for the client's counters
        # False: only $ channels can be refused (no access rules), so hot paths ask only for those.
        self.checks_writes = access is not None
        self.filters_deliveries = access is not None and access.filters_deliveries

    def subscribe_refusal(self, pattern: str) -> str | None:
        if pattern.split("/", 1)[0] == REPLIES:
            return self._refuse("replies to commands are read only by the requester that sent the command")
        if self._access is not None and not self._access.may_subscribe(pattern):
            return self._refuse(f"the access rules do not let this client read {pattern!r}")
        return None

    def publish_refusal(self, channel: str, kind: Kind, correlation_id: str | None) -> str | None:
        if is_broker_channel(channel):
            if (
                kind is Kind.REPLY
                and channel.startswith(REPLY_PREFIX)
                and correlation_id is not None
                and self._claim_reply(correlation_id)
            ):
                return None
            return self._refuse(
                f"{channel!r} is the broker's: only the first reply to a command still waiting for one may go there"
            )
        if self._access is not None and not self._access.may_write(channel):
            return self._refuse(f"the access rules do not let this client write to {channel!r}")
        return None

    def check_subscribe(self, pattern: str) -> None:
        """``subscribe_refusal`` as an ``AccessDenied`` error (for the HTTP gateway: a 403)."""
        if refusal := self.subscribe_refusal(pattern):
            raise AccessDenied(refusal)

    def check_publish(self, channel: str, kind: Kind, correlation_id: str | None) -> None:
        if refusal := self.publish_refusal(channel, kind, correlation_id):
            raise AccessDenied(refusal)

    def may_read(self, channel: str) -> bool:
        """Per delivery, when ``filters_deliveries``: a deny rule inside a granted filter."""
        return self._access is None or self._access.may_read(channel)

    def _refuse(self, reason: str) -> str:
        self.refused += 1
        return reason


class GatewayPolicy:
    """The rules of one gateway; ``client(user, client_id)`` gives each connection its own answers."""

    def __init__(self, claim_reply: Callable[[str], bool], rules: AccessRules | None = None) -> None:
        self.rules = rules
        self._claim_reply = claim_reply

    def client(self, user: str | None, client_id: str) -> ClientPolicy:
        access = None if self.rules is None else self.rules.client(user, client_id)
        return ClientPolicy(access, self._claim_reply)
