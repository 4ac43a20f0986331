"""An HTTP API beside a broker that tells what the protocol does not (RabbitMQ management, NATS monitoring).

Optional by nature: the connector asks once whether it answers and, if not, reports
"not exposed" instead of failing; it is closed with the connector.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

TIMEOUT = aiohttp.ClientTimeout(total=2.0)


class SideApi:
    def __init__(self, url: str, *, username: str | None = None, password: str | None = None) -> None:
        self.url = url.rstrip("/")
        self._auth = {"Authorization": aiohttp.encode_basic_auth(username, password or "")} if username else {}
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT, headers=self._auth)
        return self._session

    async def answers(self, path: str) -> bool:
        """True if ``path`` answers 200 (the API is enabled and lets us in)."""
        try:
            async with self._open().get(self.url + path) as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        async with self._open().get(self.url + path, params=params) as response:
            response.raise_for_status()
            return await response.json()

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
