"""Dead letters: a message a subscription gave up on, copied to ``$dead/<channel>`` with the reason."""

from __future__ import annotations

from eventdeck.core.broker.message import Message, freeze_headers, new_id

DEAD_PREFIX = "$dead/"


def dead_letter_copy(message: Message, subscription: str, reason: str, attempts: int) -> Message:
    """The copy of ``message`` that goes to the dead-letter channel, with why and where it came from in its headers."""
    channel = message.channel if message.channel.startswith(DEAD_PREFIX) else DEAD_PREFIX + message.channel
    headers = dict(message.headers)
    headers.update(
        {
            "x-dead-reason": reason,
            "x-dead-subscription": subscription,
            "x-original-channel": message.channel,
            "x-original-id": str(message.id),
            "x-attempts": str(attempts),
        }
    )
    ident = new_id()
    return message._replace(id=ident, channel=channel, headers=freeze_headers(headers), timestamp=ident / 1e9)
