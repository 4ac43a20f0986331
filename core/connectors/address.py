"""Where a connector connects: parsed from a URL (``mqtt://user@host:1883``) or built from a saved profile."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from eventdeck.core.connectors.errors import ConnectorError

# scheme -> (kind, default port, TLS)
SCHEMES: Mapping[str, tuple[str, int, bool]] = {
    "mqtt": ("mqtt", 1883, False),
    "mqtts": ("mqtt", 8883, True),
    "amqp": ("amqp", 5672, False),
    "amqps": ("amqp", 5671, True),
    "nats": ("nats", 4222, False),
    "redis": ("redis", 6379, False),
    "rediss": ("redis", 6379, True),
    "kafka": ("kafka", 9092, False),
    "kafkas": ("kafka", 9093, True),
}
KINDS = ("mqtt", "amqp", "nats", "redis", "kafka")
SEVERAL_SERVERS = ("kafka",)  # kinds whose URL may list bootstrap servers: kafka://HOST:PORT,HOST:PORT
TLS_QUERY_KEYS = ("ca", "cert", "key", "verify")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"expected yes/no, true/false, on/off or 1/0, got {text!r}")


def parse_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


@dataclass(frozen=True, slots=True)
class TLSOptions:
    """TLS settings: off unless ``enabled``; ``verify=False`` accepts any certificate (for test brokers)."""

    enabled: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    verify: bool = True

    def context(self) -> ssl.SSLContext:
        """An SSL context for these settings; ``ConnectorError`` naming the file that cannot be used."""
        try:
            context = ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConnectorError(f"cannot use CA file {self.ca_file!r}: {_reason(exc)}") from exc
        if self.cert_file:
            try:
                context.load_cert_chain(self.cert_file, self.key_file)
            except (OSError, ssl.SSLError) as exc:
                raise ConnectorError(
                    f"cannot use client certificate {self.cert_file!r} / key {self.key_file!r}: {_reason(exc)}"
                ) from exc
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A broker address with credentials. ``path`` is the AMQP virtual host or the Redis database number;
    ``more_servers`` the further bootstrap servers a Kafka URL lists after the first (``host``/``port``)."""

    kind: str
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    path: str = ""
    tls: TLSOptions = TLSOptions()
    options: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    more_servers: tuple[tuple[str, int], ...] = ()

    @property
    def scheme(self) -> str:
        return self.kind + ("s" if self.tls.enabled and self.kind != "nats" else "")

    @property
    def address(self) -> str:
        return server_text(self.host, self.port)

    @property
    def servers(self) -> tuple[tuple[str, int], ...]:
        """Every server to try, the first one first."""
        return ((self.host, self.port), *self.more_servers)

    @property
    def addresses(self) -> str:
        """``host:port`` of every server, comma-separated (one for all but Kafka)."""
        return ",".join(server_text(host, port) for host, port in self.servers)

    @property
    def display(self) -> str:
        """The URL without the password (safe for the status bar and logs)."""
        user = f"{self.username}@" if self.username else ""
        default_path = {"amqp": "/", "redis": "0"}.get(self.kind, "")
        path = "/" + self.path if self.path not in ("", default_path) else ""
        return f"{self.scheme}://{user}{self.addresses}{path}"

    def with_password(self, password: str | None) -> Endpoint:
        return replace(self, password=password)


def parse_url(url: str) -> Endpoint:
    """Parse a broker URL; ``ConnectorError`` says what is wrong and what is expected.

    Query parameters ``ca``, ``cert``, ``key`` and ``verify`` set TLS options (and turn TLS on);
    any others are left in ``Endpoint.options`` for the connector to check.
    """
    if not isinstance(url, str) or not url.strip():
        raise ConnectorError("no broker URL given; expected e.g. mqtt://127.0.0.1:1883")
    text = url.strip()
    shown = without_password(text)  # what error messages quote: they end up in logs and on screen
    known = ", ".join(f"{scheme}://" for scheme in SCHEMES)
    if "://" not in text:
        raise ConnectorError(f"{shown!r} has no scheme; start it with one of {known}")
    more: tuple[tuple[str, int], ...] = ()
    try:
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        if scheme in SCHEMES:
            parts, more = _more_servers(parts, scheme, shown)
        port = parts.port
    except ValueError as exc:  # its text may quote part of the password: say it in our words
        why = "the port must be 1-65535" if "out of range" in str(exc) else "the port must be a number"
        user_part = text.split("://", 1)[-1].rpartition("@")[0]
        hint = "; percent-encode / ? # and @ in a password" if any(c in user_part for c in "/?#@") else ""
        raise ConnectorError(f"bad broker URL {shown!r}: {why}{hint}") from None
    if scheme not in SCHEMES:
        raise ConnectorError(f"unknown scheme {parts.scheme + '://'!r} in {shown!r}; known: {known}")
    kind, default_port, tls_on = SCHEMES[scheme]
    if not parts.hostname:
        raise ConnectorError(f"{shown!r} names no host; expected e.g. {scheme}://127.0.0.1:{default_port}")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    tls = _tls_from_query(query, tls_on, shown)
    return Endpoint(
        kind=kind,
        host=parts.hostname,
        port=port or default_port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        path=_path(kind, parts.path, shown),
        tls=tls,
        options=MappingProxyType({k: v for k, v in query.items() if k not in TLS_QUERY_KEYS}),
        more_servers=more,
    )


def server_text(host: str, port: int) -> str:
    """``host:port``, with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_servers(text: str, default_port: int, where: str) -> list[tuple[str, int]]:
    """``HOST[:PORT][,HOST[:PORT]...]`` as (host, port) pairs; ``ConnectorError`` naming ``where`` and the entry."""
    servers = []
    for entry in text.split(","):
        try:
            parts = urlsplit("//" + entry.strip())
            port = parts.port
        except ValueError:
            raise ConnectorError(f"{where}: bad server {entry.strip()!r}; expected HOST or HOST:PORT") from None
        if not parts.hostname or parts.username is not None or parts.path:
            raise ConnectorError(f"{where}: bad server {entry.strip()!r}; expected HOST or HOST:PORT")
        servers.append((parts.hostname, port or default_port))
    return servers


def _more_servers(parts: SplitResult, scheme: str, url: str) -> tuple[SplitResult, tuple[tuple[str, int], ...]]:
    """``parts`` with only the first of the servers a Kafka URL lists (``h1:9092,h2:9092``), and the others."""
    user, at, servers = parts.netloc.rpartition("@")
    if "," not in servers:
        return parts, ()
    kind, default_port, _tls = SCHEMES[scheme]
    if kind not in SEVERAL_SERVERS:
        raise ConnectorError(f"{scheme}:// URLs name one server, got {servers!r} in {url!r}")
    first, _, rest = servers.partition(",")
    return parts._replace(netloc=user + at + first), tuple(parse_servers(rest, default_port, repr(url)))


def without_password(url: str) -> str:
    """``url`` with everything after the user name in its user part shown as ``***``.

    The user part ends at the *last* ``@``, since an unencoded password may hold ``@``, ``/``,
    ``?`` or ``#``; a URL without ``@`` has no password to hide.
    """
    scheme_end = url.find("://")
    start = scheme_end + 3 if scheme_end >= 0 else 0
    at = url.rfind("@")
    if at < start:
        return url
    user, colon, _password = url[start:at].partition(":")
    return url[:start] + user + (":***" if colon else "") + url[at:]


def _tls_from_query(query: Mapping[str, str], enabled: bool, url: str) -> TLSOptions:
    verify = True
    if "verify" in query:
        try:
            verify = parse_bool(query["verify"])
        except ValueError as exc:
            raise ConnectorError(f"option 'verify' in {url!r}: {exc}") from None
    if any(key in query for key in TLS_QUERY_KEYS):
        enabled = True
    return TLSOptions(enabled, query.get("ca") or None, query.get("cert") or None, query.get("key") or None, verify)


def _path(kind: str, path: str, url: str) -> str:
    """The AMQP virtual host ('/' when empty, as RabbitMQ's URI spec says) or the Redis database number."""
    rest = unquote(path[1:]) if path.startswith("/") else unquote(path)
    if kind == "amqp":
        return rest or "/"
    if kind == "redis":
        rest = rest or "0"
        if not rest.isdigit():
            raise ConnectorError(f"Redis database in {url!r} must be a number (e.g. redis://host:6379/0), got {rest!r}")
        return rest
    if rest:
        raise ConnectorError(f"{kind}:// URLs take no path, got {path!r} in {url!r}")
    return ""
