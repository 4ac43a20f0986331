"""Parsing JSON that came from outside (a client, a file, a message) without crashing on it."""

from __future__ import annotations

import json
from typing import Any


def parse_json(data: str | bytes) -> Any:
    """``json.loads``, but a document nested deeper than the parser can follow is a ``ValueError`` too.

    Python's parser recurses once per level and raises ``RecursionError`` past ~1,000 levels: a
    400-byte body of ``[[[[...`` would otherwise become a server error or a crashed handler.
    """
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("nested too deeply (JSON deeper than about 1,000 levels is refused)") from None
