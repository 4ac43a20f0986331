"""Saved connection profiles: where to connect and how, as JSON at a path the caller chooses.

A profile never holds a password (those live in the keyring, see ``credentials``);
a ``password`` key found in a file is dropped, never written back.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from eventdeck.core.connectors.address import (
    KINDS,
    SCHEMES,
    SEVERAL_SERVERS,
    Endpoint,
    TLSOptions,
    parse_servers,
    parse_url,
    server_text,
)
from eventdeck.core.connectors.errors import ConnectorError

FORMAT = 1


@dataclass(frozen=True, slots=True)
class Profile:
    """A named broker connection without its password. ``vhost``: AMQP virtual host or Redis database.

    A Kafka profile's ``host`` may list several bootstrap servers, ``HOST[:PORT],HOST[:PORT]``;
    those without a port use ``port``.
    """

    name: str
    kind: str
    host: str
    port: int
    vhost: str = ""
    username: str | None = None
    tls: TLSOptions = field(default_factory=TLSOptions)
    options: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ConnectorError("a profile needs a name")
        if self.kind not in KINDS:
            raise ConnectorError(f"profile {self.name!r}: unknown kind {self.kind!r}; known: {', '.join(KINDS)}")
        if not self.host:
            raise ConnectorError(f"profile {self.name!r}: no host")
        if not 0 < self.port < 65536:
            raise ConnectorError(f"profile {self.name!r}: port must be 1-65535, got {self.port}")
        if "," in self.host and self.kind not in SEVERAL_SERVERS:
            raise ConnectorError(f"profile {self.name!r}: a {self.kind} profile names one host, got {self.host!r}")
        self._servers()  # a malformed server list is refused now, not when connecting

    def _servers(self) -> list[tuple[str, int]]:
        if "," not in self.host:
            return [(self.host, self.port)]
        return parse_servers(self.host, self.port, f"profile {self.name!r}")

    @classmethod
    def from_url(cls, name: str, url: str) -> Profile:
        """A profile from a broker URL (any password in the URL is not kept: store it with ``CredentialStore``)."""
        endpoint = parse_url(url)
        host = endpoint.host
        if endpoint.more_servers:  # the first server's port is the profile's; the others keep theirs
            first = f"[{host}]" if ":" in host else host
            host = ",".join([first, *(server_text(*server) for server in endpoint.more_servers)])
        return cls(
            name,
            endpoint.kind,
            host,
            endpoint.port,
            vhost=endpoint.path,
            username=endpoint.username,
            tls=endpoint.tls,
            options=endpoint.options,
        )

    def endpoint(self, password: str | None = None) -> Endpoint:
        default_path = {"amqp": "/", "redis": "0"}.get(self.kind, "")
        (host, port), *more = self._servers()
        return Endpoint(
            self.kind,
            host,
            port,
            self.username,
            password,
            self.vhost or default_path,
            self.tls,
            self.options,
            more_servers=tuple(more),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "host": self.host,
            "port": self.port,
            "vhost": self.vhost,
            "username": self.username,
            "tls": asdict(self.tls),
            "options": dict(self.options),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Profile:
        try:
            tls = TLSOptions(**dict(data.get("tls") or {}))
            return cls(
                name=str(data["name"]),
                kind=str(data["kind"]),
                host=str(data["host"]),
                port=int(data["port"]) if "port" in data else SCHEMES.get(str(data["kind"]), ("", 0, False))[1],
                vhost=str(data.get("vhost") or ""),
                username=data.get("username") or None,
                tls=tls,
                options=MappingProxyType({str(k): str(v) for k, v in dict(data.get("options") or {}).items()}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConnectorError(f"profile {data.get('name', '?')!r} is incomplete or malformed: {exc!r}") from None


class ProfileStore:
    """Profiles in one JSON file (written atomically); the caller picks the path (the GUI: its app data folder)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> list[Profile]:
        if not self.path.exists():
            return []
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConnectorError(f"{self.path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        except OSError as exc:
            raise ConnectorError(f"cannot read profiles from {self.path}: {exc.strerror}") from None
        if not isinstance(document, dict) or not isinstance(document.get("profiles"), list):
            raise ConnectorError(f"{self.path}: expected {{'profiles': [...]}}")
        return [Profile.from_json(item) for item in document["profiles"] if isinstance(item, dict)]

    def save(self, profiles: list[Profile]) -> None:
        names = [profile.name for profile in profiles]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ConnectorError(f"profile names must be unique: {', '.join(duplicates)}")
        document = {"format": FORMAT, "profiles": [profile.to_json() for profile in profiles]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, self.path)

    def get(self, name: str) -> Profile | None:
        return next((profile for profile in self.load() if profile.name == name), None)

    def put(self, profile: Profile) -> None:
        """Add ``profile`` or replace the one with its name."""
        profiles = [existing for existing in self.load() if existing.name != profile.name]
        self.save([*profiles, profile])

    def remove(self, name: str) -> bool:
        profiles = self.load()
        kept = [profile for profile in profiles if profile.name != name]
        if len(kept) == len(profiles):
            return False
        self.save(kept)
        return True
