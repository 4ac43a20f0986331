"""Errors of the gateways (MQTT and HTTP share one name for "this gateway cannot start or serve")."""

from __future__ import annotations

from eventdeck.core.broker.errors import EventDeckError


class GatewayError(EventDeckError, RuntimeError):
    """A gateway cannot start or serve (port in use, unsafe address without credentials, ...)."""


class AccessRulesError(EventDeckError, ValueError):
    """An access rules file (``serve --acl``) that cannot be used: the message names the file and line."""


class AccessDenied(EventDeckError, PermissionError):  # noqa: N818 - reads as the HTTP status it becomes (403)
    """A client asked to read or write a channel it may not (a ``$`` channel, or the access rules say no)."""
