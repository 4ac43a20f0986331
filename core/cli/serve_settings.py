"""``eventdeck serve``'s secrets and limits from flags, files and the environment, checked before it starts.

Secrets never need to be on the command line, where every user of the machine can read them (``ps``):
the MQTT password comes from ``$EVENTDECK_MQTT_PASSWORD`` or a password file, the HTTP token from
``$EVENTDECK_HTTP_TOKEN`` or a file. Each function raises ``ValueError`` with a sentence for the user.
"""

from __future__ import annotations

import logging
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

from eventdeck.core.gateways.mqtt.limits import MqttLimits

MQTT_PASSWORD_VARIABLE = "EVENTDECK_MQTT_PASSWORD"  # never a flag: command lines are visible to other users
HTTP_TOKEN_VARIABLE = "EVENTDECK_HTTP_TOKEN"
MAX_SECRETS_FILE = 1024 * 1024
DEFAULT_HTTP_MAX_BODY = 1024 * 1024  # bytes
DEFAULT_SUMMARY_EVERY = 60.0  # seconds

# --data and --data-sync (serve_data opens the store; these stay here, cheap to import for --help)
DATA_HELP = (
    "keep durable subscriptions and their queued messages, retained messages and declared channels in DIR "
    "(an SQLite file; one process per DIR), so they survive a restart or a crash; without it everything is "
    "in memory and gone when serve stops"
)
DATA_SYNC_HELP = (
    "full (default): a message is acknowledged only once it is on the disk, nothing acknowledged is lost even "
    "in a power cut; normal: faster, still nothing lost if only the process dies, but a power cut may lose "
    "the last acknowledged messages"
)

log = logging.getLogger("eventdeck.serve")


def _read_secrets(flag: str, path: Path) -> str:
    try:
        if path.stat().st_size > MAX_SECRETS_FILE:
            raise ValueError(f"{flag} {path}: larger than 1 MiB; is this the right file?")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{flag} {path}: cannot read it: {exc}") from None


def http_token(flag: str | None, file: Path | None) -> str | None:
    """The HTTP bearer token from exactly one of the flag, the file and the environment (or None)."""
    variable = os.environ.get(HTTP_TOKEN_VARIABLE)
    ways = (("--http-token", flag), ("--http-token-file", file), (f"${HTTP_TOKEN_VARIABLE}", variable))
    given = [name for name, value in ways if value]
    if len(given) > 1:
        raise ValueError(f"the HTTP token is given {len(given)} ways ({', '.join(given)}); give it one way")
    if flag:
        log.warning(
            "--http-token puts the token where every user of this machine can read it (ps); "
            "use $%s or --http-token-file instead",
            HTTP_TOKEN_VARIABLE,
        )
        return flag
    if file is not None:
        token = _read_secrets("--http-token-file", file).strip()
        if not token or "\n" in token:
            raise ValueError(f"--http-token-file {file}: the file must hold the token alone, on one line")
        return token
    return variable or None


def mqtt_credentials(user: str | None, password_file: Path | None = None) -> dict[str, str] | None:
    """Who may log in over MQTT: ``--mqtt-user`` with ``$EVENTDECK_MQTT_PASSWORD``, and/or a password file
    of ``name:password`` lines (``#`` comments), so that access rules can tell several users apart."""
    credentials = _password_file(password_file) if password_file is not None else {}
    if user is not None:
        password = os.environ.get(MQTT_PASSWORD_VARIABLE)
        if not password:
            raise ValueError(
                f"--mqtt-user {user} needs the password in the environment variable {MQTT_PASSWORD_VARIABLE}"
            )
        credentials[user] = password
    return credentials or None


def _password_file(path: Path) -> dict[str, str]:
    credentials: dict[str, str] = {}
    for number, raw in enumerate(_read_secrets("--mqtt-password-file", path).splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, colon, password = line.partition(":")
        where = f"--mqtt-password-file {path}:{number}"
        if not colon or not name or not password:
            raise ValueError(f"{where}: expected 'name:password'")
        if name in credentials:
            raise ValueError(f"{where}: user {name!r} is listed twice")
        credentials[name] = password
    if not credentials:
        raise ValueError(f"--mqtt-password-file {path}: no 'name:password' line in it")
    if path.stat().st_mode & 0o077:
        log.warning("%s can be read by other users of this machine; chmod 600 it", path)
    return credentials


def mqtt_limit_defaults() -> str:
    """Every MQTT limit's name with its default, for ``--help``: ``max_packet_size=1048576, ...``."""
    defaults = MqttLimits()
    values = ((field.name, getattr(defaults, field.name)) for field in fields(MqttLimits))
    return ", ".join(f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}" for name, value in values)


def mqtt_limits(settings: list[str]) -> MqttLimits | None:
    """``NAME=VALUE`` pairs into ``MqttLimits``; ``ValueError`` naming the bad one and the known names."""
    if not settings:
        return None
    known = {field.name: field.type for field in fields(MqttLimits)}
    values: dict[str, Any] = {}
    for setting in settings:
        name, _, text = setting.partition("=")
        if name not in known:
            raise ValueError(f"unknown MQTT limit {name!r}; known: {', '.join(known)}")
        try:
            values[name] = float(text) if known[name] in (float, "float") else int(text)
        except ValueError:
            raise ValueError(f"MQTT limit {name} needs a number, got {text!r}") from None
    try:
        return MqttLimits(**values)
    except ValueError as exc:  # out of range; the limits call themselves MqttLimits, a name users never see
        raise ValueError(f"--mqtt-limit: {str(exc).removeprefix('MqttLimits.')}") from None
