"""String formats EventDeck checks in payloads and recognises when it infers schemas.

jsonschema checks no formats unless told to, and its ``date-time`` check needs an extra
package; these few checks are enough for event payloads and cost a regular expression each.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime

_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#]+\S*")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def is_date_time(value: str) -> bool:
    """RFC 3339 date-time (``2024-05-01T12:00:00Z``), with a real date and time."""
    if not _DATE_TIME.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def is_date(value: str) -> bool:
    if not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def is_email(value: str) -> bool:
    return _EMAIL.fullmatch(value) is not None


def is_uri(value: str) -> bool:
    """An absolute URI: a scheme, a colon, no spaces (``urn:x``, ``mailto:a@b.c``, ``https://...``)."""
    return _URI.fullmatch(value) is not None


def is_uuid(value: str) -> bool:
    return _UUID.fullmatch(value) is not None


CHECKS: dict[str, Callable[[str], bool]] = {
    "date-time": is_date_time,
    "date": is_date,
    "email": is_email,
    "uri": is_uri,
    "uuid": is_uuid,
}
"""Formats checked when validating payloads."""

INFERRED: dict[str, Callable[[str], bool]] = {
    "date-time": is_date_time,
    "email": is_email,
    # Stricter than a URI: "note:hello" fits RFC 3986 but nobody means it as a link.
    "uri": lambda value: _URL.fullmatch(value) is not None,
}
"""Formats given to inferred schemas, when every sample fits; the first that fits wins."""
