"""Parsing JSON that came from outside (a client, a file, a message) without crashing on it.

One rule for "valid JSON" across the app and the gateways (RFC 8259): the composer, the HTTP
gateway and anything else that accepts JSON from a person or a client use :func:`json_problem`
or :func:`parse_json`, so what one refuses the others refuse too.
"""

from __future__ import annotations

import json
from typing import Any


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity; send null or a number)")


def parse_json(data: str | bytes) -> Any:
    """``json.loads``, strictly: ``NaN``/``Infinity`` and documents nested too deeply are ``ValueError`` too.

    Python's parser accepts ``NaN`` and ``Infinity``, which other JSON parsers refuse, and recurses
    once per level, raising ``RecursionError`` past ~1,000 levels: a 400-byte body of ``[[[[...``
    would otherwise become a server error or a crashed handler.
    """
    try:
        return json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("nested too deeply (JSON deeper than about 1,000 levels is refused)") from None


def json_problem(data: str | bytes) -> str | None:
    """Why ``data`` is not valid JSON, in one sentence with the line and column; None when it is."""
    try:
        parse_json(data)
    except json.JSONDecodeError as exc:
        return f"Invalid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
    except UnicodeDecodeError:
        return "Invalid JSON: the body is not UTF-8 text"
    except ValueError as exc:
        return f"Invalid JSON: {exc}"
    return None
