"""Fixtures the integration tests share: an embedded broker of their own for each test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from eventdeck.core import Broker


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker() as broker:
        yield broker
