"""A small scenario to hang story snippets on: a publisher, a subscriber, and a command with a responder."""

from __future__ import annotations

STORY_BASE = """\
asyncapi: 3.0.0
info: {title: Story test, version: '1'}
channels:
  ping:
    address: ping
    messages:
      ping:
        payload: {type: object}
        examples: [{payload: {n: 1}}]
  ask:
    address: ask
    messages:
      ask: {payload: {type: object}}
  askReply:
    address: null
    messages:
      answer: {payload: {type: object}}
operations:
  sendPing:
    action: send
    channel: {$ref: '#/channels/ping'}
    x-eventdeck-publisher: {name: pinger, rate: 2}
  receivePing:
    action: receive
    channel: {$ref: '#/channels/ping'}
    x-eventdeck-subscriber: {name: ponger}
  sendAsk:
    action: send
    channel: {$ref: '#/channels/ask'}
    reply: {channel: {$ref: '#/channels/askReply'}}
    x-eventdeck-publisher: {name: asker, rate: 1, timeout: 3}
  answerAsk:
    action: receive
    channel: {$ref: '#/channels/ask'}
    reply: {channel: {$ref: '#/channels/askReply'}}
    x-eventdeck-responder: {name: answerer}
x-eventdeck-story:
  title: A test story
  steps:
    - title: First
      caption: One sentence.
      actions:
        - ACTION
"""


def with_action(action: str) -> tuple[str, int]:
    """The base document whose one story action is ``action`` (one line), and that action's line."""
    text = STORY_BASE.replace("ACTION", action)
    return text, text.splitlines().index(f"        - {action}") + 1


def with_text(old: str, new: str, action: str = "pause: ponger") -> str:
    """The base document with ``old`` replaced by ``new`` (and a valid action)."""
    text, _ = with_action(action)
    assert old in text
    return text.replace(old, new)
