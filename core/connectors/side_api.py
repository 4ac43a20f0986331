"""An HTTP API beside a broker that tells what the protocol does not (RabbitMQ management, NATS monitoring).

Optional by nature: the connector asks once whether it answers and, if not, reports
"not exposed" with the reason instead of failing; it is closed with the connector.

Credentials (the connection's, or a ``user:password@`` in the API's URL) never go over
plain ``http://`` to a host other than loopback unless the connector's ``<option>_insecure=yes``
says so: Basic auth is the password in cleartext. An ``https://`` API is reached with the
connection's TLS options (CA file, client certificate, verify).
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp

from eventdeck.core.connectors.address import TLSOptions, without_password
from eventdeck.core.connectors.errors import ConnectorError

TIMEOUT = aiohttp.ClientTimeout(total=2.0)
NO_TLS_OPTIONS = TLSOptions()  # an https:// API is then verified against the system's CAs


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``: names are not resolved (DNS is not to be trusted here)."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class SideApi:
    """``name`` says what the API is in messages; ``option`` is the connector's URL option that names it.

    Requests never follow redirects: one could lead the credentials to plain HTTP or another host.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str,
        option: str,
        username: str | None = None,
        password: str | None = None,
        tls: TLSOptions = NO_TLS_OPTIONS,
        cleartext: bool = False,
    ) -> None:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConnectorError(
                f"option {option!r}: expected an http:// or https:// URL with a host, got {without_password(url)!r}"
            )
        if parts.username:  # credentials in the URL are for this API alone and win
            username, password = unquote(parts.username), unquote(parts.password or "")
        self.url = parts._replace(netloc=parts.netloc.rpartition("@")[2], query="", fragment="").geturl().rstrip("/")
        self.name = name
        self.username = username  # whose credentials go with each request (Basic auth), if any
        self._auth = {"Authorization": aiohttp.encode_basic_auth(username, password or "")} if username else {}
        self.tls = tls if parts.scheme == "https" else None  # None: plain HTTP
        self._session: aiohttp.ClientSession | None = None
        # Why no request may go out at all; checked before every one.
        self.refused: str | None = None
        if username and parts.scheme == "http" and not is_loopback(parts.hostname) and not cleartext:
            self.refused = (
                f"the {name} at {self.url} is not asked: Basic auth over plain HTTP would send {username}'s "
                f"password in cleartext to {parts.hostname}, which is not loopback; name an https:// URL "
                f"with {option}=https://… or allow cleartext with {option}_insecure=yes"
            )

    def _open(self) -> aiohttp.ClientSession:
        if self.refused is not None:
            raise ConnectorError(self.refused)
        if self._session is None:
            context: ssl.SSLContext | bool = self.tls.context() if self.tls is not None else False
            self._session = aiohttp.ClientSession(
                timeout=TIMEOUT, headers=self._auth, connector=aiohttp.TCPConnector(ssl=context)
            )
        return self._session

    async def check(self, path: str) -> str | None:
        """None if ``path`` answers 200 (the API is enabled and lets us in), else why not, in words."""
        try:
            async with self._open().get(self.url + path, allow_redirects=False) as response:
                if response.status == 200:
                    return None
                return f"the {self.name} at {self.url} answered HTTP {response.status} {response.reason or ''}".rstrip()
        except ConnectorError as exc:
            return str(exc)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"the {self.name} at {self.url} did not answer ({type(exc).__name__}: {exc})"

    async def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        async with self._open().get(self.url + path, params=params, allow_redirects=False) as response:
            response.raise_for_status()
            return await response.json()

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
