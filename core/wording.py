"""Words that agree with their numbers, in what people read: log lines, summaries, messages."""

from __future__ import annotations


def plural(count: int, noun: str, many: str = "") -> str:
    """``1 subscription``, ``2 subscriptions``, ``1,000 mqtt clients``; ``many`` for an irregular plural."""
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"
