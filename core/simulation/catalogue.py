"""The scenarios that come with EventDeck, and opening a scenario by name or by file.

A scenario is a plain AsyncAPI 3.0 document with ``x-eventdeck-...`` fields: simulated publishers,
subscribers and responders, payload generators, and a story (see ``resources/scenarios/household.yaml``
for every field)::

    load_scenario("online-shop")            # a built-in, by name
    load_scenario("my-system.yaml")         # any document with x-eventdeck fields
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eventdeck.core.simulation.workspace import Workspace

__all__ = ["BUILT_IN", "ScenarioInfo", "built_in", "load_scenario"]


@dataclass(frozen=True)
class ScenarioInfo:
    """A built-in scenario: its short ``name`` (``household``), what it is called and what it shows."""

    name: str
    title: str
    """The document's ``info.title``."""
    summary: str
    """One line on what it shows."""
    resource: str
    """Where it lives inside ``eventdeck.resources`` (``scenarios/household.yaml``)."""


BUILT_IN: tuple[ScenarioInfo, ...] = (
    ScenarioInfo(
        "household",
        "EventDeck demo household",
        "events, fan-out, channels, queues, retries and dead letters, a command",
        "scenarios/household.yaml",  # workspace.DEMO_RESOURCE (tests/core/simulation/test_scenarios.py)
    ),
    ScenarioInfo(
        "online-shop",
        "Online shop: an order's journey",
        "an order's events, a payment command, a compensation, a slow consumer",
        "scenarios/online-shop.yaml",
    ),
    ScenarioInfo(
        "iot-fleet",
        "Greenhouse sensor fleet",
        "many sensors, wildcards, retained last values, a consumer falling behind",
        "scenarios/iot-fleet.yaml",
    ),
    ScenarioInfo(
        "delivery-patterns",
        "Delivery patterns: fan-out and work queues",
        "fan-out to every subscriber vs workers sharing one queue",
        "scenarios/delivery-patterns.yaml",
    ),
)
"""The built-in scenarios, the household (the first-launch demo) first."""


def built_in(name: str) -> ScenarioInfo:
    """The built-in scenario called ``name``; ValueError naming the built-ins if there is none."""
    for info in BUILT_IN:
        if info.name == name:
            return info
    raise ValueError(f"no built-in scenario {name!r} (built-in: {_names()})")


def load_scenario(name_or_path: str | os.PathLike[str]) -> Workspace:
    """A built-in scenario by name (a ``str``), else the document at that path.

    Raises :class:`WorkspaceError` naming the file, the line and the reason; a path that does
    not exist says so and lists the built-in names (it may have been a mistyped one).
    """
    # The loader (YAML, AsyncAPI, JSON Schema) comes with the first scenario opened, not with this list:
    # the window's menus list the built-ins before its first paint, and open one only after it.
    from eventdeck.core.simulation.workspace import WorkspaceError, load_resource, load_workspace  # noqa: PLC0415

    if isinstance(name_or_path, str) and any(info.name == name_or_path for info in BUILT_IN):
        return load_resource(built_in(name_or_path).resource)
    name = os.fspath(name_or_path)
    if not Path(name).exists():
        raise WorkspaceError(name, f"no such file, and no built-in scenario of that name (built-in: {_names()})")
    return load_workspace(name)


def _names() -> str:
    return ", ".join(info.name for info in BUILT_IN)
